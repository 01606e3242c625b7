//! fanout beyond one machine: a NATS JetStream work queue.
//!
//! This crate owns both ends of the queue:
//!
//! - the submitter, [`QueueExecutor`] (`fanout run --queue URL`): an
//!   [`Executor`](fanout_core::Executor) that puts the job once in a
//!   key-value bucket, publishes one message per host (host name only) to
//!   the work-queue stream on `fanout.work.SITE.RUN`, and streams the
//!   outcomes back from the results stream through a
//!   [`Ledger`](fanout_engine::Ledger), so that a host delivered twice is
//!   reported once; Ctrl-C sets the run's cancel flag and purges its
//!   unstarted messages;
//! - the worker, [`Worker`] (`fanout worker --nats URL`): pulls hosts of
//!   its site from the site's durable consumer, resolves each name in its
//!   own inventory, runs it on the engine's async driver with the async
//!   transports (the `-e async` per-host path), keeps the message alive
//!   while a host runs long, publishes the outcome and acks.
//!
//! Delivery is at-least-once (JetStream redelivers a dead worker's hosts
//! after the ack wait); reporting is exactly-once (run + host
//! de-duplication in the results stream and at the submitter). A host
//! redelivered after a worker died is re-run only when the task cannot
//! have changed the device (sleep, cpu, `cli` in user or enable mode) or
//! with `--retry-commands`; otherwise it is reported `worker_crashed`.
//!
//! **Never:** put an address, a credential or a file path of a host into a
//! message (workers resolve names in their own inventory), print (the
//! binary prints; warnings travel as data), or depend on another executor.

mod cancel;
mod fit;
mod names;
mod nats;
mod submit;
mod wire;
mod worker;

pub use names::{DEFAULT_SITE, SITE_VAR, check_site};
pub use submit::{QueueExecutor, QueueExecutorBuilder};
pub use wire::{PROTOCOL, QueueJob, WorkItem};
pub use worker::{Worker, WorkerConfig, WorkerStats};

/// What can go wrong with the queue (per-host problems are outcomes).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The NATS server could not be reached or refused an operation.
    #[error("NATS {what}: {message}")]
    Nats {
        /// What was being done (with the server's URL where it helps).
        what: String,
        /// The client's or server's error, and what to do.
        message: String,
    },
    /// A message did not have the expected shape or version.
    #[error("queue protocol error: {0}")]
    Protocol(String),
    /// A site name cannot be used as a subject token.
    #[error(
        "site `{site}` ({origin}) cannot name a NATS subject: use letters, digits, `-` and `_` only"
    )]
    Site {
        /// The site as given.
        site: String,
        /// Where it came from (`--site`, `host r1`).
        origin: String,
    },
    /// The worker could not set itself up (runtime, transports).
    #[error("{0}")]
    Setup(String),
}

impl QueueError {
    pub(crate) fn nats(what: impl Into<String>, err: impl std::fmt::Display) -> Self {
        QueueError::Nats {
            what: what.into(),
            message: err.to_string(),
        }
    }
}
