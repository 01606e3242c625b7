//! [`Defective`]: any executor made to break one rule of the contract, so
//! that each check can be shown to fail — a check that passes a broken
//! executor proves nothing.
//!
//! ```ignore
//! use fanout_testkit::defective::{Defect, Defective};
//! fanout_testkit::checks::every_host_reported_exactly_once(&|| {
//!     Box::new(Defective::new(fanout_exec_threads::Sequential::new(), Defect::LosesLastHost))
//! });
//! ```

use std::time::Duration;

use fanout_core::{
    CancelToken, CollectSink, ErrorKind, ExecError, Executor, Flow, HostKeyPolicy, HostOutcome,
    Job, RunSummary, Sink, Status, Target, Task, Timeouts, Worker,
};

/// One way to break the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// Never runs (nor reports) the last host.
    LosesLastHost,
    /// Reports the first outcome twice.
    ReportsFirstTwice,
    /// Claims `-c` but runs every host at once (wrap an executor that
    /// runs as many hosts at once as it is told: not `seq`).
    IgnoresConcurrency,
    /// Ignores the `--per-group` caps (same remark).
    IgnoresGroupCaps,
    /// Ignores the `--per-jump` cap.
    IgnoresJumpCaps,
    /// Never sees the caller's cancellation.
    IgnoresCancel,
    /// Runs without any timeout (sleeps capped at 1 s, so it still ends).
    IgnoresTimeouts,
    /// Never retries.
    NeverRetries,
    /// Ignores `--connect-rate`.
    IgnoresRate,
    /// Ignores `--per-jump-rate`.
    IgnoresJumpRate,
    /// Delivers every outcome only when the run is over.
    BatchesOutcomes,
    /// Stops the whole run at the first failed host.
    AbortsOnFirstFailure,
    /// Goes on after the sink said `Flow::Stop`.
    IgnoresSinkStop,
    /// Reports every host cancelled before refusing an invalid job.
    ValidatesLate,
    /// Reports a refused host key as a connect error.
    HostKeyAsConnect,
    /// Never verifies host keys.
    HostKeysOff,
    /// Drops the output of failed hosts.
    DropsPartialOutput,
    /// Drops what a failed cli host saw: its outputs and the last output
    /// quoted in its message.
    DropsCliPartialOutput,
    /// Never tells the sink it is idle (a buffering sink's lines wait for
    /// the end of the run).
    NeverIdles,
}

/// The executor `inner` with one [`Defect`]; it claims `inner`'s name and
/// concurrency, whatever it really does.
pub struct Defective<E> {
    inner: E,
    defect: Defect,
}

impl<E: Executor> Defective<E> {
    /// `inner`, broken by `defect`.
    pub fn new(inner: E, defect: Defect) -> Self {
        Self { inner, defect }
    }
}

impl<E: Executor> Executor for Defective<E> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn concurrency(&self, job: &Job) -> usize {
        self.inner.concurrency(job)
    }

    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        let claimed = self.concurrency(job);
        let mut job = job.clone();
        let fresh = CancelToken::new();
        let mut cancel = cancel;
        let mut targets = targets;
        match self.defect {
            Defect::LosesLastHost => targets = &targets[..targets.len().saturating_sub(1)],
            Defect::IgnoresConcurrency => job.limits.concurrency = targets.len().max(1),
            Defect::IgnoresGroupCaps => {
                job.limits.per_group.clear();
                job.limits.concurrency = targets.len().max(1);
            }
            Defect::IgnoresJumpCaps => job.limits.per_jump = None,
            Defect::IgnoresCancel => cancel = &fresh,
            Defect::IgnoresTimeouts => {
                job.timeouts = Timeouts {
                    connect: None,
                    auth: None,
                    command: None,
                    host: None,
                };
                if let Task::Sleep { duration } = &mut job.task {
                    *duration = (*duration).min(Duration::from_secs(1));
                }
            }
            Defect::NeverRetries => job.retry.retries = 0,
            Defect::IgnoresRate => job.limits.connect_rate = None,
            Defect::IgnoresJumpRate => job.limits.per_jump_rate = None,
            Defect::HostKeysOff => job.host_keys = HostKeyPolicy::Off,
            Defect::ValidatesLate => {
                if let Err(e) = job.validate() {
                    for t in targets {
                        sink.accept(HostOutcome::cancelled(&t.name, Worker::Thread(0)));
                    }
                    return Err(e.into());
                }
            }
            Defect::BatchesOutcomes => {
                let mut all = CollectSink::default();
                let summary = self.inner.run(&job, targets, &mut all, cancel)?;
                for o in all.outcomes {
                    sink.accept(o);
                }
                return Ok(summary);
            }
            Defect::AbortsOnFirstFailure => {
                let stop = CancelToken::new();
                let mut abort = |o: HostOutcome| {
                    if o.status == Status::Failed {
                        stop.cancel();
                    }
                    sink.accept(o)
                };
                return self.inner.run(&job, targets, &mut abort, &stop);
            }
            Defect::ReportsFirstTwice
            | Defect::IgnoresSinkStop
            | Defect::HostKeyAsConnect
            | Defect::DropsPartialOutput
            | Defect::DropsCliPartialOutput
            | Defect::NeverIdles => {}
        }
        let defect = self.defect;
        let mut first = true;
        let rewrite = move |mut o: HostOutcome, sink: &mut dyn Sink| {
            match defect {
                Defect::ReportsFirstTwice if std::mem::take(&mut first) => {
                    sink.accept(o.clone());
                }
                Defect::IgnoresSinkStop | Defect::IgnoresCancel => {
                    let _ = sink.accept(o);
                    return Flow::Continue;
                }
                Defect::HostKeyAsConnect if o.error_kind == Some(ErrorKind::HostKey) => {
                    o.error_kind = Some(ErrorKind::Connect);
                }
                Defect::DropsPartialOutput if !o.is_ok() => o.outputs.clear(),
                Defect::DropsCliPartialOutput if !o.is_ok() => {
                    o.outputs.clear();
                    if let Some(m) = &mut o.message
                        && let Some(at) = m.find("last output")
                    {
                        m.truncate(at);
                    }
                }
                _ => {}
            }
            sink.accept(o)
        };
        let mut rewrite = Rewrite {
            sink,
            rewrite,
            idles: defect != Defect::NeverIdles,
        };
        let mut summary = self.inner.run(&job, targets, &mut rewrite, cancel)?;
        summary.concurrency = claimed;
        Ok(summary)
    }
}

/// The caller's sink behind a defect's rewrite of each outcome; idles
/// pass through unless the defect is [`Defect::NeverIdles`].
struct Rewrite<'s, F> {
    sink: &'s mut dyn Sink,
    rewrite: F,
    idles: bool,
}

impl<F: FnMut(HostOutcome, &mut dyn Sink) -> Flow> Sink for Rewrite<'_, F> {
    fn accept(&mut self, outcome: HostOutcome) -> Flow {
        (self.rewrite)(outcome, &mut *self.sink)
    }

    fn idle(&mut self) -> Flow {
        if self.idles {
            self.sink.idle()
        } else {
            Flow::Continue
        }
    }
}

/// A maker of `inner()` broken by `defect`, as the checks take it.
pub fn defective<E: Executor + 'static>(
    inner: impl Fn() -> E,
    defect: Defect,
) -> impl Fn() -> Box<dyn Executor> {
    move || Box::new(Defective::new(inner(), defect))
}
