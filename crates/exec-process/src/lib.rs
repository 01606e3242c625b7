//! fanout's OS-process executor (`-e process`): the Rust counterpart of
//! Python's `multiprocessing.Process` per device with a result queue, and of
//! `multiprocessing.Pool`.
//!
//! This crate owns both sides of the process fan-out:
//!
//! - the parent, [`ProcessExecutor`]: starts the `fanout` binary itself as
//!   hidden `fanout worker` children — one per host
//!   ([`ProcessMode::PerHost`]) or a pool of long-lived workers
//!   ([`ProcessMode::Pool`]) — schedules hosts onto them under `-c`,
//!   per-group caps and the connect rate, streams their outcomes to the
//!   sink, and isolates and cleans up after workers that crash, hang or
//!   must be cancelled;
//! - the child, [`serve_worker`] / [`worker_main`]: reads the job and hosts
//!   as newline-delimited JSON on stdin, runs each host with the engine's
//!   blocking driver (`fanout_engine::blocking::run_host`, the same code
//!   path as `seq` and `threads`, so the same outcomes), and writes each
//!   outcome as one JSON line on stdout.
//!
//! The protocol (see `wire.rs`) carries the targets' secrets to the worker
//! through the pipe; they are never printed, logged or put in errors.
//! [`FAULTS_ENV`] is a test-only hook that makes a worker crash on a chosen
//! host.

mod child;
mod executor;
mod faults;
mod limits;
mod scheduler;
mod wire;
mod worker;

pub use executor::{ProcessExecutor, ProcessExecutorBuilder, ProcessMode};
pub use faults::{FAULTS_ENV, Fault, FaultKind, Faults};
pub use limits::demand as limits_demand;
pub use worker::{WorkerOptions, serve_worker, worker_main};

/// What can go wrong in a worker, or in setting up workers.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A message broke the parent/worker protocol.
    #[error("worker protocol error: {what}")]
    Protocol {
        /// What was wrong (never the content of a message to a worker).
        what: String,
    },
    /// Reading or writing a pipe failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The job cannot run in a worker (e.g. a known_hosts file is garbled).
    #[error("{what}")]
    Setup {
        /// What is wrong and what to do.
        what: String,
    },
    /// The test-only fault spec is wrong.
    #[error(
        "invalid fault `{item}` in {env}: {why} (e.g. abort:h03,kill:h05@200ms)",
        env = FAULTS_ENV
    )]
    FaultSpec {
        /// The offending item.
        item: String,
        /// What is wrong with it.
        why: String,
    },
}
