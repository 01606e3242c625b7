//! One telnet `cli` session, sans I/O: the telnet layer ([`Codec`]), the
//! login ([`Login`]), then **the same** `fanout_netcli::Driver` the SSH
//! transports run. A transport moves bytes and keeps the deadline:
//!
//! ```text
//! let mut client = Client::new(job, target, commands, mode, host, Instant::now())?;
//! loop {
//!     match client.next(Instant::now()) {
//!         Step::Send(bytes) => write them before client.deadline()
//!             (too late: client.expired(Stage::Send); broken: client.closed()),
//!         Step::Read => read some bytes before client.deadline(), client.received(bytes)
//!             (too late: client.expired(Stage::Read); EOF: client.closed()),
//!         Step::Done(outputs) => close; return the outputs,
//!         Step::Fail(error) => return the error,
//!     }
//! }
//! ```
//!
//! The login runs in the auth phase (one deadline: the auth timeout, or
//! what is left of the host's); the dialog's exchanges in the command phase
//! (the command timeout each, as over SSH).

use std::time::{Duration, Instant};

use fanout_core::{CliMode, CommandOutput, Job, Phase, Target};
use fanout_engine::{AttemptError, Deadline, HostDeadline};
use fanout_netcli::{Action, DialogSpec, Driver, Limit, LimitRule, Stage};

use super::codec::Codec;
use super::login::{Login, LoginStep};
use crate::ssh::{dialog_failed, exchange_deadline};

/// What the transport must do next.
#[derive(Debug)]
pub enum Step {
    /// Write all of these bytes (telnet-encoded) before
    /// [`Client::deadline`], then ask again.
    Send(Vec<u8>),
    /// Read whatever arrives before [`Client::deadline`], give it to
    /// [`Client::received`], then ask again.
    Read,
    /// The dialog finished (its logout was typed): close the connection.
    Done(Vec<CommandOutput>),
    /// The session failed.
    Fail(AttemptError),
}

enum Part {
    Login(Login),
    Cli(Box<Driver>),
}

/// One telnet session of a `cli` task (see the module docs).
pub struct Client {
    codec: Codec,
    /// Negotiation answers not yet written.
    outbox: Vec<u8>,
    part: Part,
    login_deadline: Deadline,
    spec: DialogSpec,
    command: Option<Duration>,
    host: HostDeadline,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("phase", &self.phase())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The session of a `cli` task running `commands` in `mode` on
    /// `target`, its login starting at `now`. A target that cannot log in
    /// (no password) or whose dialog cannot run (a bad `prompt` regex) is
    /// an `invalid_target` error, before any connection.
    pub fn new(
        job: &Job,
        target: &Target,
        commands: &[String],
        mode: CliMode,
        host: HostDeadline,
        now: Instant,
    ) -> Result<Self, AttemptError> {
        let login = Login::new(target)?;
        let spec = DialogSpec::for_target(target, commands, mode).with_options(&job.cli);
        let command = job.timeouts.for_target(target, Phase::Command);
        // Checks the dialog can run before the connection is opened.
        driver(spec.clone(), command, host, now)?;
        Ok(Self {
            codec: Codec::new(),
            outbox: Vec::new(),
            part: Part::Login(login),
            login_deadline: Deadline::new(
                now,
                Phase::Auth,
                job.timeouts.for_target(target, Phase::Auth),
                host,
            ),
            spec,
            command,
            host,
        })
    }

    /// The login's phase (`auth`), then the dialog's (`command`).
    pub fn phase(&self) -> Phase {
        match self.part {
            Part::Login(_) => Phase::Auth,
            Part::Cli(_) => Phase::Command,
        }
    }

    /// The current deadline: the login's, then the current exchange's.
    pub fn deadline(&self) -> Deadline {
        match &self.part {
            Part::Login(_) => self.login_deadline,
            Part::Cli(driver) => exchange_deadline(driver),
        }
    }

    /// What to do next; `now` starts the limit of a dialog exchange that
    /// begins with this step.
    pub fn next(&mut self, now: Instant) -> Step {
        if !self.outbox.is_empty() {
            return Step::Send(std::mem::take(&mut self.outbox));
        }
        loop {
            match &mut self.part {
                Part::Login(login) => match login.step() {
                    LoginStep::Send(bytes) => return Step::Send(Codec::encode(&bytes)),
                    LoginStep::Read => return Step::Read,
                    LoginStep::Fail(e) => return Step::Fail(e),
                    LoginStep::Done(rest) => {
                        let mut driver =
                            match driver(self.spec.clone(), self.command, self.host, now) {
                                Ok(d) => d,
                                Err(e) => return Step::Fail(e),
                            };
                        driver.received(&rest);
                        self.part = Part::Cli(Box::new(driver));
                    }
                },
                Part::Cli(driver) => {
                    return match driver.next(now) {
                        Action::Send(bytes) => Step::Send(Codec::encode(&bytes)),
                        Action::Read => Step::Read,
                        Action::Done(outputs) => Step::Done(outputs),
                        Action::Fail(e) => Step::Fail(dialog_failed(e)),
                    };
                }
            }
        }
    }

    /// Bytes read from the socket, exactly as received.
    pub fn received(&mut self, raw: &[u8]) {
        let (data, answers) = self.codec.receive(raw);
        self.outbox.extend_from_slice(&answers);
        match &mut self.part {
            Part::Login(login) => login.received(&data),
            Part::Cli(driver) => driver.received(&data),
        }
    }

    /// The outputs captured so far.
    pub fn outputs(&self) -> Vec<CommandOutput> {
        match &self.part {
            Part::Login(_) => Vec::new(),
            Part::Cli(driver) => driver.outputs().to_vec(),
        }
    }

    /// The error when the connection closed (EOF, or it broke).
    pub fn closed(&self) -> AttemptError {
        match &self.part {
            Part::Login(login) => login.closed(),
            Part::Cli(driver) => dialog_failed(driver.closed()),
        }
    }

    /// The error when [`deadline`](Self::deadline) ran out at `stage`.
    pub fn expired(&self, stage: Stage) -> AttemptError {
        match &self.part {
            Part::Login(login) => login.expired(&self.login_deadline),
            Part::Cli(driver) => dialog_failed(driver.expired(stage)),
        }
    }
}

/// The dialog driver, its first exchange starting at `now` (as
/// [`crate::ssh::cli_driver`] builds it for SSH).
fn driver(
    spec: DialogSpec,
    command: Option<Duration>,
    host: HostDeadline,
    now: Instant,
) -> Result<Driver, AttemptError> {
    let rule: LimitRule = Box::new(move |start| {
        let Deadline { at, phase, after } = Deadline::new(start, Phase::Command, command, host);
        Limit { at, phase, after }
    });
    Driver::new(spec, rule, now).map_err(|e| AttemptError::new(e.kind(), None, e.to_string()))
}

#[cfg(test)]
mod tests {
    use fanout_core::{Platform, Secret, Task};

    use super::*;

    const IAC: u8 = 255;
    const WILL: u8 = 251;
    const DO: u8 = 253;

    fn sent(step: Step) -> Vec<u8> {
        match step {
            Step::Send(b) => b,
            other => panic!("expected a send: {other:?}"),
        }
    }

    /// A whole session against a scripted IOS device: option offers
    /// answered first, the login in phase auth, then netcli's dialog in
    /// phase command; the outputs are the dialog's.
    #[test]
    fn negotiation_login_then_the_netcli_dialog() {
        let mut target = Target::new("r1", "127.0.0.1");
        target.port = 2323;
        target.username = Some("cisco".into());
        target.credentials.password = Some(Secret::new("pw"));
        target.platform = Some(Platform::Ios);
        let job = Job::new(Task::Cli {
            commands: vec!["show clock".into()],
            mode: CliMode::User,
        });
        let now = Instant::now();
        let mut c = Client::new(
            &job,
            &target,
            &["show clock".into()],
            CliMode::User,
            None,
            now,
        )
        .unwrap();
        assert_eq!(c.phase(), Phase::Auth);
        assert!(matches!(c.next(now), Step::Read));
        let mut hello = vec![IAC, WILL, 1, IAC, WILL, 3];
        hello.extend_from_slice(b"\r\nUser Access Verification\r\n\r\nUsername: ");
        c.received(&hello);
        assert_eq!(sent(c.next(now)), [IAC, DO, 1, IAC, DO, 3], "answers first");
        assert_eq!(sent(c.next(now)), b"cisco\r\n");
        c.received(b"cisco\r\nPassword: ");
        assert_eq!(sent(c.next(now)), b"pw\r\n");
        assert_eq!(c.phase(), Phase::Auth);
        c.received(b"\r\nr1>");
        // The dialog takes over: paging off first.
        assert_eq!(sent(c.next(now)), b"terminal length 0\n");
        assert_eq!(c.phase(), Phase::Command);
        assert!(matches!(c.next(now), Step::Read));
        c.received(b"terminal length 0\r\nr1>");
        assert_eq!(sent(c.next(now)), b"show clock\n");
        c.received(b"show clock\r\n*10:15:42.123 UTC Wed Nov 25 2026\r\nr1>");
        assert_eq!(sent(c.next(now)), b"exit\n");
        match c.next(now) {
            Step::Done(outputs) => {
                assert_eq!(outputs[0].stdout, "*10:15:42.123 UTC Wed Nov 25 2026\n")
            }
            other => panic!("expected the outputs: {other:?}"),
        }
        assert!(!format!("{c:?}").contains("pw"), "no password in Debug");
    }
}
