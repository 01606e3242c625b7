//! How a dialog reports a device that went silent or hung up: what it was
//! waiting for, the last output seen (trimmed, secret masked) and the
//! outputs captured so far.

use std::time::Duration;

use fanout_core::{CommandOutput, format_duration};

use super::{Dialog, State, Step, Tail};
use crate::error::DialogError;

/// How much of the last output an error message quotes.
const TAIL_CHARS: usize = 200;

impl Dialog {
    /// The channel hit EOF or closed: the error to report (keeps the outputs
    /// so far and the running command's partial output).
    pub fn closed(&self) -> DialogError {
        if let State::Failed(e) = &self.state {
            return (**e).clone();
        }
        let message = match self.state {
            State::Finished => "the device closed the session after the dialog finished".into(),
            _ => format!(
                "the device closed the session while the dialog waited for {}; last output: {}",
                self.awaited(),
                self.last_output()
            ),
        };
        DialogError::Closed {
            message,
            outputs: self.partial_outputs(),
        }
    }

    /// The driver's read timer expired while waiting: the error to report,
    /// naming what was awaited and the last output seen. Before the first
    /// prompt, output that never ended with one is `PromptNotFound`.
    pub fn timed_out(&self, after: Duration) -> DialogError {
        if let State::Failed(e) = &self.state {
            return (**e).clone();
        }
        let waited = format_duration(after);
        let awaited = self.awaited();
        let last = self.last_output();
        let step = match self.state {
            State::Send(s) | State::Await(s) => Some(s),
            _ => None,
        };
        let starting = matches!(step, Some(Step::Initial | Step::Provoke));
        if starting && self.screen.received() > 0 {
            return DialogError::PromptNotFound {
                message: format!(
                    "no CLI prompt found within {waited}: waited for {awaited}, but the last \
                     output was {last}; if that is the device's prompt, set the host's `prompt` \
                     variable to a regex matching it (or fix its `platform`, now {})",
                    self.platform
                ),
                outputs: Vec::new(),
            };
        }
        let hint = if starting {
            "the device sent nothing after the shell opened"
        } else {
            "if the device shows a prompt or question the dialog does not know, set the host's \
             `prompt` variable or give the command an `expect` pattern"
        };
        DialogError::Timeout {
            after,
            message: format!(
                "command timed out after {waited} waiting for {awaited}; last output: {last}; \
                 {hint}; raise the limit with --timeout command=DUR"
            ),
            outputs: self.partial_outputs(),
        }
    }

    /// What the dialog is waiting for, for messages.
    pub(super) fn awaited(&self) -> String {
        let step = match self.state {
            State::Send(s) | State::Await(s) => s,
            _ => return "nothing".into(),
        };
        let pat = &self.prompt_pattern;
        let cmd = self.line(step);
        match step {
            Step::Initial => format!("the device's first prompt (pattern `{pat}`)"),
            Step::Provoke => format!("a prompt after pressing Enter (pattern `{pat}`)"),
            Step::Secret => format!("the prompt after the enable secret (pattern `{pat}`)"),
            _ if self.exchange.body.is_none() => format!("the echo of `{cmd}`"),
            Step::Enable => format!("`Password:` or the prompt after `enable` (pattern `{pat}`)"),
            Step::Command(i) if self.commands[i].expect.is_some() => format!(
                "`expect` pattern `{}` or the prompt after `{cmd}` (pattern `{pat}`)",
                self.commands[i].expect.as_deref().unwrap_or("")
            ),
            _ => format!("the prompt after `{cmd}` (pattern `{pat}`)"),
        }
    }

    /// The last output seen, quoted and trimmed, never with the secret.
    fn last_output(&self) -> String {
        let shown = self.screen.last_chars(self.window());
        if !shown.trim().is_empty() {
            return self.quote(&shown);
        }
        if self.previous.trim().is_empty() {
            "nothing".into()
        } else {
            format!(
                "nothing since the last line was sent (before it: {})",
                self.quote(&self.previous)
            )
        }
    }

    /// Keeps the end of the current exchange's output (masked) for messages
    /// about the next one, should the device go silent.
    pub(super) fn remember_previous(&mut self) {
        let shown = self.screen.last_chars(self.window());
        if !shown.trim().is_empty() {
            let masked = self.mask(&shown);
            let n = masked.chars().count();
            self.previous = masked
                .chars()
                .skip(n.saturating_sub(TAIL_CHARS + 1))
                .collect();
        }
    }

    /// Characters to take before masking so that a secret cut at the start
    /// of the window is still recognised, and quoting still sees the text
    /// was trimmed.
    fn window(&self) -> usize {
        TAIL_CHARS
            + 1
            + self
                .secret
                .as_ref()
                .map_or(0, |s| s.expose().chars().count())
    }

    fn mask(&self, text: &str) -> String {
        match &self.secret {
            Some(s) if !s.expose().is_empty() => text.replace(s.expose(), "***"),
            _ => text.to_string(),
        }
    }

    /// `text`'s last [`TAIL_CHARS`] characters, secret masked, quoted with
    /// escapes (so line ends and control characters are visible).
    pub(super) fn quote(&self, text: &str) -> String {
        let masked = self.mask(text);
        let n = masked.chars().count();
        if n > TAIL_CHARS {
            let tail: String = masked.chars().skip(n - TAIL_CHARS).collect();
            format!("…{tail:?}")
        } else {
            format!("{masked:?}")
        }
    }

    /// The outputs so far plus the running command's partial output.
    fn partial_outputs(&self) -> Vec<CommandOutput> {
        let mut outputs = self.outputs.clone();
        if let State::Await(Step::Command(i)) = self.state {
            let stdout = match self.exchange.body {
                Some(_) => self.body_text(Tail::Partial),
                None => self.screen.text(),
            };
            outputs.push(CommandOutput {
                command: self.line(Step::Command(i)).to_string(),
                stdout,
                stderr: None,
                exit_status: None,
                ..Default::default()
            });
        }
        outputs
    }
}
