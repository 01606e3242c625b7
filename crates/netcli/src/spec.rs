//! What a dialog is asked to do ([`DialogSpec`], [`CliCommand`]) and what it
//! asks its driver to do ([`Progress`]).

use std::fmt;

use fanout_core::{CliMode, Platform, Secret, Target};

use crate::platform::Rules;

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
        }
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
