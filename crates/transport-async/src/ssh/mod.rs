//! SSH on russh, async: the transport of `exec` and `cli` tasks on the
//! async executor. One attempt is: TCP connect and handshake with the host
//! key checked by `fanout-hostkeys` ([`session`]), authentication (key
//! file, ssh-agent, password, keyboard-interactive, [`auth`]), the task on
//! one channel ([`exec`], or [`cli`] driven by `fanout-netcli`'s dialog),
//! and a polite disconnect. Every failure becomes an
//! [`AttemptError`](fanout_engine::AttemptError) with
//! the [`ErrorKind`] the conformance suite expects for the matching
//! simulator fault. What both SSH transports obey is in
//! [`fanout_transport::ssh`].

mod auth;
mod cli;
mod config;
mod exec;
mod jump;
mod proxy;
pub(crate) mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fanout_core::{ErrorKind, HostKeyPolicy, Job, Phase, Target, Task};
use fanout_engine::{AttemptError, AttemptResult, Deadline, Expired, HostDeadline, Progress};
use fanout_hostkeys::{HostKeyError, HostKeyVerifier};
use fanout_transport::ssh::CLOSE_WAIT;
use russh::client;
use tokio::sync::oneshot;

use auth::{KeyCache, authenticate};
use config::client_config;
use session::Handshake;

/// What a per-target client config depends on: the key types known_hosts
/// has for it and its ssh_config algorithm lists.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ConfigKey {
    known: Vec<String>,
    specs: [Option<String>; 4],
}

/// SSH client state shared by every host of a run.
pub(crate) struct Shared {
    config: Arc<client::Config>,
    /// Configs whose host-key algorithms put the types known_hosts has for
    /// a target first (as OpenSSH does), one per distinct list of types.
    configs: Mutex<HashMap<ConfigKey, Arc<client::Config>>>,
    verifier: Arc<HostKeyVerifier>,
    keys: KeyCache,
}

impl Shared {
    /// The state of `job`'s run: its host-key verifier (known_hosts read
    /// now), the client configs and the key cache.
    pub(crate) fn new(job: &Job) -> Result<Self, HostKeyError> {
        let verifier = HostKeyVerifier::for_job(job)?;
        Ok(Self {
            config: Arc::new(client_config()),
            configs: Mutex::new(HashMap::new()),
            verifier: Arc::new(verifier),
            keys: KeyCache::default(),
        })
    }

    /// The client config for `target`: its ssh_config algorithm lists
    /// applied, and (unless it sets `HostKeyAlgorithms`) host-key
    /// algorithms of the types known_hosts lists for it first, so that a
    /// device with several host keys presents the one we know (not an
    /// unknown one we would refuse). One config per distinct combination.
    fn config_for(&self, target: &Target) -> Result<Arc<client::Config>, AttemptError> {
        let known = self.verifier.known_key_types(target);
        let r = &target.reach;
        let specs = [
            &r.kex_algorithms,
            &r.host_key_algorithms,
            &r.ciphers,
            &r.macs,
        ];
        if known.is_empty() && specs.iter().all(|s| s.is_none()) {
            return Ok(self.config.clone());
        }
        let key = ConfigKey {
            known,
            specs: specs.map(|s| s.clone()),
        };
        let mut configs = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(config) = configs.get(&key) {
            return Ok(config.clone());
        }
        let config = Arc::new(config::config_for(target, &key.known)?);
        configs.insert(key, config.clone());
        Ok(config)
    }

    /// What the user should hear once per run: `--host-keys off`, and
    /// lines skipped in `~/.ssh/known_hosts`.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.verifier.policy() == HostKeyPolicy::Off {
            out.push(
                "host keys are not verified (--host-keys off): anyone on the path can impersonate these devices; use strict or accept-new outside a lab".to_string(),
            );
        }
        out.extend(self.verifier.warnings());
        out
    }
}

/// One attempt on one host: connect, authenticate, run the task, close.
pub(crate) async fn attempt(
    shared: &Shared,
    job: &Job,
    target: &Target,
    host_deadline: HostDeadline,
    progress: &mut Progress,
) -> AttemptResult {
    // Cancellation drops this future: the session is closed with it.
    let timeouts = &job.timeouts;
    // Checked before any connection is opened.
    let user = fanout_transport::ssh::require_username(target)?;
    fanout_transport::ssh::require_credentials(target)?;
    // The ssh_config algorithm lists must apply (the config is kept).
    shared.config_for(target)?;

    // Jump hosts (each in the connect and auth phases) or a proxy command
    // first, when the target has them.
    // The connect and auth phases are boxed: their state (key exchange,
    // jump hosts, auth methods: ~8 KiB) is then allocated only while they
    // run, not held by every host for its whole command (BENCHMARKS.md,
    // memory per russh session).
    let (through, mut route) =
        Box::pin(jump::open(shared, job, target, host_deadline, progress)).await?;

    let (deadline, started) = progress.enter(job, target, Phase::Connect, host_deadline);
    // Dropped when this attempt ends (or is dropped: timeout,
    // cancellation): the session task's socket then fails, so the task
    // ends even in a key exchange the device stalled.
    let (_kill, killed) = oneshot::channel::<()>();
    let connected = Box::pin(deadline.run(async {
        match through {
            Some(stream) => session::connect_over(shared, target, stream, killed).await,
            None => session::connect(shared, target, killed).await,
        }
    }))
    .await;
    progress.timings.connect += started.elapsed();
    let connected = connected
        .map_err(|Expired| deadline.timeout_error(Vec::new()))
        .and_then(|c| c);
    let Handshake {
        mut handle,
        socket_back,
        legacy,
        mut ending,
        ..
    } = match (connected, &mut route.proxy) {
        (Ok(c), _) => c,
        (Err(e), Some(proxy)) => return Err(proxy.explain(target, e).await),
        (Err(e), None) => return Err(e),
    };
    progress.set_legacy_algorithms(legacy);

    let (deadline, started) = progress.enter(job, target, Phase::Auth, host_deadline);
    let authed =
        Box::pin(deadline.run(authenticate(&mut handle, shared, target, user, &mut ending))).await;
    progress.timings.auth += started.elapsed();
    authed.map_err(|Expired| deadline.timeout_error(Vec::new()))??;

    progress.phase = Some(Phase::Command);
    let started = Instant::now();
    let command_timeout = timeouts.for_target(target, Phase::Command);
    let result = match &job.task {
        Task::Exec { command } => {
            let deadline = Deadline::new(started, Phase::Command, command_timeout, host_deadline);
            exec::exec(&handle, target, command, deadline).await
        }
        Task::Cli { commands, mode } => {
            cli::run(&handle, target, job, commands, *mode, host_deadline).await
        }
        other => Err(fanout_transport::ssh::not_an_ssh_task(other)),
    };
    progress.timings.command += started.elapsed();
    if !matches!(&result, Err(e) if e.kind == ErrorKind::Timeout) {
        // A device that timed out may never answer: just drop it.
        // Never past the host's own deadline.
        let wait = host_deadline.map_or(CLOSE_WAIT, |(at, _)| {
            at.saturating_duration_since(Instant::now()).min(CLOSE_WAIT)
        });
        let _ = tokio::time::timeout(wait, async {
            session::close(handle, socket_back).await;
            route.close().await;
        })
        .await;
    }
    result
}
