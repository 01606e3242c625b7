//! The telnet login dialog, sans I/O: answer the device's username prompt
//! (`Username:` on Cisco, `login:` elsewhere) and password prompt, then
//! tell a login that worked (the device's CLI prompt) from one that did
//! not (`% Login invalid`, `Login incorrect`, ... or the prompts again).
//!
//! It sees the device's data (after the telnet layer), decides what to
//! type, and words what went wrong: the password is typed, never quoted
//! (a device that echoed it anyway has it masked in every quote).

use fanout_core::{ErrorKind, Secret, Target};
use fanout_engine::{AttemptError, Deadline};
use regex::Regex;
use std::sync::LazyLock;

use crate::ssh::endpoint;

/// Characters of the screen quoted in a login error.
const QUOTE_CHARS: usize = 200;
/// Bytes after the password that confirm a login without a prompt: more
/// than any refusal prints (a banner, or a device that never stops
/// talking, which the CLI dialog then handles as over SSH).
const CONFIRMED_AFTER: usize = 1024;
/// Most of the screen kept while logging in (a banner is shorter).
const SCREEN_CAP: usize = 64 << 10;

static USER_PROMPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(user ?name|login)\s*:\s*$").expect("valid regex"));
static PASSWORD_PROMPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)pass(word|code)\s*:\s*$").expect("valid regex"));
/// What devices print for a refused login (IOS, NX-OS/Junos/EOS/Linux,
/// AAA servers, ...).
static REJECTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^\s*(% ?)?(login invalid|login incorrect|authentication failed|access denied|bad passwords?|permission denied)",
    )
    .expect("valid regex")
});
/// A CLI prompt at the end of the screen: the login worked.
static CLI_PROMPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[>#$%\]]\s*$").expect("valid regex"));

/// What the login asks its transport to do next.
#[derive(Debug)]
pub enum LoginStep {
    /// Type these bytes (data, before telnet escaping).
    Send(Vec<u8>),
    /// Read more of the device's data.
    Read,
    /// Logged in: the data received since the password (the banner and the
    /// first prompt), for the CLI dialog.
    Done(Vec<u8>),
    /// The login failed.
    Fail(AttemptError),
}

/// Where the login is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for the username (or password) prompt.
    Prompt,
    /// The username was typed; waiting for the password prompt.
    User,
    /// The password was typed; waiting for the CLI prompt or a refusal.
    Password,
}

/// One login dialog (see the module docs).
pub struct Login {
    endpoint: String,
    user: Option<String>,
    password: Secret,
    prompt: Option<Regex>,
    state: State,
    /// The device's data since the last line typed, as text.
    screen: String,
    /// The device's data since the password, as received.
    after_password: Vec<u8>,
    done: bool,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("endpoint", &self.endpoint)
            .field("user", &self.user)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// The login of `target` (its password: [`super::require_credentials`]
    /// was checked before connecting; a custom `prompt` var also tells a
    /// successful login).
    pub fn new(target: &Target) -> Result<Self, AttemptError> {
        let password = super::require_credentials(target)?.clone();
        let prompt = match target.vars.get("prompt") {
            Some(p) => Some(Regex::new(&format!("(?:{p})\\s*$")).map_err(|e| {
                AttemptError::new(
                    ErrorKind::InvalidTarget,
                    None,
                    format!("{}: the prompt regex `{p}` is invalid: {e}", target.name),
                )
            })?),
            None => None,
        };
        Ok(Self {
            endpoint: endpoint(target),
            user: target.username.clone(),
            password,
            prompt,
            state: State::Prompt,
            screen: String::new(),
            after_password: Vec::new(),
            done: false,
        })
    }

    /// Data the device sent (after the telnet layer).
    pub fn received(&mut self, data: &[u8]) {
        self.screen.push_str(&String::from_utf8_lossy(data));
        if self.screen.len() > SCREEN_CAP {
            let mut cut = self.screen.len() - SCREEN_CAP / 2;
            while !self.screen.is_char_boundary(cut) {
                cut += 1;
            }
            self.screen.drain(..cut);
        }
        if self.state == State::Password {
            self.after_password.extend_from_slice(data);
        }
    }

    /// Whether the password was typed (a connection lost after it is an
    /// authentication failure, not a connection failure).
    pub fn sent_password(&self) -> bool {
        self.state == State::Password
    }

    /// What to do next.
    pub fn step(&mut self) -> LoginStep {
        if self.done {
            return LoginStep::Read;
        }
        let tail = self.tail().to_string();
        match self.state {
            State::Password => {
                let asked_again = USER_PROMPT.is_match(&tail) || PASSWORD_PROMPT.is_match(&tail);
                let long = self.after_password.len() > CONFIRMED_AFTER;
                if !asked_again && (self.is_cli_prompt(&tail) || long) {
                    self.done = true;
                    return LoginStep::Done(std::mem::take(&mut self.after_password));
                }
                if let Some(m) = REJECTED.find(&self.screen) {
                    let said = m.as_str().trim().to_string();
                    return self.fail(format!("the device said `{said}`"));
                }
                if asked_again {
                    return self.fail("the device asked for the login again".into());
                }
                LoginStep::Read
            }
            State::Prompt | State::User => {
                if PASSWORD_PROMPT.is_match(&tail) {
                    self.state = State::Password;
                    self.screen.clear();
                    let mut line = self.password.expose().as_bytes().to_vec();
                    line.extend_from_slice(b"\r\n");
                    return LoginStep::Send(line);
                }
                if USER_PROMPT.is_match(&tail) {
                    if self.state == State::User {
                        return self.fail("the device asked for the username again".into());
                    }
                    let Some(user) = &self.user else {
                        let err = AttemptError::new(
                            ErrorKind::InvalidTarget,
                            None,
                            format!(
                                "telnet login at {} asks for a username and the host has none; set `username` for it (or in defaults) in the inventory",
                                self.endpoint
                            ),
                        );
                        self.done = true;
                        return LoginStep::Fail(err);
                    };
                    let mut line = user.as_bytes().to_vec();
                    line.extend_from_slice(b"\r\n");
                    self.state = State::User;
                    self.screen.clear();
                    return LoginStep::Send(line);
                }
                LoginStep::Read
            }
        }
    }

    /// The error when the login's deadline (the auth timeout, or the
    /// host's) ran out: the deadline's timeout, what was awaited, the last
    /// output.
    pub fn expired(&self, deadline: &Deadline) -> AttemptError {
        let awaited = match self.state {
            State::Prompt => {
                "waiting for the telnet login prompt (`Username:`, `login:` or `Password:`)"
            }
            State::User => "waiting for the `Password:` prompt after the username",
            State::Password => "waiting for the device's prompt after the password",
        };
        let mut err = deadline.timeout_error(Vec::new());
        err.message
            .push_str(&format!(" {awaited}; last output: {}", self.quote()));
        err
    }

    /// The error when the device closed the connection during the login:
    /// after the password an authentication failure (devices hang up on
    /// a wrong login), before it a connection failure.
    pub fn closed(&self) -> AttemptError {
        if self.state == State::Password {
            return self.error("the device closed the connection after the password".into());
        }
        AttemptError::new(
            ErrorKind::Connect,
            None,
            format!(
                "telnet connection to {} closed before the login; last output: {}; check that the device accepts more telnet sessions (vty lines)",
                self.endpoint,
                self.quote()
            ),
        )
    }

    fn fail(&mut self, why: String) -> LoginStep {
        self.done = true;
        LoginStep::Fail(self.error(why))
    }

    fn error(&self, why: String) -> AttemptError {
        let who = match &self.user {
            Some(u) => format!("as {u} "),
            None => String::new(),
        };
        AttemptError::new(
            ErrorKind::Auth,
            None,
            format!(
                "telnet login {who}at {} failed: {why}; check the username and password",
                self.endpoint
            ),
        )
    }

    /// The screen's last line (the prompt a device is waiting on).
    fn tail(&self) -> &str {
        let end = self.screen.trim_end_matches(['\r', '\n']);
        let tail = match end.rfind('\n') {
            Some(i) => &end[i + 1..],
            None => end,
        };
        if end.len() == self.screen.len() {
            tail.trim_start_matches('\r')
        } else {
            // The screen ends with a line break: no prompt is waiting.
            ""
        }
    }

    fn is_cli_prompt(&self, tail: &str) -> bool {
        match &self.prompt {
            Some(p) => p.is_match(tail),
            None => CLI_PROMPT.is_match(tail),
        }
    }

    /// The last characters of the screen, quoted, the password masked.
    fn quote(&self) -> String {
        let mut text = self.screen.trim().to_string();
        let secret = self.password.expose();
        if !secret.is_empty() {
            text = text.replace(secret, "********");
        }
        let chars: Vec<char> = text.chars().collect();
        let start = chars.len().saturating_sub(QUOTE_CHARS);
        let text: String = chars[start..].iter().collect();
        if text.is_empty() {
            "(nothing)".into()
        } else {
            format!("{text:?}")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use fanout_core::{Phase, Secret};

    use super::*;

    fn target() -> Target {
        let mut t = Target::new("r1", "127.0.0.1");
        t.port = 2323;
        t.username = Some("cisco".into());
        t.credentials.password = Some(Secret::new("s3cret"));
        t
    }

    /// The auth phase's deadline, 5 s from now.
    fn auth_deadline() -> Deadline {
        Deadline::new(
            Instant::now(),
            Phase::Auth,
            Some(Duration::from_secs(5)),
            None,
        )
    }

    fn sent(step: LoginStep) -> Vec<u8> {
        match step {
            LoginStep::Send(b) => b,
            other => panic!("expected a send: {other:?}"),
        }
    }

    #[test]
    fn ios_login_types_user_and_password_then_hands_over_the_banner() {
        let mut l = Login::new(&target()).unwrap();
        assert!(matches!(l.step(), LoginStep::Read));
        l.received(b"\r\n\r\nUser Access Verification\r\n\r\nUser");
        assert!(matches!(l.step(), LoginStep::Read), "half a prompt");
        l.received(b"name: ");
        assert_eq!(sent(l.step()), b"cisco\r\n");
        assert!(matches!(l.step(), LoginStep::Read));
        l.received(b"cisco\r\nPassword: ");
        assert_eq!(sent(l.step()), b"s3cret\r\n");
        assert!(l.sent_password());
        l.received(b"\r\n\r\nR1");
        assert!(matches!(l.step(), LoginStep::Read));
        l.received(b">");
        assert!(matches!(l.step(), LoginStep::Done(rest) if rest == b"\r\n\r\nR1>"));
    }

    #[test]
    fn linux_and_junos_login_prompts_and_password_only_lines() {
        for (prompt, password) in [("lx-1 login: ", "Password: "), ("login: ", "Password:")] {
            let mut l = Login::new(&target()).unwrap();
            l.received(format!("Ubuntu 24.04.1 LTS\r\n{prompt}").as_bytes());
            assert_eq!(sent(l.step()), b"cisco\r\n", "{prompt}");
            l.received(format!("cisco\r\n{password}").as_bytes());
            assert_eq!(sent(l.step()), b"s3cret\r\n", "{password}");
            l.received(b"\r\nWelcome\r\ncisco@lx-1:~$ ");
            assert!(matches!(l.step(), LoginStep::Done(_)));
        }
        // A line with only a password (`line vty` + `password`): no username asked.
        let mut t = target();
        t.username = None;
        let mut l = Login::new(&t).unwrap();
        l.received(b"\r\nPassword: ");
        assert_eq!(sent(l.step()), b"s3cret\r\n");
        l.received(b"\r\nR1>");
        assert!(matches!(l.step(), LoginStep::Done(_)));
        // ... but a username prompt for a host without one is its mistake.
        let mut l = Login::new(&t).unwrap();
        l.received(b"Username: ");
        let LoginStep::Fail(e) = l.step() else {
            panic!("no username")
        };
        assert_eq!(e.kind, ErrorKind::InvalidTarget);
        assert!(e.message.contains("set `username`"), "{}", e.message);
    }

    #[test]
    fn a_refused_login_is_auth_and_never_quotes_the_password() {
        for refusal in [
            "\r\n% Login invalid\r\n\r\nUsername: ",
            "\r\nLogin incorrect\r\nlx-1 login: ",
            "\r\n% Authentication failed\r\n",
            "\r\nPassword: ",
        ] {
            let mut l = Login::new(&target()).unwrap();
            l.received(b"Username: ");
            sent(l.step());
            l.received(b"cisco\r\nPassword: ");
            sent(l.step());
            l.received(refusal.as_bytes());
            let LoginStep::Fail(e) = l.step() else {
                panic!("{refusal:?} must fail the login")
            };
            assert_eq!(e.kind, ErrorKind::Auth, "{refusal:?}: {}", e.message);
            assert!(
                e.message
                    .starts_with("telnet login as cisco at 127.0.0.1:2323 failed: "),
                "{}",
                e.message
            );
            assert!(e.message.contains("check the username and password"));
            assert!(!e.message.contains("s3cret"));
            assert!(
                matches!(l.step(), LoginStep::Read),
                "a failed login stays failed"
            );
        }
        // A device that echoes the password: masked in the quote.
        let mut l = Login::new(&target()).unwrap();
        l.received(b"Password: ");
        sent(l.step());
        l.received(b"s3cret\r\nstill thinking");
        let deadline = auth_deadline();
        let e = l.expired(&deadline);
        assert!(!e.message.contains("s3cret"), "{}", e.message);
        assert!(e.message.contains("********"), "{}", e.message);
        let e = l.closed();
        assert_eq!(e.kind, ErrorKind::Auth, "hung up after the password");
    }

    #[test]
    fn a_long_banner_after_the_password_confirms_the_login() {
        let mut l = Login::new(&target()).unwrap();
        l.received(b"Password: ");
        sent(l.step());
        l.received(&[b'x'; 1000]);
        assert!(matches!(l.step(), LoginStep::Read));
        l.received(&[b'x'; 100]);
        assert!(
            matches!(l.step(), LoginStep::Done(rest) if rest.len() == 1100),
            "more than a refusal prints: the CLI dialog takes over"
        );
    }

    #[test]
    fn no_login_prompt_times_out_in_auth_with_the_last_output() {
        let mut l = Login::new(&target()).unwrap();
        l.received(b"\r\nUser Access Verification\r\n");
        assert!(matches!(l.step(), LoginStep::Read));
        let deadline = auth_deadline();
        let e = l.expired(&deadline);
        assert_eq!((e.kind, e.phase), (ErrorKind::Timeout, Some(Phase::Auth)));
        assert!(
            e.message.starts_with("auth timed out after 5s"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("waiting for the telnet login prompt")
                && e.message.contains("User Access Verification"),
            "{}",
            e.message
        );
        let e = l.closed();
        assert_eq!(e.kind, ErrorKind::Connect, "{}", e.message);
        assert!(
            e.message.contains("closed before the login"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_custom_prompt_tells_the_login_worked_and_a_bad_one_is_invalid() {
        let mut t = target();
        t.vars.insert("prompt".into(), r"box\d+:".into());
        let mut l = Login::new(&t).unwrap();
        l.received(b"Password: ");
        sent(l.step());
        l.received(b"\r\nR1>");
        assert!(
            matches!(l.step(), LoginStep::Read),
            "not this device's prompt"
        );
        l.received(b"\r\nbox7: ");
        assert!(matches!(l.step(), LoginStep::Done(_)));
        t.vars.insert("prompt".into(), "(".into());
        assert_eq!(Login::new(&t).unwrap_err().kind, ErrorKind::InvalidTarget);
        t.credentials.password = None;
        let e = Login::new(&t).unwrap_err();
        assert!(e.message.contains("has no password"), "{}", e.message);
    }
}
