//! The run mechanics every fanout executor shares, so that a scheduler
//! only decides *who* runs a host and *when*, never *how*.
//!
//! This crate owns: the one admission rule (global `-c` and per-group
//! caps, [`Admission`]), the every-host-exactly-once tally of outcomes
//! ([`Ledger`]), the per-phase deadlines and the retry decision
//! ([`Deadline`], [`Retries`]), the connect-rate limiter
//! ([`ConnectRate`], [`AttemptGate`]; `--connect-rate auto`'s AIMD per
//! endpoint in [`adaptive`]), the host-attempt state
//! machine ([`HostAttempts`]: attempts, retries, backoff, the [`Progress`]
//! a cancelled host reports) and its two drivers — [`blocking::run_host`]
//! on the calling thread, [`nonblocking::run_host`] on tokio — which run
//! `sleep`, `cpu` and `local` tasks themselves and network tasks through
//! the transport seam ([`BlockingTransport`], [`AsyncTransport`]); the
//! panic-to-outcome rule ([`panicked`]), local commands on both runners
//! ([`local`]), what is checked and rendered before a network attempt
//! ([`preflight`]: telnet and jump-host refusal, command templates), OS limits ([`limits`]) and the longest a host may take
//! ([`max_host_duration`]).
//!
//! It must never depend on a transport crate or an executor crate, never
//! know a protocol, and never print: what it decides reaches the user
//! through outcomes and errors.

pub mod adaptive;
mod admission;
mod attempts;
pub mod blocking;
mod budget;
pub mod deadline;
mod ledger;
pub mod limits;
pub mod local;
pub mod nonblocking;
mod panic;
pub mod preflight;
mod rate;
mod transport;

pub use admission::{Admission, jump_key};
pub use attempts::{HostAttempts, Progress, Step};
pub use budget::max_host_duration;
pub use deadline::{
    AUTO_RETRIES, AttemptError, Congestion, Deadline, Expired, HostDeadline, Retries, RetryStep,
    host_deadline,
};
pub use ledger::Ledger;
pub use local::kill_all_local_commands;
pub use panic::panicked;
pub use rate::{AttemptGate, ConnectRate, Ticket};
pub use transport::{AsyncTransport, AttemptResult, BlockingTransport, BoxFuture};
