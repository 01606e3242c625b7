//! The SSH transport of `exec` and `cli` tasks, on russh: TCP connect and
//! handshake (host key checked by `fanout-hostkeys`), authentication (key
//! file, ssh-agent, password, keyboard-interactive), the task on one
//! channel, and a polite disconnect. Every failure becomes an
//! [`AttemptError`] with the [`ErrorKind`] the conformance suite expects
//! for the matching simulator fault.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use fanout_core::{
    CommandOutput, ErrorKind, ExecError, HostKeyPolicy, Job, Phase, Secret, Target, Task,
};
use fanout_engine::Expired;
use fanout_hostkeys::{HostKeyError, HostKeyVerifier};
use fanout_transport::CapturedStreams;
pub(crate) use fanout_transport::ssh::endpoint;
use fanout_transport::ssh::{
    CLOSE_WAIT_ASYNC as CLOSE_WAIT, LEGACY_CIPHERS, LEGACY_KEX, LEGACY_MACS_ASYNC,
    TAIL_ASYNC as TAIL,
};
use russh::client::{self, AuthResult, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect, MethodKind, Preferred};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OnceCell, oneshot};

use fanout_engine::{
    AsyncTransport, AttemptError, AttemptResult, BoxFuture, Deadline, HostDeadline, Progress,
};

/// SSH client state shared by every host of a run.
pub(crate) struct Shared {
    config: Arc<client::Config>,
    /// Configs whose host-key algorithms put the types known_hosts has for
    /// a target first (as OpenSSH does), one per distinct list of types.
    configs: Mutex<HashMap<Vec<String>, Arc<client::Config>>>,
    verifier: Arc<HostKeyVerifier>,
    keys: KeyCache,
}

impl Shared {
    pub(crate) fn new(job: &Job) -> Result<Self, ExecError> {
        let verifier = HostKeyVerifier::for_job(job).map_err(|e| ExecError::Setup {
            executor: "async".into(),
            message: e.to_string(),
        })?;
        Ok(Self {
            config: Arc::new(client_config()),
            configs: Mutex::new(HashMap::new()),
            verifier: Arc::new(verifier),
            keys: KeyCache::default(),
        })
    }

    /// The client config for `target`: host-key algorithms of the types
    /// known_hosts lists for it first, so that a device with several host
    /// keys presents the one we know (not an unknown one we would refuse).
    fn config_for(&self, target: &Target) -> Arc<client::Config> {
        let known = self.verifier.known_key_types(target);
        if known.is_empty() {
            return self.config.clone();
        }
        let mut configs = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        configs
            .entry(known)
            .or_insert_with_key(|known| {
                let mut config = client_config();
                config.preferred.key = Cow::Owned(known_first(&config.preferred.key, known));
                Arc::new(config)
            })
            .clone()
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

/// russh's defaults, plus the legacy algorithms old devices (IOS 12.x)
/// still offer, at the end of each list so that any modern algorithm the
/// device has wins.
fn client_config() -> client::Config {
    use russh::{cipher, kex, mac};
    let defaults = Preferred::DEFAULT;
    // russh knows every name of the policy's lists (a test checks it).
    let mut kex_list = defaults.kex.to_vec();
    kex_list.extend(
        LEGACY_KEX
            .iter()
            .filter_map(|n| kex::Name::try_from(*n).ok()),
    );
    let mut ciphers = defaults.cipher.to_vec();
    ciphers.extend(
        LEGACY_CIPHERS
            .iter()
            .filter_map(|n| cipher::Name::try_from(*n).ok()),
    );
    let mut macs = defaults.mac.to_vec();
    macs.extend(
        LEGACY_MACS_ASYNC
            .iter()
            .filter_map(|n| mac::Name::try_from(*n).ok()),
    );
    client::Config {
        client_id: russh::SshId::Standard(Cow::Borrowed(concat!(
            "SSH-2.0-fanout_",
            env!("CARGO_PKG_VERSION")
        ))),
        preferred: Preferred {
            kex: Cow::Owned(kex_list),
            cipher: Cow::Owned(ciphers),
            mac: Cow::Owned(macs),
            ..defaults
        },
        nodelay: true,
        ..client::Config::default()
    }
}

/// `algorithms` with those of the `known` key types first, in the order of
/// `known` (`ssh-rsa` stands for every RSA signature algorithm).
fn known_first(
    algorithms: &[russh::keys::Algorithm],
    known: &[String],
) -> Vec<russh::keys::Algorithm> {
    let mut order: Vec<russh::keys::Algorithm> = Vec::with_capacity(algorithms.len());
    for key_type in known {
        for alg in algorithms {
            let matches = if key_type == "ssh-rsa" {
                matches!(alg, russh::keys::Algorithm::Rsa { .. })
            } else {
                alg.as_str() == key_type
            };
            if matches && !order.contains(alg) {
                order.push(alg.clone());
            }
        }
    }
    for alg in algorithms {
        if !order.contains(alg) {
            order.push(alg.clone());
        }
    }
    order
}

impl AsyncTransport for Shared {
    fn attempt<'a>(
        &'a self,
        job: &'a Job,
        target: &'a Target,
        host: HostDeadline,
        progress: &'a mut Progress,
    ) -> BoxFuture<'a, AttemptResult> {
        Box::pin(attempt(self, job, target, host, progress))
    }
}

/// One attempt on one host: connect, authenticate, run the task, close.
async fn attempt(
    shared: &Shared,
    job: &Job,
    target: &Target,
    host_deadline: HostDeadline,
    progress: &mut Progress,
) -> AttemptResult {
    // Cancellation drops this future: the session is closed with it.
    let timeouts = &job.timeouts;
    let user = fanout_transport::ssh::require_username(target)?;

    progress.phase = Some(Phase::Connect);
    let started = Instant::now();
    let deadline = Deadline::new(
        started,
        Phase::Connect,
        timeouts.for_target(target, Phase::Connect),
        host_deadline,
    );
    // Dropped when this attempt ends (or is dropped: timeout,
    // cancellation): the session task's socket then fails, so the task
    // ends even in a key exchange the device stalled.
    let (_kill, killed) = oneshot::channel::<()>();
    let connected = deadline.run(connect(shared, target, killed)).await;
    progress.timings.connect += started.elapsed();
    let (mut handle, socket_back) =
        connected.map_err(|Expired| deadline.timeout_error(Vec::new()))??;

    progress.phase = Some(Phase::Auth);
    let started = Instant::now();
    let deadline = Deadline::new(
        started,
        Phase::Auth,
        timeouts.for_target(target, Phase::Auth),
        host_deadline,
    );
    let authed = deadline
        .run(authenticate(&mut handle, shared, target, user))
        .await;
    progress.timings.auth += started.elapsed();
    authed.map_err(|Expired| deadline.timeout_error(Vec::new()))??;

    progress.phase = Some(Phase::Command);
    let started = Instant::now();
    let command_timeout = timeouts.for_target(target, Phase::Command);
    let result = match &job.task {
        Task::Exec { command } => {
            let deadline = Deadline::new(started, Phase::Command, command_timeout, host_deadline);
            exec(&handle, target, command, deadline).await
        }
        Task::Cli { commands, mode } => {
            crate::cli::run(
                &handle,
                target,
                commands,
                *mode,
                command_timeout,
                host_deadline,
            )
            .await
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
        let _ = tokio::time::timeout(wait, close(handle, socket_back)).await;
    }
    result
}

/// Says goodbye and waits until the device has closed its end, so that
/// the connection is over on both sides before this host's permit goes to
/// the next host: a device (or sshd's MaxSessions) never sees more than
/// `-c` connections from us, not even for a moment.
async fn close(handle: Handle<Client>, socket_back: oneshot::Receiver<TcpStream>) {
    if handle
        .disconnect(Disconnect::ByApplication, "", "en")
        .await
        .is_err()
    {
        return;
    }
    // The session task ends after sending the disconnect; it hands the
    // socket back when it lets go of it.
    let _ = handle.await;
    if let Ok(mut socket) = socket_back.await {
        let mut sink = [0u8; 512];
        while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
    }
}

/// The TCP stream russh drives; when russh drops it, the socket goes back
/// to the host (through `back`) instead of being closed, so the host can
/// wait for the device to close its end.
///
/// Once `killed` resolves (its attempt is gone), every read and write
/// fails and the socket is closed: russh's session task, which owns this
/// stream, then ends instead of waiting on the device forever.
struct Returning {
    socket: Option<TcpStream>,
    back: Option<oneshot::Sender<TcpStream>>,
    killed: Option<oneshot::Receiver<()>>,
}

impl Returning {
    fn socket(&mut self, cx: &mut Context<'_>) -> std::io::Result<Pin<&mut TcpStream>> {
        if let Some(killed) = &mut self.killed
            && Pin::new(killed).poll(cx).is_ready()
        {
            // The attempt is gone: nobody waits for the socket either.
            self.killed = None;
            self.back = None;
            self.socket = None;
        }
        if self.killed.is_none() {
            return Err(std::io::ErrorKind::ConnectionAborted.into());
        }
        self.socket
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| std::io::ErrorKind::NotConnected.into())
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let (Some(socket), Some(back)) = (self.socket.take(), self.back.take()) {
            let _ = back.send(socket);
        }
    }
}

impl AsyncRead for Returning {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.socket(cx) {
            Ok(s) => s.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Returning {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.socket(cx) {
            Ok(s) => s.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.socket(cx) {
            Ok(s) => s.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.socket(cx) {
            Ok(s) => s.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.socket(cx) {
            Ok(s) => s.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// The russh client handler: checks the host key through the run's
/// verifier. Holds what the check needs of its target (name, address,
/// port, host-key policy), nothing of the run.
pub(crate) struct Client {
    verifier: Arc<HostKeyVerifier>,
    target: Arc<Target>,
}

/// What the host-key check needs of `target`: its name, endpoint and
/// host-key policy (not its credentials or variables).
fn key_check_target(target: &Target) -> Target {
    let mut t = Target::new(target.name.clone(), target.address.clone());
    t.port = target.port;
    t.host_keys = target.host_keys;
    t
}

/// Why the handshake ended: russh's error, or the host key was refused.
#[derive(Debug)]
pub(crate) enum ClientError {
    Ssh(russh::Error),
    HostKey(HostKeyError),
}

impl From<russh::Error> for ClientError {
    fn from(e: russh::Error) -> Self {
        ClientError::Ssh(e)
    }
}

impl client::Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => PublicKey::from(cert.public_key().clone()),
        };
        let blob = key
            .to_bytes()
            .map_err(|e| ClientError::Ssh(russh::Error::SshKey(e)))?;
        let key_type = key.algorithm().as_str().to_string();
        let target = &*self.target;
        let policy = target.host_keys.unwrap_or(self.verifier.policy());
        let may_append = policy == HostKeyPolicy::AcceptNew
            && !self.verifier.known_key_types(target).contains(&key_type);
        let verified = if may_append {
            // accept-new with a key not known yet appends to known_hosts
            // under a file lock another process may hold: never on a
            // worker thread, where it would stall every host it runs.
            let (verifier, target) = (self.verifier.clone(), self.target.clone());
            tokio::task::spawn_blocking(move || verifier.verify(&target, &key_type, &blob))
                .await
                .map_err(|e| {
                    ClientError::Ssh(russh::Error::IO(std::io::Error::other(format!(
                        "the host-key check failed: {e}"
                    ))))
                })?
        } else {
            // An in-memory lookup.
            self.verifier.verify(target, &key_type, &blob)
        };
        verified.map(|_| true).map_err(ClientError::HostKey)
    }
}

type Connected = (Handle<Client>, oneshot::Receiver<TcpStream>);

async fn connect(
    shared: &Shared,
    target: &Target,
    killed: oneshot::Receiver<()>,
) -> Result<Connected, AttemptError> {
    let tcp = TcpStream::connect((target.address.as_str(), target.port))
        .await
        .map_err(|e| {
            AttemptError::new(
                ErrorKind::Connect,
                None,
                format!(
                    "could not connect to {}: {e}; check the address and port, and that SSH listens there",
                    endpoint(target)
                ),
            )
        })?;
    let _ = tcp.set_nodelay(true);
    let handler = Client {
        verifier: shared.verifier.clone(),
        target: Arc::new(key_check_target(target)),
    };
    let (back, socket_back) = oneshot::channel();
    let stream = Returning {
        socket: Some(tcp),
        back: Some(back),
        killed: Some(killed),
    };
    let handle = client::connect_stream(shared.config_for(target), stream, handler)
        .await
        .map_err(|e| handshake_error(e, target))?;
    Ok((handle, socket_back))
}

fn handshake_error(err: ClientError, target: &Target) -> AttemptError {
    match err {
        ClientError::HostKey(e) => AttemptError::new(e.kind(), None, e.to_string()),
        ClientError::Ssh(russh::Error::NoCommonAlgo { kind, ours, theirs }) => {
            let kind = match kind {
                russh::AlgorithmKind::Kex => "key-exchange",
                russh::AlgorithmKind::Key => "host-key",
                russh::AlgorithmKind::Cipher => "cipher",
                russh::AlgorithmKind::Compression => "compression",
                russh::AlgorithmKind::Mac => "MAC",
            };
            let pseudo = |n: &String| n.starts_with("ext-info-") || n.starts_with("kex-strict-");
            let ours: Vec<&str> = ours
                .iter()
                .filter(|n| !pseudo(n))
                .map(String::as_str)
                .collect();
            let theirs: Vec<&str> = theirs
                .iter()
                .filter(|n| !pseudo(n))
                .map(String::as_str)
                .collect();
            AttemptError::new(
                ErrorKind::Protocol,
                None,
                format!(
                    "no common {kind} algorithm with {}: the device offered {}; fanout supports {}. Enable a supported algorithm on the device",
                    endpoint(target),
                    theirs.join(", "),
                    ours.join(", ")
                ),
            )
        }
        ClientError::Ssh(e) => AttemptError::new(
            ErrorKind::Connect,
            None,
            format!(
                "SSH handshake with {} failed: {e}; check that an SSH server listens there and that the device accepts more sessions",
                endpoint(target)
            ),
        ),
    }
}

/// Loaded private keys, one load per file (and passphrase) per run: an
/// encrypted key costs a slow KDF, which must not be paid per host.
/// Slots are keyed by the path and a keyed hash of the passphrase (never
/// the passphrase itself, which stays a [`Secret`]).
#[derive(Default)]
struct KeyCache {
    #[allow(clippy::type_complexity)]
    slots: Mutex<HashMap<(PathBuf, Option<u64>), Arc<OnceCell<Result<Arc<PrivateKey>, String>>>>>,
    /// Random per run: the hashes mean nothing outside this process.
    hasher: std::hash::RandomState,
}

impl KeyCache {
    async fn load(
        &self,
        path: &Path,
        passphrase: Option<&Secret>,
    ) -> Result<Arc<PrivateKey>, String> {
        use std::hash::BuildHasher;
        let hash = passphrase.map(|p| self.hasher.hash_one(p.expose()));
        let cell = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((path.to_path_buf(), hash))
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let file = path.to_path_buf();
            let pass = passphrase.cloned();
            let loaded = tokio::task::spawn_blocking(move || {
                russh::keys::load_secret_key(&file, pass.as_ref().map(Secret::expose))
            })
            .await;
            match loaded {
                Ok(Ok(key)) => Ok(Arc::new(key)),
                Ok(Err(russh::keys::Error::KeyIsEncrypted)) => Err(format!(
                    "key file {} is encrypted: give its passphrase (key_passphrase_env in the inventory)",
                    path.display()
                )),
                Ok(Err(e)) => Err(format!(
                    "could not load key file {}: {e}; check the path, the format (OpenSSH/PEM) and the passphrase",
                    path.display()
                )),
                Err(e) => Err(format!(
                    "loading key file {} failed: {e}; check that the file is a readable OpenSSH or PEM private key",
                    path.display()
                )),
            }
        })
        .await
        .clone()
    }
}

/// Whether the server still accepts `method` (unknown before the first
/// failure: then every method is worth a try).
fn allowed(remaining: &Option<russh::MethodSet>, method: MethodKind) -> bool {
    remaining.as_ref().is_none_or(|m| m.contains(&method))
}

/// The device closed the connection while an authentication attempt was
/// under way: typically its limit of attempts (MaxAuthTries) or a lockout.
/// Reported `auth`, so it is never retried with the same credentials
/// (which could lock the account).
fn lost(target: &Target, user: &str, e: impl std::fmt::Display) -> AttemptError {
    AttemptError::new(
        ErrorKind::Auth,
        None,
        format!(
            "{} closed the connection while authenticating `{user}`: {e}; the device may limit authentication attempts (MaxAuthTries) or have locked the account: check the username and credentials (and the device's AAA logs) before trying again",
            endpoint(target)
        ),
    )
}

/// Tries the target's credentials in order: key file, ssh-agent, password,
/// keyboard-interactive (answered with the password).
async fn authenticate(
    h: &mut Handle<Client>,
    shared: &Shared,
    target: &Target,
    user: &str,
) -> Result<(), AttemptError> {
    fanout_transport::ssh::require_credentials(target)?;
    let creds = &target.credentials;
    let mut tried: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut remaining: Option<russh::MethodSet> = None;
    let done = |result: AuthResult, remaining: &mut Option<russh::MethodSet>| match result {
        AuthResult::Success => true,
        AuthResult::Failure {
            remaining_methods, ..
        } => {
            *remaining = Some(remaining_methods);
            false
        }
    };

    if let Some(path) = &creds.key_file {
        match shared.keys.load(path, creds.key_passphrase.as_ref()).await {
            Ok(key) => {
                let hash = rsa_hash(h, key.public_key()).await;
                tried.push(format!("publickey ({})", path.display()));
                let result = h
                    .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash))
                    .await
                    .map_err(|e| lost(target, user, e))?;
                if done(result, &mut remaining) {
                    return Ok(());
                }
            }
            Err(note) => notes.push(note),
        }
    }

    if creds.agent && allowed(&remaining, MethodKind::PublicKey) {
        match AgentClient::connect_env().await {
            Ok(mut agent) => match agent.request_identities().await {
                Ok(identities) => {
                    let keys: Vec<PublicKey> = identities
                        .into_iter()
                        .filter_map(|id| match id {
                            AgentIdentity::PublicKey { key, .. } => Some(key),
                            AgentIdentity::Certificate { .. } => None,
                        })
                        .collect();
                    if keys.is_empty() {
                        notes.push("ssh-agent holds no keys (ssh-add KEYFILE)".into());
                    }
                    for key in keys {
                        if !allowed(&remaining, MethodKind::PublicKey) {
                            break;
                        }
                        let hash = rsa_hash(h, &key).await;
                        tried.push(format!("publickey (agent {})", key.algorithm().as_str()));
                        match h
                            .authenticate_publickey_with(user, key, hash, &mut agent)
                            .await
                        {
                            Ok(result) => {
                                if done(result, &mut remaining) {
                                    return Ok(());
                                }
                            }
                            Err(e) => notes.push(format!("ssh-agent could not sign: {e}")),
                        }
                    }
                }
                Err(e) => notes.push(format!("ssh-agent did not list its keys: {e}")),
            },
            Err(e) => notes.push(format!(
                "could not reach ssh-agent (SSH_AUTH_SOCK): {e}; start one or remove `agent: true`"
            )),
        }
    }

    if let Some(password) = &creds.password {
        if allowed(&remaining, MethodKind::Password) {
            tried.push("password".into());
            let result = h
                .authenticate_password(user, password.expose())
                .await
                .map_err(|e| lost(target, user, e))?;
            if done(result, &mut remaining) {
                return Ok(());
            }
        }
        if allowed(&remaining, MethodKind::KeyboardInteractive) {
            tried.push("keyboard-interactive".into());
            if keyboard_interactive(h, user, password, target).await? {
                return Ok(());
            }
        }
    }

    let mut message = format!(
        "authentication as `{user}` at {} failed (tried {})",
        endpoint(target),
        if tried.is_empty() {
            "nothing the device accepts".to_string()
        } else {
            tried.join(", ")
        }
    );
    for note in notes {
        message.push_str("; ");
        message.push_str(&note);
    }
    message.push_str("; check the username and credentials");
    Err(AttemptError::new(ErrorKind::Auth, None, message))
}

/// The signature hash for an RSA key (the best the server accepts); `None`
/// for every other key type.
async fn rsa_hash(h: &Handle<Client>, key: &PublicKey) -> Option<russh::keys::HashAlg> {
    if key.algorithm().is_rsa() {
        h.best_supported_rsa_hash().await.ok().flatten().flatten()
    } else {
        None
    }
}

/// Keyboard-interactive with the password as the answer to every hidden
/// prompt (what devices ask: `Password:`). `Ok(true)` when accepted.
async fn keyboard_interactive(
    h: &mut Handle<Client>,
    user: &str,
    password: &Secret,
    target: &Target,
) -> Result<bool, AttemptError> {
    let mut reply = h
        .authenticate_keyboard_interactive_start(user, None)
        .await
        .map_err(|e| lost(target, user, e))?;
    // A device asks once or twice; more rounds than this is a loop.
    for _ in 0..4 {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|p| {
                        if !p.echo || p.prompt.to_ascii_lowercase().contains("password") {
                            password.expose().to_string()
                        } else {
                            String::new()
                        }
                    })
                    .collect();
                reply = h
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                    .map_err(|e| lost(target, user, e))?;
            }
        }
    }
    Ok(false)
}

/// The last line of `text` worth quoting, shortened to [`TAIL`] chars.
pub(crate) fn last_output(text: &str) -> Option<String> {
    fanout_transport::last_line(text, TAIL)
}

/// What came back on an exec channel.
#[derive(Default)]
struct Captured {
    streams: CapturedStreams,
    exit: Option<u32>,
    signal: Option<String>,
    eof: bool,
    closed: bool,
}

impl Captured {
    fn output(&self, command: &str) -> CommandOutput {
        let exit_status = self
            .exit
            .map(|s| i32::try_from(s).unwrap_or(-1))
            .or(self.signal.as_ref().map(|_| -1));
        self.streams.output(command, exit_status)
    }
}

/// Runs `command` on an exec channel until the device closes it.
async fn exec(
    h: &Handle<Client>,
    target: &Target,
    command: &str,
    deadline: Deadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut got = Captured::default();
    let at = endpoint(target);
    let ran = deadline.run(exec_channel(h, &at, command, &mut got)).await;
    let output = got.output(command);
    match ran {
        Err(Expired) => {
            let mut err = deadline.timeout_error(Vec::new());
            err.message
                .push_str(&format!("; `{command}` had not finished"));
            match last_output(&output.stdout) {
                Some(tail) => err
                    .message
                    .push_str(&format!("; last output seen: `{tail}`")),
                None => err.message.push_str("; no output was received"),
            }
            Err(err.with_outputs(vec![output]))
        }
        Ok(Err(message)) => {
            Err(AttemptError::new(ErrorKind::Channel, None, message).with_outputs(vec![output]))
        }
        Ok(Ok(())) => {
            if let Some(signal) = &got.signal {
                let message = format!("`{command}` was killed by signal {signal}");
                return Err(AttemptError::new(ErrorKind::CommandFailed, None, message)
                    .with_outputs(vec![output]));
            }
            if got.exit.is_none() && !got.eof && !got.closed {
                return Err(AttemptError::new(
                    ErrorKind::Channel,
                    None,
                    format!(
                        "the connection closed before `{command}` finished; the partial output is kept"
                    ),
                )
                .with_outputs(vec![output]));
            }
            match got.exit {
                Some(code) if code != 0 => {
                    let message = format!("`{command}` exited with status {code}");
                    Err(AttemptError::new(ErrorKind::CommandFailed, None, message)
                        .with_outputs(vec![output]))
                }
                _ => Ok(vec![output]),
            }
        }
    }
}

async fn exec_channel(
    h: &Handle<Client>,
    at: &str,
    command: &str,
    got: &mut Captured,
) -> Result<(), String> {
    let mut channel = h.channel_open_session().await.map_err(|e| {
        format!(
            "could not open an SSH channel on {at}: {e}; check the device's session limits (e.g. MaxSessions, vty lines)"
        )
    })?;
    channel.exec(true, command).await.map_err(|e| {
        format!(
            "could not send `{command}` to {at}: {e}; the device closed the session (check its logs and session limits)"
        )
    })?;
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => got.streams.push_stdout(&data),
            ChannelMsg::ExtendedData { data, .. } => got.streams.push_stderr(&data),
            ChannelMsg::ExitStatus { exit_status } => got.exit = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                got.signal = Some(format!("{signal_name:?}"))
            }
            ChannelMsg::Failure => {
                return Err(format!(
                    "{at} refused to run `{command}` on an exec channel; use a cli task for this device"
                ));
            }
            ChannelMsg::Eof => got.eof = true,
            ChannelMsg::Close => {
                got.closed = true;
                break;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use russh::keys::{Algorithm, HashAlg};

    use super::*;

    #[test]
    fn known_host_key_types_come_first() {
        let defaults = Preferred::DEFAULT.key.to_vec();
        assert_eq!(defaults.first(), Some(&Algorithm::Ed25519));
        let order = known_first(&defaults, &["ssh-rsa".to_string()]);
        assert_eq!(
            &order[..2],
            &[
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512)
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256)
                },
            ],
            "{order:?}"
        );
        assert_eq!(order.len(), defaults.len(), "nothing lost: {order:?}");
        assert!(order.contains(&Algorithm::Ed25519));
        let order = known_first(&defaults, &["ecdsa-sha2-nistp256".to_string()]);
        assert_eq!(order[0].as_str(), "ecdsa-sha2-nistp256", "{order:?}");
    }

    #[test]
    fn every_legacy_algorithm_of_the_policy_is_offered_last() {
        let config = client_config();
        let names = |list: Vec<&str>, legacy: &[&str]| {
            assert_eq!(&list[list.len() - legacy.len()..], legacy, "{list:?}");
        };
        let p = &config.preferred;
        names(p.kex.iter().map(|n| n.as_ref()).collect(), LEGACY_KEX);
        names(
            p.cipher.iter().map(|n| n.as_ref()).collect(),
            LEGACY_CIPHERS,
        );
        names(
            p.mac.iter().map(|n| n.as_ref()).collect(),
            LEGACY_MACS_ASYNC,
        );
    }

    #[test]
    fn a_disconnect_during_authentication_is_auth_not_connect() {
        let target = Target::new("r1", "127.0.0.1");
        let err = lost(&target, "admin", "Disconnected");
        assert_eq!(err.kind, ErrorKind::Auth, "never retried: {err:?}");
        assert!(err.message.contains("127.0.0.1:22"), "{}", err.message);
        assert!(err.message.contains("MaxAuthTries"), "{}", err.message);
    }
}
