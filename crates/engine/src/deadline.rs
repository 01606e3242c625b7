//! Per-phase deadlines and the retry decision every driver shares, so that
//! blocking and async runs time out and retry a host alike.

use std::time::{Duration, Instant};

use fanout_core::{CommandOutput, ErrorKind, Job, Phase, Target};

/// How one attempt at a host ended when it did not succeed: what becomes
/// the host's outcome unless the attempt is retried.
#[derive(Debug)]
pub struct AttemptError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The phase it went wrong in, where that matters (timeouts).
    pub phase: Option<Phase>,
    /// What was wrong, where, and what to do.
    pub message: String,
    /// Output received before it went wrong.
    pub outputs: Vec<CommandOutput>,
    /// Where an endpoint took the connection and dropped it before login
    /// (an SSH handshake cut off: sshd's `MaxStartups`, a device's session
    /// limit): a sign of too many connections at once, which
    /// `--connect-rate auto` slows that endpoint down for
    /// ([`ConnectRate`](crate::ConnectRate)).
    pub congested: Option<Congestion>,
}

/// Which endpoint cut a handshake off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Congestion {
    /// The target device.
    Target,
    /// A jump host on the way (counted against the first hop).
    Hop,
}

impl AttemptError {
    /// An error without output.
    pub fn new(kind: ErrorKind, phase: Option<Phase>, message: impl Into<String>) -> Self {
        Self {
            kind,
            phase,
            message: message.into(),
            outputs: Vec::new(),
            congested: None,
        }
    }

    /// The same error, marked as a connection the target dropped before
    /// login ([`congested`](Self::congested)).
    pub fn congested(mut self) -> Self {
        self.congested = Some(Congestion::Target);
        self
    }

    /// The run was cancelled.
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, None, "run cancelled")
    }

    /// The same error, keeping `outputs` (partial output of the command).
    pub fn with_outputs(mut self, outputs: Vec<CommandOutput>) -> Self {
        self.outputs = outputs;
        self
    }
}

/// A host's whole-run limit: when it runs out, and the timeout it came
/// from (for the message). `None` where the host has no timeout.
pub type HostDeadline = Option<(Instant, Duration)>;

/// The host deadline of a host started at `start` (`None` without a host
/// timeout, or for one too large for the clock).
pub fn host_deadline(job: &Job, target: &Target, start: Instant) -> HostDeadline {
    let limit = job.timeouts.for_target(target, Phase::Host)?;
    Some((start.checked_add(limit)?, limit))
}

/// The deadline of one phase: the earlier of the phase's own timeout and
/// the whole-host timeout, remembering which one it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// When it runs out; `None`: no limit.
    pub at: Option<Instant>,
    /// The phase whose timeout it is ([`Phase::Host`] when the host's own
    /// timeout comes first).
    pub phase: Phase,
    /// That timeout (zero when there is none).
    pub after: Duration,
}

impl Deadline {
    /// The deadline of `phase` started at `start`, whose own timeout is
    /// `own`, within the host deadline `host`. A timeout too large for the
    /// clock (`--timeout 1000000000d`) is no limit rather than an overflow
    /// panic.
    pub fn new(start: Instant, phase: Phase, own: Option<Duration>, host: HostDeadline) -> Self {
        let own_at = own.and_then(|d| Some((start.checked_add(d)?, phase, d)));
        let host_at = host.map(|(at, d)| (at, Phase::Host, d));
        let pick = match (own_at, host_at) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        match pick {
            Some((at, phase, after)) => Self {
                at: Some(at),
                phase,
                after,
            },
            None => Self {
                at: None,
                phase,
                after: Duration::ZERO,
            },
        }
    }

    /// The deadline of `phase` of `job` on `target` (its timeout there),
    /// started at `start`, within the host deadline `host`.
    pub fn for_phase(
        job: &Job,
        target: &Target,
        phase: Phase,
        start: Instant,
        host: HostDeadline,
    ) -> Self {
        Self::new(start, phase, job.timeouts.for_target(target, phase), host)
    }

    /// Whether it ran out.
    pub fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// Time left, or `None` for no limit.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The message of a timeout at this deadline (names the phase, the
    /// limit and the flag that raises it).
    pub fn message(&self) -> String {
        self.phase.timeout_message(self.after)
    }

    /// The timeout error at this deadline, keeping `outputs`.
    pub fn timeout_error(&self, outputs: Vec<CommandOutput>) -> AttemptError {
        AttemptError::new(ErrorKind::Timeout, Some(self.phase), self.message())
            .with_outputs(outputs)
    }

    /// Runs `fut` until this deadline, on tokio's clock (call it within a
    /// tokio runtime); `Err(Expired)` if the deadline came first (`fut` is
    /// then dropped). A deadline already passed is `Expired` without
    /// polling `fut`: tokio's timeout polls its future first, so a read
    /// that is always ready (a device streaming faster than it is read)
    /// would otherwise never time out.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Expired> {
        match self.at {
            Some(_) if self.passed() => Err(Expired),
            Some(at) => tokio::time::timeout_at(at.into(), fut)
                .await
                .map_err(|_| Expired),
            None => Ok(fut.await),
        }
    }
}

/// A [`Deadline`] came before the future it bounded finished
/// ([`Deadline::run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expired;

/// How many more attempts `--connect-rate auto` gives a host whose
/// connections its endpoint drops during the handshake, on top of
/// `--retries`.
pub const AUTO_RETRIES: u32 = 10;

/// What to do after an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryStep {
    /// Report the attempt's error: the policy does not retry it.
    GiveUp,
    /// Pause this long, then start the next attempt.
    Retry(Duration),
    /// The host's time runs out before the next attempt could start: report
    /// a host timeout at this deadline (keeping the attempt's outputs).
    HostTimeout(Deadline),
}

/// Decides, for one host, whether a failed attempt is retried and after
/// which backoff ([`RetryPolicy`](fanout_core::RetryPolicy)), within the host
/// deadline.
#[derive(Clone, Copy, Debug)]
pub struct Retries<'a> {
    job: &'a Job,
    seed: u64,
    host: HostDeadline,
}

impl<'a> Retries<'a> {
    /// The job whose retries these are.
    pub fn job(&self) -> &'a Job {
        self.job
    }

    /// For `target` of `job`, whose host deadline is `host`. The backoff's
    /// jitter is seeded by the host name, so hosts do not retry in step.
    pub fn new(job: &'a Job, target: &Target, host: HostDeadline) -> Self {
        let seed = target.name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Self { job, seed, host }
    }

    /// The host deadline these retries stay within.
    pub fn host(&self) -> HostDeadline {
        self.host
    }

    /// What follows failed attempt number `attempt` (1-based) that ended
    /// with `err`. Under `--connect-rate auto` a connection the endpoint
    /// dropped during the handshake ([`AttemptError::congested`]) is
    /// retried at once, up to [`AUTO_RETRIES`] times on top of
    /// `--retries`: the endpoint's rate was just cut, and its gate paces
    /// the retry.
    pub fn after(&self, attempt: u32, err: &AttemptError) -> RetryStep {
        let retry = &self.job.retry;
        let storm = self.job.limits.connect_rate_auto
            && err.congested.is_some()
            && attempt <= retry.retries.saturating_add(AUTO_RETRIES);
        if !storm && !retry.should_retry(&self.job.task, attempt, err.kind, err.phase) {
            return RetryStep::GiveUp;
        }
        let pause = if storm {
            Duration::ZERO
        } else {
            retry.backoff_for(attempt, self.seed)
        };
        match self.host {
            Some((at, limit)) if at.saturating_duration_since(Instant::now()) <= pause => {
                RetryStep::HostTimeout(Deadline {
                    at: Some(at),
                    phase: Phase::Host,
                    after: limit,
                })
            }
            _ => RetryStep::Retry(pause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::Task;

    #[test]
    fn the_earlier_deadline_wins_and_a_huge_one_is_none() {
        let now = Instant::now();
        let s = Duration::from_secs;
        let d = Deadline::new(now, Phase::Command, Some(s(5)), Some((now + s(2), s(2))));
        assert_eq!(
            (d.at, d.phase, d.after),
            (Some(now + s(2)), Phase::Host, s(2))
        );
        let d = Deadline::new(now, Phase::Auth, Some(s(1)), Some((now + s(2), s(2))));
        assert_eq!(
            (d.at, d.phase, d.after),
            (Some(now + s(1)), Phase::Auth, s(1))
        );
        assert!(
            d.message().contains("--timeout auth=DUR"),
            "{}",
            d.message()
        );
        let mut job = Job::new(Task::Sleep { duration: s(1) });
        job.timeouts.command = Some(s(3));
        let d = Deadline::for_phase(
            &job,
            &Target::new("r1", "127.0.0.1"),
            Phase::Command,
            now,
            None,
        );
        assert_eq!(
            (d.at, d.phase, d.after),
            (Some(now + s(3)), Phase::Command, s(3))
        );
        let d = Deadline::new(now, Phase::Command, Some(Duration::MAX), None);
        assert_eq!((d.at, d.remaining(), d.passed()), (None, None, false));
    }

    #[test]
    fn a_passed_deadline_stops_even_a_future_that_is_always_ready() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let now = Instant::now();
        let d = Deadline::new(now, Phase::Command, Some(Duration::from_millis(30)), None);
        // A device streaming faster than it is read: every read is ready.
        let reads = rt.block_on(async {
            let mut reads = 0u64;
            while d.run(std::future::ready(())).await.is_ok() {
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        });
        assert!(d.passed() && reads > 0, "{reads} reads");
        assert_eq!(rt.block_on(d.run(std::future::ready(1))), Err(Expired));
    }

    #[test]
    fn retries_only_what_the_policy_allows_within_the_host_deadline() {
        let mut job = Job::new(Task::Exec {
            command: "show clock".into(),
        });
        job.retry.retries = 2;
        job.retry.backoff = Duration::from_millis(10);
        let target = Target::new("r1", "127.0.0.1");
        let r = Retries::new(&job, &target, None);
        assert_eq!(
            r.after(1, &AttemptError::new(ErrorKind::Auth, None, "x")),
            RetryStep::GiveUp
        );
        assert!(matches!(
            r.after(1, &AttemptError::new(ErrorKind::Connect, Some(Phase::Connect), "x")),
            RetryStep::Retry(p) if p <= Duration::from_millis(10)
        ));
        assert_eq!(
            r.after(
                3,
                &AttemptError::new(ErrorKind::Connect, Some(Phase::Connect), "x")
            ),
            RetryStep::GiveUp,
            "retries used up"
        );
        job.retry.backoff = Duration::from_secs(60);
        job.retry.max_backoff = Duration::from_secs(60);
        // A host whose first backoff (jittered) is long...
        let connect = |r: Retries<'_>| {
            r.after(
                1,
                &AttemptError::new(ErrorKind::Connect, Some(Phase::Connect), "x"),
            )
        };
        let slow = (0..100)
            .map(|i| Target::new(format!("r{i}"), "127.0.0.1"))
            .find(|t| {
                matches!(connect(Retries::new(&job, t, None)),
                    RetryStep::Retry(p) if p > Duration::from_secs(1))
            })
            .expect("some host backs off for more than a second");
        // ...with 50 ms left: a host timeout, not a retry.
        let limit = Duration::from_millis(50);
        job.timeouts.host = Some(limit);
        let host = host_deadline(&job, &slow, Instant::now());
        assert_eq!(host.map(|h| h.1), Some(limit));
        match connect(Retries::new(&job, &slow, host)) {
            RetryStep::HostTimeout(d) => {
                assert_eq!(
                    (d.at, d.phase, d.after),
                    (host.map(|h| h.0), Phase::Host, limit)
                );
            }
            other => panic!("expected a host timeout, got {other:?}"),
        }
    }
}
