//! The [`Executor`] trait, its contract, and the [`Tally`] that builds a
//! [`RunSummary`] from the outcomes an executor reports.
//!
//! # Contract
//!
//! Every executor (`seq`, `process`, `threads`, `rayon`, `async`) keeps these
//! rules; `fanout-testkit`'s `executor_conformance!` checks each of them.
//!
//! 1. **Validate first.** [`Executor::run`] calls [`Job::validate`] and checks
//!    [`Executor::supports`] before starting any host; a job it cannot run is
//!    an `Err` with no outcome delivered.
//! 2. **Every host exactly once.** Each target yields exactly one
//!    [`HostOutcome`] (named by [`Target::name`]) through the sink, whether it
//!    succeeded, failed, timed out or was cancelled. Nothing is lost, nothing
//!    is reported twice.
//! 3. **Failures stay per host.** A host's error, panic or crash becomes that
//!    host's outcome; other hosts run on, and `run` still returns `Ok`.
//! 4. **Stream as completed.** Outcomes reach the sink as hosts finish, on
//!    the thread that called `run`, not batched at the end.
//! 5. **Limits.** Never more than [`Limits::concurrency`] hosts in flight
//!    (the executor's own bound where smaller, e.g. `seq` = 1), never more
//!    than a group's [`Limits::per_group`] cap of that group's hosts, and host
//!    attempts started no faster than [`Limits::connect_rate`].
//! 6. **Timeouts per phase.** A phase that runs out of time ends the host
//!    with [`Status::Timeout`] naming the [`Phase`]; a hung host never blocks
//!    the run beyond its timeouts.
//! 7. **Retries.** Failed attempts are retried only when
//!    [`RetryPolicy::should_retry`] says so, after
//!    [`RetryPolicy::backoff_for`]; [`HostOutcome::attempts`] counts them.
//! 8. **Cancellation.** Once the [`CancelToken`] fires (or the sink returns
//!    [`Flow::Stop`]), no new host starts; hosts not started are reported
//!    `cancelled`; in-flight hosts stop promptly (within a documented bound)
//!    and are reported `cancelled` unless they finished; `run` returns the
//!    summary of what happened.
//! 9. **Summary.** The returned [`RunSummary`] counts the delivered outcomes;
//!    `wall` runs from the first host starting to the last outcome.
//!
//! [`Job::validate`]: crate::Job::validate
//! [`Target::name`]: crate::Target::name
//! [`Limits::concurrency`]: crate::Limits::concurrency
//! [`Limits::per_group`]: crate::Limits::per_group
//! [`Limits::connect_rate`]: crate::Limits::connect_rate
//! [`Phase`]: crate::Phase
//! [`RetryPolicy::should_retry`]: crate::RetryPolicy::should_retry
//! [`RetryPolicy::backoff_for`]: crate::RetryPolicy::backoff_for
//! [`CancelToken`]: crate::CancelToken
//! [`Flow::Stop`]: crate::Flow::Stop

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{CancelToken, Flow, HostOutcome, Job, JobError, Sink, Status, Target, TaskKind};

/// Runs a [`Job`] on many [`Target`]s. Object-safe; see the module's
/// [contract](self#contract).
pub trait Executor: Send + Sync {
    /// CLI name (`seq`, `threads`, ...).
    fn name(&self) -> &str;

    /// Whether this executor can run tasks of `kind`.
    fn supports(&self, kind: TaskKind) -> bool;

    /// Hosts this executor will have in flight for `job` (e.g. `seq`: 1).
    fn concurrency(&self, job: &Job) -> usize;

    /// Runs `job` on every target, streaming outcomes to `sink`.
    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError>;

    /// Contract rule 1 in one call: [`Job::validate`] and [`supports`](Self::supports).
    fn check(&self, job: &Job) -> Result<(), ExecError> {
        job.validate()?;
        let kind = job.task.kind();
        if self.supports(kind) {
            Ok(())
        } else {
            Err(ExecError::Unsupported {
                executor: self.name().to_string(),
                task: kind,
            })
        }
    }
}

/// Why a whole run could not happen (per-host problems are outcomes instead).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The job's values cannot work.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The executor cannot run this kind of task.
    #[error(
        "the `{task}` task is not supported by the `{executor}` executor yet; use a sleep, cpu or local task, or another executor (-e)"
    )]
    Unsupported {
        /// Executor name.
        executor: String,
        /// Task kind.
        task: TaskKind,
    },
    /// The executor could not set itself up (threads, runtime, processes).
    #[error("{executor} executor could not start: {message}")]
    Setup {
        /// Executor name.
        executor: String,
        /// What went wrong and what to do.
        message: String,
    },
}

/// What a run did, counted from the outcomes delivered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Executor name.
    pub executor: String,
    /// Hosts in flight at most (the executor's effective `-c`).
    pub concurrency: usize,
    /// Outcomes delivered.
    pub hosts: usize,
    /// `ok` outcomes.
    pub ok: usize,
    /// `failed` outcomes.
    pub failed: usize,
    /// `timeout` outcomes.
    pub timeout: usize,
    /// `cancelled` outcomes.
    pub cancelled: usize,
    /// From the first host starting to the last outcome.
    #[serde(rename = "wall_s", with = "seconds")]
    pub wall: Duration,
}

impl RunSummary {
    /// Whether every host ended `ok`.
    pub fn all_ok(&self) -> bool {
        self.ok == self.hosts
    }
}

/// Counts outcomes on their way to a sink and times the run. Executors
/// create one per run, call [`host_started`](Self::host_started) when a
/// host begins and [`deliver`](Self::deliver) for each outcome.
#[derive(Debug)]
pub struct Tally {
    run_start: Instant,
    first_start: Option<Instant>,
    last_outcome: Option<Instant>,
    counts: [usize; 4],
    stopped: bool,
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

impl Tally {
    /// Starts timing the run now.
    pub fn new() -> Self {
        Self {
            run_start: Instant::now(),
            first_start: None,
            last_outcome: None,
            counts: [0; 4],
            stopped: false,
        }
    }

    /// Marks a host start; returns its `queued` time (since the run began).
    pub fn host_started(&mut self) -> Duration {
        let now = Instant::now();
        self.first_start.get_or_insert(now);
        now - self.run_start
    }

    /// Counts `outcome` and passes it to `sink`. Remembers a
    /// [`Flow::Stop`]; see [`stopped`](Self::stopped).
    pub fn deliver(&mut self, sink: &mut dyn Sink, outcome: HostOutcome) -> Flow {
        let slot = match outcome.status {
            Status::Ok => 0,
            Status::Failed => 1,
            Status::Timeout => 2,
            Status::Cancelled => 3,
        };
        self.counts[slot] += 1;
        self.last_outcome = Some(Instant::now());
        let flow = sink.accept(outcome);
        if flow == Flow::Stop {
            self.stopped = true;
        }
        flow
    }

    /// Whether the sink asked to stop.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Whether the run should start no more hosts (cancelled or sink stop).
    pub fn should_stop(&self, cancel: &CancelToken) -> bool {
        self.stopped || cancel.is_cancelled()
    }

    /// The summary of everything delivered so far.
    pub fn finish(&self, executor: &str, concurrency: usize) -> RunSummary {
        let wall = match (self.first_start, self.last_outcome) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => Duration::ZERO,
        };
        let [ok, failed, timeout, cancelled] = self.counts;
        RunSummary {
            executor: executor.to_string(),
            concurrency,
            hosts: ok + failed + timeout + cancelled,
            ok,
            failed,
            timeout,
            cancelled,
            wall,
        }
    }
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e6)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Duration::try_from_secs_f64(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CollectSink, ErrorKind, Worker};

    #[test]
    fn tally_counts_and_times() {
        let mut tally = Tally::new();
        let mut sink = CollectSink::default();
        tally.host_started();
        std::thread::sleep(Duration::from_millis(5));
        tally.deliver(&mut sink, HostOutcome::ok("a", vec![], Worker::Thread(0)));
        tally.deliver(
            &mut sink,
            HostOutcome::failed("b", ErrorKind::Auth, "no", Worker::Thread(0)),
        );
        tally.deliver(&mut sink, HostOutcome::cancelled("c", Worker::Thread(0)));
        let s = tally.finish("seq", 1);
        assert_eq!((s.hosts, s.ok, s.failed, s.cancelled), (3, 1, 1, 1));
        assert!(s.wall >= Duration::from_millis(5));
        let v = serde_json::to_value(&s).unwrap();
        assert!(v["wall_s"].as_f64().unwrap() > 0.0);
        assert_eq!(sink.outcomes.len(), 3);
    }
}
