//! The calling thread's side of a pool run, shared by the thread-pool and
//! rayon executors: hand hosts to the pool (all at once, or one per free
//! slot when per-group caps or a smaller `-c` must be metered), receive
//! outcomes on the result channel and deliver them to the sink as they
//! complete, and on cancellation take back every host no worker has picked
//! up yet so each host is reported exactly once (the engine's [`Ledger`]).

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use fanout_core::{
    CancelToken, ErrorKind, FailGate, HostOutcome, Job, RunSummary, Sink, Target, Worker,
};
use fanout_engine::blocking::{HostRun, run_host};
use fanout_engine::{Admission, Ledger};

/// How often the calling thread looks at the cancel token while no outcome
/// arrives (workers notice it on their own; this only bounds how late the
/// waiting hosts are reported `cancelled`).
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// A pool that runs hosts given by their index in the target list.
pub(crate) trait Launcher {
    /// Hands target `index` to the pool.
    fn launch(&mut self, index: usize);
    /// Takes back launched targets that no worker has started yet.
    fn withdraw(&mut self) -> Vec<usize>;
}

/// What the calling thread needs to know about the pool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolShape<'a> {
    /// Executor name for the summary.
    pub(crate) name: &'a str,
    /// Hosts in flight at most (reported in the summary).
    pub(crate) concurrency: usize,
    /// Whether hosts must be handed out one per free slot (per-group caps,
    /// or a pool larger than the allowed concurrency) instead of all at once.
    pub(crate) metered: bool,
}

/// Delivers every target's outcome, launching hosts on `launcher` and
/// reading outcomes from `results`. `run_cancel` is the token the workers
/// watch: cancelled here when the sink says stop.
pub(crate) fn drive(
    shape: PoolShape<'_>,
    job: &Job,
    targets: &[Target],
    sink: &mut dyn Sink,
    run_cancel: &CancelToken,
    launcher: &mut dyn Launcher,
    results: &Receiver<(usize, HostOutcome)>,
) -> RunSummary {
    let mut ledger = Ledger::new(targets.len());
    // Metered: at most `concurrency` hosts handed out, each as a slot
    // frees up. Otherwise every host is queued at once and the pool's
    // threads bound the concurrency.
    let global = if shape.metered {
        shape.concurrency
    } else {
        usize::MAX
    };
    let mut admission = Admission::for_limits(targets, &job.limits, global);
    let mut stopped = false;
    // --max-fail: once tripped, hosts not started are withdrawn (reported
    // cancelled) while those in flight finish.
    let gate = FailGate::new(job.limits.max_fail, targets.len());
    let mut drained = false;
    if !targets.is_empty() {
        ledger.host_started();
    }
    if !shape.metered {
        for index in admission.take_all() {
            launcher.launch(index);
        }
    }
    while ledger.remaining() > 0 {
        if !stopped && ledger.should_stop(run_cancel) {
            // Stop dequeuing at once: nothing waiting starts any more.
            stopped = true;
            run_cancel.cancel();
            let withdrawn = launcher.withdraw();
            for index in admission.take_all().into_iter().chain(withdrawn) {
                let outcome = HostOutcome::cancelled(&targets[index].name, Worker::Thread(0));
                ledger.deliver(sink, index, outcome);
            }
            continue;
        }
        if !stopped && !drained && gate.tripped() {
            drained = true;
            let withdrawn = launcher.withdraw();
            for index in admission.take_all().into_iter().chain(withdrawn) {
                let outcome = HostOutcome::cancelled(&targets[index].name, Worker::Thread(0));
                ledger.deliver(sink, index, outcome);
            }
            continue;
        }
        if !stopped && !drained {
            while let Some(index) = admission.next_admissible() {
                launcher.launch(index);
            }
        }
        let next = match results.try_recv() {
            Ok(next) => Ok(next),
            Err(TryRecvError::Empty) => {
                ledger.idle(sink);
                results.recv_timeout(CANCEL_POLL)
            }
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
        };
        match next {
            Ok((index, outcome)) => {
                admission.release(index);
                if !stopped && !gate.count(outcome.status) {
                    // Refill the freed slot before the sink's work, so the
                    // pool never waits on the reporter.
                    if let Some(next) = admission.next_admissible() {
                        launcher.launch(next);
                    }
                }
                ledger.deliver(sink, index, outcome);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    // Only reachable with hosts left if every worker is gone: report them
    // rather than lose them (contract rule 2).
    ledger.report_unreported(sink, |index| {
        HostOutcome::failed(
            &targets[index].name,
            ErrorKind::WorkerCrashed,
            "the worker thread running this host disappeared; please report it",
            Worker::Thread(0),
        )
    });
    // The last line is out before the pool's threads are joined.
    ledger.idle(sink);
    ledger.finish(shape.name, shape.concurrency)
}

/// Runs one host on a pool worker: the engine's blocking driver (a panic
/// becomes the host's outcome), and the time it waited in the queue.
pub(crate) fn run_one(
    job: &Job,
    target: &Target,
    run: HostRun<'_>,
    queued_since: Instant,
) -> HostOutcome {
    let queued = queued_since.elapsed();
    let mut outcome = run_host(job, target, run);
    outcome.timings.queued = queued;
    outcome
}
