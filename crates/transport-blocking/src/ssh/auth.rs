//! Authentication: the target's credentials in order — key file, ssh-agent,
//! password, keyboard-interactive (answered with the password) — limited to
//! the methods the device offers. Messages name what was tried, never a
//! secret.

use fanout_core::{Secret, Target};
use fanout_transport::ssh::auth::{self as policy, AuthReport, Method};
use ssh2::{ErrorCode, KeyboardInteractivePrompt, Prompt};

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
    (e.code() == PASSWORD_EXPIRED).then(|| policy::password_expired(user))
}

/// Logs in as `user` or explains why not: the methods in the policy's
/// order ([`policy::ORDER`]), each only if the device offers it (libssh2
/// asks first, with the "none" request).
pub(super) fn authenticate(
    conn: &Conn<'_>,
    target: &Target,
    user: &str,
    shared: &Shared,
    deadline: &Deadline,
) -> Result<(), AttemptError> {
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
        .map_err(|e| lost(target, user, &e))?;
    if session.authenticated() {
        return Ok(());
    }
    let offers = |method: &str| offered.split(',').any(|m| m == method);
    let report = std::cell::RefCell::new(AuthReport::default());
    // Ok(true): logged in; Ok(false): refused; Err: connection problem.
    let outcome = |result: Result<Result<(), ssh2::Error>, Halt>| match result {
        Err(halt) => Err(halted(halt)),
        Ok(Ok(())) => Ok(session.authenticated()),
        Ok(Err(e)) if rejected(&e) => {
            if let Some(note) = refusal_note(&e, user) {
                report.borrow_mut().refusal(note);
            }
            Ok(false)
        }
        Ok(Err(e)) => Err(lost(target, user, &e)),
    };

    for method in policy::ORDER {
        let accepted = match method {
            Method::KeyFile => match &creds.key_file {
                Some(path) if offers("publickey") => match shared.keys.get(path).as_ref() {
                    Ok(pem) => {
                        report.borrow_mut().tried_key_file(path);
                        let passphrase = creds.key_passphrase.as_ref().map(Secret::expose);
                        let result = conn.drive(deadline, || {
                            session.userauth_pubkey_memory(user, None, pem.expose(), passphrase)
                        });
                        match result {
                            Ok(Err(e)) if e.code() == ErrorCode::Session(-16) => {
                                report
                                    .borrow_mut()
                                    .note(policy::key_file_unusable(path, e.message()));
                                false
                            }
                            other => outcome(other)?,
                        }
                    }
                    Err(note) => {
                        report.borrow_mut().note(note.clone());
                        false
                    }
                },
                _ => false,
            },
            Method::Agent if creds.agent && offers("publickey") => {
                match agent(conn, user, deadline, &mut report.borrow_mut()) {
                    Ok(accepted) => accepted,
                    Err(AgentFail::Halt(halt)) => return Err(halted(halt)),
                    Err(AgentFail::Lost(e)) => return Err(lost(target, user, &e)),
                }
            }
            Method::Agent => false,
            Method::Password => match &creds.password {
                Some(password) if offers("password") => {
                    report.borrow_mut().tried_password();
                    let result = conn.drive(deadline, || {
                        session.userauth_password(user, password.expose())
                    });
                    outcome(result)?
                }
                _ => false,
            },
            Method::KeyboardInteractive => match &creds.password {
                Some(password) if offers("keyboard-interactive") => {
                    report.borrow_mut().tried_keyboard_interactive();
                    let mut answer = Answer {
                        password,
                        rounds: 0,
                    };
                    let result = conn.drive(deadline, || {
                        session.userauth_keyboard_interactive(user, &mut answer)
                    });
                    outcome(result)?
                }
                _ => false,
            },
        };
        if accepted {
            return Ok(());
        }
    }
    Err(report.into_inner().failed(target, user))
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
    report: &mut AuthReport,
) -> Result<bool, AgentFail> {
    let session = &conn.session;
    let mut agent = match session.agent() {
        Ok(agent) => agent,
        Err(e) => {
            report.note(policy::agent_unreachable(e.message()));
            return Ok(false);
        }
    };
    if let Err(e) = agent.connect() {
        report.note(policy::agent_unreachable(e.message()));
        return Ok(false);
    }
    let identities = match agent.list_identities().and_then(|()| agent.identities()) {
        Ok(ids) => ids,
        Err(e) => {
            report.note(policy::agent_list_failed(e.message()));
            let _ = agent.disconnect();
            return Ok(false);
        }
    };
    if identities.is_empty() {
        report.note(policy::agent_empty());
    }
    let mut accepted = Ok(false);
    for identity in &identities {
        report.tried_agent_key(identity.comment());
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

/// Answers keyboard-interactive prompts as the policy says
/// ([`policy::answer_prompt`]), for at most
/// [`policy::KEYBOARD_INTERACTIVE_ROUNDS`] rounds (then empty answers, which
/// the device refuses).
struct Answer<'a> {
    password: &'a Secret,
    rounds: usize,
}

impl KeyboardInteractivePrompt for Answer<'_> {
    fn prompt<'b>(
        &mut self,
        _username: &str,
        _instructions: &str,
        prompts: &[Prompt<'b>],
    ) -> Vec<String> {
        self.rounds += 1;
        let password = if self.rounds > policy::KEYBOARD_INTERACTIVE_ROUNDS {
            ""
        } else {
            self.password.expose()
        };
        prompts
            .iter()
            .map(|p| policy::answer_prompt(&p.text, p.echo, password).to_string())
            .collect()
    }
}

/// The device closed the connection while `user` was authenticating
/// ([`policy::lost`]).
fn lost(target: &Target, user: &str, e: &ssh2::Error) -> AttemptError {
    policy::lost(target, user, e.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_lost_while_authenticating_is_an_auth_failure_never_retried() {
        let target = Target::new("r1", "127.0.0.1");
        let e = ssh2::Error::new(ErrorCode::Session(-13), "Failed getting banner");
        let err = lost(&target, "admin", &e);
        assert_eq!(err.kind, fanout_core::ErrorKind::Auth);
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
