//! Authentication, as both SSH transports do it: the order of the methods
//! ([`ORDER`]), how each answers keyboard-interactive prompts
//! ([`answer_prompt`]), and what a failed login reports ([`AuthReport`]):
//! what was tried, the notes about credentials that could not be used, and
//! what to do — never a secret.

use std::fmt::Display;
use std::path::Path;

use fanout_core::{ErrorKind, Target};
use fanout_engine::AttemptError;

use super::endpoint;

/// One way of logging in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The target's key file.
    KeyFile,
    /// Each key of the running ssh-agent (`agent: true`).
    Agent,
    /// The password.
    Password,
    /// Keyboard-interactive, answered with the password.
    KeyboardInteractive,
}

/// The order in which the target's credentials are tried, on both
/// transports; a method the device does not accept (as far as the
/// transport knows) is skipped.
pub const ORDER: [Method; 4] = [
    Method::KeyFile,
    Method::Agent,
    Method::Password,
    Method::KeyboardInteractive,
];

/// Most keyboard-interactive rounds answered: a device asks once or twice;
/// more is a loop.
pub const KEYBOARD_INTERACTIVE_ROUNDS: usize = 4;

/// The answer to one keyboard-interactive prompt: the password to a hidden
/// prompt or one that asks for a password (what devices send:
/// `Password:`), an empty line to anything else.
pub fn answer_prompt<'a>(prompt: &str, echo: bool, password: &'a str) -> &'a str {
    if !echo || prompt.to_ascii_lowercase().contains("password") {
        password
    } else {
        ""
    }
}

/// What one login attempt tried and learnt, and the error it reports when
/// every method failed ([`AuthReport::failed`]).
#[derive(Clone, Debug, Default)]
pub struct AuthReport {
    tried: Vec<String>,
    notes: Vec<String>,
    refusals: Vec<String>,
}

impl AuthReport {
    /// The key file at `path` was offered.
    pub fn tried_key_file(&mut self, path: &Path) {
        self.tried.push(format!("publickey ({})", path.display()));
    }

    /// An agent key (named by its comment, as `ssh-add -l` shows it) was
    /// offered.
    pub fn tried_agent_key(&mut self, comment: &str) {
        self.tried.push(format!("publickey (agent key {comment})"));
    }

    /// The password was sent.
    pub fn tried_password(&mut self) {
        self.tried.push("password".into());
    }

    /// Keyboard-interactive was answered.
    pub fn tried_keyboard_interactive(&mut self) {
        self.tried.push("keyboard-interactive".into());
    }

    /// A credential could not be used (a key file, the agent): said after
    /// what was tried.
    pub fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// The device refused for a reason that needs more than "check the
    /// credentials" ([`password_expired`]).
    pub fn refusal(&mut self, note: String) {
        if !self.refusals.contains(&note) {
            self.refusals.push(note);
        }
    }

    /// The error of a login as `user` on `target` that every method failed.
    pub fn failed(&self, target: &Target, user: &str) -> AttemptError {
        let tried = if self.tried.is_empty() {
            "nothing the device accepts".to_string()
        } else {
            self.tried.join(", ")
        };
        let mut message = format!(
            "authentication as `{user}` at {} failed (tried {tried})",
            endpoint(target)
        );
        for note in self.refusals.iter().chain(&self.notes) {
            message.push_str("; ");
            message.push_str(note);
        }
        if self.refusals.is_empty() {
            message.push_str("; check the username and credentials");
        }
        AttemptError::new(ErrorKind::Auth, None, message)
    }
}

/// The device closed the connection while `user` was authenticating:
/// typically its limit of attempts (MaxAuthTries) or a lockout. Reported
/// `auth`, so it is never retried with the same credentials (which could
/// lock the account).
pub fn lost(target: &Target, user: &str, detail: impl Display) -> AttemptError {
    AttemptError::new(
        ErrorKind::Auth,
        None,
        format!(
            "{} closed the connection while authenticating `{user}`: {detail}; the device may limit authentication attempts (MaxAuthTries) or have locked the account: check the username and credentials (and the device's AAA logs) before trying again",
            endpoint(target)
        ),
    )
}

/// The password of `user` was accepted but has expired.
pub fn password_expired(user: &str) -> String {
    format!(
        "the password of `{user}` has expired; change it on the device (log in once \
         interactively), then update the inventory"
    )
}

/// The key file could not be read.
pub fn key_file_unreadable(path: &Path, e: &std::io::Error) -> String {
    format!(
        "cannot read key file {}: {e}; check key_file in the inventory",
        path.display()
    )
}

/// The key file is encrypted and no passphrase was given.
pub fn key_file_encrypted(path: &Path) -> String {
    format!(
        "key file {} is encrypted: give its passphrase (key_passphrase_env in the inventory)",
        path.display()
    )
}

/// The key file was read but is not a usable key (`detail`: the library's
/// reason).
pub fn key_file_unusable(path: &Path, detail: impl Display) -> String {
    format!(
        "could not use key file {}: {detail}; check its format (OpenSSH/PEM) and passphrase (key_passphrase_env)",
        path.display()
    )
}

/// The ssh-agent could not be reached.
pub fn agent_unreachable(detail: impl Display) -> String {
    format!(
        "could not reach ssh-agent (SSH_AUTH_SOCK): {detail}; start one or remove `agent: true`"
    )
}

/// The ssh-agent's socket could not be opened (`err`). A lack of file
/// descriptors is said as such, with the limit to change
/// ([`fanout_engine::limits::descriptor_shortage`]): the agent is not at
/// fault then, the run's concurrency is.
pub fn agent_connect_failed(err: &std::io::Error) -> String {
    match fanout_engine::limits::descriptor_shortage(err) {
        Some(shortage) => format!("could not reach ssh-agent (SSH_AUTH_SOCK): {shortage}"),
        None => agent_unreachable(err),
    }
}

/// The ssh-agent did not list its keys.
pub fn agent_list_failed(detail: impl Display) -> String {
    format!("ssh-agent did not list its keys: {detail}")
}

/// The ssh-agent holds no keys.
pub fn agent_empty() -> String {
    "ssh-agent holds no keys (ssh-add KEYFILE)".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_login_names_what_was_tried_and_what_to_do() {
        let target = Target::new("r1", "127.0.0.1");
        let mut report = AuthReport::default();
        assert!(
            report
                .failed(&target, "admin")
                .message
                .contains("(tried nothing the device accepts); check the username")
        );
        report.tried_key_file(Path::new("/k/id"));
        report.tried_password();
        report.note(agent_empty());
        report.note(agent_empty());
        let err = report.failed(&target, "admin");
        assert_eq!(err.kind, ErrorKind::Auth);
        assert_eq!(
            err.message,
            "authentication as `admin` at 127.0.0.1:22 failed (tried publickey (/k/id), password); ssh-agent holds no keys (ssh-add KEYFILE); check the username and credentials"
        );
        report.refusal(password_expired("admin"));
        let err = report.failed(&target, "admin");
        assert!(err.message.contains("has expired"), "{}", err.message);
        assert!(
            !err.message.contains("check the username"),
            "{}",
            err.message
        );
    }

    #[test]
    fn prompts_get_the_password_only_when_they_ask_for_it() {
        assert_eq!(answer_prompt("Password: ", true, "pw"), "pw");
        assert_eq!(answer_prompt("Token: ", false, "pw"), "pw");
        assert_eq!(answer_prompt("Terminal type? ", true, "pw"), "");
    }

    #[test]
    fn a_disconnect_while_authenticating_is_auth_never_retried() {
        let target = Target::new("r1", "127.0.0.1");
        let err = lost(&target, "admin", "Disconnected");
        assert_eq!(err.kind, ErrorKind::Auth);
        assert!(err.message.contains("127.0.0.1:22") && err.message.contains("MaxAuthTries"));
        let job = fanout_core::Job::new(fanout_core::Task::Exec {
            command: "show version".into(),
        });
        let mut retrying = job.retry;
        retrying.retries = 3;
        assert!(!retrying.should_retry(&job.task, 1, err.kind, err.phase));
    }
}
