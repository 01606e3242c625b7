//! The async (tokio) driver: one host as a future, from its start to its
//! outcome — attempts, retries with backoff, per-phase deadlines,
//! cancellation and the phase timings — with `sleep` (a tokio timer),
//! `cpu` (on the blocking pool, so the reactor never stalls) and `local`
//! run here and network tasks through an [`AsyncTransport`]; plus the
//! run's stop signal ([`Stop`]) and the admission waiter
//! ([`AsyncAdmission`]). The async executor calls [`run_host`] once per
//! host task.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use fanout_core::{ErrorKind, HostOutcome, Job, Phase, Target, Task, Worker, cpu_burn};
use futures_util::FutureExt;
use tokio::sync::Notify;

use crate::attempts::{HostAttempts, Step};
use crate::blocking::cpu_output;
use crate::transport::{AsyncTransport, AttemptResult, no_transport};
use crate::{
    AttemptError, AttemptGate, ConnectRate, Deadline, HostDeadline, Progress, local, panicked,
};

mod admission;

pub use admission::{Admit, Admitted, AsyncAdmission};

/// How long an in-flight `local` host gets, once the run is stopped, to
/// kill its command and keep its output before its future is dropped. Every
/// other host is dropped at once and reported `cancelled` as it stands.
pub const CANCEL_GRACE: Duration = Duration::from_millis(50);

/// The run's stop signal as the hosts see it: set once, when the caller's
/// token is cancelled (or the stream is dropped). Waiting on it is an
/// intrusive list entry of a tokio `Notify` — no allocation per host.
#[derive(Debug, Default)]
pub struct Stop {
    set: AtomicBool,
    notify: Notify,
}

impl Stop {
    /// Sets the signal and wakes every host waiting on it.
    pub fn fire(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`fire`](Self::fire) was called.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Resolves once [`fire`](Self::fire) was called.
    pub async fn wait(&self) {
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

/// What every host of an async run shares: built once per run, lent to
/// each host's [`run_host`] (so a host's future holds one reference, not
/// copies).
pub struct AsyncRun {
    /// The run's stop signal.
    pub stop: Arc<Stop>,
    /// The run's connect rates, if `--connect-rate` or `--per-jump-rate`:
    /// every attempt sleeps until its slot.
    pub connect_rate: Option<ConnectRate>,
    /// The run's transports, for `exec` and `cli` tasks.
    pub transport: Option<Box<dyn AsyncTransport>>,
}

impl std::fmt::Debug for AsyncRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRun")
            .field("stop", &self.stop)
            .field("connect_rate", &self.connect_rate)
            .field("transport", &self.transport.is_some())
            .finish()
    }
}

/// Runs `job` on one `target` (as `worker`) with retries, timeouts and
/// cancellation, and resolves to its outcome (`timings.queued` is left for
/// the scheduler). Once `run.stop` fires the host is dropped where it
/// stands and reported `cancelled` with what it did so far (a `local` host
/// first gets [`CANCEL_GRACE`] to kill its command and keep its output). A
/// panic becomes the host's outcome ([`panicked`]).
pub async fn run_host(job: &Job, target: &Target, worker: Worker, run: &AsyncRun) -> HostOutcome {
    let mut host = HostAttempts::begin(job, target, worker);
    let finished = {
        let work = AssertUnwindSafe(attempts(job, target, run, &mut host)).catch_unwind();
        tokio::pin!(work);
        let stop = run.stop.wait();
        tokio::pin!(stop);
        let local = matches!(job.task, Task::Local { .. });
        // Boxed: only a stopped local host pays for its grace timer.
        let mut grace: Option<Pin<Box<tokio::time::Sleep>>> = None;
        // One await for the work, the stop signal and the grace: the
        // outcome is never kept across a second one, so the host's future
        // holds no room for it (100,000 hosts wait at once).
        std::future::poll_fn(|cx| {
            if let Poll::Ready(finished) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(finished));
            }
            if let Some(grace) = grace.as_mut() {
                return grace.as_mut().poll(cx).map(|()| None);
            }
            if stop.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if !local {
                return Poll::Ready(None);
            }
            let mut timer = Box::pin(tokio::time::sleep(CANCEL_GRACE));
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            grace = Some(timer);
            Poll::Pending
        })
        .await
    };
    match finished {
        Some(Ok(outcome)) => outcome,
        Some(Err(panic)) => {
            let mut o = panicked(&target.name, worker, panic.as_ref());
            o.attempts = host.progress().attempts();
            o
        }
        None => host.interrupted(),
    }
}

async fn attempts(
    job: &Job,
    target: &Target,
    run: &AsyncRun,
    host: &mut HostAttempts<'_>,
) -> HostOutcome {
    loop {
        // Stopping drops this future (see run_host); the flag covers a
        // host started just as the run was stopped.
        if run.stop.is_set() {
            return host.cancelled();
        }
        // The connect rate's wait (with the slot it books) and a retry's
        // pause are boxed: a host that never waits for either (a sleep
        // run's 100,000 hosts) does not carry them in its future. Awaited
        // where it is made: a future moved into a local first would take
        // its room twice in this one.
        let result = match &run.connect_rate {
            Some(rate) => Box::pin(paced_attempt(job, target, run, rate, host)).await,
            None => match host.start_attempt() {
                Some(deadline) => {
                    Some(attempt(job, target, deadline, run, host.progress_mut()).await)
                }
                None => None,
            },
        };
        let Some(result) = result else {
            return host.timed_out();
        };
        match host.after(result) {
            Step::Done(outcome) => return outcome,
            Step::Pause(pause) => Box::pin(tokio::time::sleep(pause)).await,
        }
    }
}

/// An attempt that waits for its connect-rate slot first, and under
/// `--connect-rate auto` tells the rate what it met; `None` when the
/// host's time ran out while it waited.
async fn paced_attempt(
    job: &Job,
    target: &Target,
    run: &AsyncRun,
    rate: &ConnectRate,
    host: &mut HostAttempts<'_>,
) -> Option<AttemptResult> {
    let ticket = rate.reserve(target);
    tokio::time::sleep_until(ticket.start.into()).await;
    let deadline = host.start_attempt()?;
    let result = attempt(job, target, deadline, run, host.progress_mut()).await;
    AttemptGate::report(rate, target, ticket, &result);
    Some(result)
}

async fn attempt(
    job: &Job,
    target: &Target,
    host: HostDeadline,
    run: &AsyncRun,
    progress: &mut Progress,
) -> AttemptResult {
    if job.task.kind().needs_network() {
        // Boxed, and the transport boxes its own state machine too: the
        // host's job (with its templated commands) and the SSH session are
        // large, and the hosts of a sleep/cpu/local run (100,000 at once)
        // do not pay for their size.
        return Box::pin(network_attempt(job, target, host, run, progress)).await;
    }
    progress.phase = Some(Phase::Command);
    let started = Instant::now();
    // The deadline is made within each task's call, so the attempt's
    // future does not hold a copy of it while the task runs.
    let result = match &job.task {
        Task::Sleep { duration } => {
            sleep_task(
                *duration,
                started,
                command_deadline(job, target, started, host),
            )
            .await
        }
        Task::SleepRange { min, max, seed } => {
            sleep_task(
                fanout_core::seeded_duration(*min, *max, *seed, &target.name),
                started,
                command_deadline(job, target, started, host),
            )
            .await
        }
        Task::Cpu { iterations } => {
            Box::pin(cpu_task(
                *iterations,
                command_deadline(job, target, started, host),
                &run.stop,
            ))
            .await
        }
        Task::Local { argv } => {
            Box::pin(local::nonblocking::run(
                argv,
                target,
                command_deadline(job, target, started, host),
                &run.stop,
            ))
            .await
        }
        Task::Exec { .. } | Task::Cli { .. } | Task::Http { .. } => Err(no_transport(job)),
    };
    progress.timings.command += started.elapsed();
    result
}

/// One attempt of a network task, through the run's transport.
async fn network_attempt(
    job: &Job,
    target: &Target,
    host: HostDeadline,
    run: &AsyncRun,
    progress: &mut Progress,
) -> AttemptResult {
    let job = crate::preflight::network_job(job, target)?;
    match &run.transport {
        Some(transport) => transport.attempt(&job, target, host, progress).await,
        None => Err(no_transport(&job)),
    }
}

/// The command deadline of an attempt started at `started`.
fn command_deadline(job: &Job, target: &Target, started: Instant, host: HostDeadline) -> Deadline {
    Deadline::for_phase(job, target, Phase::Command, started, host)
}

/// A sleep host's attempt. Everything is decided before the wait, so the
/// future holds only the timer and the deadline of its timeout message:
/// 100,000 of them wait at once.
fn sleep_task(
    duration: Duration,
    started: Instant,
    deadline: Deadline,
) -> impl Future<Output = AttemptResult> {
    let wait = deadline.at.map_or(duration, |at| {
        at.saturating_duration_since(started).min(duration)
    });
    // `None`: beyond the clock, no deadline ever comes (stopping drops
    // this future).
    let until = started.checked_add(wait).map(tokio::time::Instant::from);
    let timed_out = wait < duration;
    async move {
        match until {
            Some(until) => tokio::time::sleep_until(until).await,
            None => std::future::pending().await,
        }
        if timed_out {
            return Err(deadline.timeout_error(Vec::new()));
        }
        Ok(Vec::new())
    }
}

/// Sets a flag when dropped: stops a blocking CPU loop whose host future
/// went away (cancelled, timed out, or the run was dropped).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

async fn cpu_task(iterations: u64, deadline: Deadline, run_stop: &Arc<Stop>) -> AttemptResult {
    let stop = Arc::new(AtomicBool::new(false));
    let _guard = StopOnDrop(stop.clone());
    let run = run_stop.clone();
    let burn = tokio::task::spawn_blocking(move || {
        cpu_burn(iterations, || {
            !stop.load(Ordering::Relaxed) && !run.is_set() && !deadline.passed()
        })
    });
    match burn.await {
        Ok(Some(digest)) => Ok(vec![cpu_output(iterations, digest)]),
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
    use super::*;

    #[test]
    fn a_hosts_future_stays_small_whatever_the_transports() {
        // The network attempt is a boxed future behind the transport seam:
        // a host of a sleep run (10,000 of them at once) never holds an SSH
        // state machine, which alone is several KiB.
        let job = Job::new(Task::Sleep {
            duration: Duration::from_millis(1),
        });
        let target = Target::new("h1", "127.0.0.1");
        let run = AsyncRun {
            stop: Arc::default(),
            connect_rate: None,
            transport: None,
        };
        let host = run_host(&job, &target, Worker::Task(0), &run);
        let size = std::mem::size_of_val(&host);
        // 776 bytes with rustc 1.95 (1,064 before the stop, grace and retry
        // timers were folded or boxed); the rest of a sleep host is the
        // tokio task around it.
        assert!(size <= 896, "a host's future takes {size} bytes");
    }

    #[tokio::test]
    async fn a_stopped_host_reports_what_it_did_and_a_local_one_kills_its_command() {
        let run = AsyncRun {
            stop: Arc::default(),
            connect_rate: None,
            transport: None,
        };
        let target = Target::new("h1", "127.0.0.1");
        let sleep = Job::new(Task::Sleep {
            duration: Duration::from_secs(60),
        });
        let local = Job::new(Task::Local {
            argv: vec!["sleep".into(), "60".into()],
        });
        let stopper = {
            let stop = run.stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                stop.fire();
            })
        };
        let started = Instant::now();
        let (slept, ran) = tokio::join!(
            run_host(&sleep, &target, Worker::Task(1), &run),
            run_host(&local, &target, Worker::Task(2), &run),
        );
        stopper.await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(slept.error_kind, Some(ErrorKind::Cancelled), "{slept:?}");
        assert_eq!(
            slept.message.as_deref(),
            Some("run cancelled during the command phase")
        );
        assert_eq!((slept.attempts, slept.worker), (1, Worker::Task(1)));
        // The local host had its grace to kill its command and say so.
        assert_eq!(ran.error_kind, Some(ErrorKind::Cancelled), "{ran:?}");
        assert_eq!(
            ran.message.as_deref(),
            Some("run cancelled; local command killed")
        );
        assert_eq!(ran.outputs[0].command, "sleep 60");
    }
}
