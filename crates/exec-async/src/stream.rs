//! The native async API: [`run_stream`] schedules every host on the
//! caller's tokio runtime and yields outcomes as hosts complete.
//!
//! One driver task walks the targets in order. For each it waits for a
//! global concurrency permit, then spawns the host's task, so at most `-c`
//! host tasks exist at once (10,000 hosts at `-c 100` never allocate 10,000
//! futures). The host task takes its per-group permits, runs, and sends its
//! outcome through an unbounded channel; the [`HostStream`] reads that
//! channel and, once every sender is gone, reports any host that never
//! produced an outcome as `cancelled`, so every target is reported exactly
//! once whatever happened to its task.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use fanout_core::{
    CancelToken, ConnectRateLimiter, ErrorKind, ExecError, HostOutcome, Job, Target, Worker,
};
use futures_util::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};

use crate::host;

/// Everything the hosts of one run share.
pub(crate) struct Ctx {
    pub(crate) job: Arc<Job>,
    pub(crate) targets: Arc<[Target]>,
    pub(crate) cancel: CancelToken,
    pub(crate) rate: Option<ConnectRateLimiter>,
    /// At most `-c` hosts in flight.
    pub(crate) global: Arc<Semaphore>,
    /// Per-group caps, by group name (sorted: the order permits are taken in).
    pub(crate) groups: BTreeMap<String, Arc<Semaphore>>,
    /// SSH client state, for exec and cli tasks.
    pub(crate) ssh: Option<crate::ssh::Shared>,
    /// When the run started (`queued` times count from here).
    pub(crate) started: Instant,
}

/// Outcomes of a run in completion order; see [`run_stream`].
///
/// Dropping the stream stops the run: the driver and every host task are
/// aborted (local commands are killed with their process groups).
pub struct HostStream {
    rx: mpsc::UnboundedReceiver<(usize, HostOutcome)>,
    targets: Arc<[Target]>,
    reported: Vec<bool>,
    /// Next index to check once the channel is closed.
    tail: Option<usize>,
    driver: JoinHandle<()>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for HostStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostStream")
            .field("hosts", &self.targets.len())
            .field("reported", &self.reported.iter().filter(|r| **r).count())
            .finish_non_exhaustive()
    }
}

impl Stream for HostStream {
    type Item = HostOutcome;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<HostOutcome>> {
        let this = &mut *self;
        if this.tail.is_none() {
            loop {
                match this.rx.poll_recv(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some((idx, outcome))) => {
                        if let Some(seen) = this.reported.get_mut(idx)
                            && !std::mem::replace(seen, true)
                        {
                            return Poll::Ready(Some(outcome));
                        }
                    }
                    Poll::Ready(None) => {
                        this.tail = Some(0);
                        break;
                    }
                }
            }
        }
        // Every sender is gone: whatever was never reported was never run
        // to completion (not started, or its task was aborted).
        let start = this.tail.unwrap_or(0);
        match this.reported[start..].iter().position(|r| !r) {
            Some(offset) => {
                let idx = start + offset;
                this.reported[idx] = true;
                this.tail = Some(idx + 1);
                Poll::Ready(Some(HostOutcome::cancelled(
                    &this.targets[idx].name,
                    Worker::Task(idx),
                )))
            }
            None => {
                this.tail = Some(this.reported.len());
                Poll::Ready(None)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.reported.iter().filter(|r| !**r).count();
        (left, Some(left))
    }
}

impl HostStream {
    /// Things the user should be told once per run, e.g. that host keys
    /// are not verified (`--host-keys off`) or lines of
    /// `~/.ssh/known_hosts` that were skipped.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl Drop for HostStream {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Runs `job` on every target on the current tokio runtime and returns
/// the outcomes as a stream, in completion order (as_completed), each
/// target exactly once.
///
/// Must be called from within a tokio runtime (either flavor, with time and
/// I/O enabled; `#[tokio::main]` has both). The job is validated first; a
/// job that cannot run (invalid limits, unreadable known_hosts) is an `Err`
/// before any host starts. Cancelling `cancel` stops starting hosts,
/// stops in-flight ones within about 100 ms, and reports the rest
/// `cancelled`.
///
/// ```no_run
/// use std::sync::Arc;
/// use fanout_core::{CancelToken, Job, Target, Task};
/// use futures_util::StreamExt;
///
/// # async fn demo() -> Result<(), fanout_core::ExecError> {
/// let job = Job::new(Task::Exec { command: "show version".into() }).with_concurrency(200);
/// let targets: Vec<Target> = Vec::new(); // e.g. from fanout-inventory
/// let mut outcomes = fanout_exec_async::run_stream(Arc::new(job), targets, CancelToken::new())?;
/// while let Some(outcome) = outcomes.next().await {
///     println!("{} {}", outcome.host, outcome.status);
/// }
/// # Ok(()) }
/// ```
pub fn run_stream(
    job: Arc<Job>,
    targets: impl Into<Arc<[Target]>>,
    cancel: CancelToken,
) -> Result<HostStream, ExecError> {
    job.validate()?;
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| ExecError::Setup {
        executor: "async".into(),
        message: "run_stream must be called from within a tokio runtime (e.g. inside #[tokio::main]); use AsyncExecutor for blocking code".into(),
    })?;
    let targets: Arc<[Target]> = targets.into();
    let ssh = if job.task.kind().needs_network() {
        Some(crate::ssh::Shared::new(&job)?)
    } else {
        None
    };
    let groups = job
        .limits
        .per_group
        .iter()
        .map(|(name, cap)| (name.clone(), Arc::new(Semaphore::new(*cap))))
        .collect();
    let warnings = ssh
        .as_ref()
        .map(crate::ssh::Shared::warnings)
        .unwrap_or_default();
    let ctx = Arc::new(Ctx {
        rate: job.limits.connect_rate.map(ConnectRateLimiter::new),
        global: Arc::new(Semaphore::new(
            job.limits.concurrency.min(Semaphore::MAX_PERMITS),
        )),
        groups,
        ssh,
        cancel,
        targets: targets.clone(),
        job,
        started: Instant::now(),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let driver = runtime.spawn(drive(ctx, tx));
    Ok(HostStream {
        rx,
        reported: vec![false; targets.len()],
        targets,
        tail: None,
        driver,
        warnings,
    })
}

pub(crate) type Outcomes = mpsc::UnboundedSender<(usize, HostOutcome)>;

/// Starts hosts in order as global permits free up, reaps their tasks,
/// and turns a panicked host task into that host's `worker_crashed`
/// outcome.
async fn drive(ctx: Arc<Ctx>, tx: Outcomes) {
    let mut tasks = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    for idx in 0..ctx.targets.len() {
        let permit: OwnedSemaphorePermit = tokio::select! {
            biased;
            () = ctx.cancel.cancelled() => break,
            permit = ctx.global.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        while let Some(done) = tasks.try_join_next_with_id() {
            reap(done, &mut running, &ctx, &tx);
        }
        if ctx.cancel.is_cancelled() {
            break;
        }
        let handle = tasks.spawn(host::host_task(ctx.clone(), idx, permit, tx.clone()));
        running.insert(handle.id(), idx);
    }
    while let Some(done) = tasks.join_next_with_id().await {
        reap(done, &mut running, &ctx, &tx);
    }
}

fn reap(
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
    running: &mut HashMap<tokio::task::Id, usize>,
    ctx: &Ctx,
    tx: &Outcomes,
) {
    match done {
        Ok((id, ())) => {
            running.remove(&id);
        }
        Err(err) => {
            let Some(idx) = running.remove(&err.id()) else {
                return;
            };
            if let Ok(panic) = err.try_into_panic() {
                let detail = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                let outcome = HostOutcome::failed(
                    &ctx.targets[idx].name,
                    ErrorKind::WorkerCrashed,
                    format!(
                        "internal error (panic) while running this host: {detail}; please report it"
                    ),
                    Worker::Task(idx),
                );
                let _ = tx.send((idx, outcome));
            }
        }
    }
}
