//! The errors of a dialog: a bad spec ([`NetcliError`]) and what went wrong
//! while talking to the device ([`DialogError`]).

use std::time::Duration;

use fanout_core::{CommandOutput, ErrorKind, Phase};

/// A [`DialogSpec`](crate::DialogSpec) that cannot be run: a custom prompt
/// or `expect` pattern that is not a valid regular expression, or a command
/// with a line break.
#[derive(Debug, thiserror::Error)]
pub enum NetcliError {
    /// The `prompt` variable is not a usable regex.
    #[error(
        "invalid `prompt` regex `{pattern}`: {reason}; fix the host's `prompt` variable in the \
         inventory (a regular expression matching the whole prompt line, e.g. `R\\d+[>#]`)"
    )]
    Prompt {
        /// The pattern as given.
        pattern: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A command that cannot be typed as one line.
    #[error("invalid command `{command}`: {reason}")]
    Command {
        /// The command as given.
        command: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A command's `expect` pattern is not a valid regex.
    #[error("invalid `expect` regex `{pattern}` for command `{command}`: {reason}")]
    Expect {
        /// The command it belongs to.
        command: String,
        /// The pattern as given.
        pattern: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An `--error-pattern` that is not a usable regex.
    #[error(
        "invalid --error-pattern regex `{pattern}`: {reason}; give a regular expression \
         matching a device error line, e.g. `^Bad mask`"
    )]
    ErrorPattern {
        /// The pattern as given.
        pattern: String,
        /// Why it was rejected.
        reason: String,
    },
}

impl NetcliError {
    /// Always [`ErrorKind::InvalidTarget`]: the host's settings are wrong.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidTarget
    }
}

/// Why a dialog stopped. Messages say what was awaited, the last output seen
/// and what to do; they never contain the enable secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// Output arrived but never ended with a prompt the dialog recognises.
    #[error("{message}")]
    PromptNotFound {
        /// What happened and what to do.
        message: String,
        /// Outputs captured before (none: this happens before any command).
        outputs: Vec<CommandOutput>,
    },
    /// The device asked for an enable secret and rejected the one given, or
    /// none is configured.
    #[error("{message}")]
    EnableRejected {
        /// What happened and what to do.
        message: String,
        /// Outputs captured before.
        outputs: Vec<CommandOutput>,
    },
    /// The device printed an error for a command (`% Invalid input`,
    /// `syntax error`, `command not found`, ...).
    #[error("{message}")]
    CommandFailed {
        /// The command the device rejected.
        command: String,
        /// What happened and what to do.
        message: String,
        /// Outputs captured so far, the failing command's last.
        outputs: Vec<CommandOutput>,
    },
    /// The channel closed while the dialog still waited for the device.
    #[error("{message}")]
    Closed {
        /// What was awaited and the last output seen.
        message: String,
        /// Outputs captured so far, with the partial output of the command
        /// that was running.
        outputs: Vec<CommandOutput>,
    },
    /// The host's whole-run deadline ran out during an exchange (before
    /// the command timeout would have): [`Driver::expired`](crate::Driver::expired).
    #[error("{message}")]
    HostTimeout {
        /// The host's timeout.
        after: Duration,
        /// The host timeout, then what was awaited and the last output seen.
        message: String,
        /// Outputs captured so far, with the partial output of the command
        /// that was running.
        outputs: Vec<CommandOutput>,
    },
    /// The driver's read timer expired while the dialog waited.
    #[error("{message}")]
    Timeout {
        /// How long the driver waited.
        after: Duration,
        /// What was awaited, the last output seen, and how to fix it.
        message: String,
        /// Outputs captured so far, with the partial output of the command
        /// that was running.
        outputs: Vec<CommandOutput>,
    },
}

impl DialogError {
    /// The outcome's error kind: `PromptNotFound`, `Auth` (enable rejected),
    /// `CommandFailed`, `Channel` (closed) or `Timeout`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DialogError::PromptNotFound { .. } => ErrorKind::PromptNotFound,
            DialogError::EnableRejected { .. } => ErrorKind::Auth,
            DialogError::CommandFailed { .. } => ErrorKind::CommandFailed,
            DialogError::Closed { .. } => ErrorKind::Channel,
            DialogError::Timeout { .. } | DialogError::HostTimeout { .. } => ErrorKind::Timeout,
        }
    }

    /// The phase that ran out of time: `Some(Phase::Command)` for a
    /// timeout, `Some(Phase::Host)` for a host timeout, `None` otherwise.
    pub fn phase(&self) -> Option<Phase> {
        match self {
            DialogError::Timeout { .. } => Some(Phase::Command),
            DialogError::HostTimeout { .. } => Some(Phase::Host),
            _ => None,
        }
    }

    /// Outputs captured before the error, including the failing or partial
    /// command's.
    pub fn outputs(&self) -> &[CommandOutput] {
        match self {
            DialogError::PromptNotFound { outputs, .. }
            | DialogError::EnableRejected { outputs, .. }
            | DialogError::CommandFailed { outputs, .. }
            | DialogError::Closed { outputs, .. }
            | DialogError::Timeout { outputs, .. }
            | DialogError::HostTimeout { outputs, .. } => outputs,
        }
    }

    /// The error's message (also its `Display`).
    pub fn message(&self) -> &str {
        match self {
            DialogError::PromptNotFound { message, .. }
            | DialogError::EnableRejected { message, .. }
            | DialogError::CommandFailed { message, .. }
            | DialogError::Closed { message, .. }
            | DialogError::Timeout { message, .. }
            | DialogError::HostTimeout { message, .. } => message,
        }
    }

    /// Takes the outputs out (for a `HostOutcome`).
    pub fn into_outputs(self) -> Vec<CommandOutput> {
        match self {
            DialogError::PromptNotFound { outputs, .. }
            | DialogError::EnableRejected { outputs, .. }
            | DialogError::CommandFailed { outputs, .. }
            | DialogError::Closed { outputs, .. }
            | DialogError::Timeout { outputs, .. }
            | DialogError::HostTimeout { outputs, .. } => outputs,
        }
    }
}
