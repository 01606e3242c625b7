//! The ssh2 (libssh2) blocking transport behind `exec` and `cli` tasks.
//!
//! One attempt is: TCP connect (non-blocking, so the connect timeout and
//! Ctrl-C both apply), SSH handshake, host-key check against known_hosts
//! ([`fanout_hostkeys::HostKeyVerifier`]), authentication (key file,
//! ssh-agent, password, keyboard-interactive), then an exec channel or an
//! interactive shell driven by [`fanout_netcli::Dialog`].
//!
//! libssh2 runs in non-blocking mode: every call that would block returns
//! `EAGAIN`, and [`Conn::drive`] then polls the socket for at most one
//! [`TICK`] before checking the phase deadline and the cancel token. So a
//! hung device times out on time, and a cancelled host stops within one
//! tick (100 ms) plus the time to close the socket (immediate).

mod auth;
mod exec;
mod legacy;
mod shell;
mod tcp;

use std::collections::HashMap;
use std::fmt;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, CommandOutput, ErrorKind, Job, Phase, Secret, Target, Task};
use fanout_engine::{AttemptResult, BlockingTransport, HostDeadline, Progress};
use fanout_hostkeys::{HostKeyError, HostKeyVerifier};
use ssh2::{BlockDirections, ErrorCode, MethodType, Session};

use fanout_engine::{AttemptError, Deadline};

/// Longest single wait on the socket: bounds how late a deadline or a
/// cancellation is noticed.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// How long a finished session may take to say goodbye (disconnect sent,
/// the device's close awaited) before the socket is simply closed.
pub(crate) use fanout_transport::ssh::CLOSE_WAIT_BLOCKING as CLOSE_WAIT;
pub(crate) use fanout_transport::ssh::endpoint;

/// libssh2's "would block".
const EAGAIN: ErrorCode = ErrorCode::Session(-37);

/// What every SSH host of a run shares: the host-key verifier (known_hosts
/// read once, `accept-new` appends serialised) and the private keys read
/// from disk. Build one per run; it is the run's [`BlockingTransport`].
#[derive(Debug)]
pub struct SshShared {
    verifier: HostKeyVerifier,
    keys: KeyFiles,
}

impl SshShared {
    /// Shared state around `verifier`.
    pub fn new(verifier: HostKeyVerifier) -> Self {
        Self {
            verifier,
            keys: KeyFiles::default(),
        }
    }

    /// The verifier of `job` (its policy and known_hosts files, then
    /// `~/.ssh/known_hosts`); an unreadable or garbled file is an error
    /// naming it.
    pub fn for_job(job: &Job) -> Result<Self, HostKeyError> {
        Ok(Self::new(HostKeyVerifier::for_job(job)?))
    }

    /// The host-key verifier.
    pub fn verifier(&self) -> &HostKeyVerifier {
        &self.verifier
    }
}

/// Private key files, read once per run. The text of a key is a
/// [`Secret`]; `Debug` shows only the paths.
#[derive(Default)]
struct KeyFiles {
    read: Mutex<HashMap<PathBuf, Arc<Result<Secret, String>>>>,
}

impl KeyFiles {
    fn get(&self, path: &Path) -> Arc<Result<Secret, String>> {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.entry(path.to_path_buf())
            .or_insert_with(|| {
                Arc::new(std::fs::read_to_string(path).map(Secret::new).map_err(|e| {
                    format!(
                        "cannot read key file {}: {e}; check key_file in the inventory",
                        path.display()
                    )
                }))
            })
            .clone()
    }
}

impl fmt::Debug for KeyFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("KeyFiles")
            .field("read", &read.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The shared state for an executor's run: built only for tasks that use
/// SSH. A known_hosts problem is a setup error of the whole run.
pub(crate) fn shared_for(job: &Job) -> Result<Option<SshShared>, String> {
    if !job.task.kind().needs_network() {
        return Ok(None);
    }
    SshShared::for_job(job).map(Some).map_err(|e| e.to_string())
}

impl BlockingTransport for SshShared {
    /// One attempt of an `exec` or `cli` task on `target`.
    fn attempt(
        &self,
        job: &Job,
        target: &Target,
        host_deadline: HostDeadline,
        cancel: &CancelToken,
        progress: &mut Progress,
    ) -> AttemptResult {
        attempt(job, target, cancel, self, host_deadline, progress)
    }

    /// Connect, auth and the command's exchanges by their timeouts
    /// ([`max_attempt`](fanout_transport::ssh::max_attempt)), plus the
    /// goodbye ([`CLOSE_WAIT`]).
    fn attempt_budget(&self, job: &Job, target: &Target) -> Option<Duration> {
        fanout_transport::ssh::max_attempt(job, target).map(|a| a.saturating_add(CLOSE_WAIT))
    }
}

fn attempt(
    job: &Job,
    target: &Target,
    cancel: &CancelToken,
    shared: &SshShared,
    host_deadline: HostDeadline,
    progress: &mut Progress,
) -> AttemptResult {
    let user = fanout_transport::ssh::require_username(target)?;
    let phase_deadline = |phase: Phase| {
        Deadline::new(
            Instant::now(),
            phase,
            job.timeouts.for_target(target, phase),
            host_deadline,
        )
    };

    progress.phase = Some(Phase::Connect);
    let started = Instant::now();
    let connected = connect(target, shared, cancel, &phase_deadline(Phase::Connect));
    progress.timings.connect += started.elapsed();
    let conn = connected?;

    progress.phase = Some(Phase::Auth);
    let started = Instant::now();
    let authed = auth::authenticate(&conn, target, user, shared, &phase_deadline(Phase::Auth));
    progress.timings.auth += started.elapsed();
    authed?;

    progress.phase = Some(Phase::Command);
    let started = Instant::now();
    let result = match &job.task {
        Task::Exec { command } => exec::run(&conn, command, &phase_deadline(Phase::Command)),
        Task::Cli { commands, mode } => shell::run(&conn, target, commands, *mode, || {
            phase_deadline(Phase::Command)
        }),
        other => Err(fanout_transport::ssh::not_an_ssh_task(other)),
    };
    progress.timings.command += started.elapsed();
    if !matches!(&result, Err(e) if matches!(e.kind, ErrorKind::Timeout | ErrorKind::Cancelled)) {
        conn.close(host_deadline);
    }
    result
}

/// TCP connect, handshake and host-key check.
fn connect<'a>(
    target: &Target,
    shared: &SshShared,
    cancel: &'a CancelToken,
    deadline: &Deadline,
) -> Result<Conn<'a>, AttemptError> {
    let stream = tcp::connect(target, cancel, deadline)?;
    let fd = stream.as_raw_fd();
    let mut session = Session::new().map_err(|e| {
        AttemptError::new(
            ErrorKind::Protocol,
            None,
            format!("libssh2 could not create a session: {e}"),
        )
    })?;
    session.set_blocking(false);
    prefer_methods(&session, &shared.verifier, target);
    session.set_tcp_stream(stream);
    let conn = Conn {
        session,
        fd,
        cancel,
    };
    let mut handshaking = conn.session.clone();
    match conn.drive(deadline, || handshaking.handshake()) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(handshake_error(&conn, &e, target, cancel, deadline)),
        Err(halt) => return Err(conn.halted(halt, deadline, Vec::new())),
    }
    let (blob, _) = conn.session.host_key().ok_or_else(|| {
        AttemptError::new(
            ErrorKind::Protocol,
            None,
            format!(
                "{} completed the handshake without a host key",
                endpoint(target)
            ),
        )
    })?;
    let key_type = fanout_hostkeys::key_type_of(blob).unwrap_or("unknown");
    shared
        .verifier
        .verify(target, key_type, blob)
        .map_err(|e| AttemptError::new(e.kind(), None, e.to_string()))?;
    Ok(conn)
}

fn handshake_error(
    conn: &Conn<'_>,
    e: &ssh2::Error,
    target: &Target,
    cancel: &CancelToken,
    deadline: &Deadline,
) -> AttemptError {
    match e.code() {
        // -5 kex failure, -8 key exchange failure, -33 method not supported.
        ErrorCode::Session(-5 | -8 | -33) => {
            legacy::explain(target, e, &conn.session, cancel, deadline)
        }
        _ => AttemptError::new(
            ErrorKind::Connect,
            None,
            format!(
                "SSH handshake with {} failed: {}; check that an SSH server listens there",
                endpoint(target),
                e.message()
            ),
        ),
    }
}

/// Algorithm preferences: libssh2's own order, then the legacy algorithms
/// old devices offer (libssh2 drops the ones it was built without), and the
/// host-key types known_hosts has for the target first, as OpenSSH does.
fn prefer_methods(session: &Session, verifier: &HostKeyVerifier, target: &Target) {
    let prefs = Prefs::get(session);
    for (kind, list) in [
        (MethodType::Kex, &prefs.kex),
        (MethodType::CryptCs, &prefs.crypt),
        (MethodType::CryptSc, &prefs.crypt),
        (MethodType::MacCs, &prefs.mac),
        (MethodType::MacSc, &prefs.mac),
    ] {
        if !list.is_empty() {
            let _ = session.method_pref(kind, list);
        }
    }
    let known = verifier.known_key_types(target);
    if !known.is_empty() {
        let mut order: Vec<&str> = Vec::new();
        for key_type in &known {
            let names: &[&str] = match key_type.as_str() {
                "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
                other => &[other][..],
            };
            for name in names {
                if prefs.host_key.contains(name) && !order.contains(name) {
                    order.push(name);
                }
            }
        }
        if !order.is_empty() {
            order.extend(
                prefs
                    .host_key
                    .iter()
                    .filter(|n| !order.contains(n))
                    .collect::<Vec<_>>(),
            );
            let _ = session.method_pref(MethodType::HostKey, &order.join(","));
        }
    }
}

/// What old devices (IOS 12.x and alike) still speak.
pub(crate) use fanout_transport::ssh::{
    LEGACY_CIPHERS, LEGACY_KEX, LEGACY_MACS_BLOCKING as LEGACY_MACS,
};

/// Method preference lists, computed once per process.
struct Prefs {
    kex: String,
    crypt: String,
    mac: String,
    host_key: Vec<&'static str>,
}

impl Prefs {
    fn get(session: &Session) -> &'static Prefs {
        static PREFS: OnceLock<Prefs> = OnceLock::new();
        PREFS.get_or_init(|| {
            let list = |kind: MethodType, legacy: &[&'static str]| {
                let mut names = session.supported_algs(kind).unwrap_or_default();
                for name in legacy {
                    if !names.contains(name) {
                        names.push(name);
                    }
                }
                names.join(",")
            };
            Prefs {
                kex: list(MethodType::Kex, LEGACY_KEX),
                crypt: list(MethodType::CryptCs, LEGACY_CIPHERS),
                mac: list(MethodType::MacCs, LEGACY_MACS),
                host_key: session
                    .supported_algs(MethodType::HostKey)
                    .unwrap_or_default(),
            }
        })
    }
}

/// Why waiting on the socket stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Halt {
    /// The run was cancelled.
    Cancelled,
    /// The phase deadline passed.
    Deadline,
}

/// An SSH connection in non-blocking mode. Dropping it shuts the socket
/// down first, so libssh2 frees the session without waiting for the peer.
pub(crate) struct Conn<'a> {
    pub(crate) session: Session,
    fd: RawFd,
    cancel: &'a CancelToken,
}

impl Conn<'_> {
    /// Runs `op` until it no longer answers `EAGAIN`, waiting on the socket
    /// in between; stops at the deadline or on cancellation.
    pub(crate) fn drive<T>(
        &self,
        deadline: &Deadline,
        mut op: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<Result<T, ssh2::Error>, Halt> {
        loop {
            match op() {
                Err(e) if e.code() == EAGAIN => self.wait(deadline)?,
                done => return Ok(done),
            }
        }
    }

    /// `Err` once cancelled or past the deadline. Loops that move data call
    /// it on every pass, so a device that never stops sending still times
    /// out and still stops on Ctrl-C.
    pub(crate) fn check(&self, deadline: &Deadline) -> Result<(), Halt> {
        if self.cancel.is_cancelled() {
            return Err(Halt::Cancelled);
        }
        if deadline.passed() {
            return Err(Halt::Deadline);
        }
        Ok(())
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked
    /// on, for at most one [`TICK`]; `Err` once cancelled or past the deadline.
    pub(crate) fn wait(&self, deadline: &Deadline) -> Result<(), Halt> {
        self.check(deadline)?;
        let events = match self.session.block_directions() {
            BlockDirections::Outbound => libc::POLLOUT,
            BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
            BlockDirections::Inbound | BlockDirections::None => libc::POLLIN,
        };
        let wait = deadline.remaining().map_or(TICK, |left| left.min(TICK));
        poll(self.fd, events, wait);
        Ok(())
    }

    /// The error of a halted wait: a timeout of the deadline's phase, or
    /// cancelled; keeps `outputs`.
    pub(crate) fn halted(
        &self,
        halt: Halt,
        deadline: &Deadline,
        outputs: Vec<CommandOutput>,
    ) -> AttemptError {
        match halt {
            Halt::Cancelled => AttemptError::cancelled().with_outputs(outputs),
            Halt::Deadline => deadline.timeout_error(outputs),
        }
    }

    /// Says goodbye: sends a disconnect, stops sending, and waits briefly
    /// for the device to close its end, so that the device has ended the
    /// session before the next host starts (it never sees more than `-c`
    /// sessions from us). Never waits past the host's deadline.
    fn close(&self, host_deadline: Option<(Instant, Duration)>) {
        let bye = Deadline::new(
            Instant::now(),
            Phase::Command,
            Some(CLOSE_WAIT),
            host_deadline,
        );
        let Some(until) = bye.at else { return };
        if bye.passed() {
            return;
        }
        if !matches!(
            self.drive(&bye, || self.session.disconnect(None, "done", None)),
            Ok(Ok(()))
        ) {
            return;
        }
        // SAFETY: shuts down writing on the socket this connection owns.
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_WR);
        }
        let mut sink = [0u8; 512];
        while Instant::now() < until && !self.cancel.is_cancelled() {
            let left = until.saturating_duration_since(Instant::now());
            if !poll(self.fd, libc::POLLIN, left.min(TICK)) {
                continue;
            }
            // SAFETY: reads into a buffer we own from the socket we own.
            let n = unsafe {
                libc::recv(
                    self.fd,
                    sink.as_mut_ptr().cast(),
                    sink.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n == 0
                || (n < 0
                    && std::io::Error::last_os_error().kind() != std::io::ErrorKind::WouldBlock)
            {
                return;
            }
        }
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        // SAFETY: the session still owns the socket (it is closed when the
        // session drops, after this); shutting it down makes every libssh2
        // send or receive fail at once, so freeing never waits on the peer.
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_RDWR);
        }
    }
}

/// Polls one descriptor for `events` for at most `wait` (rounded up to a
/// millisecond); whether it became ready.
pub(crate) fn poll(fd: RawFd, events: libc::c_short, wait: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: polls one pollfd we own.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    rc > 0
}

/// The last non-empty line of `text`, shortened to its last
/// [`TAIL_BLOCKING`](fanout_transport::ssh::TAIL_BLOCKING) characters, for
/// "last output seen" in timeout messages.
pub(crate) fn last_output(text: &str) -> Option<String> {
    fanout_transport::last_line(text, fanout_transport::ssh::TAIL_BLOCKING)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::{HostKeyPolicy, Worker};
    use fanout_engine::blocking::HostRun;

    #[test]
    fn a_cli_hosts_budget_counts_every_exchange_every_attempt_and_the_goodbye() {
        use fanout_core::{CliMode, Platform};
        use fanout_engine::max_host_duration;
        let target = Target::new("r1", "127.0.0.1");
        let secs = Duration::from_secs;
        let shared = SshShared::new(HostKeyVerifier::new(HostKeyPolicy::Off, &[]).unwrap());
        let transport = Some(&shared as &dyn BlockingTransport);
        // A cli task in config mode on IOS: first prompt, Enter, terminal
        // length 0, enable, secret, configure terminal, 2 commands, end,
        // exit: 10 exchanges of the command timeout, plus connect and auth.
        let mut cli = Job::new(Task::Cli {
            commands: vec!["interface lo1".into(), "description x".into()],
            mode: CliMode::Config,
        });
        cli.timeouts.connect = Some(secs(10));
        cli.timeouts.auth = Some(secs(10));
        cli.timeouts.command = Some(secs(1));
        let close = CLOSE_WAIT;
        assert_eq!(
            max_host_duration(&cli, &target, transport),
            Some(secs(30) + close)
        );
        let mut linux = target.clone();
        linux.platform = Some(Platform::Linux);
        // No paging, enable or configuration mode on Linux.
        assert_eq!(
            max_host_duration(&cli, &linux, transport),
            Some(secs(25) + close)
        );
        cli.retry.retries = u32::MAX;
        assert!(
            max_host_duration(&cli, &target, transport).is_some(),
            "saturates, no overflow"
        );
    }

    #[test]
    fn debug_output_never_shows_a_loaded_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id_test");
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAc2VjcmV0LWtleS1tYXRlcmlhbA\n-----END OPENSSH PRIVATE KEY-----\n";
        std::fs::write(&path, pem).unwrap();
        let shared = SshShared::new(HostKeyVerifier::new(HostKeyPolicy::Off, &[]).unwrap());
        let loaded = shared.keys.get(&path);
        assert_eq!(loaded.as_ref().as_ref().map(Secret::expose), Ok(pem));
        let cancel = CancelToken::new();
        let run = HostRun {
            worker: Worker::Thread(0),
            cancel: &cancel,
            connect_rate: None,
            transport: Some(&shared),
        };
        for debug in [
            format!("{shared:?}"),
            format!("{run:?}"),
            format!("{run:#?}"),
        ] {
            assert!(debug.contains("id_test"), "names the key file: {debug}");
            for material in ["BEGIN OPENSSH", "b3BlbnNzaC1rZXkt", "c2VjcmV0"] {
                assert!(!debug.contains(material), "key material in Debug: {debug}");
            }
        }
    }
}
