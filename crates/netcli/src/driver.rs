//! The one dialog driver every transport runs, sans I/O: it owns the
//! exchange deadlines and the texts of a timeout, the transport only moves
//! bytes. A transport's loop is a few lines:
//!
//! ```text
//! let mut driver = Driver::new(spec, limit_rule, Instant::now())?;
//! open the channel, PTY and shell before driver.limit().at
//!     (too late: driver.expired(Stage::Open))
//! loop {
//!     match driver.next(Instant::now()) {
//!         Action::Send(bytes) => write them before driver.limit().at
//!             (too late: driver.expired(Stage::Send); the channel broke: driver.closed()),
//!         Action::Read => read some bytes before driver.limit().at, driver.received(bytes)
//!             (too late: driver.expired(Stage::Read); EOF: driver.closed()),
//!         Action::Done(outputs) => close the channel; return the outputs,
//!         Action::Fail(error) => return the error,
//!     }
//! }
//! ```
//!
//! Each exchange (a line sent, up to the prompt that ends its answer, pager
//! answers included) gets the command timeout afresh, or what is left of
//! the host's; the deadline of a new exchange starts *before* its line is
//! sent, so a device that stops accepting input times out on the command
//! timeout too. Opening the shell counts as the first exchange.

use std::fmt;
use std::time::{Duration, Instant};

use fanout_core::{CommandOutput, Phase, format_duration};

use crate::{Dialog, DialogError, DialogSpec, NetcliError, Progress};

/// What the transport must do next.
#[derive(Debug)]
pub enum Action {
    /// Write all of these bytes before [`Driver::limit`] runs out, then ask
    /// again.
    Send(Vec<u8>),
    /// Read whatever arrives before [`Driver::limit`] runs out, give it to
    /// [`Driver::received`], then ask again.
    Read,
    /// The dialog finished (its logout was sent): close the channel; the
    /// commands' outputs.
    Done(Vec<CommandOutput>),
    /// The dialog failed.
    Fail(DialogError),
}

/// Where the transport was when the current exchange's limit ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Opening the channel, the PTY and the shell.
    Open,
    /// Writing a line.
    Send,
    /// Waiting for the device's answer.
    Read,
}

/// The current exchange's limit: the earlier of its command timeout and
/// the host's deadline, and which one it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// When it runs out; `None`: no limit.
    pub at: Option<Instant>,
    /// [`Phase::Command`], or [`Phase::Host`] when the host's deadline
    /// comes first.
    pub phase: Phase,
    /// That timeout (zero when there is none).
    pub after: Duration,
}

/// The limit of an exchange started at the given instant: the caller's
/// rule (the engine's deadline rule, in the transports), so that one rule
/// serves every phase.
pub type LimitRule = Box<dyn Fn(Instant) -> Limit + Send + Sync>;

/// A [`Dialog`] with its exchange deadlines: see the module docs.
pub struct Driver {
    dialog: Dialog,
    rule: LimitRule,
    exchange: usize,
    limit: Limit,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("dialog", &self.dialog)
            .field("exchange", &self.exchange)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// The driver of the dialog `spec` asks for, its first exchange (the
    /// shell opening and the first prompt) starting at `now`; `rule` gives
    /// an exchange's limit from its start (the command timeout, never past
    /// the host's deadline). A spec that cannot run is an error
    /// ([`Dialog::new`]).
    pub fn new(spec: DialogSpec, rule: LimitRule, now: Instant) -> Result<Self, NetcliError> {
        let dialog = Dialog::new(spec)?;
        Ok(Self {
            exchange: dialog.exchanges(),
            dialog,
            limit: rule(now),
            rule,
        })
    }

    /// The current exchange's limit: every send and read waits within it.
    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// What to do next; `now` starts the limit of an exchange that begins
    /// with this step (a pager answer stays within its command's).
    pub fn next(&mut self, now: Instant) -> Action {
        match self.dialog.progress() {
            Ok(Progress::Send(bytes)) => {
                if self.dialog.exchanges() != self.exchange {
                    self.exchange = self.dialog.exchanges();
                    self.limit = (self.rule)(now);
                }
                Action::Send(bytes)
            }
            Ok(Progress::Read) => Action::Read,
            Ok(Progress::Done) => Action::Done(self.dialog.take_outputs()),
            Err(e) => Action::Fail(e),
        }
    }

    /// Bytes read from the shell, exactly as received.
    pub fn received(&mut self, bytes: &[u8]) {
        self.dialog.feed(bytes);
    }

    /// The outputs captured so far.
    pub fn outputs(&self) -> &[CommandOutput] {
        self.dialog.outputs()
    }

    /// The error when the shell closed (EOF, or the connection broke).
    pub fn closed(&self) -> DialogError {
        self.dialog.closed()
    }

    /// The error when the current limit ran out at `stage`: what was
    /// awaited and the last output seen; when the host's deadline came
    /// first, its timeout message first, then the dialog's (`X; Y`).
    pub fn expired(&self, stage: Stage) -> DialogError {
        let Limit { phase, after, .. } = self.limit;
        let outputs = || self.dialog.outputs().to_vec();
        let while_ = |what: &str| {
            format!(
                "{phase} timed out after {} {what}; raise it with --timeout {phase}=DUR",
                format_duration(after)
            )
        };
        let message = match stage {
            Stage::Open => while_(
                "while the shell opened: the device never confirmed the channel, PTY or shell; check that it allows interactive SSH sessions (or use an exec task)",
            ),
            Stage::Send => while_(
                "while sending: the device stopped accepting input (its SSH window stayed closed); check the device's load and session limits",
            ),
            Stage::Read => {
                let timed_out = self.dialog.timed_out(after);
                if phase == Phase::Command || !matches!(timed_out, DialogError::Timeout { .. }) {
                    return timed_out;
                }
                let message = format!("{}; {}", phase.timeout_message(after), timed_out.message());
                return DialogError::HostTimeout {
                    after,
                    message,
                    outputs: timed_out.into_outputs(),
                };
            }
        };
        match phase {
            Phase::Host => DialogError::HostTimeout {
                after,
                message,
                outputs: outputs(),
            },
            _ => DialogError::Timeout {
                after,
                message,
                outputs: outputs(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use fanout_core::{CliMode, ErrorKind, Platform};

    use super::*;

    /// Every exchange gets `command` from its start.
    fn command(command: Duration) -> LimitRule {
        Box::new(move |start| Limit {
            at: Some(start + command),
            phase: Phase::Command,
            after: command,
        })
    }

    /// The host's deadline `at` (of a `host` timeout) comes first.
    fn host(at: Instant, host: Duration) -> LimitRule {
        Box::new(move |_| Limit {
            at: Some(at),
            phase: Phase::Host,
            after: host,
        })
    }

    fn spec() -> DialogSpec {
        DialogSpec {
            platform: Platform::Ios,
            commands: vec!["show clock".into()],
            mode: CliMode::User,
            secret: None,
            prompt: None,
            error_patterns: Vec::new(),
        }
    }

    #[test]
    fn each_exchange_gets_the_command_timeout_from_before_its_send() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let mut d = Driver::new(spec(), command(secs(10)), t0).unwrap();
        assert_eq!(d.limit().at, Some(t0 + secs(10)));
        assert!(matches!(d.next(t0), Action::Read));
        d.received(b"\r\nR1>");
        let Action::Send(bytes) = d.next(t0 + secs(3)) else {
            panic!("paging off is sent")
        };
        assert_eq!(bytes, b"terminal length 0\n");
        assert_eq!(
            d.limit().at,
            Some(t0 + secs(13)),
            "restarted before the send"
        );
        assert!(matches!(d.next(t0 + secs(4)), Action::Read));
        assert_eq!(
            d.limit().at,
            Some(t0 + secs(13)),
            "a read does not restart it"
        );
        let err = d.expired(Stage::Read);
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.phase(), Some(Phase::Command));
        let err = d.expired(Stage::Send);
        assert!(
            err.message()
                .starts_with("command timed out after 10s while sending"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn the_host_deadline_caps_an_exchange_and_says_so_first() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let mut d = Driver::new(spec(), host(t0 + secs(4), secs(4)), t0).unwrap();
        assert_eq!(
            d.limit(),
            Limit {
                at: Some(t0 + secs(4)),
                phase: Phase::Host,
                after: secs(4)
            }
        );
        assert!(matches!(d.next(t0), Action::Read));
        d.received(b"\r\nR1>");
        assert!(matches!(d.next(t0 + secs(1)), Action::Send(_)));
        assert!(matches!(d.next(t0 + secs(1)), Action::Read));
        let err = d.expired(Stage::Read);
        assert_eq!(
            (err.kind(), err.phase()),
            (ErrorKind::Timeout, Some(Phase::Host))
        );
        assert!(
            err.message().starts_with(
                "host timed out after 4s; raise it with --timeout host=DUR; command timed out"
            ),
            "{}",
            err.message()
        );
        let err = d.expired(Stage::Open);
        assert_eq!(err.phase(), Some(Phase::Host));
        assert!(
            err.message().contains("while the shell opened"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn no_timeout_is_no_limit_and_done_hands_the_outputs_over() {
        let t0 = Instant::now();
        let none = Box::new(|_| Limit {
            at: None,
            phase: Phase::Command,
            after: Duration::ZERO,
        });
        let mut d = Driver::new(spec(), none, t0).unwrap();
        assert_eq!(d.limit().at, None);
        let mut device = vec![
            &b"\r\nR1>"[..],
            b"terminal length 0\r\nR1>",
            b"show clock\r\n10:15 UTC\r\nR1>",
        ]
        .into_iter();
        loop {
            match d.next(Instant::now()) {
                Action::Send(_) => {}
                Action::Read => d.received(
                    device
                        .next()
                        .expect("the dialog reads no more than the device says"),
                ),
                Action::Done(outputs) => {
                    assert_eq!(outputs[0].stdout, "10:15 UTC\n");
                    break;
                }
                Action::Fail(e) => panic!("{e}"),
            }
        }
    }
}
