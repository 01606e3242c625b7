//! What a dialog is asked to do ([`DialogSpec`], [`CliCommand`]) and what it
//! asks its driver to do ([`Progress`]).

use std::fmt;

use fanout_core::{CliMode, CliOptions, Platform, Secret, Target};

use regex::Regex;

use crate::NetcliError;
use crate::platform::Rules;

/// Compiles an `--error-pattern` the way a dialog uses it (multi-line: `^`
/// and `$` match at each line); an empty or invalid regex is an error
/// naming it. Callers check user input with it before any host starts.
pub fn error_pattern(pattern: &str) -> Result<Regex, NetcliError> {
    let bad = |reason: String| NetcliError::ErrorPattern {
        pattern: pattern.to_string(),
        reason,
    };
    if pattern.trim().is_empty() {
        return Err(bad("it is empty".into()));
    }
    Regex::new(&format!("(?m){pattern}")).map_err(|e| bad(crate::dialog::regex_reason(&e)))
}

/// One command of a CLI dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliCommand {
    /// The command line typed (one line; an empty line just presses Enter).
    pub text: String,
    /// A regex that ends the command's output instead of the prompt, for
    /// interactive questions (`\[confirm\]`, `filename \[.*\]\?`). It must
    /// match the end of the line the device is waiting on.
    pub expect: Option<String>,
}

impl CliCommand {
    /// A command whose output ends at the next prompt.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            expect: None,
        }
    }

    /// A command whose output ends where `pattern` matches the end of what
    /// the device printed (or at the next prompt, whichever comes first).
    pub fn expecting(text: impl Into<String>, pattern: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            expect: Some(pattern.into()),
        }
    }
}

impl From<&str> for CliCommand {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

/// Everything a [`Dialog`](crate::Dialog) needs: platform, commands, privilege level, the
/// enable secret and an optional custom prompt.
#[derive(Clone, Debug)]
pub struct DialogSpec {
    /// Selects prompts, paging, enable and configuration commands.
    pub platform: Platform,
    /// The commands to run, in order.
    pub commands: Vec<CliCommand>,
    /// The privilege level to run them at.
    pub mode: CliMode,
    /// The enable secret (sent only when the device asks for it).
    pub secret: Option<Secret>,
    /// A regex matching the whole prompt line, replacing the platform's.
    pub prompt: Option<String>,
    /// Regexes (multi-line mode: `^` starts a line) whose match in a
    /// command's output fails it, besides the platform's error lines.
    pub error_patterns: Vec<String>,
}

impl DialogSpec {
    /// The dialog for `commands` on `target`: its platform (IOS when unset),
    /// its enable secret, and its `prompt` variable as custom prompt.
    pub fn for_target(target: &Target, commands: &[String], mode: CliMode) -> DialogSpec {
        DialogSpec {
            platform: target.platform.unwrap_or(Platform::Ios),
            commands: commands
                .iter()
                .map(|c| CliCommand::new(c.as_str()))
                .collect(),
            mode,
            secret: target.secret.clone(),
            prompt: target.vars.get("prompt").cloned(),
            error_patterns: Vec::new(),
        }
    }

    /// This spec with a job's `cli` options: its error patterns, and its
    /// `expect` patterns on the commands at their indexes.
    pub fn with_options(mut self, options: &CliOptions) -> DialogSpec {
        self.error_patterns
            .extend(options.error_patterns.iter().cloned());
        for (command, expect) in self.commands.iter_mut().zip(&options.expects) {
            if let Some(e) = expect {
                command.expect = Some(e.clone());
            }
        }
        self
    }

    /// The most exchanges a dialog for this spec can have: the first
    /// prompt, then every line it may send (a bare Enter to provoke the
    /// prompt, paging off, `enable` and the secret, configuration mode in,
    /// the commands, commit, configuration mode out, logout). A driver
    /// gives each exchange its read timeout afresh (answers to a pager
    /// belong to their command's exchange), so `command timeout x
    /// max_exchanges()` bounds a dialog's time.
    pub fn max_exchanges(&self) -> usize {
        let rules = Rules::of(self.platform);
        let privileged = self.mode != CliMode::User && rules.enable;
        let config = self.mode == CliMode::Config && rules.config_enter.is_some();
        let config_steps = if config {
            // Enter, commit, leave.
            2 + usize::from(rules.config_commit.is_some())
        } else {
            0
        };
        // First prompt, Enter, paging, enable + secret, config, commands, logout.
        1 + 1
            + usize::from(rules.paging_off.is_some())
            + if privileged { 2 } else { 0 }
            + config_steps
            + self.commands.len()
            + 1
    }
}

/// What the driver must do next (see [`Dialog::progress`](crate::Dialog::progress)).
#[derive(Clone, PartialEq, Eq)]
pub enum Progress {
    /// Write these bytes to the channel, then call `progress` again.
    Send(Vec<u8>),
    /// Read what arrives (with the read timeout), `feed` it, call `progress`
    /// again.
    Read,
    /// Finished (the logout command was sent): close the channel.
    Done,
}

impl fmt::Debug for Progress {
    /// `Send` shows only its length: it may carry the enable secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Progress::Send(b) => write!(f, "Send({} bytes)", b.len()),
            Progress::Read => f.write_str("Read"),
            Progress::Done => f.write_str("Done"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_options_adds_error_patterns_and_expects_by_index() {
        let target = Target::new("r1", "127.0.0.1");
        let commands = [
            "copy run start".to_string(),
            String::new(),
            "show clock".into(),
        ];
        let options = CliOptions {
            error_patterns: vec!["^Bad mask".into()],
            expects: vec![Some("Destination filename".into())],
        };
        let spec =
            DialogSpec::for_target(&target, &commands, CliMode::Enable).with_options(&options);
        assert_eq!(spec.error_patterns, ["^Bad mask"]);
        assert_eq!(
            spec.commands[0].expect.as_deref(),
            Some("Destination filename")
        );
        assert_eq!(spec.commands[1].expect, None);
        assert_eq!(spec.commands[2].expect, None);
        assert!(
            error_pattern("^ok$").unwrap().is_match("a\nok\nb"),
            "multi-line"
        );
    }
}
