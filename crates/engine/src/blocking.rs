//! The blocking driver: one host on the calling thread, from its start to
//! its outcome — attempts, retries with backoff, per-phase deadlines,
//! cancellation and the phase timings — with `sleep`, `cpu` and `local`
//! run here and network tasks through a [`BlockingTransport`]. Every
//! blocking executor calls [`run_host`]: `seq`, `threads`, `rayon` and the
//! process executor's worker children.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, CommandOutput, HostOutcome, Job, Phase, Target, Task, Worker, cpu_burn,
};

use crate::attempts::{HostAttempts, Step};
use crate::transport::{AttemptResult, BlockingTransport, no_transport};
use crate::{AttemptError, AttemptGate, Deadline, HostDeadline, Progress, local, panicked};

/// Everything [`run_host`] needs besides the job and the target.
#[derive(Clone, Copy)]
pub struct HostRun<'a> {
    /// Who runs the host (reported in the outcome).
    pub worker: Worker,
    /// The run's cancellation token.
    pub cancel: &'a CancelToken,
    /// Where every attempt (first and retries) waits for its connect-rate
    /// slot, if `--connect-rate` or `--per-jump-rate`: the executor's one
    /// [`ConnectRate`](crate::ConnectRate) shared by all its threads, or a
    /// worker process's line to its parent's.
    pub connect_rate: Option<&'a dyn AttemptGate>,
    /// The run's transports, for `exec` and `cli` tasks (built once per
    /// run: host-key verifier, key files).
    pub transport: Option<&'a dyn BlockingTransport>,
}

impl fmt::Debug for HostRun<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostRun")
            .field("worker", &self.worker)
            .field("cancel", &self.cancel)
            .field("connect_rate", &self.connect_rate.is_some())
            .field("transport", &self.transport)
            .finish()
    }
}

/// Runs `job` on one `target`, blocking, with retries, timeouts and
/// cancellation, and returns its outcome (`timings.queued` is left for the
/// scheduler to fill in). Never panics on a host's failure: every problem,
/// a panic included ([`panicked`]), becomes the outcome.
pub fn run_host(job: &Job, target: &Target, run: HostRun<'_>) -> HostOutcome {
    let outcome = catch_unwind(AssertUnwindSafe(|| attempts(job, target, run)))
        .unwrap_or_else(|panic| panicked(&target.name, run.worker, panic.as_ref()));
    job.observer.host_finished(&outcome);
    outcome
}

fn attempts(job: &Job, target: &Target, run: HostRun<'_>) -> HostOutcome {
    let mut host = HostAttempts::begin(job, target, run.worker);
    loop {
        if run.cancel.is_cancelled() {
            return host.cancelled();
        }
        let slot = match run.connect_rate {
            Some(gate) => match gate.acquire(target, run.cancel) {
                Some(ticket) => Some((gate, ticket)),
                None => return host.cancelled(),
            },
            None => None,
        };
        let Some(deadline) = host.start_attempt() else {
            return host.timed_out();
        };
        let result = attempt(job, target, deadline, run, host.progress_mut());
        if let Some((gate, ticket)) = slot {
            gate.report(target, ticket, &result);
        }
        match host.after(result) {
            Step::Done(outcome) => return outcome,
            Step::Pause(pause) => {
                if run.cancel.sleep(pause) {
                    return host.cancelled();
                }
            }
        }
    }
}

fn attempt(
    job: &Job,
    target: &Target,
    host: HostDeadline,
    run: HostRun<'_>,
    progress: &mut Progress,
) -> AttemptResult {
    let cancel = run.cancel;
    if job.task.kind().needs_network() {
        let job = crate::preflight::network_job(job, target)?;
        return match run.transport {
            Some(transport) => transport.attempt(&job, target, host, cancel, progress),
            None => Err(no_transport(&job)),
        };
    }
    progress.phase = Some(Phase::Command);
    let started = Instant::now();
    let deadline = Deadline::for_phase(job, target, Phase::Command, started, host);
    let result = match &job.task {
        Task::Sleep { duration } => sleep_task(*duration, deadline, cancel),
        Task::SleepRange { min, max, seed } => {
            let duration = fanout_core::seeded_duration(*min, *max, *seed, &target.name);
            sleep_task(duration, deadline, cancel)
        }
        Task::Cpu { iterations } => cpu_task(*iterations, deadline, cancel),
        Task::Local { argv } => local::blocking::run(argv, target, deadline, cancel),
        Task::Exec { .. } | Task::Cli { .. } | Task::Http { .. } => Err(no_transport(job)),
    };
    progress.timings.command += started.elapsed();
    result
}

fn sleep_task(duration: Duration, deadline: Deadline, cancel: &CancelToken) -> AttemptResult {
    let limit = deadline.remaining();
    let wait = limit.map_or(duration, |left| left.min(duration));
    if cancel.sleep(wait) {
        return Err(AttemptError::cancelled());
    }
    if wait < duration {
        return Err(deadline.timeout_error(Vec::new()));
    }
    Ok(Vec::new())
}

fn cpu_task(iterations: u64, deadline: Deadline, cancel: &CancelToken) -> AttemptResult {
    let digest = cpu_burn(iterations, || !cancel.is_cancelled() && !deadline.passed());
    match digest {
        Some(digest) => Ok(vec![cpu_output(iterations, digest)]),
        None if cancel.is_cancelled() => Err(AttemptError::cancelled()),
        None => Err(deadline.timeout_error(Vec::new())),
    }
}

/// The output of a finished `cpu` task: its digest, the same on every
/// driver.
pub(crate) fn cpu_output(iterations: u64, digest: u64) -> CommandOutput {
    CommandOutput {
        command: format!("cpu {iterations}"),
        stdout: format!("{digest:016x}\n"),
        ..CommandOutput::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_past_the_clock_is_no_limit_not_a_panic() {
        let now = Instant::now();
        let d = Deadline::new(now, Phase::Command, Some(Duration::MAX), None);
        assert_eq!(d.at, None);
        assert!(!d.passed());
        assert_eq!(d.remaining(), None);
        let host = now + Duration::from_secs(1);
        let d = Deadline::new(
            now,
            Phase::Command,
            Some(Duration::MAX),
            Some((host, Duration::from_secs(1))),
        );
        assert_eq!((d.at, d.phase), (Some(host), Phase::Host));

        let mut job = Job::new(Task::Sleep {
            duration: Duration::from_millis(1),
        });
        job.timeouts.command = Some(Duration::MAX);
        job.timeouts.host = Some(Duration::MAX);
        let cancel = CancelToken::new();
        let run = HostRun {
            worker: Worker::Thread(0),
            cancel: &cancel,
            connect_rate: None,
            transport: None,
        };
        let outcome = run_host(&job, &Target::new("h", "127.0.0.1"), run);
        assert!(outcome.is_ok(), "{outcome:?}");
    }

    #[test]
    fn a_network_task_without_a_transport_is_an_internal_error_not_a_panic() {
        let job = Job::new(Task::Exec {
            command: "show clock".into(),
        });
        let cancel = CancelToken::new();
        let run = HostRun {
            worker: Worker::Thread(0),
            cancel: &cancel,
            connect_rate: None,
            transport: None,
        };
        let o = run_host(&job, &Target::new("h", "127.0.0.1"), run);
        assert_eq!(o.error_kind, Some(fanout_core::ErrorKind::InvalidTarget));
        assert!(o.message.unwrap().contains("please report it"));
    }
}
