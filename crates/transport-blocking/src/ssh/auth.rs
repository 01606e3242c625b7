//! Authentication: the target's credentials in order — key file, ssh-agent,
//! password, keyboard-interactive (answered with the password) — limited to
//! the methods the device offers. Messages name what was tried, never a
//! secret.

use fanout_core::{ErrorKind, Secret, Target};
use ssh2::{ErrorCode, KeyboardInteractivePrompt, Prompt};

use fanout_transport::ssh::endpoint;

use super::conn::{Conn, Halt};
use super::shared::Shared;
use fanout_engine::{AttemptError, Deadline};

/// libssh2 error codes that mean "the device said no" rather than "the
/// connection broke": authentication failed, public key unverified, and
/// password expired.
fn rejected(e: &ssh2::Error) -> bool {
    matches!(e.code(), ErrorCode::Session(-18 | -19) | PASSWORD_EXPIRED)
}

/// libssh2's LIBSSH2_ERROR_PASSWORD_EXPIRED: the device accepted the
/// password but demands that it be changed first.
const PASSWORD_EXPIRED: ErrorCode = ErrorCode::Session(-15);

/// What to tell the user about a refusal beyond "check the credentials".
fn refusal_note(e: &ssh2::Error, user: &str) -> Option<String> {
    (e.code() == PASSWORD_EXPIRED).then(|| {
        format!(
            "the password of `{user}` has expired; change it on the device (log in once \
             interactively), then update the inventory"
        )
    })
}

/// Logs in as `user` or explains why not.
pub(super) fn authenticate(
    conn: &Conn<'_>,
    target: &Target,
    user: &str,
    shared: &Shared,
    deadline: &Deadline,
) -> Result<(), AttemptError> {
    fanout_transport::ssh::require_credentials(target)?;
    let creds = &target.credentials;
    let session = &conn.session;
    let halted = |halt| conn.halted(halt, deadline, Vec::new());
    // The "none" request: the device answers with the methods it accepts.
    let offered = conn
        .drive(deadline, || {
            if session.authenticated() {
                return Ok(String::new());
            }
            session.auth_methods(user).map(str::to_owned)
        })
        .map_err(halted)?
        .map_err(|e| lost(target, &e))?;
    if session.authenticated() {
        return Ok(());
    }
    let offers = |method: &str| offered.split(',').any(|m| m == method);
    let mut tried: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    // Refusals that need more than "check the credentials".
    let refusals = std::cell::RefCell::new(Vec::<String>::new());
    // Ok(true): logged in; Ok(false): refused; Err: connection problem.
    let outcome = |result: Result<Result<(), ssh2::Error>, Halt>| match result {
        Err(halt) => Err(halted(halt)),
        Ok(Ok(())) => Ok(session.authenticated()),
        Ok(Err(e)) if rejected(&e) => {
            if let Some(note) = refusal_note(&e, user) {
                let mut refusals = refusals.borrow_mut();
                if !refusals.contains(&note) {
                    refusals.push(note);
                }
            }
            Ok(false)
        }
        Ok(Err(e)) => Err(lost(target, &e)),
    };

    if let Some(path) = &creds.key_file
        && offers("publickey")
    {
        match shared.keys.get(path).as_ref() {
            Ok(pem) => {
                tried.push(format!("publickey ({})", path.display()));
                let passphrase = creds.key_passphrase.as_ref().map(Secret::expose);
                let result = conn.drive(deadline, || {
                    session.userauth_pubkey_memory(user, None, pem.expose(), passphrase)
                });
                match result {
                    Ok(Err(e)) if e.code() == ErrorCode::Session(-16) => notes.push(format!(
                        "could not use key file {}: {}; check its format (OpenSSH/PEM) and passphrase (key_passphrase_env)",
                        path.display(),
                        e.message()
                    )),
                    other => {
                        if outcome(other)? {
                            return Ok(());
                        }
                    }
                }
            }
            Err(note) => notes.push(note.clone()),
        }
    }

    if creds.agent && offers("publickey") {
        match agent(conn, user, deadline, &mut tried, &mut notes) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(AgentFail::Halt(halt)) => return Err(halted(halt)),
            Err(AgentFail::Lost(e)) => return Err(lost(target, &e)),
        }
    }

    if let Some(password) = &creds.password {
        if offers("password") {
            tried.push("password".into());
            let result = conn.drive(deadline, || {
                session.userauth_password(user, password.expose())
            });
            if outcome(result)? {
                return Ok(());
            }
        }
        if offers("keyboard-interactive") {
            tried.push("keyboard-interactive".into());
            let mut answer = Answer { password };
            let result = conn.drive(deadline, || {
                session.userauth_keyboard_interactive(user, &mut answer)
            });
            if outcome(result)? {
                return Ok(());
            }
        }
    }

    let mut message = format!(
        "authentication as `{user}` at {} failed (tried {})",
        endpoint(target),
        if tried.is_empty() {
            format!("nothing the device accepts: it offers {offered}")
        } else {
            tried.join(", ")
        }
    );
    let refusals = refusals.into_inner();
    for note in refusals.iter().chain(&notes) {
        message.push_str("; ");
        message.push_str(note);
    }
    if refusals.is_empty() {
        message.push_str("; check the username and credentials");
    }
    Err(AttemptError::new(ErrorKind::Auth, None, message))
}

enum AgentFail {
    Halt(Halt),
    Lost(ssh2::Error),
}

/// Tries each key of the running ssh-agent; `Ok(true)` when one is accepted.
fn agent(
    conn: &Conn<'_>,
    user: &str,
    deadline: &Deadline,
    tried: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<bool, AgentFail> {
    let session = &conn.session;
    let mut agent = match session.agent() {
        Ok(agent) => agent,
        Err(e) => {
            notes.push(format!("libssh2 could not use ssh-agent: {}", e.message()));
            return Ok(false);
        }
    };
    if let Err(e) = agent.connect() {
        notes.push(format!(
            "could not reach ssh-agent (SSH_AUTH_SOCK): {}; start one or remove `agent: true`",
            e.message()
        ));
        return Ok(false);
    }
    let identities = match agent.list_identities().and_then(|()| agent.identities()) {
        Ok(ids) => ids,
        Err(e) => {
            notes.push(format!("ssh-agent did not list its keys: {}", e.message()));
            let _ = agent.disconnect();
            return Ok(false);
        }
    };
    if identities.is_empty() {
        notes.push("ssh-agent holds no keys (ssh-add KEYFILE)".into());
    }
    let mut accepted = Ok(false);
    for identity in &identities {
        tried.push(format!("publickey (agent key {})", identity.comment()));
        match conn.drive(deadline, || agent.userauth(user, identity)) {
            Err(halt) => {
                accepted = Err(AgentFail::Halt(halt));
                break;
            }
            Ok(Ok(())) if session.authenticated() => {
                accepted = Ok(true);
                break;
            }
            Ok(Ok(())) => {}
            Ok(Err(e)) if rejected(&e) || matches!(e.code(), ErrorCode::Session(-42)) => {}
            Ok(Err(e)) => {
                accepted = Err(AgentFail::Lost(e));
                break;
            }
        }
    }
    let _ = agent.disconnect();
    accepted
}

/// Answers keyboard-interactive prompts: the password to hidden prompts
/// and to prompts asking for a password (what devices send: `Password:`).
struct Answer<'a> {
    password: &'a Secret,
}

impl KeyboardInteractivePrompt for Answer<'_> {
    fn prompt<'b>(
        &mut self,
        _username: &str,
        _instructions: &str,
        prompts: &[Prompt<'b>],
    ) -> Vec<String> {
        prompts
            .iter()
            .map(|p| {
                if !p.echo || p.text.to_ascii_lowercase().contains("password") {
                    self.password.expose().to_string()
                } else {
                    String::new()
                }
            })
            .collect()
    }
}

/// The device closed the connection while we were authenticating. Reported
/// as `auth` (never retried with the same credentials: a device counting
/// failed logins would lock the account), as on the async transport.
fn lost(target: &Target, e: &ssh2::Error) -> AttemptError {
    AttemptError::new(
        ErrorKind::Auth,
        None,
        format!(
            "{} closed the connection while authenticating: {}; the device may limit authentication attempts (MaxAuthTries) or have locked the account: check the username and credentials (and the device's AAA logs) before trying again",
            endpoint(target),
            e.message()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_lost_while_authenticating_is_an_auth_failure_never_retried() {
        let target = Target::new("r1", "127.0.0.1");
        let e = ssh2::Error::new(ErrorCode::Session(-13), "Failed getting banner");
        let err = lost(&target, &e);
        assert_eq!(err.kind, ErrorKind::Auth);
        assert!(err.message.contains("MaxAuthTries"), "{}", err.message);
        let job = fanout_core::Job::new(fanout_core::Task::Exec {
            command: "show version".into(),
        });
        let mut retrying = job.retry;
        retrying.retries = 3;
        assert!(!retrying.should_retry(&job.task, 1, err.kind, err.phase));
    }

    #[test]
    fn an_expired_password_says_to_change_it() {
        let expired = ssh2::Error::new(PASSWORD_EXPIRED, "Password Expired, and no callback");
        assert!(rejected(&expired), "a refusal, not a lost connection");
        let note = refusal_note(&expired, "admin").unwrap();
        assert!(
            note.contains("password of `admin` has expired")
                && note.contains("change it on the device"),
            "{note}"
        );
        let wrong = ssh2::Error::new(ErrorCode::Session(-18), "Authentication failed");
        assert!(rejected(&wrong));
        assert_eq!(refusal_note(&wrong, "admin"), None);
    }
}
