//! What travels through NATS. Host names and the job only: no address, no
//! credential, no known_hosts path ever goes into a message — each worker
//! resolves a host name in its own inventory.
//!
//! - the job, once per run, in the [`JOBS_BUCKET`](crate::names::JOBS_BUCKET)
//!   key-value bucket under the run id ([`QueueJob`]);
//! - one [`WorkItem`] per host on `fanout.work.SITE.RUN`;
//! - one [`HostOutcome`](fanout_core::HostOutcome) per host on
//!   `fanout.results.RUN`, in the shape of `fanout run --format jsonl`.

use std::time::Duration;

use fanout_core::{HostKeyPolicy, Job, MaxFail, RetryPolicy, Task, Timeouts, WireTask};
use serde::{Deserialize, Serialize};

use crate::QueueError;

/// Version of these messages; a worker refuses a job of another version.
pub const PROTOCOL: u32 = 1;

/// One host of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    /// The run id.
    pub run: String,
    /// The host's name in the inventory.
    pub host: String,
}

/// A run's job as the workers get it: the task, timeouts, retries and the
/// host-key policy. Limits are the workers' own (`fanout worker -c`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueJob {
    protocol: u32,
    task: WireTask,
    timeouts: [Option<Duration>; 4],
    retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    retry_commands: bool,
    host_keys: HostKeyPolicy,
    /// `--error-pattern` and `--expect` of a `cli` task.
    #[serde(default)]
    cli: fanout_core::CliOptions,
    /// `--max-fail` as a count of the run's hosts (a percentage resolved
    /// by the submitter, which knows how many there are).
    #[serde(default)]
    pub(crate) max_fail: Option<usize>,
    /// `--insecure`: the workers do not verify the devices' TLS
    /// certificates either.
    #[serde(default)]
    insecure: bool,
}

impl From<&Job> for QueueJob {
    fn from(job: &Job) -> Self {
        let task = WireTask::from(&job.task);
        let t = &job.timeouts;
        Self {
            protocol: PROTOCOL,
            task,
            timeouts: [t.connect, t.auth, t.command, t.host],
            retries: job.retry.retries,
            backoff: job.retry.backoff,
            max_backoff: job.retry.max_backoff,
            retry_commands: job.retry.retry_commands,
            host_keys: job.host_keys,
            cli: job.cli.clone(),
            max_fail: None,
            insecure: job.http.insecure,
        }
    }
}

impl QueueJob {
    /// The job a worker runs: this one with the worker's concurrency and
    /// known_hosts files.
    pub fn into_job(
        self,
        concurrency: usize,
        known_hosts: Vec<std::path::PathBuf>,
    ) -> Result<Job, QueueError> {
        if self.protocol != PROTOCOL {
            return Err(QueueError::Protocol(format!(
                "the run was submitted with queue protocol {}, this worker speaks {PROTOCOL}; run the same fanout version on the submitter and the workers",
                self.protocol
            )));
        }
        let task = Task::from(self.task);
        let [connect, auth, command, host] = self.timeouts;
        let mut job = Job::new(task).with_concurrency(concurrency.max(1));
        job.timeouts = Timeouts {
            connect,
            auth,
            command,
            host,
        };
        job.retry = RetryPolicy {
            retries: self.retries,
            backoff: self.backoff,
            max_backoff: self.max_backoff,
            retry_commands: self.retry_commands,
        };
        job.host_keys = self.host_keys;
        job.known_hosts = known_hosts;
        job.cli = self.cli;
        job.limits.max_fail = self.max_fail.map(MaxFail::Count);
        job.http.insecure = self.insecure;
        Ok(job)
    }
}

/// Parses a message body, naming what it was in the error (never quoting
/// it).
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    what: &str,
) -> Result<T, QueueError> {
    serde_json::from_slice(bytes).map_err(|e| {
        QueueError::Protocol(format!(
            "unreadable {what} ({e}); run the same fanout version on the submitter and the workers"
        ))
    })
}

/// A message body.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs with string keys: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_else(|e| unreachable!("queue messages serialise: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::CliMode;

    #[test]
    fn job_round_trips_with_the_workers_limits() {
        let mut job = Job::new(Task::Cli {
            commands: vec!["show version".into()],
            mode: CliMode::Enable,
        })
        .with_concurrency(3);
        job.timeouts.host = Some(Duration::from_millis(1500));
        job.timeouts.auth = None;
        job.retry.retries = 2;
        job.retry.retry_commands = true;
        job.host_keys = HostKeyPolicy::AcceptNew;
        job.known_hosts = vec!["/submitter/only".into()];
        job.cli.error_patterns = vec!["^Bad mask".into()];
        job.cli.expects = vec![Some("Destination filename".into()), None];
        job.http.insecure = true;
        let wire: QueueJob = decode(&encode(&QueueJob::from(&job)), "job").unwrap();
        let back = wire.into_job(3, vec!["/worker/kh".into()]).unwrap();
        assert_eq!(back.task, job.task);
        assert_eq!(back.timeouts, job.timeouts);
        assert_eq!(back.retry, job.retry);
        assert_eq!(back.host_keys, job.host_keys);
        assert!(back.http.insecure, "--insecure reaches the workers");
        assert_eq!(
            back.cli, job.cli,
            "--error-pattern and --expect reach the workers"
        );
        assert_eq!(
            back.known_hosts,
            vec![std::path::PathBuf::from("/worker/kh")]
        );
        assert!(
            !String::from_utf8(encode(&QueueJob::from(&job)))
                .unwrap()
                .contains("/submitter/only")
        );
    }

    #[test]
    fn other_protocols_are_refused() {
        let mut wire = QueueJob::from(&Job::new(Task::Cpu { iterations: 1 }));
        wire.protocol = 99;
        let err = wire.into_job(1, Vec::new()).unwrap_err().to_string();
        assert!(err.contains("protocol 99"), "{err}");
        assert!(decode::<WorkItem>(b"{", "work item").is_err());
    }
}
