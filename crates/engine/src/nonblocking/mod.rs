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
use crate::transport::{AsyncTransport, AttemptResult, BoxFuture, no_transport};
use crate::{AttemptError, AttemptGate, ConnectRate, Deadline, HostDeadline, Progress, local};

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
        let notified = self.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_set() {
            return;
        }
        notified.await;
    }

    /// What a waiter polls, made before it reads [`is_set`](Self::is_set):
    /// a [`fire`](Self::fire) after this call wakes it even before its
    /// first poll (tokio counts `notify_waiters` calls from here), one
    /// before it is seen by `is_set`. 64 bytes, where [`wait`](Self::wait)'s
    /// future takes 96: a host polls this beside its work.
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
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
    /// When the run started, if a host's `timings.queued` is the time
    /// from there to the host's start (`None`: left to the caller). Kept
    /// here, not in each host's future.
    pub queued_from: Option<Instant>,
}

impl std::fmt::Debug for AsyncRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRun")
            .field("stop", &self.stop)
            .field("connect_rate", &self.connect_rate)
            .field("transport", &self.transport.is_some())
            .field("queued_from", &self.queued_from)
            .finish()
    }
}

/// Runs `job` on one `target` (as `worker`) with retries, timeouts and
/// cancellation, and resolves to its outcome (`timings.queued` counts
/// from `run.queued_from`, or is left for the scheduler). Once `run.stop`
/// fires the host is dropped where it stands and reported `cancelled` with
/// what it did so far (a `local` host first gets [`CANCEL_GRACE`] to kill
/// its command and keep its output). A panic becomes the host's outcome ([`panicked`](crate::panicked)). The
/// host starts (its clock, its deadline, the observer's `host_started`)
/// when the future is made, not when it is first polled: await it at once.
pub fn run_host<'a>(
    job: &'a Job,
    target: &'a Target,
    worker: Worker,
    run: &'a AsyncRun,
) -> impl Future<Output = HostOutcome> + Send + 'a {
    // Begun when the future is made (it is awaited at once), so that the
    // future keeps the host and not the arguments it was begun with.
    let mut host = HostAttempts::begin(job, target, worker);
    async move {
        // One await for the work, the stop signal and the grace, made in
        // place: the outcome is never kept across a second one, and no
        // pinned locals or closure hold references to them beside (100,000
        // hosts wait at once).
        let local = matches!(host.job().task, Task::Local { .. });
        let work = AssertUnwindSafe(attempts(run, &mut host)).catch_unwind();
        let finished = Race::new(work, &run.stop, local).await;
        let mut outcome = match finished {
            Some(Ok(outcome)) => outcome,
            Some(Err(panic)) => host.panicked(panic.as_ref()),
            None => host.interrupted(),
        };
        if let Some(from) = run.queued_from {
            outcome.timings.queued = host.progress().start().saturating_duration_since(from);
        }
        outcome
    }
}

pin_project_lite::pin_project! {
    /// A host's work raced against the run's stop signal: the work's
    /// output, or `None` once the run is stopped (a `local` host's work
    /// first gets [`CANCEL_GRACE`] to kill its command and finish).
    struct Race<'a, W> {
        #[pin]
        work: W,
        #[pin]
        stop: tokio::sync::futures::Notified<'a>,
        // Boxed: only a stopped local host pays for its grace timer.
        grace: Option<Pin<Box<tokio::time::Sleep>>>,
        signal: &'a Stop,
        local: bool,
    }
}

impl<'a, W> Race<'a, W> {
    /// `work` raced against `stop`, whose waiter is made here, before any
    /// read of the flag (see [`Stop::notified`]); `local` hosts get the grace.
    fn new(work: W, stop: &'a Stop, local: bool) -> Self {
        Self {
            work,
            stop: stop.notified(),
            grace: None,
            signal: stop,
            local,
        }
    }
}

impl<W: Future> Future for Race<'_, W> {
    type Output = Option<W::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(finished) = this.work.poll(cx) {
            return Poll::Ready(Some(finished));
        }
        if let Some(grace) = this.grace.as_mut() {
            return grace.as_mut().poll(cx).map(|()| None);
        }
        if !this.signal.is_set() && this.stop.poll(cx).is_pending() {
            return Poll::Pending;
        }
        if !*this.local {
            return Poll::Ready(None);
        }
        let mut timer = Box::pin(tokio::time::sleep(CANCEL_GRACE));
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        *this.grace = Some(timer);
        Poll::Pending
    }
}

/// The host's attempts, one after another, until its outcome. An `async`
/// block, not an `async fn` (which keeps a second copy of its arguments),
/// and the job and target are read from the host where they are used, so
/// that neither is kept across an await.
#[allow(clippy::manual_async_fn)]
fn attempts<'a>(
    run: &'a AsyncRun,
    host: &'a mut HostAttempts<'_>,
) -> impl Future<Output = HostOutcome> + Send + 'a {
    async move {
        loop {
            // Stopping drops this future (see run_host); the flag covers a
            // host started just as the run was stopped.
            if run.stop.is_set() {
                return host.cancelled();
            }
            // The attempt and its step, in a block of their own that ends
            // before the pause's await: the result's binding, or a match over
            // the step, would keep their room (an outcome's) across it. The
            // connect rate's wait (with the slot it books) and a retry's pause
            // are boxed: a host that never waits for either (a sleep run's
            // 100,000 hosts) does not carry them in its future. Awaited where
            // it is made: a future moved into a local first would take its
            // room twice in this one.
            let pause = {
                let (job, target) = (host.job(), host.target());
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
                    Step::Pause(pause) => pause,
                }
            };
            Box::pin(tokio::time::sleep(pause)).await;
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

/// One attempt of a sleep, cpu or local task here, or of a network task
/// through the run's transport. Everything but the wait is done before the
/// future is made, and the future is written out by hand (an `async fn`
/// keeps its arguments beside what it awaits): a sleeping host's attempt
/// holds its timer, where its command time goes, and when it started —
/// 100,000 of them wait at once.
fn attempt<'a>(
    job: &'a Job,
    target: &'a Target,
    host: HostDeadline,
    run: &'a AsyncRun,
    progress: &'a mut Progress,
) -> Attempt<'a> {
    if job.task.kind().needs_network() {
        // Boxed, and the transport boxes its own state machine too: the
        // host's job (with its templated commands) and the SSH session are
        // large, and the hosts of a sleep/cpu/local run (100,000 at once)
        // do not pay for their size. It times its own phases.
        return Attempt::Network {
            work: Box::pin(network_attempt(job, target, host, run, progress)),
        };
    }
    progress.phase = Some(Phase::Command);
    let started = Instant::now();
    let deadline = command_deadline(job, target, started, host);
    let boxed = |work: BoxFuture<'a, AttemptResult>, progress| Attempt::Boxed {
        work,
        started,
        progress,
    };
    match &job.task {
        Task::Sleep { duration } => Attempt::Sleep {
            sleep: sleep_task(*duration, started, deadline),
            started,
            progress,
        },
        Task::SleepRange { min, max, seed } => Attempt::Sleep {
            sleep: sleep_task(
                fanout_core::seeded_duration(*min, *max, *seed, &target.name),
                started,
                deadline,
            ),
            started,
            progress,
        },
        Task::Cpu { iterations } => boxed(
            Box::pin(cpu_task(*iterations, deadline, &run.stop)),
            progress,
        ),
        Task::Local { argv } => boxed(
            Box::pin(local::nonblocking::run(argv, target, deadline, &run.stop)),
            progress,
        ),
        Task::Exec { .. } | Task::Cli { .. } | Task::Http { .. } => {
            let error = no_transport(job);
            boxed(Box::pin(std::future::ready(Err(error))), progress)
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of an [`attempt`]: a network attempt (boxed), or a task
    /// run here, whose time is the host's command time — a sleep's timer
    /// inline (what most hosts of a large run wait on), the others boxed.
    #[project = AttemptProj]
    enum Attempt<'a> {
        Network { work: BoxFuture<'a, AttemptResult> },
        Sleep {
            #[pin]
            sleep: SleepTask,
            started: Instant,
            progress: &'a mut Progress,
        },
        Boxed {
            work: BoxFuture<'a, AttemptResult>,
            started: Instant,
            progress: &'a mut Progress,
        },
    }
}

impl Future for Attempt<'_> {
    type Output = AttemptResult;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<AttemptResult> {
        let (result, started, progress) = match self.project() {
            AttemptProj::Network { work } => return work.as_mut().poll(cx),
            AttemptProj::Sleep {
                sleep,
                started,
                progress,
            } => (std::task::ready!(sleep.poll(cx)), started, progress),
            AttemptProj::Boxed {
                work,
                started,
                progress,
            } => (std::task::ready!(work.as_mut().poll(cx)), started, progress),
        };
        progress.timings.command += started.elapsed();
        Poll::Ready(result)
    }
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

pin_project_lite::pin_project! {
    /// A sleep host's attempt, decided before the wait: its timer, and the
    /// deadline of its timeout message only when the timeout comes first
    /// (boxed: the hosts that sleep their whole time do not carry it).
    struct SleepTask {
        // `None`: beyond the clock, no deadline ever comes (stopping drops
        // the host's future).
        #[pin]
        timer: Option<tokio::time::Sleep>,
        timeout: Option<Box<Deadline>>,
    }
}

fn sleep_task(duration: Duration, started: Instant, deadline: Deadline) -> SleepTask {
    let wait = deadline.at.map_or(duration, |at| {
        at.saturating_duration_since(started).min(duration)
    });
    let until = started.checked_add(wait).map(tokio::time::Instant::from);
    SleepTask {
        timer: until.map(tokio::time::sleep_until),
        timeout: (wait < duration).then(|| Box::new(deadline)),
    }
}

impl Future for SleepTask {
    type Output = AttemptResult;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<AttemptResult> {
        let this = self.project();
        match this.timer.as_pin_mut() {
            Some(timer) => std::task::ready!(timer.poll(cx)),
            None => return Poll::Pending,
        }
        Poll::Ready(match this.timeout.take() {
            Some(deadline) => Err(deadline.timeout_error(Vec::new())),
            None => Ok(Vec::new()),
        })
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
            queued_from: None,
        };
        let host = run_host(&job, &target, Worker::Task(0), &run);
        let size = std::mem::size_of_val(&host);
        // 464 bytes with rustc 1.95 (1,064 before the stop, grace and retry
        // timers were folded or boxed; 832 before the attempt and the sleep
        // were written out as futures by hand and the host was begun before
        // its future; 616 before the race with the stop signal was one
        // future, the legacy list boxed, the queued time left to the run
        // and the attempts written as an async block); the rest of a sleep
        // host is the tokio task around it.
        assert!(size <= 472, "a host's future takes {size} bytes");
    }

    #[tokio::test]
    async fn a_stopped_host_reports_what_it_did_and_a_local_one_kills_its_command() {
        let run = AsyncRun {
            stop: Arc::default(),
            connect_rate: None,
            transport: None,
            queued_from: None,
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
