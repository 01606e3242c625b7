use std::time::Instant;

use fanout_core::{
    CancelToken, ExecError, Executor, FailGate, Job, RunSummary, Sink, Target, Worker,
};
use fanout_engine::{AttemptGate, ConnectRate, Ledger};

use crate::dispatch::run_one;
use fanout_engine::blocking::HostRun;
use fanout_transport_blocking::Transports;

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
        job.validate()?;
        // One host at a time still needs its files: the same check (and
        // the same raised soft limit) as every executor.
        fanout_engine::limits::check_limits(&crate::settings::sequential_demand(
            targets.len(),
            job.task.kind(),
            targets,
        ))
        .map_err(|e| ExecError::setup(self.name(), e))?;
        let transports =
            Transports::for_job(job).map_err(|e| ExecError::setup(self.name(), e.to_string()))?;
        let limiter = ConnectRate::for_limits(&job.limits);
        let worker = Worker::Thread(0);
        let mut ledger = Ledger::new(targets.len());
        let gate = FailGate::new(job.limits.max_fail, targets.len());
        let started = Instant::now();
        for (index, target) in targets.iter().enumerate() {
            if ledger.should_stop(cancel) || gate.tripped() {
                break;
            }
            ledger.host_started();
            let run = HostRun {
                worker,
                cancel,
                connect_rate: limiter.as_ref().map(|l| l as &dyn AttemptGate),
                transport: Some(&transports),
            };
            let outcome = run_one(job, target, run, started);
            gate.count(outcome.status);
            ledger.deliver(sink, index, outcome);
            // The next host runs here, on this thread: its line is out now.
            ledger.idle(sink);
        }
        ledger.cancel_unreported(sink, targets, |_| worker);
        Ok(ledger.finish(self.name(), 1))
    }
}
