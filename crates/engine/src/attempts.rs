//! One host's attempts as a state machine, sans I/O: the one place that
//! decides, for every driver, when an attempt starts, whether a failed one
//! is retried and after which pause, and what the host's outcome is.
//!
//! A driver begins a host ([`HostAttempts::begin`]), then for each attempt
//! waits for its connect-rate slot, calls
//! [`start_attempt`](HostAttempts::start_attempt), runs the attempt (a
//! sleep, cpu or local task itself, a network task through its transport)
//! and hands the result to [`after`](HostAttempts::after), which answers
//! [`Step::Pause`] (wait, then attempt again) or [`Step::Done`] (the
//! outcome). The machine is kept small (it lives in every async host's
//! future): the job and the host deadline are those of its [`Retries`].
//! The [`Progress`] it keeps (attempts, phase timings, the phase
//! running now) is what a host whose attempt is dropped mid-way reports
//! ([`interrupted`](HostAttempts::interrupted)).

use std::time::{Duration, Instant};

use fanout_core::{HostOutcome, Job, Observer, Phase, PhaseTimings, Target, Worker};

use crate::transport::AttemptResult;
use crate::{AttemptError, Deadline, HostDeadline, Retries, RetryStep, host_deadline};

/// What a host did so far; kept outside an attempt, so that a host whose
/// attempt is abandoned (cancelled) still reports its attempts and timings.
#[derive(Clone, Debug)]
pub struct Progress {
    start: Instant,
    attempts: u32,
    /// Time spent in each phase so far, all attempts summed: transports add
    /// their connect, auth and command times; the drivers add the command
    /// time of sleep, cpu and local tasks.
    pub timings: PhaseTimings,
    /// The phase running now, as far as the attempt says (for the message
    /// of a host cancelled mid-phase); cleared after each attempt.
    pub phase: Option<Phase>,
    /// The legacy algorithms (SHA-1 kex, `ssh-rsa`, CBC, hmac-sha1...) the
    /// transport's last handshake with the target agreed on; the host's
    /// `legacy_algorithms`. Boxed, and only when there are any: 8 bytes in
    /// every host's future instead of a `Vec`'s 24 (a boxed slice would
    /// take 16).
    #[allow(clippy::box_collection)]
    legacy_algorithms: Option<Box<Vec<String>>>,
}

impl Progress {
    /// Records the legacy algorithms the transport's last handshake agreed
    /// on (replacing those of an earlier attempt).
    pub fn set_legacy_algorithms(&mut self, algorithms: Vec<String>) {
        self.legacy_algorithms = (!algorithms.is_empty()).then(|| Box::new(algorithms));
    }

    /// The legacy algorithms recorded so far (empty: none).
    pub fn legacy_algorithms(&self) -> &[String] {
        self.legacy_algorithms.as_deref().map_or(&[], Vec::as_slice)
    }

    /// When the host started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Attempts started so far (0: none).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Enters `phase` of an attempt of `job` on `target` now: it becomes
    /// the phase running, and its deadline (the phase's timeout for the
    /// target, within the host's) starts. Returns the deadline and when the
    /// phase started (for its timing).
    pub fn enter(
        &mut self,
        job: &Job,
        target: &Target,
        phase: Phase,
        host: HostDeadline,
    ) -> (Deadline, Instant) {
        self.phase = Some(phase);
        let started = Instant::now();
        (
            Deadline::for_phase(job, target, phase, started, host),
            started,
        )
    }
}

/// What a driver does after an attempt.
#[derive(Debug)]
pub enum Step {
    /// Pause this long (cancellably), then start the next attempt.
    Pause(Duration),
    /// The host is done: this is its outcome (`timings.queued` is the
    /// scheduler's to fill in).
    Done(HostOutcome),
}

/// The attempts of one host of `job` on `target`.
#[derive(Debug)]
pub struct HostAttempts<'a> {
    /// The job, the host deadline and the retry decision.
    retries: Retries<'a>,
    target: &'a Target,
    worker: Worker,
    progress: Progress,
    /// The run's observer: attempts are reported to it.
    observer: &'a Observer,
}

impl<'a> HostAttempts<'a> {
    /// The host starts now, run by `worker`: its whole-host deadline runs
    /// from here.
    pub fn begin(job: &'a Job, target: &'a Target, worker: Worker) -> Self {
        job.observer.host_started(&target.name);
        let start = Instant::now();
        let host = host_deadline(job, target, start);
        Self {
            retries: Retries::new(job, target, host),
            target,
            worker,
            observer: &job.observer,
            progress: Progress {
                start,
                attempts: 0,
                timings: PhaseTimings::default(),
                phase: None,
                legacy_algorithms: None,
            },
        }
    }

    /// An attempt starts now (after its connect-rate slot): it is counted,
    /// and runs within the returned host deadline. `None` when the host's
    /// time already ran out (while it waited for its slot): then its
    /// outcome is [`timed_out`](Self::timed_out).
    pub fn start_attempt(&mut self) -> Option<HostDeadline> {
        self.progress.attempts += 1;
        self.observer
            .attempt_started(&self.target.name, self.progress.attempts);
        let host = self.retries.host();
        match host {
            Some((at, _)) if at <= Instant::now() => None,
            _ => Some(host),
        }
    }

    /// The outcome of a host whose time ran out before an attempt could
    /// start ([`start_attempt`](Self::start_attempt) said `None`): a host
    /// timeout.
    pub fn timed_out(&mut self) -> HostOutcome {
        let deadline = match self.retries.host() {
            Some((at, after)) => Deadline {
                at: Some(at),
                phase: Phase::Host,
                after,
            },
            None => Deadline::new(Instant::now(), Phase::Host, None, None),
        };
        self.finish(Err(deadline.timeout_error(Vec::new())))
    }

    /// What follows an attempt that ended with `result`: the outcome, or a
    /// pause before the next attempt (only for what the retry policy
    /// retries, and only if the host's time allows it).
    pub fn after(&mut self, result: AttemptResult) -> Step {
        self.progress.phase = None;
        let err = match result {
            Ok(outputs) => return Step::Done(self.finish(Ok(outputs))),
            Err(err) => err,
        };
        match self.retries.after(self.progress.attempts, &err) {
            RetryStep::GiveUp => Step::Done(self.finish(Err(err))),
            RetryStep::Retry(pause) => Step::Pause(pause),
            // The host's time runs out before the next attempt could start.
            RetryStep::HostTimeout(deadline) => {
                Step::Done(self.finish(Err(deadline.timeout_error(err.outputs))))
            }
        }
    }

    /// The outcome of a host the run cancelled between attempts (or before
    /// the first): `cancelled`, with the attempts and timings so far.
    pub fn cancelled(&mut self) -> HostOutcome {
        self.finish(Err(AttemptError::cancelled()))
    }

    /// The outcome of a host whose attempt was abandoned mid-way (its
    /// future dropped on cancellation): `cancelled`, naming the phase it
    /// was in, with the attempts and timings so far.
    pub fn interrupted(&self) -> HostOutcome {
        let mut o = HostOutcome::cancelled(&self.target.name, self.worker);
        if let Some(phase) = self.progress.phase {
            o.message = Some(format!("run cancelled during the {phase} phase"));
        }
        o.attempts = self.progress.attempts;
        o.timings = self.progress.timings;
        o.timings.total = self.progress.start.elapsed();
        o.legacy_algorithms = self.progress.legacy_algorithms().to_vec();
        o
    }

    /// The outcome of a host whose attempt panicked ([`panicked`](crate::panicked)),
    /// with the attempts so far.
    pub fn panicked(&self, panic: &(dyn std::any::Any + Send)) -> HostOutcome {
        let mut o = crate::panicked(&self.target.name, self.worker, panic);
        o.attempts = self.progress.attempts;
        o
    }

    /// The job the host runs.
    pub fn job(&self) -> &'a Job {
        self.retries.job()
    }

    /// The host.
    pub fn target(&self) -> &'a Target {
        self.target
    }

    /// What the host did so far.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// What the host did so far, for the attempt running now to update.
    pub fn progress_mut(&mut self) -> &mut Progress {
        &mut self.progress
    }

    fn finish(&mut self, result: AttemptResult) -> HostOutcome {
        self.progress.timings.total = self.progress.start.elapsed();
        let name = &self.target.name;
        let mut outcome = match result {
            Ok(outputs) => HostOutcome::ok(name, outputs, self.worker),
            Err(err) => {
                let mut o = HostOutcome::failed(name, err.kind, err.message, self.worker);
                o.phase = err.phase;
                o.outputs = err.outputs;
                o
            }
        };
        outcome.attempts = self.progress.attempts;
        outcome.timings = self.progress.timings;
        outcome.legacy_algorithms = self
            .progress
            .legacy_algorithms
            .take()
            .map_or_else(Vec::new, |b| *b);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use fanout_core::{CommandOutput, ErrorKind, Status, Task};

    use super::*;

    fn exec_job(retries: u32) -> Job {
        let mut job = Job::new(Task::Exec {
            command: "show clock".into(),
        });
        job.retry.retries = retries;
        job.retry.backoff = Duration::from_millis(10);
        job
    }

    fn connect_error() -> AttemptResult {
        Err(AttemptError::new(ErrorKind::Connect, None, "refused"))
    }

    #[test]
    fn retries_what_the_policy_allows_then_reports_the_last_error() {
        let job = exec_job(2);
        let target = Target::new("r1", "127.0.0.1");
        let mut host = HostAttempts::begin(&job, &target, Worker::Thread(3));
        // Backoff 10 ms, doubling: at most 10 ms, then at most 20 ms.
        for most in [10, 20] {
            host.start_attempt().unwrap();
            let step = host.after(connect_error());
            assert!(
                matches!(step, Step::Pause(p) if p <= Duration::from_millis(most)),
                "{step:?}"
            );
        }
        host.start_attempt().unwrap();
        let Step::Done(o) = host.after(connect_error()) else {
            panic!("retries used up")
        };
        assert_eq!(
            (o.status, o.error_kind, o.attempts),
            (Status::Failed, Some(ErrorKind::Connect), 3)
        );
        assert_eq!(
            (o.worker, o.message.as_deref()),
            (Worker::Thread(3), Some("refused"))
        );
    }

    #[test]
    fn success_and_unretried_failures_are_done_at_once_with_their_outputs() {
        let job = exec_job(5);
        let target = Target::new("r1", "127.0.0.1");
        let mut host = HostAttempts::begin(&job, &target, Worker::Task(0));
        host.start_attempt().unwrap();
        host.progress_mut().timings.auth = Duration::from_millis(7);
        let output = CommandOutput {
            command: "show clock".into(),
            stdout: "12:00".into(),
            ..CommandOutput::default()
        };
        let Step::Done(o) = host.after(Ok(vec![output.clone()])) else {
            panic!("an ok attempt is the outcome")
        };
        assert_eq!((o.status, o.attempts, o.outputs.len()), (Status::Ok, 1, 1));
        assert_eq!(o.timings.auth, Duration::from_millis(7));
        let mut host = HostAttempts::begin(&job, &target, Worker::Task(0));
        host.start_attempt().unwrap();
        let auth = AttemptError::new(ErrorKind::Auth, None, "denied").with_outputs(vec![output]);
        let Step::Done(o) = host.after(Err(auth)) else {
            panic!("auth failures are never retried")
        };
        assert_eq!(
            (o.error_kind, o.attempts, o.outputs.len()),
            (Some(ErrorKind::Auth), 1, 1)
        );
    }

    #[test]
    fn auto_retries_a_dropped_handshake_at_once_beyond_the_retries() {
        let mut job = exec_job(1);
        job.limits.connect_rate_auto = true;
        let target = Target::new("r1", "127.0.0.1");
        let mut host = HostAttempts::begin(&job, &target, Worker::Thread(0));
        let dropped = || Err(AttemptError::new(ErrorKind::Connect, None, "cut").congested());
        for _ in 0..=crate::deadline::AUTO_RETRIES {
            host.start_attempt().unwrap();
            let step = host.after(dropped());
            assert!(matches!(step, Step::Pause(p) if p.is_zero()), "{step:?}");
        }
        host.start_attempt().unwrap();
        let Step::Done(o) = host.after(dropped()) else {
            panic!("retries and auto's retries used up")
        };
        assert_eq!(o.attempts, crate::deadline::AUTO_RETRIES + 2);
        // Without auto a dropped handshake is a connect error like any other.
        job.limits.connect_rate_auto = false;
        let mut host = HostAttempts::begin(&job, &target, Worker::Thread(0));
        host.start_attempt().unwrap();
        assert!(matches!(host.after(dropped()), Step::Pause(p) if !p.is_zero()));
        host.start_attempt().unwrap();
        assert!(matches!(host.after(dropped()), Step::Done(_)));
    }

    #[test]
    fn an_attempt_whose_host_time_ran_out_while_waiting_is_a_host_timeout() {
        let mut job = exec_job(3);
        job.timeouts.host = Some(Duration::from_millis(1));
        let target = Target::new("r1", "127.0.0.1");
        let mut host = HostAttempts::begin(&job, &target, Worker::Thread(0));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(host.start_attempt(), None, "no time left to start");
        let o = host.timed_out();
        assert_eq!(
            (o.status, o.error_kind),
            (Status::Timeout, Some(ErrorKind::Timeout))
        );
        assert_eq!((o.phase, o.attempts), (Some(Phase::Host), 1));
        assert!(o.message.unwrap().contains("--timeout host="));
    }

    #[test]
    fn cancelled_and_interrupted_hosts_keep_what_they_did() {
        let job = exec_job(0);
        let target = Target::new("r1", "127.0.0.1");
        let mut host = HostAttempts::begin(&job, &target, Worker::Task(4));
        let o = host.cancelled();
        assert_eq!(
            (o.status, o.attempts, o.message.as_deref()),
            (Status::Cancelled, 0, Some("run cancelled"))
        );
        host.start_attempt().unwrap();
        let progress = host.progress_mut();
        progress.phase = Some(Phase::Auth);
        progress.timings.connect = Duration::from_millis(3);
        let o = host.interrupted();
        assert_eq!(
            (o.status, o.error_kind, o.attempts),
            (Status::Cancelled, Some(ErrorKind::Cancelled), 1)
        );
        assert_eq!(
            o.message.as_deref(),
            Some("run cancelled during the auth phase")
        );
        assert_eq!(o.timings.connect, Duration::from_millis(3));
        assert_eq!(host.progress().attempts(), 1);
    }
}
