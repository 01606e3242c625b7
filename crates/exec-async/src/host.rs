//! One host's task: per-group permits, attempts with retries and backoff,
//! per-phase deadlines, cancellation, and the outcome with its timings.
//! Mirrors `fanout_exec_threads::run_host` so both engines report the same
//! outcome for the same host.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fanout_core::{
    CommandOutput, ErrorKind, HostOutcome, Phase, PhaseTimings, Task, Worker, cpu_burn,
};
use futures_util::FutureExt;
use tokio::sync::{Notify, OwnedSemaphorePermit};

use crate::stream::{Ctx, Outcomes};

/// How long an in-flight `local` host gets, once the run is cancelled, to
/// kill its command and keep its output before its future is dropped. Every
/// other host is dropped at once and reported `cancelled` as it stands.
const CANCEL_GRACE: Duration = Duration::from_millis(50);

/// The run's stop signal as the hosts see it: set once, when the caller's
/// token is cancelled (or the stream is dropped). Waiting on it is an
/// intrusive list entry of a tokio `Notify` — no allocation per host.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    set: AtomicBool,
    notify: Notify,
}

impl Stop {
    pub(crate) fn fire(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Resolves once [`fire`](Self::fire) was called.
    pub(crate) async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the check: a fire() in between still wakes us.
        notified.as_mut().enable();
        if self.is_set() {
            return;
        }
        notified.await;
    }
}

/// How one attempt ended when it did not succeed.
#[derive(Debug)]
pub(crate) struct AttemptError {
    pub(crate) kind: ErrorKind,
    pub(crate) phase: Option<Phase>,
    pub(crate) message: String,
    pub(crate) outputs: Vec<CommandOutput>,
}

impl AttemptError {
    pub(crate) fn new(kind: ErrorKind, phase: Option<Phase>, message: impl Into<String>) -> Self {
        Self {
            kind,
            phase,
            message: message.into(),
            outputs: Vec::new(),
        }
    }

    pub(crate) fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, None, "run cancelled")
    }

    pub(crate) fn with_outputs(mut self, outputs: Vec<CommandOutput>) -> Self {
        self.outputs = outputs;
        self
    }
}

/// The deadline of one phase: the earlier of the phase's own timeout and
/// the whole-host timeout, remembering which one it was.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: Option<Instant>,
    pub(crate) phase: Phase,
    pub(crate) after: Duration,
}

impl Deadline {
    pub(crate) fn new(
        start: Instant,
        phase: Phase,
        own: Option<Duration>,
        host: Option<(Instant, Duration)>,
    ) -> Self {
        let own_at = own.and_then(|d| Some((start.checked_add(d)?, phase, d)));
        let host_at = host.map(|(at, d)| (at, Phase::Host, d));
        let pick = match (own_at, host_at) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        match pick {
            Some((at, phase, after)) => Self {
                at: Some(at),
                phase,
                after,
            },
            None => Self {
                at: None,
                phase,
                after: Duration::ZERO,
            },
        }
    }

    pub(crate) fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    pub(crate) fn timeout_error(&self, outputs: Vec<CommandOutput>) -> AttemptError {
        AttemptError::new(
            ErrorKind::Timeout,
            Some(self.phase),
            self.phase.timeout_message(self.after),
        )
        .with_outputs(outputs)
    }

    /// Runs `fut` until this deadline; `Err(())` if the deadline came first.
    pub(crate) async fn run<F: Future>(&self, fut: F) -> Result<F::Output, ()> {
        match self.at {
            Some(at) => tokio::time::timeout_at(at.into(), fut)
                .await
                .map_err(|_| ()),
            None => Ok(fut.await),
        }
    }
}

/// What a host did so far; kept outside its future so that a host whose
/// future is dropped (cancelled) still reports its attempts and timings.
#[derive(Debug)]
pub(crate) struct Progress {
    pub(crate) start: Instant,
    pub(crate) attempts: u32,
    pub(crate) timings: PhaseTimings,
    /// The phase running now (for the message of a cancelled host).
    pub(crate) phase: Option<Phase>,
}

/// One host, from its start to its outcome on `tx`. Holds the global and
/// group permits until the outcome is sent.
pub(crate) async fn host_task(
    ctx: Arc<Ctx>,
    idx: usize,
    _global: OwnedSemaphorePermit,
    group_permits: Vec<OwnedSemaphorePermit>,
    tx: Outcomes,
) {
    let target = &ctx.targets[idx];
    let worker = Worker::Task(idx);
    let start = Instant::now();
    let queued = start.saturating_duration_since(ctx.started);
    let mut progress = Progress {
        start,
        attempts: 0,
        timings: PhaseTimings::default(),
        phase: None,
    };
    let finished = {
        let work = AssertUnwindSafe(run_host(&ctx, idx, &mut progress)).catch_unwind();
        tokio::pin!(work);
        tokio::select! {
            biased;
            finished = &mut work => Some(finished),
            () = ctx.stop.wait() => match ctx.job.task {
                Task::Local { .. } => tokio::time::timeout(CANCEL_GRACE, &mut work).await.ok(),
                _ => None,
            },
        }
    };
    let mut outcome = match finished {
        Some(Ok(outcome)) => outcome,
        Some(Err(panic)) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            let mut o = HostOutcome::failed(
                &target.name,
                ErrorKind::WorkerCrashed,
                format!(
                    "internal error (panic) while running this host: {detail}; please report it"
                ),
                worker,
            );
            o.attempts = progress.attempts;
            o
        }
        None => {
            let mut o = HostOutcome::cancelled(&target.name, worker);
            if let Some(phase) = progress.phase {
                o.message = Some(format!("run cancelled during the {phase} phase"));
            }
            o.attempts = progress.attempts;
            o.timings = progress.timings;
            o.timings.total = progress.start.elapsed();
            o
        }
    };
    outcome.timings.queued = queued;
    let _ = tx.send((idx, outcome));
    if !group_permits.is_empty() {
        drop(group_permits);
        ctx.group_freed.notify_one();
    }
}

/// Runs the job on one host with retries, timeouts and cancellation.
async fn run_host(ctx: &Ctx, idx: usize, progress: &mut Progress) -> HostOutcome {
    let job = &*ctx.job;
    let target = &ctx.targets[idx];
    let start = progress.start;
    let host_timeout = job.timeouts.for_target(target, Phase::Host);
    let host_deadline = host_timeout.and_then(|d| Some((start.checked_add(d)?, d)));
    let seed = target.name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let result = loop {
        // Cancellation drops this future (see host_task); the flag covers
        // a host started just as the run was cancelled.
        if ctx.stop.is_set() {
            break Err(AttemptError::cancelled());
        }
        if let Some(rate) = &ctx.rate {
            tokio::time::sleep_until(rate.reserve().into()).await;
        }
        progress.attempts += 1;
        let err = match attempt(ctx, idx, host_deadline, progress).await {
            Ok(outputs) => break Ok(outputs),
            Err(err) => err,
        };
        progress.phase = None;
        if !job
            .retry
            .should_retry(&job.task, progress.attempts, err.kind, err.phase)
        {
            break Err(err);
        }
        let pause = job.retry.backoff_for(progress.attempts, seed);
        if let Some((at, limit)) = host_deadline
            && at.saturating_duration_since(Instant::now()) <= pause
        {
            // The host's time runs out before the next attempt could start.
            break Err(AttemptError::new(
                ErrorKind::Timeout,
                Some(Phase::Host),
                Phase::Host.timeout_message(limit),
            )
            .with_outputs(err.outputs));
        }
        tokio::time::sleep(pause).await;
    };
    progress.timings.total = start.elapsed();
    let worker = Worker::Task(idx);
    let mut outcome = match result {
        Ok(outputs) => HostOutcome::ok(&target.name, outputs, worker),
        Err(err) => {
            let mut o = HostOutcome::failed(&target.name, err.kind, err.message, worker);
            o.phase = err.phase;
            o.outputs = err.outputs;
            o
        }
    };
    outcome.attempts = progress.attempts;
    outcome.timings = progress.timings;
    outcome
}

async fn attempt(
    ctx: &Ctx,
    idx: usize,
    host_deadline: Option<(Instant, Duration)>,
    progress: &mut Progress,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let job = &*ctx.job;
    let target = &ctx.targets[idx];
    let started = Instant::now();
    let deadline = Deadline::new(
        started,
        Phase::Command,
        job.timeouts.for_target(target, Phase::Command),
        host_deadline,
    );
    if deadline.at.is_some_and(|at| at <= started) {
        return Err(deadline.timeout_error(Vec::new()));
    }
    let result = match &job.task {
        // Boxed: the SSH state machine is large, and the hosts of a
        // sleep/cpu/local run should not pay for its size.
        Task::Exec { .. } | Task::Cli { .. } => {
            return Box::pin(crate::ssh::attempt(ctx, idx, host_deadline, progress)).await;
        }
        Task::Sleep { duration } => {
            progress.phase = Some(Phase::Command);
            sleep_task(*duration, started, deadline).await
        }
        Task::Cpu { iterations } => {
            progress.phase = Some(Phase::Command);
            cpu_task(*iterations, deadline, &ctx.stop).await
        }
        Task::Local { argv } => {
            progress.phase = Some(Phase::Command);
            Box::pin(crate::local::run(argv, target, deadline, &ctx.stop)).await
        }
    };
    progress.timings.command += started.elapsed();
    result
}

async fn sleep_task(
    duration: Duration,
    started: Instant,
    deadline: Deadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let wait = deadline.at.map_or(duration, |at| {
        at.saturating_duration_since(started).min(duration)
    });
    tokio::time::sleep_until((started + wait).into()).await;
    if wait < duration {
        return Err(deadline.timeout_error(Vec::new()));
    }
    Ok(Vec::new())
}

/// Sets a flag when dropped: stops a blocking CPU loop whose host future
/// went away (cancelled, timed out, or the run was dropped).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

async fn cpu_task(
    iterations: u64,
    deadline: Deadline,
    run_stop: &Arc<Stop>,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let stop = Arc::new(AtomicBool::new(false));
    let _guard = StopOnDrop(stop.clone());
    let run = run_stop.clone();
    let burn = tokio::task::spawn_blocking(move || {
        cpu_burn(iterations, || {
            !stop.load(Ordering::Relaxed) && !run.is_set() && !deadline.passed()
        })
    });
    match burn.await {
        Ok(Some(digest)) => Ok(vec![CommandOutput {
            command: format!("cpu {iterations}"),
            stdout: format!("{digest:016x}\n"),
            ..CommandOutput::default()
        }]),
        Ok(None) if run_stop.is_set() => Err(AttemptError::cancelled()),
        Ok(None) => Err(deadline.timeout_error(Vec::new())),
        Err(e) => Err(AttemptError::new(
            ErrorKind::WorkerCrashed,
            None,
            format!("the cpu task's blocking thread failed: {e}; please report it"),
        )),
    }
}
