//! Transport-agnostic device-CLI dialog: the part of a `cli` task that
//! talks to a network device's interactive shell. It finds the prompt
//! (per platform, or a custom regex), turns paging off, enters enable mode
//! with the secret, enters and leaves configuration mode, runs each command
//! and captures its output without the echo and the trailing prompt,
//! answers `--More--`, honours `expect` patterns for interactive questions,
//! and recognises the platform's error messages.
//!
//! This crate owns the dialog only: it is pure (bytes in, bytes out, no I/O,
//! no threads; the clock only as instants it is given), so the russh and
//! ssh2 transports drive the same state machine and tests drive it against
//! the simulator's console. Transports run it through [`Driver`], which
//! adds the exchange deadlines and the timeout texts; underneath, the
//! [`Dialog`] alone is driven like this:
//!
//! ```
//! use fanout_core::{CliMode, Platform};
//! use fanout_netcli::{Dialog, DialogSpec, Progress};
//!
//! let spec = DialogSpec {
//!     platform: Platform::Ios,
//!     commands: vec!["show clock".into()],
//!     mode: CliMode::User,
//!     secret: None,
//!     prompt: None,
//!     error_patterns: Vec::new(),
//! };
//! let mut dialog = Dialog::new(spec).unwrap();
//! // A scripted device: what it prints after each line the dialog sends.
//! let mut device = vec![
//!     &b"\r\nR1>"[..],                                   // banner + first prompt
//!     b"terminal length 0\r\nR1>",                       // paging off
//!     b"show clock\r\n*10:15:42.123 UTC Wed Nov 25 2026\r\nR1>",
//! ]
//! .into_iter();
//! let mut pending = device.next();
//! loop {
//!     match dialog.progress().unwrap() {
//!         Progress::Send(_bytes) => pending = device.next(), // write(_bytes)
//!         Progress::Read => match pending.take() {
//!             Some(data) => dialog.feed(data),
//!             None => panic!("{}", dialog.timed_out(std::time::Duration::from_secs(10))),
//!         },
//!         Progress::Done => break, // `exit` was sent: close the channel
//!     }
//! }
//! assert_eq!(dialog.outputs()[0].stdout, "*10:15:42.123 UTC Wed Nov 25 2026\n");
//! ```

mod dialog;
mod driver;
mod error;
mod platform;
mod screen;
mod spec;

pub use dialog::Dialog;
pub use driver::{Action, Driver, Limit, LimitRule, Stage};
pub use error::{DialogError, NetcliError};
pub use spec::{CliCommand, DialogSpec, Progress, error_pattern};
