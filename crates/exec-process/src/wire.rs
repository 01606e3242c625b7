//! The parent/worker protocol: newline-delimited JSON, one message a line.
//!
//! Parent to worker (`fanout worker`'s stdin):
//!
//! ```text
//! {"type":"job","protocol":3,"job":{...}}        once, first
//! {"type":"host","target":{...}}                 one per host, the next only after its outcome
//! {"type":"cancel"}                              stop the host in flight (it reports `cancelled`)
//! {"type":"slot","id":N}                         the host in flight may start attempt N now
//! EOF                                            no more hosts: finish and exit 0
//! ```
//!
//! Worker to parent (stdout):
//!
//! ```text
//! {"type":"slot","id":N}                         may attempt N start? (only with a connect rate)
//! {"type":"settled","congested":null|"hop"|"target"} how the attempt last granted ended (only with --connect-rate auto)
//! {"type":"outcome","outcome":{...}}             per host, in the shape of `fanout run --format jsonl`
//! ```
//!
//! With `--connect-rate`, every attempt of every host (first tries and
//! retries) asks the parent for a slot and waits for the answer: the
//! parent's one limiter spaces attempts across all workers. Slot ids count
//! up per worker, so a late answer to an attempt that was cancelled is
//! never taken for the next one's. With `--connect-rate auto`, the worker
//! also says how each attempt ended (`settled`: whether its endpoint
//! dropped it during the handshake), and the parent's limiter adapts the
//! endpoint's rate.
//!
//! The job and target travel as explicit wire structs ([`WireJob`],
//! [`WireTarget`]) rather than serde derives on fanout-core's types: this is
//! the one place where secrets are written out (the worker must log in), so
//! the format is spelled out here and nowhere else. Secrets stay
//! [`Secret`]s on both sides, so the wire structs' `Debug` prints `***`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use fanout_core::{
    Credentials, HostKeyPolicy, HostOutcome, Job, Limits, Platform, Rate, Reach, RetryPolicy,
    Secret, Target, Task, TimeoutOverrides, Timeouts, Transport, WireTask,
};
use serde::{Deserialize, Serialize};

use fanout_engine::Congestion;
use fanout_engine::adaptive::Signal;

use crate::ProcessError;

/// Version of this protocol; a worker refuses a job of another version.
pub(crate) const PROTOCOL: u32 = 3;

/// A message to a worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ToWorker {
    /// The job, once, before any host.
    Job {
        /// Must equal [`PROTOCOL`].
        protocol: u32,
        /// The job.
        job: WireJob,
    },
    /// Run this host next.
    Host {
        /// The host.
        target: WireTarget,
    },
    /// Stop the host in flight.
    Cancel,
    /// Attempt `id` of the host in flight may start (its connect-rate slot
    /// has come).
    Slot {
        /// The id of the worker's request.
        id: u64,
    },
}

/// A message from a worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum FromWorker {
    /// The outcome of the host last sent.
    Outcome {
        /// The outcome.
        outcome: HostOutcome,
    },
    /// The host in flight wants to start an attempt: asks for a
    /// connect-rate slot, answered by [`ToWorker::Slot`] with the same id.
    Slot {
        /// Counts up per worker.
        id: u64,
    },
    /// The attempt last granted a slot ended: whether its endpoint dropped
    /// the connection during the handshake (`--connect-rate auto` only;
    /// attempts that say nothing of their endpoint are not reported).
    Settled {
        /// Which endpoint dropped it during the handshake (`None`: it got
        /// past it).
        congested: Option<WireCongestion>,
    },
}

/// [`fanout_engine::Congestion`] on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WireCongestion {
    /// The device.
    Target,
    /// A jump host on the way.
    Hop,
}

impl WireCongestion {
    /// What a `settled` message says for `signal`.
    pub(crate) fn of(signal: Signal) -> Option<Self> {
        match signal {
            Signal::Congested(Congestion::Hop) => Some(Self::Hop),
            Signal::Congested(Congestion::Target) => Some(Self::Target),
            Signal::Passed => None,
        }
    }

    /// The signal a `settled` message carries.
    pub(crate) fn signal(congested: Option<Self>) -> Signal {
        match congested {
            Some(Self::Hop) => Signal::Congested(Congestion::Hop),
            Some(Self::Target) => Signal::Congested(Congestion::Target),
            None => Signal::Passed,
        }
    }
}

/// One JSON line (with its `\n`) for a message.
pub(crate) fn encode<T: Serialize>(message: &T) -> String {
    // Serialising these plain structs (string keys, no maps with non-string
    // keys, finite floats from Rate) cannot fail.
    let mut line = serde_json::to_string(message).unwrap_or_else(|e| {
        unreachable!("protocol messages always serialise: {e}");
    });
    line.push('\n');
    line
}

/// Parses a message to a worker. The error never quotes the line's
/// content: it may hold a password.
pub(crate) fn decode_to_worker(line: &str) -> Result<ToWorker, ProcessError> {
    serde_json::from_str(line).map_err(|e| ProcessError::Protocol {
        what: format!(
            "unreadable message from the parent ({:?} error at column {}); run the parent and `fanout worker` from the same fanout build",
            e.classify(),
            e.column()
        ),
    })
}

/// Parses a message from a worker.
pub(crate) fn decode_from_worker(line: &[u8]) -> Result<FromWorker, ProcessError> {
    serde_json::from_slice(line).map_err(|e| {
        let shown = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
        ProcessError::Protocol {
            what: format!("unreadable message from the worker ({e}): `{shown}`"),
        }
    })
}

/// [`Job`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireJob {
    task: WireTask,
    concurrency: usize,
    per_group: BTreeMap<String, usize>,
    #[serde(default)]
    per_jump: Option<usize>,
    connect_rate_per_s: Option<f64>,
    #[serde(default)]
    per_jump_rate_per_s: Option<f64>,
    #[serde(default)]
    connect_rate_auto: bool,
    timeouts: WireTimeouts,
    retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    retry_commands: bool,
    host_keys: HostKeyPolicy,
    known_hosts: Vec<PathBuf>,
    #[serde(default)]
    cli: fanout_core::CliOptions,
    #[serde(default)]
    http: fanout_core::HttpOptions,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct WireTimeouts {
    connect: Option<Duration>,
    auth: Option<Duration>,
    command: Option<Duration>,
    host: Option<Duration>,
}

impl From<&Job> for WireJob {
    fn from(job: &Job) -> Self {
        let task = WireTask::from(&job.task);
        let t = &job.timeouts;
        Self {
            task,
            concurrency: job.limits.concurrency,
            per_group: job.limits.per_group.clone(),
            per_jump: job.limits.per_jump,
            connect_rate_per_s: job.limits.connect_rate.map(Rate::as_per_second),
            per_jump_rate_per_s: job.limits.per_jump_rate.map(Rate::as_per_second),
            connect_rate_auto: job.limits.connect_rate_auto,
            timeouts: WireTimeouts {
                connect: t.connect,
                auth: t.auth,
                command: t.command,
                host: t.host,
            },
            retries: job.retry.retries,
            backoff: job.retry.backoff,
            max_backoff: job.retry.max_backoff,
            retry_commands: job.retry.retry_commands,
            host_keys: job.host_keys,
            known_hosts: job.known_hosts.clone(),
            cli: job.cli.clone(),
            http: job.http.clone(),
        }
    }
}

impl TryFrom<WireJob> for Job {
    type Error = ProcessError;

    fn try_from(w: WireJob) -> Result<Self, ProcessError> {
        let task = Task::from(w.task);
        let rate = |per_s: Option<f64>, what: &str| {
            per_s
                .map(|n| {
                    Rate::per_second(n).ok_or_else(|| ProcessError::Protocol {
                        what: format!("{what} {n}/s is out of range"),
                    })
                })
                .transpose()
        };
        let connect_rate = rate(w.connect_rate_per_s, "connect rate")?;
        let per_jump_rate = rate(w.per_jump_rate_per_s, "per-jump connect rate")?;
        Ok(Job {
            task,
            limits: Limits {
                concurrency: w.concurrency,
                per_group: w.per_group,
                per_jump: w.per_jump,
                connect_rate,
                per_jump_rate,
                connect_rate_auto: w.connect_rate_auto,
                // The parent schedules: a worker never decides what starts.
                max_fail: None,
            },
            timeouts: Timeouts {
                connect: w.timeouts.connect,
                auth: w.timeouts.auth,
                command: w.timeouts.command,
                host: w.timeouts.host,
            },
            retry: RetryPolicy {
                retries: w.retries,
                backoff: w.backoff,
                max_backoff: w.max_backoff,
                retry_commands: w.retry_commands,
            },
            host_keys: w.host_keys,
            known_hosts: w.known_hosts,
            // The parent observes its workers' hosts.
            observer: fanout_core::Observer::default(),
            cli: w.cli,
            http: w.http,
        })
    }
}

/// [`Target`] on the wire, secrets included (as [`Secret`]s in memory).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireTarget {
    name: String,
    address: String,
    port: u16,
    username: Option<String>,
    #[serde(with = "secret")]
    password: Option<Secret>,
    key_file: Option<PathBuf>,
    #[serde(with = "secret")]
    key_passphrase: Option<Secret>,
    #[serde(with = "secret", default)]
    token: Option<Secret>,
    agent: bool,
    #[serde(with = "secret")]
    secret: Option<Secret>,
    platform: Option<String>,
    groups: Vec<String>,
    vars: BTreeMap<String, String>,
    timeouts: WireTimeouts,
    host_keys: Option<HostKeyPolicy>,
    #[serde(default)]
    transport: Transport,
    #[serde(default)]
    ssh_config_file: Option<PathBuf>,
    /// Boxed: rarely set, and it would make every message large.
    #[serde(default)]
    reach: Box<Reach>,
    /// The jump hops' passwords, hop by hop (`Reach` never serialises them).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "secrets")]
    jump_passwords: Vec<Option<Secret>>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
}

impl From<&Target> for WireTarget {
    fn from(t: &Target) -> Self {
        let o = &t.timeouts;
        Self {
            name: t.name.clone(),
            address: t.address.clone(),
            port: t.port,
            username: t.username.clone(),
            password: t.credentials.password.clone(),
            key_file: t.credentials.key_file.clone(),
            key_passphrase: t.credentials.key_passphrase.clone(),
            token: t.credentials.token.clone(),
            agent: t.credentials.agent,
            secret: t.secret.clone(),
            platform: t.platform.map(|p| p.as_str().to_string()),
            groups: t.groups.clone(),
            vars: t.vars.clone(),
            timeouts: WireTimeouts {
                connect: o.connect,
                auth: o.auth,
                command: o.command,
                host: o.host,
            },
            host_keys: t.host_keys,
            transport: t.transport,
            ssh_config_file: t.ssh_config_file.clone(),
            reach: Box::new((*t.reach).clone()),
            jump_passwords: if t.reach.jump.iter().any(|h| h.password.is_some()) {
                t.reach.jump.iter().map(|h| h.password.clone()).collect()
            } else {
                Vec::new()
            },
            ca_file: t.ca_file.clone(),
        }
    }
}

impl TryFrom<WireTarget> for Target {
    type Error = ProcessError;

    fn try_from(w: WireTarget) -> Result<Self, ProcessError> {
        let platform = w
            .platform
            .map(|p| {
                p.parse::<Platform>()
                    .map_err(|e| ProcessError::Protocol { what: e })
            })
            .transpose()?;
        let mut reach = *w.reach;
        for (hop, password) in reach.jump.iter_mut().zip(w.jump_passwords) {
            hop.password = password;
        }
        Ok(Target {
            name: w.name,
            address: w.address,
            port: w.port,
            username: w.username,
            credentials: Credentials {
                password: w.password,
                key_file: w.key_file,
                key_passphrase: w.key_passphrase,
                agent: w.agent,
                token: w.token,
            }
            .into(),
            secret: w.secret,
            platform,
            groups: w.groups,
            vars: w.vars,
            timeouts: TimeoutOverrides {
                connect: w.timeouts.connect,
                auth: w.timeouts.auth,
                command: w.timeouts.command,
                host: w.timeouts.host,
            }
            .into(),
            host_keys: w.host_keys,
            transport: w.transport,
            ssh_config_file: w.ssh_config_file,
            reach: reach.into(),
            ca_file: w.ca_file,
        })
    }
}

/// Serde for `Vec<Option<Secret>>` (the jump hops' passwords), as [`secret`].
mod secrets {
    use fanout_core::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[Option<Secret>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|p| p.as_ref().map(Secret::expose)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Option<Secret>>, D::Error> {
        Ok(Vec::<Option<String>>::deserialize(d)?
            .into_iter()
            .map(|p| p.map(Secret::new))
            .collect())
    }
}

/// Serde for `Option<Secret>`: the exposed value, only on this pipe.
mod secret {
    use fanout_core::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(secret) => s.serialize_some(secret.expose()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(Secret::new))
    }
}

#[cfg(test)]
#[path = "wire_props.rs"]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::CliMode;

    fn rich_target() -> Target {
        let mut t = Target::new("r1", "127.0.0.9");
        t.port = 2201;
        t.username = Some("admin".into());
        *t.credentials = Credentials {
            password: Some(Secret::new("hunter2")),
            key_file: Some("/keys/id".into()),
            key_passphrase: Some(Secret::new("pass-phrase")),
            agent: true,
            token: Some(Secret::new("api-token")),
        };
        t.secret = Some(Secret::new("en-secret"));
        t.platform = Some(Platform::Nxos);
        t.groups = vec!["core".into(), "lon".into()];
        t.vars.insert("site".into(), "lon".into());
        t.timeouts.command = Some(Duration::from_millis(1500));
        t.host_keys = Some(HostKeyPolicy::AcceptNew);
        t.transport = Transport::Telnet;
        t.ssh_config_file = Some("/lab/ssh_config".into());
        t.reach.jump.push(fanout_core::JumpHop {
            host: "127.0.0.7".into(),
            port: 2222,
            user: Some("jump".into()),
            identity: Some("/keys/jump".into()),
            password: Some(Secret::new("hop-secret")),
            ..fanout_core::JumpHop::default()
        });
        t.reach.kex_algorithms = Some("+diffie-hellman-group1-sha1".into());
        t.reach.sources.insert(
            "kex_algorithms".into(),
            "ssh_config /lab/ssh_config:3".into(),
        );
        t.reach.known_hosts = vec!["/lab/known_hosts".into()];
        t.timeouts.connect = Some(Duration::from_secs(30));
        t.ca_file = Some("/lab/ca.pem".into());
        t
    }

    fn rich_job() -> Job {
        let mut job = Job::new(Task::Cli {
            commands: vec!["show version".into(), "show clock".into()],
            mode: CliMode::Config,
        })
        .with_concurrency(7);
        job.limits.per_group.insert("core".into(), 2);
        job.limits.per_jump = Some(3);
        job.limits.per_jump_rate = "5/s".parse().ok();
        job.limits.connect_rate = "600/m".parse().ok();
        job.timeouts.host = Some(Duration::from_secs(30));
        job.timeouts.auth = None;
        job.retry.retries = 3;
        job.retry.retry_commands = true;
        job.host_keys = HostKeyPolicy::Off;
        job.known_hosts = vec!["a".into(), "b".into()];
        job.cli.error_patterns = vec!["^Bad mask".into()];
        job.cli.expects = vec![Some("Destination filename".into()), None];
        job
    }

    #[test]
    fn job_and_target_round_trip_exactly() {
        let job = rich_job();
        let line = encode(&ToWorker::Job {
            protocol: PROTOCOL,
            job: WireJob::from(&job),
        });
        let ToWorker::Job {
            protocol,
            job: wire,
        } = decode_to_worker(&line).unwrap()
        else {
            panic!("not a job: {line}");
        };
        assert_eq!(protocol, PROTOCOL);
        assert_eq!(Job::try_from(wire).unwrap(), job);
        for task in [
            Task::Exec {
                command: "show run".into(),
            },
            Task::Sleep {
                duration: Duration::from_nanos(1_500_000_001),
            },
            Task::SleepRange {
                min: Duration::from_millis(10),
                max: Duration::from_nanos(3_000_000_007),
                seed: u64::MAX,
            },
            Task::Cpu { iterations: 42 },
            Task::Local {
                argv: vec!["echo".into(), "{host}".into()],
            },
        ] {
            let job = Job::new(task);
            let back = decode_to_worker(&encode(&ToWorker::Job {
                protocol: PROTOCOL,
                job: WireJob::from(&job),
            }))
            .unwrap();
            let ToWorker::Job { job: wire, .. } = back else {
                panic!()
            };
            assert_eq!(Job::try_from(wire).unwrap(), job);
        }

        let target = rich_target();
        let line = encode(&ToWorker::Host {
            target: WireTarget::from(&target),
        });
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let ToWorker::Host { target: wire } = decode_to_worker(&line).unwrap() else {
            panic!("not a host: {line}");
        };
        assert_eq!(Target::try_from(wire).unwrap(), target);
    }

    #[test]
    fn secrets_cross_the_pipe_but_never_print() {
        let wire = WireTarget::from(&rich_target());
        let line = encode(&ToWorker::Host { target: wire });
        for secret in ["hunter2", "pass-phrase", "en-secret"] {
            assert!(line.contains(secret), "the worker needs {secret}");
        }
        let decoded = decode_to_worker(&line).unwrap();
        let debug = format!("{decoded:?}");
        for secret in ["hunter2", "pass-phrase", "en-secret"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        // A garbled line never echoes its content (it may hold a password).
        let broken = line.replace("2201", "\"hunter2\"");
        let err = decode_to_worker(&broken).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("same fanout build"), "{err}");
    }

    #[test]
    fn outcomes_travel_in_the_report_shape() {
        let mut o = HostOutcome::timeout(
            "r1",
            fanout_core::Phase::Command,
            Duration::from_secs(2),
            fanout_core::Worker::Pid(77),
        );
        o.attempts = 2;
        o.timings.command = Duration::from_micros(2_000_123);
        o.legacy_algorithms = vec!["diffie-hellman-group14-sha1".into(), "hmac-sha1".into()];
        let line = encode(&FromWorker::Outcome { outcome: o.clone() });
        assert!(
            line.contains(r#""legacy_algorithms":["diffie-hellman-group14-sha1","hmac-sha1"]"#),
            "{line}"
        );
        let FromWorker::Outcome { outcome } = decode_from_worker(line.as_bytes()).unwrap() else {
            panic!("not an outcome: {line}");
        };
        assert_eq!(outcome, o);
        let ask = encode(&FromWorker::Slot { id: 7 });
        assert_eq!(ask, "{\"type\":\"slot\",\"id\":7}\n");
        assert!(matches!(
            decode_from_worker(ask.as_bytes()),
            Ok(FromWorker::Slot { id: 7 })
        ));
        let grant = encode(&ToWorker::Slot { id: 7 });
        assert!(matches!(
            decode_to_worker(&grant),
            Ok(ToWorker::Slot { id: 7 })
        ));
        assert!(line.contains("\"worker\":\"pid:77\""), "{line}");
        let err = decode_from_worker(b"hello").unwrap_err().to_string();
        assert!(err.contains("`hello`"), "{err}");
    }
}
