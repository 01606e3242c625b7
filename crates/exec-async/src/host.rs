//! One host's task: its admission slot, attempts with retries and backoff,
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
use fanout_engine::nonblocking::{Admitted, Stop};
use fanout_engine::{HostDeadline, Retries, RetryStep, host_deadline};
use futures_util::FutureExt;

use crate::stream::{Ctx, Outcomes};

/// How long an in-flight `local` host gets, once the run is cancelled, to
/// kill its command and keep its output before its future is dropped. Every
/// other host is dropped at once and reported `cancelled` as it stands.
const CANCEL_GRACE: Duration = Duration::from_millis(50);

pub(crate) use fanout_engine::{AttemptError, Deadline};

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

/// One host, from its start to its outcome on `tx`. Holds its admission
/// slot until the outcome is sent.
pub(crate) async fn host_task(ctx: Arc<Ctx>, admitted: Admitted, tx: Outcomes) {
    let idx = admitted.index();
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
    drop(admitted);
}

/// Runs the job on one host with retries, timeouts and cancellation.
async fn run_host(ctx: &Ctx, idx: usize, progress: &mut Progress) -> HostOutcome {
    let job = &*ctx.job;
    let target = &ctx.targets[idx];
    let start = progress.start;
    let host_deadline = host_deadline(job, target, start);
    let retries = Retries::new(job, target, host_deadline);
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
        let pause = match retries.after(progress.attempts, err.kind, err.phase) {
            RetryStep::GiveUp => break Err(err),
            RetryStep::Retry(pause) => pause,
            // The host's time runs out before the next attempt could start.
            RetryStep::HostTimeout(deadline) => {
                break Err(deadline.timeout_error(err.outputs));
            }
        };
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
    host_deadline: HostDeadline,
    progress: &mut Progress,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let job = &*ctx.job;
    let target = &ctx.targets[idx];
    let started = Instant::now();
    let deadline = Deadline::for_phase(job, target, Phase::Command, started, host_deadline);
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
            Box::pin(fanout_engine::local::nonblocking::run(
                argv, target, deadline, &ctx.stop,
            ))
            .await
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
    match started.checked_add(wait) {
        Some(until) => tokio::time::sleep_until(until.into()).await,
        // Beyond the clock: no deadline ever comes (cancellation drops
        // this future).
        None => std::future::pending().await,
    }
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

#[cfg(test)]
mod tests {
    use fanout_core::{CancelToken, CollectSink, Executor, Job, Status, Target};

    use super::*;

    #[test]
    fn a_sleep_past_the_clock_waits_until_cancelled() {
        // No timeout and a sleep too long for the clock: waits (no
        // overflow panic) until the run is cancelled.
        let job = Job::new(Task::Sleep {
            duration: Duration::MAX,
        });
        let cancel = CancelToken::new();
        let canceller = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                cancel.cancel();
            })
        };
        let mut sink = CollectSink::default();
        let started = Instant::now();
        let _ = crate::AsyncExecutor::new().run(
            &job,
            &[Target::new("h1", "127.0.0.1")],
            &mut sink,
            &cancel,
        );
        canceller.join().unwrap();
        let o = &sink.outcomes[0];
        assert_eq!(o.status, Status::Cancelled, "{o:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
