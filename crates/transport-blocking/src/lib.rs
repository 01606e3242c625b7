//! fanout's blocking transports: one attempt of a network task on the
//! calling thread, for every blocking executor (`seq`, `threads`, `rayon`
//! and the process executor's workers).
//!
//! This crate owns the I/O of each protocol on blocking sockets — SSH on
//! ssh2 (libssh2), telnet on std sockets; HTTP next — behind the engine's
//! [`BlockingTransport`] seam: [`Transports`] is built once per run (the
//! host-key verifier reads known_hosts once, key files are read once) and
//! dispatches each attempt to the protocol of its target (`transport:
//! telnet` runs `cli` tasks through `fanout_transport::telnet::Client`). What a protocol
//! must do and say is `fanout-transport`'s policy, which the async
//! implementations (`fanout-transport-async`) obey too.
//!
//! It must never schedule: it gets a job, a target, the host's deadline, a
//! cancel token and the host's progress, nothing of a scheduler, and never
//! depends on an executor crate.

mod http;
mod ssh;
mod telnet;

use std::time::Duration;

use fanout_core::{CancelToken, Job, Target, TaskKind, Transport};
use fanout_engine::{AttemptResult, BlockingTransport, HostDeadline, Progress};
use fanout_hostkeys::HostKeyError;

/// Why a run's transports could not be set up (a setup error of the whole
/// run, before any host starts).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A known_hosts file is unreadable or garbled (the message names it).
    #[error(transparent)]
    HostKeys(#[from] HostKeyError),
}

/// The transports of one run: what every host's network attempts share.
/// Built once per run with [`for_job`](Self::for_job); the run's
/// [`BlockingTransport`].
#[derive(Debug)]
pub struct Transports {
    /// SSH state, for `exec` and `cli` tasks.
    ssh: Option<ssh::Shared>,
    /// HTTP clients, for the `http` task.
    http: Option<http::Shared>,
}

impl Transports {
    /// The transports `job`'s task needs (none for `sleep`, `cpu` and
    /// `local`): for SSH, the host-key verifier of the job's policy and
    /// known_hosts files (then `~/.ssh/known_hosts`), read now.
    pub fn for_job(job: &Job) -> Result<Self, TransportError> {
        let ssh = match job.task.kind() {
            TaskKind::Exec | TaskKind::Cli => Some(ssh::Shared::for_job(job)?),
            TaskKind::Sleep | TaskKind::Cpu | TaskKind::Local | TaskKind::Http => None,
        };
        let http = (job.task.kind() == TaskKind::Http).then(|| http::Shared::for_job(job));
        Ok(Self { ssh, http })
    }
}

impl BlockingTransport for Transports {
    fn attempt(
        &self,
        job: &Job,
        target: &Target,
        host: HostDeadline,
        cancel: &CancelToken,
        progress: &mut Progress,
    ) -> AttemptResult {
        if let (TaskKind::Http, Some(shared)) = (job.task.kind(), &self.http) {
            return http::attempt(shared, job, target, host, cancel, progress);
        }
        if target.transport == Transport::Telnet {
            return telnet::attempt(job, target, host, cancel, progress);
        }
        match &self.ssh {
            Some(shared) => ssh::attempt(shared, job, target, host, cancel, progress)
                .map_err(|e| ssh::cancel_wins(e, cancel)),
            None => Err(fanout_transport::ssh::not_an_ssh_task(&job.task)),
        }
    }

    fn attempt_budget(&self, job: &Job, target: &Target) -> Option<Duration> {
        if job.task.kind() == TaskKind::Http {
            return fanout_transport::http::max_attempt(job, target);
        }
        match target.transport {
            Transport::Ssh => ssh::attempt_budget(job, target),
            Transport::Telnet => telnet::attempt_budget(job, target),
        }
    }

    fn reuse_key(&self, job: &Job, target: &Target) -> Option<String> {
        // One agent (keep-alive pool) per origin: see `http::Shared`.
        self.http.as_ref()?;
        fanout_transport::http::reuse_key(job, target)
    }
}

#[cfg(test)]
mod tests {
    use fanout_core::{CliMode, HostKeyPolicy, Platform, Secret, Task, Worker};
    use fanout_engine::blocking::HostRun;
    use fanout_engine::max_host_duration;
    use fanout_hostkeys::HostKeyVerifier;

    use super::*;

    fn transports(shared: ssh::Shared) -> Transports {
        Transports {
            ssh: Some(shared),
            http: None,
        }
    }

    #[test]
    fn a_hosts_budget_is_the_policys_attempt_plus_the_goodbye_per_attempt() {
        let target = Target::new("r1", "127.0.0.1");
        let secs = Duration::from_secs;
        let t = transports(ssh::Shared::new(
            HostKeyVerifier::new(HostKeyPolicy::Off, &[]).unwrap(),
        ));
        let transport = Some(&t as &dyn BlockingTransport);
        let close = fanout_transport::ssh::CLOSE_WAIT;
        for task in [
            Task::Cli {
                commands: vec!["interface lo1".into(), "description x".into()],
                mode: CliMode::Config,
            },
            Task::Exec {
                command: "show clock".into(),
            },
        ] {
            let mut job = Job::new(task);
            job.timeouts.connect = Some(secs(10));
            job.timeouts.auth = Some(secs(10));
            job.timeouts.command = Some(secs(1));
            for device in [target.clone(), linux(&target)] {
                // What the SSH policy counts (its own tests check the
                // phases), and the goodbye the blocking session waits for.
                let one = fanout_transport::ssh::max_attempt(&job, &device).unwrap() + close;
                assert_eq!(max_host_duration(&job, &device, transport), Some(one));
            }
            job.retry.retries = 1;
            let one = fanout_transport::ssh::max_attempt(&job, &target).unwrap() + close;
            assert_eq!(
                max_host_duration(&job, &target, transport),
                Some(one * 2 + job.retry.backoff),
                "every attempt and the pause between them"
            );
            job.retry.retries = u32::MAX;
            assert!(
                max_host_duration(&job, &target, transport).is_some(),
                "saturates, no overflow"
            );
        }
    }

    fn linux(target: &Target) -> Target {
        let mut linux = target.clone();
        linux.platform = Some(Platform::Linux);
        linux
    }

    #[test]
    fn debug_output_never_shows_a_loaded_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id_test");
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAc2VjcmV0LWtleS1tYXRlcmlhbA\n-----END OPENSSH PRIVATE KEY-----\n";
        std::fs::write(&path, pem).unwrap();
        let shared = ssh::Shared::new(HostKeyVerifier::new(HostKeyPolicy::Off, &[]).unwrap());
        let loaded = shared.keys.get(&path);
        assert_eq!(loaded.as_ref().as_ref().map(Secret::expose), Ok(pem));
        let t = transports(shared);
        let cancel = CancelToken::new();
        let run = HostRun {
            worker: Worker::Thread(0),
            cancel: &cancel,
            connect_rate: None,
            transport: Some(&t),
        };
        for debug in [format!("{t:?}"), format!("{run:?}"), format!("{run:#?}")] {
            assert!(debug.contains("id_test"), "names the key file: {debug}");
            for material in ["BEGIN OPENSSH", "b3BlbnNzaC1rZXkt", "c2VjcmV0"] {
                assert!(!debug.contains(material), "key material in Debug: {debug}");
            }
        }
    }
}
