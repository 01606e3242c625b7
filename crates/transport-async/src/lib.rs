//! fanout's async transports: one attempt of a network task as a tokio
//! future, for the async executor.
//!
//! This crate owns the I/O of each protocol on tokio — SSH on russh,
//! telnet on tokio sockets; HTTP next — behind the engine's [`AsyncTransport`] seam:
//! [`Transports`] is built once per run (host-key verifier, client
//! configs, loaded keys) and dispatches each attempt to the protocol of its
//! target (`transport: telnet` runs `cli` tasks through
//! `fanout_transport::telnet::Client`), as a boxed future (so hosts of other tasks never pay for its
//! size). What a protocol must do and say is `fanout-transport`'s policy,
//! which the blocking implementations (`fanout-transport-blocking`) obey
//! too.
//!
//! It must never schedule: an attempt gets a job, a target, the host's
//! deadline and the host's progress, nothing of a scheduler; cancellation
//! drops its future, which closes everything it opened. It never depends
//! on an executor crate.

mod http;
mod ssh;
mod telnet;

use fanout_core::{Job, Target, TaskKind, Transport};
use fanout_engine::{AsyncTransport, AttemptResult, BoxFuture, HostDeadline, Progress};
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
/// [`AsyncTransport`].
pub struct Transports {
    /// SSH client state, for `exec` and `cli` tasks.
    ssh: Option<ssh::Shared>,
    /// HTTP connections, for the `http` task.
    http: Option<http::Shared>,
}

impl std::fmt::Debug for Transports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transports")
            .field("ssh", &self.ssh.is_some())
            .field("http", &self.http.is_some())
            .finish()
    }
}

impl Transports {
    /// The transports `job`'s task needs (none for `sleep`, `cpu` and
    /// `local`): for SSH, the host-key verifier of the job's policy and
    /// known_hosts files (then `~/.ssh/known_hosts`), read now.
    pub fn for_job(job: &Job) -> Result<Self, TransportError> {
        let ssh = match job.task.kind() {
            TaskKind::Exec | TaskKind::Cli => Some(ssh::Shared::new(job)?),
            TaskKind::Sleep | TaskKind::Cpu | TaskKind::Local | TaskKind::Http => None,
        };
        let http = (job.task.kind() == TaskKind::Http).then(|| http::Shared::for_job(job));
        Ok(Self { ssh, http })
    }

    /// What the user should hear once per run: that host keys are not
    /// verified (`--host-keys off`), and lines of `~/.ssh/known_hosts`
    /// that were skipped.
    pub fn warnings(&self) -> Vec<String> {
        self.ssh
            .as_ref()
            .map(ssh::Shared::warnings)
            .unwrap_or_default()
    }
}

impl AsyncTransport for Transports {
    fn attempt<'a>(
        &'a self,
        job: &'a Job,
        target: &'a Target,
        host: HostDeadline,
        progress: &'a mut Progress,
    ) -> BoxFuture<'a, AttemptResult> {
        if let (TaskKind::Http, Some(shared)) = (job.task.kind(), &self.http) {
            return Box::pin(http::attempt(shared, job, target, host, progress));
        }
        if target.transport == Transport::Telnet {
            return Box::pin(telnet::attempt(job, target, host, progress));
        }
        match &self.ssh {
            Some(shared) => Box::pin(ssh::attempt(shared, job, target, host, progress)),
            None => {
                let err = fanout_transport::ssh::not_an_ssh_task(&job.task);
                Box::pin(async move { Err(err) })
            }
        }
    }
}
