use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, CommandOutput, ConnectRateLimiter, ErrorKind, HostOutcome, Job, Phase,
    PhaseTimings, Target, Task, TaskKind, Worker, cpu_burn,
};

use crate::local;
use crate::ssh::SshShared;

/// Whether [`run_host`] can run tasks of `kind`: all of them (`exec` and
/// `cli` over ssh2).
pub(crate) fn supports(_kind: TaskKind) -> bool {
    true
}

/// Everything [`run_host`] needs besides the job and the target.
#[derive(Clone, Copy, Debug)]
pub struct HostRun<'a> {
    /// Who runs the host (reported in the outcome).
    pub worker: Worker,
    /// The run's cancellation token.
    pub cancel: &'a CancelToken,
    /// The executor's shared connection-open limiter, if `--connect-rate`.
    pub connect_rate: Option<&'a ConnectRateLimiter>,
    /// The run's SSH state (host-key verifier, key files), for `exec` and
    /// `cli` tasks. `None`: built for this host alone (known_hosts read per
    /// host; fine for one host, wasteful for many).
    pub ssh: Option<&'a SshShared>,
}

/// How one attempt ended when it did not succeed.
#[derive(Debug)]
pub(crate) struct AttemptError {
    pub(crate) kind: ErrorKind,
    pub(crate) phase: Option<Phase>,
    pub(crate) message: String,
    pub(crate) outputs: Vec<CommandOutput>,
}

impl AttemptError {
    pub(crate) fn new(kind: ErrorKind, phase: Option<Phase>, message: impl Into<String>) -> Self {
        Self {
            kind,
            phase,
            message: message.into(),
            outputs: Vec::new(),
        }
    }

    pub(crate) fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, None, "run cancelled")
    }

    /// The same error, keeping `outputs` (partial output of the command).
    pub(crate) fn with_outputs(mut self, outputs: Vec<CommandOutput>) -> Self {
        self.outputs = outputs;
        self
    }
}

/// The deadline of one phase: the earlier of the phase's own timeout and the
/// whole-host timeout, remembering which one it was.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: Option<Instant>,
    pub(crate) phase: Phase,
    pub(crate) after: Duration,
}

impl Deadline {
    pub(crate) fn new(
        start: Instant,
        phase: Phase,
        own: Option<Duration>,
        host: Option<(Instant, Duration)>,
    ) -> Self {
        // A timeout too large for the clock (`--timeout 1000000000d`) is
        // no limit rather than an overflow panic.
        let own_at = own.and_then(|d| Some((start.checked_add(d)?, phase, d)));
        let host_at = host.map(|(at, d)| (at, Phase::Host, d));
        match (own_at, host_at) {
            (Some(a), Some(b)) => {
                let (at, phase, after) = if b.0 < a.0 { b } else { a };
                Self {
                    at: Some(at),
                    phase,
                    after,
                }
            }
            (Some((at, phase, after)), None) | (None, Some((at, phase, after))) => Self {
                at: Some(at),
                phase,
                after,
            },
            (None, None) => Self {
                at: None,
                phase,
                after: Duration::ZERO,
            },
        }
    }

    pub(crate) fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    pub(crate) fn timeout_error(&self, outputs: Vec<CommandOutput>) -> AttemptError {
        AttemptError {
            outputs,
            ..AttemptError::new(
                ErrorKind::Timeout,
                Some(self.phase),
                self.phase.timeout_message(self.after),
            )
        }
    }

    /// Time left, or `None` for no limit.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }
}

/// Runs `job` on one `target`, blocking, with retries, timeouts and
/// cancellation, and returns its outcome (`timings.queued` is left for the
/// executor to fill in). Never panics on a host's failure: every problem
/// becomes the outcome.
pub fn run_host(job: &Job, target: &Target, run: HostRun<'_>) -> HostOutcome {
    let start = Instant::now();
    let host_timeout = job.timeouts.for_target(target, Phase::Host);
    let host_deadline = host_timeout.and_then(|d| Some((start.checked_add(d)?, d)));
    let seed = target.name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut timings = PhaseTimings::default();
    // Attempts actually started: a host cancelled before its first attempt
    // reports 0.
    let mut attempt = 0;
    let result = loop {
        if run.cancel.is_cancelled() {
            break Err(AttemptError::cancelled());
        }
        if let Some(limiter) = run.connect_rate
            && !limiter.acquire(run.cancel)
        {
            break Err(AttemptError::cancelled());
        }
        attempt += 1;
        let result = run_attempt(job, target, run, host_deadline, &mut timings);
        let err = match result {
            Ok(outputs) => break Ok(outputs),
            Err(err) => err,
        };
        if !job
            .retry
            .should_retry(&job.task, attempt, err.kind, err.phase)
        {
            break Err(err);
        }
        let pause = job.retry.backoff_for(attempt, seed);
        if let Some((at, limit)) = host_deadline
            && at.saturating_duration_since(Instant::now()) <= pause
        {
            // The host's time runs out before the next attempt could start.
            break Err(AttemptError {
                outputs: err.outputs,
                ..AttemptError::new(
                    ErrorKind::Timeout,
                    Some(Phase::Host),
                    Phase::Host.timeout_message(limit),
                )
            });
        }
        if run.cancel.sleep(pause) {
            break Err(AttemptError::cancelled());
        }
    };
    timings.total = start.elapsed();
    let mut outcome = match result {
        Ok(outputs) => HostOutcome::ok(&target.name, outputs, run.worker),
        Err(err) => {
            let mut o = HostOutcome::failed(&target.name, err.kind, err.message, run.worker);
            o.phase = err.phase;
            o.outputs = err.outputs;
            o
        }
    };
    outcome.attempts = attempt;
    outcome.timings = timings;
    outcome
}

fn run_attempt(
    job: &Job,
    target: &Target,
    run: HostRun<'_>,
    host_deadline: Option<(Instant, Duration)>,
    timings: &mut PhaseTimings,
) -> Result<Vec<CommandOutput>, AttemptError> {
    if job.task.kind().needs_network() {
        let own;
        let shared = match run.ssh {
            Some(shared) => shared,
            None => {
                own = SshShared::for_job(job)
                    .map_err(|e| AttemptError::new(e.kind(), None, e.to_string()))?;
                &own
            }
        };
        return crate::ssh::attempt(job, target, run.cancel, shared, host_deadline, timings);
    }
    let cancel = run.cancel;
    let started = Instant::now();
    let deadline = Deadline::new(
        started,
        Phase::Command,
        job.timeouts.for_target(target, Phase::Command),
        host_deadline,
    );
    if deadline.passed() {
        return Err(deadline.timeout_error(Vec::new()));
    }
    let result = match &job.task {
        Task::Sleep { duration } => sleep_task(*duration, deadline, cancel),
        Task::Cpu { iterations } => cpu_task(*iterations, deadline, cancel),
        Task::Local { argv } => local::run(argv, target, deadline, cancel),
        Task::Exec { .. } | Task::Cli { .. } => Err(AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            "internal error: an SSH task reached the local task runner; please report it",
        )),
    };
    timings.command += started.elapsed();
    result
}

fn sleep_task(
    duration: Duration,
    deadline: Deadline,
    cancel: &CancelToken,
) -> Result<Vec<CommandOutput>, AttemptError> {
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

fn cpu_task(
    iterations: u64,
    deadline: Deadline,
    cancel: &CancelToken,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let digest = cpu_burn(iterations, || !cancel.is_cancelled() && !deadline.passed());
    match digest {
        Some(digest) => Ok(vec![CommandOutput {
            command: format!("cpu {iterations}"),
            stdout: format!("{digest:016x}\n"),
            ..CommandOutput::default()
        }]),
        None if cancel.is_cancelled() => Err(AttemptError::cancelled()),
        None => Err(deadline.timeout_error(Vec::new())),
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
            ssh: None,
        };
        let outcome = run_host(&job, &Target::new("h", "127.0.0.1"), run);
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}
