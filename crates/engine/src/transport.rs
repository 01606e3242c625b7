//! The transport seam: how a driver runs one attempt of a network task
//! (`exec`, `cli`; later telnet and HTTP) without knowing the protocol.
//!
//! A transport gets the job, the target, the host's deadline and the host's
//! [`Progress`] (to add its phase timings and say which phase runs) —
//! nothing of a scheduler. The engine never depends on a transport crate:
//! the blocking one (`fanout-transport-blocking`) implements
//! [`BlockingTransport`], the async one (`fanout-transport-async`)
//! implements [`AsyncTransport`], and executors hand them to the drivers.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use fanout_core::{CancelToken, CommandOutput, Job, Target};

use crate::{AttemptError, HostDeadline, Progress};

/// How one attempt ended: the outputs, or the error that becomes the
/// host's outcome unless the attempt is retried.
pub type AttemptResult = Result<Vec<CommandOutput>, AttemptError>;

/// A boxed, sendable future (what [`AsyncTransport::attempt`] returns, so
/// that hosts of other tasks never pay for a transport's state machine).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs attempts of network tasks on the calling thread, blocking.
pub trait BlockingTransport: Send + Sync + fmt::Debug {
    /// One attempt of `job`'s task on `target`, within the host deadline
    /// `host` (each phase also within its own timeout), stopping promptly
    /// once `cancel` fires (then `Err` of kind `cancelled`).
    fn attempt(
        &self,
        job: &Job,
        target: &Target,
        host: HostDeadline,
        cancel: &CancelToken,
        progress: &mut Progress,
    ) -> AttemptResult;

    /// The longest one attempt of `job` on `target` can take by its phase
    /// timeouts, the goodbye to the device included; `None` when a phase
    /// it needs is unlimited. Whoever must tell a slow host from a hung one
    /// uses it ([`max_host_duration`](crate::max_host_duration)).
    fn attempt_budget(&self, job: &Job, target: &Target) -> Option<Duration>;

    /// What an attempt of `job` on `target` can reuse of an earlier
    /// attempt in the same process, as a key: hosts with equal keys share
    /// it (the HTTP client's kept-alive connections to one origin). `None`
    /// (the default) when attempts share nothing: each SSH or telnet host
    /// opens a connection of its own. The process pool offers a worker the
    /// hosts of the key it ran last, so that its own pool serves them
    /// ([`Admission::set_affinity`](crate::Admission::set_affinity)).
    fn reuse_key(&self, job: &Job, target: &Target) -> Option<String> {
        let _ = (job, target);
        None
    }
}

/// Runs attempts of network tasks as futures on tokio.
pub trait AsyncTransport: Send + Sync {
    /// One attempt of `job`'s task on `target`, within the host deadline
    /// `host` (each phase also within its own timeout). Cancellation drops
    /// the future: everything it opened must close with it, and what it
    /// recorded in `progress` so far is what the host reports.
    fn attempt<'a>(
        &'a self,
        job: &'a Job,
        target: &'a Target,
        host: HostDeadline,
        progress: &'a mut Progress,
    ) -> BoxFuture<'a, AttemptResult>;
}

/// The error of a network task that reached a driver without a transport
/// (a bug of the executor).
pub(crate) fn no_transport(job: &Job) -> AttemptError {
    AttemptError::new(
        fanout_core::ErrorKind::InvalidTarget,
        None,
        format!(
            "internal error: no transport for the {} task; please report it",
            job.task.kind()
        ),
    )
}
