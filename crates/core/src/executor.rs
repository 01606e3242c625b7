//! The [`Executor`] trait and its contract.
//!
//! # Contract
//!
//! Every executor (`seq`, `process`, `threads`, `rayon`, `async`) keeps these
//! rules; `fanout-testkit`'s `executor_conformance!` checks each of them.
//!
//! 1. **Validate first.** [`Executor::run`] calls [`Job::validate`] and sets
//!    itself up (threads, runtime, worker program, known_hosts) before
//!    starting any host; a job it cannot run is an `Err` with no outcome
//!    delivered. Every executor runs every task kind.
//! 2. **Every host exactly once.** Each target yields exactly one
//!    [`HostOutcome`] (named by [`Target::name`]) through the sink, whether it
//!    succeeded, failed, timed out or was cancelled. Nothing is lost, nothing
//!    is reported twice.
//! 3. **Failures stay per host.** A host's error, panic or crash becomes that
//!    host's outcome; other hosts run on, and `run` still returns `Ok`.
//! 4. **Stream as completed.** Outcomes reach the sink as hosts finish, on
//!    the thread that called `run`, not batched at the end; before the
//!    executor blocks waiting for the next outcome (or for its own teardown
//!    after the last one) it calls [`Sink::idle`], where a sink that buffers
//!    its writes flushes them.
//! 5. **Limits.** Never more than [`Limits::concurrency`] hosts in flight
//!    (the executor's own bound where smaller, e.g. `seq` = 1), never more
//!    than a group's [`Limits::per_group`] cap of that group's hosts, never
//!    more than [`Limits::per_jump`] hosts through one first jump hop, and host
//!    attempts started no faster than [`Limits::connect_rate`].
//! 6. **Timeouts per phase.** A phase that runs out of time ends the host
//!    with [`Status::Timeout`] naming the [`Phase`]; a hung host never blocks
//!    the run beyond its timeouts.
//! 7. **Retries.** Failed attempts are retried only when
//!    [`RetryPolicy::should_retry`] says so, after
//!    [`RetryPolicy::backoff_for`]; [`HostOutcome::attempts`] counts them.
//! 8. **Cancellation.** Once the [`CancelToken`] fires (or the sink returns
//!    [`Flow::Stop`]), no new host starts; hosts not started are reported
//!    `cancelled`; in-flight hosts stop promptly (within a documented bound)
//!    and are reported `cancelled` unless they finished; `run` returns the
//!    summary of what happened.
//! 9. **Summary.** The returned [`RunSummary`] counts the delivered outcomes;
//!    `wall` runs from the first host starting to the last outcome.
//!
//! [`Job::validate`]: crate::Job::validate
//! [`Target::name`]: crate::Target::name
//! [`Limits::concurrency`]: crate::Limits::concurrency
//! [`Limits::per_group`]: crate::Limits::per_group
//! [`Limits::per_jump`]: crate::Limits::per_jump
//! [`Limits::connect_rate`]: crate::Limits::connect_rate
//! [`Phase`]: crate::Phase
//! [`RetryPolicy::should_retry`]: crate::RetryPolicy::should_retry
//! [`RetryPolicy::backoff_for`]: crate::RetryPolicy::backoff_for
//! [`CancelToken`]: crate::CancelToken
//! [`Flow::Stop`]: crate::Flow::Stop
//! [`Sink::idle`]: crate::Sink::idle
//! [`HostOutcome`]: crate::HostOutcome
//! [`HostOutcome::attempts`]: crate::HostOutcome::attempts
//! [`Status::Timeout`]: crate::Status::Timeout

use std::sync::Arc;

use crate::{CancelToken, Job, JobError, RunSummary, Sink, Target};

/// Runs a [`Job`] on many [`Target`]s. Object-safe; see the module's
/// [contract](self#contract).
pub trait Executor: Send + Sync {
    /// CLI name (`seq`, `threads`, ...).
    fn name(&self) -> &str;

    /// Hosts this executor will have in flight for `job` (e.g. `seq`: 1).
    fn concurrency(&self, job: &Job) -> usize;

    /// Runs `job` on every target, streaming outcomes to `sink`.
    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError>;

    /// [`run`](Self::run) on targets the caller already shares: an
    /// executor whose hosts need targets that outlive the call's borrow
    /// (`async` spawns a task per host) uses them as they are instead of
    /// copying every target (at 1,000,000 hosts, a copy of the inventory).
    /// The default lends them to `run`.
    fn run_shared(
        &self,
        job: &Job,
        targets: Arc<[Target]>,
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        self.run(job, &targets, sink, cancel)
    }
}

/// Why a whole run could not happen (per-host problems are outcomes instead).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The job's values cannot work.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The executor could not set itself up (threads, runtime, processes).
    #[error("{executor} executor could not start: {message}")]
    Setup {
        /// Executor name.
        executor: String,
        /// What went wrong and what to do.
        message: String,
    },
}

impl ExecError {
    /// `executor` (its CLI name) could not set itself up: `message` says
    /// what went wrong and what to do.
    pub fn setup(executor: &str, message: impl Into<String>) -> Self {
        ExecError::Setup {
            executor: executor.to_string(),
            message: message.into(),
        }
    }
}
