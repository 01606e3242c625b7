use std::fmt;
use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, CommandOutput, ErrorKind, HostOutcome, Job, Phase, PhaseTimings, Target, Task,
    TaskKind, Worker, cpu_burn,
};
use fanout_engine::local::{self, PIPE_GRACE};
use fanout_engine::{AttemptGate, HostDeadline, Retries, RetryStep, host_deadline};
use fanout_netcli::DialogSpec;

use crate::ssh::SshShared;

/// Whether [`run_host`] can run tasks of `kind`: all of them (`exec` and
/// `cli` over ssh2).
pub(crate) fn supports(_kind: TaskKind) -> bool {
    true
}

/// Everything [`run_host`] needs besides the job and the target.
#[derive(Clone, Copy)]
pub struct HostRun<'a> {
    /// Who runs the host (reported in the outcome).
    pub worker: Worker,
    /// The run's cancellation token.
    pub cancel: &'a CancelToken,
    /// Where every attempt (first and retries) waits for its connect-rate
    /// slot, if `--connect-rate`: the executor's one
    /// [`ConnectRateLimiter`](fanout_engine::ConnectRateLimiter) shared by
    /// all its threads, or a worker process's line to its parent's.
    pub connect_rate: Option<&'a dyn AttemptGate>,
    /// The run's SSH state (host-key verifier, key files), for `exec` and
    /// `cli` tasks. `None`: built for this host alone (known_hosts read per
    /// host; fine for one host, wasteful for many).
    pub ssh: Option<&'a SshShared>,
}

impl fmt::Debug for HostRun<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostRun")
            .field("worker", &self.worker)
            .field("cancel", &self.cancel)
            .field("connect_rate", &self.connect_rate.is_some())
            .field("ssh", &self.ssh)
            .finish()
    }
}

pub(crate) use fanout_engine::{AttemptError, Deadline};

/// The longest [`run_host`] can take for `target`, retries and backoff
/// included, or `None` when nothing bounds it (a phase it needs has no
/// timeout, and no host timeout is set). Waits for connect-rate slots are
/// not included: they depend on the other hosts (whoever hands out the
/// slots knows them). Executors that must tell a slow host from a hung one
/// (the process executor kills a worker that overruns) use it.
///
/// With a host timeout that is the bound (plus the short grace a local
/// command's output pipes get after it was killed). Otherwise every attempt
/// counts its phases in full: connect, auth, then the command — for a `cli`
/// task once per exchange of its dialog (first prompt, paging, enable and
/// secret, configuration mode, each command, commit, logout:
/// [`DialogSpec::max_exchanges`](fanout_netcli::DialogSpec::max_exchanges)),
/// since each exchange gets the command timeout afresh — and the goodbye
/// to the device; between attempts, the longest backoff.
pub fn max_host_duration(job: &Job, target: &Target) -> Option<Duration> {
    let t = |phase| job.timeouts.for_target(target, phase);
    // What may run past a deadline: a killed local command's pipes, an SSH
    // session's goodbye (bounded by the host deadline itself).
    let (tail, close) = match job.task.kind() {
        TaskKind::Local => (PIPE_GRACE, PIPE_GRACE),
        TaskKind::Exec | TaskKind::Cli => (Duration::ZERO, crate::ssh::CLOSE_WAIT),
        TaskKind::Sleep | TaskKind::Cpu => (Duration::ZERO, Duration::ZERO),
    };
    let by_host = t(Phase::Host).map(|host| host.saturating_add(tail));
    let by_phases = per_attempt(job, target).map(|attempt| {
        let attempt = attempt.saturating_add(close);
        let retries = job.retry.retries;
        let mut total = attempt.saturating_mul(retries.saturating_add(1));
        // RetryPolicy::backoff_for waits at most the un-jittered backoff,
        // doubling per retry up to max_backoff.
        for retry in 1..=retries.min(32) {
            let exp = job
                .retry
                .backoff
                .saturating_mul(1u32 << (retry - 1).min(16))
                .min(job.retry.max_backoff);
            total = total.saturating_add(exp);
        }
        total.saturating_add(
            job.retry
                .max_backoff
                .saturating_mul(retries.saturating_sub(32)),
        )
    });
    match (by_host, by_phases) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One attempt's phase timeouts added up, `None` if one is unlimited.
fn per_attempt(job: &Job, target: &Target) -> Option<Duration> {
    let t = |phase| job.timeouts.for_target(target, phase);
    let command = t(Phase::Command)?;
    Some(match &job.task {
        Task::Exec { .. } => t(Phase::Connect)?
            .saturating_add(t(Phase::Auth)?)
            .saturating_add(command),
        Task::Cli { commands, mode } => {
            let exchanges = DialogSpec::for_target(target, commands, *mode).max_exchanges();
            t(Phase::Connect)?
                .saturating_add(t(Phase::Auth)?)
                .saturating_add(
                    command.saturating_mul(u32::try_from(exchanges).unwrap_or(u32::MAX)),
                )
        }
        Task::Sleep { .. } | Task::Cpu { .. } | Task::Local { .. } => command,
    })
}

/// Runs `job` on one `target`, blocking, with retries, timeouts and
/// cancellation, and returns its outcome (`timings.queued` is left for the
/// executor to fill in). Never panics on a host's failure: every problem
/// becomes the outcome.
pub fn run_host(job: &Job, target: &Target, run: HostRun<'_>) -> HostOutcome {
    let start = Instant::now();
    let host_deadline = host_deadline(job, target, start);
    let retries = Retries::new(job, target, host_deadline);
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
        let pause = match retries.after(attempt, err.kind, err.phase) {
            RetryStep::GiveUp => break Err(err),
            RetryStep::Retry(pause) => pause,
            // The host's time runs out before the next attempt could start.
            RetryStep::HostTimeout(deadline) => {
                break Err(deadline.timeout_error(err.outputs));
            }
        };
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
    host_deadline: HostDeadline,
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
    let deadline = Deadline::for_phase(job, target, Phase::Command, started, host_deadline);
    if deadline.passed() {
        return Err(deadline.timeout_error(Vec::new()));
    }
    let result = match &job.task {
        Task::Sleep { duration } => sleep_task(*duration, deadline, cancel),
        Task::Cpu { iterations } => cpu_task(*iterations, deadline, cancel),
        Task::Local { argv } => local::blocking::run(argv, target, deadline, cancel),
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
    use fanout_core::{CliMode, Platform};

    #[test]
    fn max_host_duration_counts_every_exchange_attempt_and_backoff() {
        let target = Target::new("r1", "127.0.0.1");
        let secs = Duration::from_secs;
        let mut sleep = Job::new(Task::Sleep { duration: secs(1) });
        sleep.timeouts.command = Some(secs(60));
        assert_eq!(max_host_duration(&sleep, &target), Some(secs(60)));
        sleep.retry.retries = 2;
        sleep.retry.backoff = Duration::from_millis(100);
        sleep.retry.max_backoff = secs(10);
        // 3 x 60 s + 100 ms + 200 ms of backoff.
        assert_eq!(
            max_host_duration(&sleep, &target),
            Some(Duration::from_millis(180_300))
        );
        sleep.timeouts.host = Some(secs(5));
        assert_eq!(max_host_duration(&sleep, &target), Some(secs(5)));
        sleep.timeouts.host = None;
        sleep.timeouts.command = None;
        assert_eq!(max_host_duration(&sleep, &target), None, "no limit at all");

        // A cli task in config mode on IOS: first prompt, Enter, terminal
        // length 0, enable, secret, configure terminal, 2 commands, end,
        // exit: 10 exchanges of the command timeout, plus connect and auth.
        let mut cli = Job::new(Task::Cli {
            commands: vec!["interface lo1".into(), "description x".into()],
            mode: CliMode::Config,
        });
        cli.timeouts.connect = Some(secs(10));
        cli.timeouts.auth = Some(secs(10));
        cli.timeouts.command = Some(secs(1));
        let close = crate::ssh::CLOSE_WAIT;
        assert_eq!(max_host_duration(&cli, &target), Some(secs(30) + close));
        let mut linux = target.clone();
        linux.platform = Some(Platform::Linux);
        // No paging, enable or configuration mode on Linux.
        assert_eq!(max_host_duration(&cli, &linux), Some(secs(25) + close));
        cli.retry.retries = u32::MAX;
        assert!(
            max_host_duration(&cli, &target).is_some(),
            "saturates, no overflow"
        );
        let mut local = Job::new(Task::Local {
            argv: vec!["true".into()],
        });
        local.timeouts.host = Some(secs(2));
        assert_eq!(
            max_host_duration(&local, &target),
            Some(secs(2) + PIPE_GRACE)
        );
    }

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
