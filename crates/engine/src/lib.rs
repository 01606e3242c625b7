//! The run mechanics every fanout executor shares, so that a scheduler
//! only decides *who* runs a host and *when*, never *how*.
//!
//! This crate owns: the one admission rule (global `-c` and per-group
//! caps, [`Admission`]), the every-host-exactly-once tally of outcomes
//! ([`Ledger`]), the per-phase deadlines and the retry decision
//! ([`Deadline`], [`Retries`]), the connect-rate limiter
//! ([`ConnectRateLimiter`], [`AttemptGate`]), OS limits ([`limits`]),
//! local commands on both runners ([`local`]), the panic-to-outcome rule
//! ([`panicked`]) and the async stop signal ([`nonblocking::Stop`]).
//!
//! It must never depend on a transport crate or an executor crate, and
//! never print: what it decides reaches the user through outcomes and
//! errors.

mod admission;
pub mod deadline;
mod ledger;
pub mod limits;
pub mod local;
pub mod nonblocking;
mod panic;
mod rate;

pub use admission::Admission;
pub use deadline::{
    AttemptError, Deadline, Expired, HostDeadline, Retries, RetryStep, host_deadline,
};
pub use ledger::Ledger;
pub use local::kill_all_local_commands;
pub use panic::panicked;
pub use rate::{AttemptGate, ConnectRateLimiter};
