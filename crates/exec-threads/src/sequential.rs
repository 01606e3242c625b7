use std::panic::{AssertUnwindSafe, catch_unwind};

use fanout_core::{
    CancelToken, ConnectRateLimiter, ErrorKind, ExecError, Executor, HostOutcome, Job, RunSummary,
    Sink, Tally, Target, TaskKind, Worker,
};

use crate::{HostRun, run_host};

/// Runs hosts one after another on the calling thread: the baseline every
/// concurrency model is measured against (`-e seq`). Ignores `-c` (always 1).
#[derive(Clone, Debug, Default)]
pub struct Sequential {
    _private: (),
}

impl Sequential {
    /// The sequential executor.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Executor for Sequential {
    fn name(&self) -> &str {
        "seq"
    }

    fn supports(&self, kind: TaskKind) -> bool {
        !kind.needs_network()
    }

    fn concurrency(&self, _job: &Job) -> usize {
        1
    }

    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        self.check(job)?;
        let limiter = job.limits.connect_rate.map(ConnectRateLimiter::new);
        let worker = Worker::Thread(0);
        let mut tally = Tally::new();
        for target in targets {
            if tally.should_stop(cancel) {
                tally.deliver(sink, HostOutcome::cancelled(&target.name, worker));
                continue;
            }
            let queued = tally.host_started();
            let run = HostRun {
                worker,
                cancel,
                connect_rate: limiter.as_ref(),
            };
            let mut outcome = catch_unwind(AssertUnwindSafe(|| run_host(job, target, run)))
                .unwrap_or_else(|panic| panicked(&target.name, worker, panic.as_ref()));
            outcome.timings.queued = queued;
            tally.deliver(sink, outcome);
        }
        Ok(tally.finish(self.name(), 1))
    }
}

/// The outcome of a host whose code panicked: a bug, reported on that host.
fn panicked(host: &str, worker: Worker, panic: &(dyn std::any::Any + Send)) -> HostOutcome {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    HostOutcome::failed(
        host,
        ErrorKind::WorkerCrashed,
        format!("internal error (panic) while running this host: {detail}; please report it"),
        worker,
    )
}
