//! The executor contract, checked for `seq`, `threads` and `rayon`, and
//! proof that the checks can fail: deliberately broken executors (wrappers
//! that each break one rule) must make the matching check panic.

use std::time::Duration;

use fanout_core::{
    CancelToken, ExecError, Executor, Flow, HostOutcome, Job, RunSummary, Sink, Target,
};
use fanout_exec_threads::Sequential;
use fanout_testkit::checks;

mod seq {
    fanout_testkit::executor_conformance!(fanout_exec_threads::Sequential::new);
}

mod threads {
    fanout_testkit::executor_conformance!(fanout_exec_threads::ThreadPool::new);
}

mod rayon {
    fanout_testkit::executor_conformance!(fanout_exec_threads::Rayon::new);
}

/// One way to break the contract.
#[derive(Clone, Copy, Debug)]
enum Defect {
    LosesLastHost,
    ReportsFirstTwice,
    IgnoresConcurrency,
    IgnoresCancel,
    IgnoresTimeouts,
    NeverRetries,
    BatchesOutcomes,
    IgnoresRate,
    IgnoresGroupCaps,
    AbortsOnFirstFailure,
    IgnoresSinkStop,
    ValidatesLate,
}

/// `seq` with one defect.
struct Broken(Defect);

impl Executor for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn concurrency(&self, job: &Job) -> usize {
        match self.0 {
            Defect::IgnoresConcurrency | Defect::IgnoresGroupCaps => job.limits.concurrency,
            _ => 1,
        }
    }
    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        let seq = Sequential::new();
        let mut job = job.clone();
        match self.0 {
            Defect::LosesLastHost => {
                let n = targets.len().saturating_sub(1);
                return seq.run(&job, &targets[..n], sink, cancel);
            }
            Defect::ReportsFirstTwice => {
                let mut first = true;
                let mut twice = |o: HostOutcome| {
                    if std::mem::take(&mut first) {
                        sink.accept(o.clone());
                    }
                    sink.accept(o)
                };
                return seq.run(&job, targets, &mut twice, cancel);
            }
            Defect::IgnoresConcurrency | Defect::IgnoresGroupCaps => {
                // Every host on its own thread at once.
                job.validate()?;
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::scope(|s| {
                    for t in targets {
                        let (tx, job) = (tx.clone(), &job);
                        s.spawn(move || {
                            let mut local = fanout_core::CollectSink::default();
                            let _ = Sequential::new().run(
                                job,
                                std::slice::from_ref(t),
                                &mut local,
                                cancel,
                            );
                            let _ = tx.send(local.outcomes);
                        });
                    }
                });
                drop(tx);
                let mut ledger = fanout_engine::Ledger::new(targets.len());
                ledger.host_started();
                for (index, o) in rx.into_iter().flatten().enumerate() {
                    ledger.deliver(sink, index, o);
                }
                return Ok(ledger.finish("broken", job.limits.concurrency));
            }
            Defect::IgnoresCancel => {
                return seq.run(
                    &job,
                    targets,
                    &mut |o| {
                        let _ = sink.accept(o);
                        Flow::Continue
                    },
                    &CancelToken::new(),
                );
            }
            Defect::IgnoresTimeouts => {
                job.timeouts = fanout_core::Timeouts {
                    connect: None,
                    auth: None,
                    command: None,
                    host: None,
                };
                // Still finish eventually: cap every sleep at 1 s.
                if let fanout_core::Task::Sleep { duration } = &mut job.task {
                    *duration = (*duration).min(Duration::from_secs(1));
                }
            }
            Defect::NeverRetries => job.retry.retries = 0,
            Defect::IgnoresRate => job.limits.connect_rate = None,
            Defect::AbortsOnFirstFailure => {
                // Stops the whole run at the first failed host.
                let stop = CancelToken::new();
                let mut abort = |o: HostOutcome| {
                    if o.status == fanout_core::Status::Failed {
                        stop.cancel();
                    }
                    sink.accept(o)
                };
                return seq.run(&job, targets, &mut abort, &stop);
            }
            Defect::IgnoresSinkStop => {
                return seq.run(
                    &job,
                    targets,
                    &mut |o| {
                        let _ = sink.accept(o);
                        Flow::Continue
                    },
                    cancel,
                );
            }
            Defect::ValidatesLate => {
                // Reports every host cancelled, then refuses the job.
                if let Err(e) = job.validate() {
                    for t in targets {
                        sink.accept(HostOutcome::cancelled(
                            &t.name,
                            fanout_core::Worker::Thread(0),
                        ));
                    }
                    return Err(e.into());
                }
            }
            Defect::BatchesOutcomes => {
                let mut all = fanout_core::CollectSink::default();
                let summary = seq.run(&job, targets, &mut all, cancel)?;
                for o in all.outcomes {
                    sink.accept(o);
                }
                return Ok(summary);
            }
        }
        seq.run(&job, targets, sink, cancel)
    }
}

fn broken(defect: Defect) -> impl Fn() -> Box<dyn Executor> {
    move || Box::new(Broken(defect))
}

#[test]
#[should_panic(expected = "never reported")]
fn lost_host_is_caught() {
    checks::every_host_reported_exactly_once(&broken(Defect::LosesLastHost));
}

#[test]
#[should_panic(expected = "more than once")]
fn duplicate_report_is_caught() {
    checks::every_host_reported_exactly_once(&broken(Defect::ReportsFirstTwice));
}

#[test]
#[should_panic(expected = "ran at once")]
fn exceeded_concurrency_is_caught() {
    checks::concurrency_never_exceeded(&|| {
        // Claims to respect -c 3 but runs all 12 at once.
        struct Liar(Broken);
        impl Executor for Liar {
            fn name(&self) -> &str {
                "liar"
            }
            fn concurrency(&self, job: &Job) -> usize {
                job.limits.concurrency.min(3)
            }
            fn run(
                &self,
                j: &Job,
                t: &[Target],
                s: &mut dyn Sink,
                c: &CancelToken,
            ) -> Result<RunSummary, ExecError> {
                let mut summary = self.0.run(j, t, s, c)?;
                summary.concurrency = self.concurrency(j);
                Ok(summary)
            }
        }
        Box::new(Liar(Broken(Defect::IgnoresConcurrency)))
    });
}

#[test]
#[should_panic(expected = "of group core ran at once")]
fn exceeded_group_cap_is_caught() {
    checks::per_group_caps(&broken(Defect::IgnoresGroupCaps));
}

#[test]
#[should_panic(expected = "cancellation took")]
fn ignored_cancel_is_caught() {
    checks::cancellation_mid_run(&broken(Defect::IgnoresCancel));
}

#[test]
#[should_panic(expected = "in phase host (rule 6)")]
fn ignored_timeouts_are_caught() {
    checks::host_timeout(&broken(Defect::IgnoresTimeouts));
}

#[test]
#[should_panic(expected = "retried twice")]
fn missing_retries_are_caught() {
    checks::retries_counted(&broken(Defect::NeverRetries));
}

#[test]
#[should_panic(expected = "outcomes must stream")]
fn batched_outcomes_are_caught() {
    checks::streams_as_completed(&broken(Defect::BatchesOutcomes));
}

#[test]
#[should_panic(expected = "--connect-rate")]
fn ignored_rate_is_caught() {
    checks::connect_rate(&broken(Defect::IgnoresRate));
}

#[test]
#[should_panic(expected = "wrong outcome for")]
fn aborting_on_failure_is_caught() {
    checks::failures_stay_per_host(&broken(Defect::AbortsOnFirstFailure));
}

#[test]
#[should_panic(expected = "after Flow::Stop must be cancelled")]
fn ignored_sink_stop_is_caught() {
    checks::sink_stop(&broken(Defect::IgnoresSinkStop));
}

#[test]
#[should_panic(expected = "no outcome may be delivered")]
fn late_validation_is_caught() {
    checks::rejects_before_any_outcome(&broken(Defect::ValidatesLate));
}
