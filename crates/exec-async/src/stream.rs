//! The native async API: [`run_stream`] schedules every host on the
//! caller's tokio runtime and yields outcomes as hosts complete.
//!
//! One driver task asks the run's admission
//! ([`AsyncAdmission`], the engine's one admission rule) for the next host
//! that may start — the earliest in target order whose capped groups have
//! room, while fewer than `-c` run — and spawns its task, so at most `-c`
//! host tasks exist at once (10,000 hosts at `-c 100` never allocate 10,000
//! futures); a host whose group is full waits, without a global slot,
//! while later hosts of other groups start. The host task runs and sends
//! its outcome through an unbounded channel; the [`HostStream`] reads that
//! channel into the run's [`Ledger`] and, once every sender is gone,
//! reports any host that never produced an outcome as `cancelled`, so every
//! target is reported exactly once whatever happened to its task.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use fanout_core::{CancelToken, ExecError, FailGate, HostOutcome, Job, RunSummary, Target, Worker};
use fanout_engine::nonblocking::{self, Admit, Admitted, AsyncAdmission, AsyncRun, Stop};
use fanout_engine::{Admission, AsyncTransport, ConnectRate, Ledger};
use fanout_transport_async::Transports;
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Everything the hosts of one run share.
struct Ctx {
    job: Arc<Job>,
    targets: Arc<[Target]>,
    /// The caller's token: only the driver waits on it, and fires the
    /// run's stop signal.
    cancel: CancelToken,
    /// What every host shares: the stop signal, the connect-rate limiter
    /// and the transports.
    run: AsyncRun,
    /// `-c` and the per-group caps: which host starts next.
    admission: Arc<AsyncAdmission>,
    /// `--max-fail`: counted by each host before it gives its slot back,
    /// so the driver starts no host after the failure that trips it.
    gate: FailGate,
}

/// Outcomes of a run in completion order; see [`run_stream`].
///
/// Memory: finished hosts wait in an unbounded queue until the stream is
/// polled, so a consumer that stops polling while hosts keep finishing
/// holds up to one [`HostOutcome`] per target (each command's output is
/// capped at [`OUTPUT_CAP`](fanout_core::OUTPUT_CAP) bytes per stream).
/// Poll it promptly, as [`AsyncExecutor`](crate::AsyncExecutor) does; the
/// queue never blocks a host, so a slow consumer never delays one.
///
/// Dropping the stream stops the run: the driver and every host task are
/// aborted (local commands are killed with their process groups).
pub struct HostStream {
    rx: mpsc::UnboundedReceiver<(usize, HostOutcome)>,
    targets: Arc<[Target]>,
    /// Which hosts were yielded, and how they ended.
    ledger: Ledger,
    concurrency: usize,
    /// Every sender is gone: only never-reported hosts are left.
    closed: bool,
    driver: JoinHandle<()>,
    stop: Arc<Stop>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for HostStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostStream")
            .field("hosts", &self.targets.len())
            .field("left", &self.ledger.remaining())
            .finish_non_exhaustive()
    }
}

impl Stream for HostStream {
    type Item = HostOutcome;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<HostOutcome>> {
        let this = &mut *self;
        while !this.closed {
            match this.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some((idx, outcome))) => {
                    if this.ledger.record(idx, &outcome) {
                        return Poll::Ready(Some(outcome));
                    }
                }
                Poll::Ready(None) => this.closed = true,
            }
        }
        // Every sender is gone: whatever was never reported was never run
        // to completion (not started, or its task was aborted).
        let targets = &this.targets;
        Poll::Ready(
            this.ledger.next_unreported(|idx| {
                HostOutcome::cancelled(&targets[idx].name, Worker::Task(idx))
            }),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.ledger.remaining();
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

    /// What the run did so far: the outcomes yielded, per status, and the
    /// wall time from the run's start to the last of them. Once the stream
    /// has ended, the summary of the whole run (as `-e async` reports it).
    pub fn summary(&self) -> RunSummary {
        self.ledger.finish("async", self.concurrency)
    }
}

impl Drop for HostStream {
    fn drop(&mut self) {
        self.driver.abort();
        self.stop.fire();
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
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        ExecError::setup(
            "async",
            "run_stream must be called from within a tokio runtime (e.g. inside #[tokio::main]); use AsyncExecutor for blocking code",
        )
    })?;
    let targets: Arc<[Target]> = targets.into();
    // The same open-file check as every executor: the soft limit is raised
    // toward the hard one, or the run is refused saying how far to lower -c.
    let demand = limits_demand(
        job.limits.concurrency.min(targets.len()),
        job.task.kind(),
        &targets,
    );
    fanout_engine::limits::check_limits(&demand).map_err(|e| ExecError::setup("async", e))?;
    let transports =
        Transports::for_job(&job).map_err(|e| ExecError::setup("async", e.to_string()))?;
    let admission = AsyncAdmission::new(Admission::for_limits(
        &targets,
        &job.limits,
        job.limits.concurrency,
    ));
    let warnings = transports.warnings();
    let stop = Arc::new(Stop::default());
    let concurrency = job.limits.concurrency;
    let started = Instant::now();
    let ctx = Arc::new(Ctx {
        run: AsyncRun {
            stop: stop.clone(),
            connect_rate: ConnectRate::for_limits(&job.limits),
            transport: Some(Box::new(transports) as Box<dyn AsyncTransport>),
            queued_from: Some(started),
        },
        admission,
        cancel,
        targets: targets.clone(),
        gate: FailGate::new(job.limits.max_fail, targets.len()),
        job,
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let mut ledger = Ledger::new(targets.len());
    ledger.host_started();
    let driver = runtime.spawn(drive(ctx, tx));
    Ok(HostStream {
        rx,
        ledger,
        concurrency,
        targets,
        closed: false,
        driver,
        stop,
        warnings,
    })
}

type Outcomes = mpsc::UnboundedSender<(usize, HostOutcome)>;

/// Starts hosts as the admission lets them (a slot of `-c` and of each
/// capped group), then waits until every host task has given its slot
/// back, turning the caller's cancellation into the hosts' stop signal all
/// the while. Hosts never started are reported by the stream.
async fn drive(ctx: Arc<Ctx>, tx: Outcomes) {
    loop {
        // Fast path while slots are free (10,000 hosts at -c 10000): no
        // cancel-waker registration and no coop yield per host, so the last
        // host starts a few ms after the first rather than tens.
        if ctx.cancel.is_cancelled() {
            ctx.run.stop.fire();
            return;
        }
        if ctx.gate.tripped() {
            // Hosts in flight finish; the stream reports the rest cancelled.
            break;
        }
        match ctx.admission.try_admit() {
            Admit::Host(admitted) => {
                tokio::spawn(Box::pin(host_task(ctx.clone(), admitted, tx.clone())));
            }
            Admit::Done => break,
            // Every host left waits for a slot: wait for a host to give
            // its slot back.
            Admit::Full => tokio::select! {
                biased;
                () = ctx.cancel.cancelled() => {
                    ctx.run.stop.fire();
                    return;
                }
                () = ctx.admission.freed() => {}
            },
        }
    }
    drop(tx);
    // Every host task holds its slot until its outcome is sent.
    tokio::select! {
        biased;
        () = ctx.cancel.cancelled() => ctx.run.stop.fire(),
        () = ctx.admission.drained() => {}
    }
}

/// One host, from its start to its outcome on `tx` (the engine's async
/// driver). Holds its admission slot until the outcome is sent.
///
/// An `async` block rather than an `async fn`: the block keeps what it
/// captured where it was captured, where an `async fn` copies its arguments
/// into locals and keeps both (32 bytes in each of 100,000 hosts).
#[allow(clippy::manual_async_fn)]
fn host_task(
    ctx: Arc<Ctx>,
    admitted: Admitted,
    tx: Outcomes,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        // Awaited where it is made: a future moved into a local first would
        // take its room twice in this one. (The index is read from the slot,
        // and the queued time is the run's to fill in, so the future stays
        // as small as it can.)
        let outcome = nonblocking::run_host(
            &ctx.job,
            &ctx.targets[admitted.index()],
            Worker::Task(admitted.index()),
            &ctx.run,
        )
        .await;
        ctx.job.observer.host_finished(&outcome);
        ctx.gate.count(outcome.status);
        let _ = tx.send((admitted.index(), outcome));
        drop(admitted);
    }
}

/// What `in_flight` hosts of `kind` at once ask of this process's limits
/// on -e async, reaching `targets` (russh's jump hops are tasks): the
/// estimate checked before any host starts (also for `fanout doctor`).
pub fn limits_demand(
    in_flight: usize,
    kind: fanout_core::TaskKind,
    targets: &[Target],
) -> fanout_engine::limits::Demand {
    let mut demand =
        fanout_engine::limits::hosts_demand(in_flight, kind, 0, &format!("{kind} hosts in flight"));
    // A host is a tokio task, not a thread, and name lookups share tokio's
    // bounded blocking pool: only a local command's process counts
    // against ulimit -u.
    demand.tasks_per_unit = u64::from(kind == fanout_core::TaskKind::Local);
    demand.reaching(kind, targets, fanout_engine::limits::HopBridge::Task)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fanout_core::{Status, Task};
    use futures_util::StreamExt;

    use super::*;

    fn sleep_job(ms: u64, concurrency: usize, caps: &[(&str, usize)]) -> Arc<Job> {
        let mut job = Job::new(Task::Sleep {
            duration: Duration::from_millis(ms),
        })
        .with_concurrency(concurrency);
        for (group, cap) in caps {
            job.limits.per_group.insert(group.to_string(), *cap);
        }
        Arc::new(job)
    }

    fn target(name: &str, groups: &[&str]) -> Target {
        let mut t = Target::new(name, "127.0.0.1");
        t.groups = groups.iter().map(|g| g.to_string()).collect();
        t
    }

    async fn collect(stream: HostStream) -> Vec<HostOutcome> {
        stream.collect().await
    }

    #[tokio::test]
    async fn hosts_of_free_groups_overtake_a_full_one() {
        // -c 5, core=1: the four core hosts run one after another; the
        // four edge hosts must start at once, not queue behind them.
        let targets: Vec<Target> = (1..=8)
            .map(|i| {
                target(
                    &format!("h{i}"),
                    &[if i % 2 == 1 { "core" } else { "edge" }],
                )
            })
            .collect();
        // Generous margins for a loaded machine: an edge host stuck
        // behind the core cap would wait a whole core host (300 ms).
        let job = sleep_job(300, 5, &[("core", 1)]);
        let outcomes = collect(run_stream(job, targets, CancelToken::new()).unwrap()).await;
        assert_eq!(outcomes.len(), 8);
        for o in &outcomes {
            assert_eq!(o.status, Status::Ok, "{o:?}");
            let edge = o.host.trim_start_matches('h').parse::<u32>().unwrap() % 2 == 0;
            if edge {
                assert!(
                    o.timings.queued < Duration::from_millis(200),
                    "an edge host waited behind the core cap: {o:?}"
                );
            }
        }
        let core_queued: Vec<Duration> = outcomes
            .iter()
            .filter(|o| o.host.trim_start_matches('h').parse::<u32>().unwrap() % 2 == 1)
            .map(|o| o.timings.queued)
            .collect();
        assert!(
            core_queued.iter().any(|q| *q >= Duration::from_millis(850)),
            "core hosts must run one at a time: {core_queued:?}"
        );
    }

    #[tokio::test]
    async fn hosts_in_several_capped_groups_never_deadlock() {
        let targets = vec![
            target("ab1", &["a", "b"]),
            target("ba1", &["b", "a"]),
            target("a1", &["a"]),
            target("b1", &["b"]),
            target("ab2", &["b", "a", "b"]),
            target("free", &[]),
        ];
        let job = sleep_job(30, 6, &[("a", 1), ("b", 1)]);
        let run = collect(run_stream(job, targets, CancelToken::new()).unwrap());
        let outcomes = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("hosts in several capped groups deadlocked");
        assert_eq!(outcomes.len(), 6);
        assert!(outcomes.iter().all(|o| o.status == Status::Ok));
    }

    #[tokio::test]
    async fn cancelled_run_reports_waiting_and_unstarted_hosts() {
        let targets: Vec<Target> = (1..=6).map(|i| target(&format!("h{i}"), &["g"])).collect();
        let job = sleep_job(5_000, 6, &[("g", 1)]);
        let cancel = CancelToken::new();
        let stream = run_stream(job, targets, cancel.clone()).unwrap();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            cancel.cancel();
        });
        let started = std::time::Instant::now();
        let outcomes = collect(stream).await;
        canceller.await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(outcomes.len(), 6);
        assert!(
            outcomes.iter().all(|o| o.status == Status::Cancelled),
            "{outcomes:?}"
        );
        let mut names: Vec<&str> = outcomes.iter().map(|o| o.host.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 6, "every host exactly once");
    }

    #[tokio::test]
    async fn a_huge_group_cap_is_no_cap_not_a_panic() {
        let targets = vec![target("a", &["g"]), target("b", &["g"])];
        let job = sleep_job(1, 2, &[("g", usize::MAX)]);
        let outcomes = collect(run_stream(job, targets, CancelToken::new()).unwrap()).await;
        assert_eq!(outcomes.len(), 2);
        assert!(
            outcomes.iter().all(|o| o.status == Status::Ok),
            "{outcomes:?}"
        );
    }

    #[tokio::test]
    async fn a_host_tasks_future_stays_small() {
        // Spawned once per host (10,000 at once at -c 10000): the SSH
        // attempt is boxed behind the transport seam, so a host of a sleep
        // run holds no SSH state machine (several KiB).
        let job = sleep_job(1, 1, &[]);
        let targets: Arc<[Target]> = Target::synthetic(1).into();
        let admission = AsyncAdmission::new(Admission::new(&targets, &job.limits.per_group, 1));
        let ctx = Arc::new(Ctx {
            job,
            targets,
            cancel: CancelToken::new(),
            run: AsyncRun {
                stop: Arc::default(),
                connect_rate: None,
                transport: None,
                queued_from: Some(Instant::now()),
            },
            admission: admission.clone(),
            gate: FailGate::new(None, 1),
        });
        let Admit::Host(admitted) = admission.try_admit() else {
            panic!("one host, one slot")
        };
        let (tx, _rx) = mpsc::unbounded_channel();
        let task = host_task(ctx, admitted, tx);
        let size = std::mem::size_of_val(&task);
        // 504 bytes with rustc 1.95 (1,152, then 864, then 704, before).
        // 512 is a line: mimalloc serves 513-640 bytes from its 640-byte
        // class, 128 more per host. See BENCHMARKS.md's memory section for
        // what a host costs in all.
        assert!(size <= 512, "a host task's future takes {size} bytes");
    }

    #[test]
    fn needs_a_runtime() {
        let job = sleep_job(1, 1, &[]);
        let err = run_stream(job, Vec::<Target>::new(), CancelToken::new()).unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
    }
}
