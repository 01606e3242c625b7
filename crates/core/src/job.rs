use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{ErrorKind, Rate, Target, Task};

/// A phase of one host's run, used for timeouts and timings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// TCP connect and SSH handshake (host-key check included).
    Connect,
    /// Authentication.
    Auth,
    /// Running the task's command(s).
    Command,
    /// The whole host: every phase and every retry.
    Host,
}

impl Phase {
    /// Every phase.
    pub const ALL: [Phase; 4] = [Phase::Connect, Phase::Auth, Phase::Command, Phase::Host];

    /// The message of a host that ran out of time in this phase, with the fix.
    pub fn timeout_message(self, after: Duration) -> String {
        format!(
            "{self} timed out after {}; raise it with --timeout {self}=DUR",
            crate::format_duration(after)
        )
    }

    /// Lower-case name as used by `--timeout PHASE=DUR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Auth => "auth",
            Phase::Command => "command",
            Phase::Host => "host",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "connect" => Ok(Phase::Connect),
            "auth" => Ok(Phase::Auth),
            "command" => Ok(Phase::Command),
            "host" => Ok(Phase::Host),
            other => Err(format!(
                "unknown phase `{other}`: expected connect, auth, command or host"
            )),
        }
    }
}

/// Timeouts per phase. `None` means no limit for that phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect + handshake (default 10 s).
    pub connect: Option<Duration>,
    /// Authentication (default 10 s).
    pub auth: Option<Duration>,
    /// Each command, or the whole sleep/cpu/local task (default 60 s).
    pub command: Option<Duration>,
    /// Whole host including retries (default: none).
    pub host: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Some(Duration::from_secs(10)),
            auth: Some(Duration::from_secs(10)),
            command: Some(Duration::from_secs(60)),
            host: None,
        }
    }
}

impl Timeouts {
    fn slot(&mut self, phase: Phase) -> &mut Option<Duration> {
        match phase {
            Phase::Connect => &mut self.connect,
            Phase::Auth => &mut self.auth,
            Phase::Command => &mut self.command,
            Phase::Host => &mut self.host,
        }
    }

    /// One phase's timeout.
    pub fn get(&self, phase: Phase) -> Option<Duration> {
        let mut copy = *self;
        *copy.slot(phase)
    }

    /// Sets one phase's timeout.
    pub fn set(&mut self, phase: Phase, value: Option<Duration>) {
        *self.slot(phase) = value;
    }

    /// The timeout of `phase` for `target`: its inventory override, else this.
    pub fn for_target(&self, target: &Target, phase: Phase) -> Option<Duration> {
        let o = &target.timeouts;
        let own = match phase {
            Phase::Connect => o.connect,
            Phase::Auth => o.auth,
            Phase::Command => o.command,
            Phase::Host => o.host,
        };
        own.or(self.get(phase))
    }
}

/// How often, and when, a host is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts after the first (0 = no retry).
    pub retries: u32,
    /// Backoff before the first retry; doubles each retry, then a random
    /// 50-100 % of it is waited ("equal jitter").
    pub backoff: Duration,
    /// Upper bound of one backoff.
    pub max_backoff: Duration,
    /// Also retry when the command itself timed out on a task that may
    /// change the device (exec, local, cli --config). Off by default: a
    /// config change that may have applied is never re-run unless asked.
    pub retry_commands: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 0,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            retry_commands: false,
        }
    }
}

impl RetryPolicy {
    /// Whether a failed attempt number `attempt` (1-based) should be retried.
    ///
    /// Only connection-level failures (`connect`, and timeouts before the
    /// command started) are retried, plus command-phase timeouts of read-only
    /// tasks or when [`retry_commands`](Self::retry_commands) is set.
    /// Authentication, host-key and command failures are never retried: the
    /// same attempt would fail the same way.
    pub fn should_retry(
        &self,
        task: &Task,
        attempt: u32,
        kind: ErrorKind,
        phase: Option<Phase>,
    ) -> bool {
        if attempt > self.retries {
            return false;
        }
        match kind {
            ErrorKind::Connect => true,
            ErrorKind::Timeout => match phase {
                Some(Phase::Connect) | Some(Phase::Auth) => true,
                Some(Phase::Command) => task.is_read_only() || self.retry_commands,
                Some(Phase::Host) | None => false,
            },
            _ => false,
        }
    }

    /// Backoff before retry number `retry` (1-based): exponential with full
    /// jitter, `seed` varying it between hosts so retries do not stampede.
    pub fn backoff_for(&self, retry: u32, seed: u64) -> Duration {
        let exp = self
            .backoff
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_backoff);
        // splitmix64: a deterministic, well-spread fraction in [0.5, 1.0).
        let mut z = seed
            .wrapping_add(u64::from(retry))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let fraction = 0.5 + (z >> 11) as f64 / (1u64 << 54) as f64;
        exp.mul_f64(fraction)
    }
}

/// What to do with a host key that is not in known_hosts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Refuse unknown or changed keys (default).
    #[default]
    Strict,
    /// Append unknown keys to known_hosts; refuse changed ones.
    AcceptNew,
    /// Do not verify (warned about once per run).
    Off,
}

/// Concurrency limits.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Hosts in flight at once (each executor's `-c`).
    pub concurrency: usize,
    /// At most N hosts of a group in flight at once.
    pub per_group: BTreeMap<String, usize>,
    /// At most N hosts in flight through each distinct first jump hop
    /// (`--per-jump`; address:port of `target.reach.jump[0]`): bastions
    /// drop connections past sshd's `MaxStartups` (10:30:100). Hosts
    /// dialled directly are not counted.
    pub per_jump: Option<usize>,
    /// At most this many host attempts (connection opens) started per second.
    pub connect_rate: Option<Rate>,
    /// At most this many attempts started per second through each distinct
    /// first jump hop (`--per-jump-rate`; keyed like `per_jump`), on top of
    /// `connect_rate`. Hosts dialled directly are not paced by it.
    pub per_jump_rate: Option<Rate>,
    /// `--connect-rate auto`: each endpoint (the first jump hop, or the
    /// device's address:port) gets a start rate of its own, unpaced until
    /// it first drops a connection during the SSH handshake, then cut by
    /// half and raised again additively with every attempt that gets
    /// through (AIMD); such a dropped attempt is retried on top of
    /// `--retries`. On top of `connect_rate` and `per_jump_rate`, if set.
    pub connect_rate_auto: bool,
    /// Failures past which no more hosts start (`--max-fail`,
    /// `--fail-fast`); the hosts not started are reported `cancelled`.
    pub max_fail: Option<crate::MaxFail>,
}

impl Limits {
    /// Whether a cap other than `concurrency` applies (`--per-group` or
    /// `--per-jump`): schedulers then hand hosts out one admission at a time.
    pub fn has_caps(&self) -> bool {
        !self.per_group.is_empty() || self.per_jump.is_some()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            concurrency: 100,
            per_group: BTreeMap::new(),
            per_jump: None,
            connect_rate: None,
            per_jump_rate: None,
            connect_rate_auto: false,
            max_fail: None,
        }
    }
}

/// What a `cli` task needs beyond its commands and mode (ignored by the
/// other tasks): `--error-pattern` and `--expect`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliOptions {
    /// Regexes (checked before any host starts) whose match in a command's
    /// output fails the command, added to the platform's error lines.
    #[serde(default)]
    pub error_patterns: Vec<String>,
    /// By command index: a regex ending that command's output instead of
    /// the prompt (an interactive question such as `Destination
    /// filename`); the next command answers it. Shorter than the commands
    /// when the last ones have none.
    #[serde(default)]
    pub expects: Vec<Option<String>>,
}

/// One job: a task, run on many targets, under limits and timeouts.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// What to do on each target.
    pub task: Task,
    /// Concurrency limits.
    pub limits: Limits,
    /// Timeouts per phase.
    pub timeouts: Timeouts,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Host-key verification policy.
    pub host_keys: HostKeyPolicy,
    /// known_hosts files checked in this order before `~/.ssh/known_hosts`
    /// (`--known-hosts`, then the inventory's `known_hosts:`); `accept-new`
    /// appends to the first one (or to `~/.ssh/known_hosts` when empty).
    pub known_hosts: Vec<PathBuf>,
    /// Who hears of hosts starting and finishing while the run goes on
    /// (progress, logs); none by default.
    pub observer: crate::Observer,
    /// Options of a `cli` task.
    pub cli: CliOptions,
    /// Options of an `http` task.
    pub http: HttpOptions,
}

/// What an `http` task needs beyond its request (ignored by the other
/// tasks).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpOptions {
    /// `--insecure`: do not verify the devices' TLS certificates (warned
    /// about once per run).
    #[serde(default)]
    pub insecure: bool,
}

/// A job that cannot run as configured.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JobError {
    /// `-c 0` or similar.
    #[error("concurrency must be at least 1 (got {0}); pass -c N with N >= 1")]
    ZeroConcurrency(usize),
    /// `--per-group core=0`.
    #[error(
        "per-group cap for `{0}` must be at least 1; remove it or pass --per-group {0}=N with N >= 1"
    )]
    ZeroGroupCap(String),
    /// `--per-jump 0`.
    #[error(
        "--per-jump must be at least 1 (got 0): it caps the hosts in flight through each jump host; pass --per-jump N with N >= 1, or leave it out for no cap"
    )]
    ZeroJumpCap,
    /// A zero timeout would fail every host at once.
    #[error("{0} timeout must be longer than 0; pass --timeout {0}=DUR, e.g. {0}=5s")]
    ZeroTimeout(Phase),
    /// `local` with no program.
    #[error("the local task needs a program to run, e.g. `local -- ping -c1 {{host}}`")]
    EmptyLocal,
    /// `cli` or `exec` with nothing to send.
    #[error("the {0} task needs at least one command")]
    NoCommand(&'static str),
    /// A command template with an unknown placeholder or a stray brace.
    #[error("the {0} command: {1}")]
    Template(&'static str, Box<crate::TemplateFailure>),
    /// `http` with no URL.
    #[error(
        "the http task needs a URL, e.g. `http 'https://{{host}}:{{vars.http_port}}/restconf/data/...'`"
    )]
    NoUrl,
}

impl Job {
    /// A job with default limits, timeouts, retries and strict host keys.
    pub fn new(task: Task) -> Self {
        Self {
            task,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            host_keys: HostKeyPolicy::default(),
            known_hosts: Vec::new(),
            observer: crate::Observer::default(),
            cli: CliOptions::default(),
            http: HttpOptions::default(),
        }
    }

    /// Sets the global concurrency (builder style).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.limits.concurrency = concurrency;
        self
    }

    /// Checks limits, timeouts and the task for values that cannot work.
    pub fn validate(&self) -> Result<(), JobError> {
        if self.limits.concurrency == 0 {
            return Err(JobError::ZeroConcurrency(0));
        }
        if let Some((group, _)) = self.limits.per_group.iter().find(|(_, n)| **n == 0) {
            return Err(JobError::ZeroGroupCap(group.clone()));
        }
        if self.limits.per_jump == Some(0) {
            return Err(JobError::ZeroJumpCap);
        }
        if let Some(phase) = Phase::ALL
            .into_iter()
            .find(|p| self.timeouts.get(*p) == Some(Duration::ZERO))
        {
            return Err(JobError::ZeroTimeout(phase));
        }
        match &self.task {
            Task::Local { argv } if argv.is_empty() => Err(JobError::EmptyLocal),
            Task::Exec { command } if command.trim().is_empty() => Err(JobError::NoCommand("exec")),
            Task::Cli { commands, .. } if commands.is_empty() => Err(JobError::NoCommand("cli")),
            Task::Http { url, .. } if url.trim().is_empty() => Err(JobError::NoUrl),
            task => task
                .check_templates()
                .map_err(|e| JobError::Template(task.kind().as_str(), Box::new(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CliMode;

    fn sleep() -> Task {
        Task::Sleep {
            duration: Duration::from_millis(1),
        }
    }

    #[test]
    fn retries_only_what_is_safe() {
        let policy = RetryPolicy {
            retries: 2,
            ..RetryPolicy::default()
        };
        let config = Task::Cli {
            commands: vec!["hostname x".into()],
            mode: CliMode::Config,
        };
        assert!(policy.should_retry(&sleep(), 1, ErrorKind::Connect, None));
        assert!(policy.should_retry(&sleep(), 2, ErrorKind::Timeout, Some(Phase::Command)));
        assert!(
            !policy.should_retry(&sleep(), 3, ErrorKind::Connect, None),
            "budget spent"
        );
        assert!(!policy.should_retry(&sleep(), 1, ErrorKind::Auth, None));
        assert!(!policy.should_retry(&config, 1, ErrorKind::Timeout, Some(Phase::Command)));
        assert!(policy.should_retry(&config, 1, ErrorKind::Timeout, Some(Phase::Connect)));
        let asked = RetryPolicy {
            retry_commands: true,
            ..policy
        };
        assert!(asked.should_retry(&config, 1, ErrorKind::Timeout, Some(Phase::Command)));
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let p = RetryPolicy::default();
        for seed in 0..50 {
            let first = p.backoff_for(1, seed);
            assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(100));
            let third = p.backoff_for(3, seed);
            assert!(third >= Duration::from_millis(200) && third < Duration::from_millis(400));
            assert!(p.backoff_for(30, seed) <= p.max_backoff);
        }
    }

    #[test]
    fn validation_names_the_problem() {
        let job = Job::new(sleep()).with_concurrency(0);
        assert_eq!(job.validate(), Err(JobError::ZeroConcurrency(0)));
        let mut job = Job::new(Task::Local { argv: vec![] });
        assert_eq!(job.validate(), Err(JobError::EmptyLocal));
        job.task = sleep();
        job.timeouts.set(Phase::Command, Some(Duration::ZERO));
        assert!(
            job.validate()
                .unwrap_err()
                .to_string()
                .contains("--timeout command=")
        );
        let mut job = Job::new(sleep());
        job.limits.per_jump = Some(0);
        assert_eq!(job.validate(), Err(JobError::ZeroJumpCap));
        assert!(JobError::ZeroJumpCap.to_string().contains("--per-jump N"));
        job.limits.per_jump = Some(3);
        assert_eq!(job.validate(), Ok(()));
        assert!(job.limits.has_caps());
    }
}
