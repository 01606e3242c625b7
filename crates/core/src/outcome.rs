use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Phase;

/// How one host ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The task completed.
    Ok,
    /// The task failed; see [`ErrorKind`].
    Failed,
    /// A phase ran out of time; see [`HostOutcome::phase`].
    Timeout,
    /// The run was cancelled before or while this host ran.
    Cancelled,
}

impl Status {
    /// Lower-case name as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a host did not end `ok`. Every executor maps the same fault to the
/// same kind (checked by the conformance suite).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// TCP connect refused/unreachable, or the handshake failed.
    Connect,
    /// Credentials rejected.
    Auth,
    /// Host key unknown or changed.
    HostKey,
    /// A phase timed out.
    Timeout,
    /// SSH channel could not be opened or broke.
    Channel,
    /// The peer broke the protocol (e.g. no common algorithms).
    Protocol,
    /// The device CLI prompt was never seen.
    PromptNotFound,
    /// The command ran and failed (non-zero exit, device error text).
    CommandFailed,
    /// A worker process died while running this host.
    WorkerCrashed,
    /// The run was cancelled.
    Cancelled,
    /// The target cannot be run (e.g. no address, no credentials).
    InvalidTarget,
}

impl ErrorKind {
    /// snake_case name as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Auth => "auth",
            ErrorKind::HostKey => "host_key",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Channel => "channel",
            ErrorKind::Protocol => "protocol",
            ErrorKind::PromptNotFound => "prompt_not_found",
            ErrorKind::CommandFailed => "command_failed",
            ErrorKind::WorkerCrashed => "worker_crashed",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::InvalidTarget => "invalid_target",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bytes of output kept per stream of one command (16 MiB): the rest is
/// dropped and [`output_cut_marker`] appended, so one chatty host cannot
/// exhaust fanout's memory. Every executor and the CLI dialog apply it.
pub const OUTPUT_CAP: usize = 16 << 20;

/// The line appended to an output cut at `cap` bytes.
pub fn output_cut_marker(cap: usize) -> String {
    if cap >= 1 << 20 && cap.is_multiple_of(1 << 20) {
        format!("\n[fanout: output cut at {} MiB]\n", cap >> 20)
    } else {
        format!("\n[fanout: output cut at {cap} bytes]\n")
    }
}

/// Output of one command on one host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutput {
    /// The command as sent.
    pub command: String,
    /// What it printed (for CLI tasks: without echo and trailing prompt).
    pub stdout: String,
    /// Standard error, where the transport separates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// Exit status, where the transport reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// The HTTP status of an `http` task's response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// An `http` task's response body: the parsed JSON when the response
    /// is JSON, else the text (`stdout` holds the text as received).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// Time spent in each phase of one host (all attempts summed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTimings {
    /// From the executor's run starting to this host starting.
    #[serde(with = "millis")]
    pub queued: Duration,
    /// TCP connect and handshake.
    #[serde(with = "millis")]
    pub connect: Duration,
    /// Authentication.
    #[serde(with = "millis")]
    pub auth: Duration,
    /// Command(s), or the sleep/cpu/local work.
    #[serde(with = "millis")]
    pub command: Duration,
    /// From this host starting to its outcome, retries and backoff included.
    #[serde(with = "millis")]
    pub total: Duration,
}

/// Who ran a host: a process, an OS thread, or an async task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Worker {
    /// A worker process (`pid:N`).
    Pid(u32),
    /// A thread of a pool (`thread:N`, N = index in the pool).
    Thread(usize),
    /// An async task (`task:N`).
    Task(usize),
}

impl fmt::Display for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Worker::Pid(n) => write!(f, "pid:{n}"),
            Worker::Thread(n) => write!(f, "thread:{n}"),
            Worker::Task(n) => write!(f, "task:{n}"),
        }
    }
}

impl FromStr for Worker {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid worker `{s}`: expected pid:N, thread:N or task:N");
        let (kind, n) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "pid" => n.parse().map(Worker::Pid).map_err(|_| bad()),
            "thread" => n.parse().map(Worker::Thread).map_err(|_| bad()),
            "task" => n.parse().map(Worker::Task).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Worker {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Worker {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The result of one host: data, never a panic or an `Err` of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOutcome {
    /// Target name.
    pub host: String,
    /// How it ended.
    pub status: Status,
    /// Why, when not `ok` (`timeout` for timeouts, `cancelled` for cancelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    /// The phase that timed out or failed, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Human-readable detail: what happened and, where possible, what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Per-command outputs (partial output is kept on failure).
    pub outputs: Vec<CommandOutput>,
    /// Phase timings in milliseconds.
    #[serde(rename = "timings_ms")]
    pub timings: PhaseTimings,
    /// Attempts made (1 = no retry; 0 = never started).
    pub attempts: u32,
    /// Who ran it.
    pub worker: Worker,
    /// The legacy SSH algorithms (SHA-1 key exchange, `ssh-rsa` host key,
    /// CBC/3DES cipher, SHA-1 MAC) the connection to the host agreed on:
    /// an old box to audit. Empty (and left out of JSON) otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy_algorithms: Vec<String>,
}

impl HostOutcome {
    /// A successful outcome.
    pub fn ok(host: impl Into<String>, outputs: Vec<CommandOutput>, worker: Worker) -> Self {
        Self {
            host: host.into(),
            status: Status::Ok,
            error_kind: None,
            phase: None,
            message: None,
            outputs,
            timings: PhaseTimings::default(),
            attempts: 1,
            worker,
            legacy_algorithms: Vec::new(),
        }
    }

    /// A failed outcome of the given kind.
    pub fn failed(
        host: impl Into<String>,
        kind: ErrorKind,
        message: impl Into<String>,
        worker: Worker,
    ) -> Self {
        let status = match kind {
            ErrorKind::Timeout => Status::Timeout,
            ErrorKind::Cancelled => Status::Cancelled,
            _ => Status::Failed,
        };
        Self {
            status,
            error_kind: Some(kind),
            message: Some(message.into()),
            ..Self::ok(host, Vec::new(), worker)
        }
    }

    /// A timeout in `phase`.
    pub fn timeout(host: impl Into<String>, phase: Phase, after: Duration, worker: Worker) -> Self {
        let mut o = Self::failed(
            host,
            ErrorKind::Timeout,
            phase.timeout_message(after),
            worker,
        );
        o.phase = Some(phase);
        o
    }

    /// A host that was never started (or stopped) because the run was cancelled.
    pub fn cancelled(host: impl Into<String>, worker: Worker) -> Self {
        let mut o = Self::failed(host, ErrorKind::Cancelled, "run cancelled", worker);
        o.attempts = 0;
        o
    }

    /// Whether the host ended `ok`.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
}

/// Serde helper: a `Duration` as fractional milliseconds (3 decimals).
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        Duration::try_from_secs_f64(ms / 1e3).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_matches_design() {
        let mut o = HostOutcome::ok(
            "r1",
            vec![CommandOutput {
                command: "show version".into(),
                stdout: "IOS".into(),
                ..Default::default()
            }],
            Worker::Thread(3),
        );
        o.timings.total = Duration::from_micros(1500);
        let v: serde_json::Value = serde_json::to_value(&o).unwrap();
        assert_eq!(v["host"], "r1");
        assert_eq!(v["status"], "ok");
        assert_eq!(v["worker"], "thread:3");
        assert_eq!(v["timings_ms"]["total"], 1.5);
        assert!(v.get("error_kind").is_none());
        assert!(v["outputs"][0].get("stderr").is_none());
        let back: HostOutcome = serde_json::from_value(v).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn timeout_names_phase_and_fix() {
        let o = HostOutcome::timeout("r1", Phase::Command, Duration::from_secs(2), Worker::Pid(7));
        let v: serde_json::Value = serde_json::to_value(&o).unwrap();
        assert_eq!(v["status"], "timeout");
        assert_eq!(v["error_kind"], "timeout");
        assert_eq!(v["phase"], "command");
        assert!(o.message.unwrap().contains("--timeout command="));
        assert_eq!("pid:7".parse::<Worker>().unwrap(), Worker::Pid(7));
        assert!("proc:7".parse::<Worker>().is_err());
    }
}
