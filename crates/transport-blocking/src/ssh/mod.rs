//! SSH on ssh2 (libssh2), blocking: the transport of `exec` and `cli`
//! tasks on every blocking executor.
//!
//! One attempt is: TCP connect (non-blocking, so the connect timeout and
//! Ctrl-C both apply, [`tcp`]), SSH handshake, host-key check against
//! known_hosts ([`fanout_hostkeys::HostKeyVerifier`]), authentication (key
//! file, ssh-agent, password, keyboard-interactive, [`auth`]), then an exec
//! channel ([`exec`]) or an interactive shell driven by
//! [`fanout_netcli::Dialog`] ([`shell`]), all in libssh2's non-blocking
//! mode ([`conn`]). What both SSH transports obey is in
//! [`fanout_transport::ssh`].

mod auth;
pub(crate) mod conn;
mod exec;
mod gate;
mod jump;
mod legacy;
mod proxy;
mod shared;
mod shell;
pub(crate) mod tcp;

use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::time::Duration;

use fanout_core::{CancelToken, ErrorKind, Job, Phase, Target, Task};
use fanout_engine::{AttemptError, AttemptResult, Deadline, HostDeadline, Progress};
use fanout_hostkeys::HostKeyVerifier;
use fanout_transport::ssh::{
    CLOSE_WAIT, Family, LEGACY_CIPHERS, LEGACY_KEX, LEGACY_MACS, endpoint, host_key_order, offer,
    text,
};
use ssh2::{ErrorCode, MethodType, Session};

use conn::Conn;
pub(crate) use shared::Shared;

/// The longest one attempt of `job` on `target` takes: connect, auth and
/// the command's exchanges by their timeouts
/// ([`max_attempt`](fanout_transport::ssh::max_attempt)), plus the goodbye
/// ([`CLOSE_WAIT`](fanout_transport::ssh::CLOSE_WAIT)).
pub(crate) fn attempt_budget(job: &Job, target: &Target) -> Option<Duration> {
    fanout_transport::ssh::max_attempt(job, target).map(|a| a.saturating_add(CLOSE_WAIT))
}

/// An attempt whose connection dropped once the run was cancelled is
/// `Cancelled`: a cancel stops the jump hosts' pumps, so the device's
/// session may see its socket close before its own loop sees the cancel.
/// What the device said (auth, host key, a failed command) stays as it is.
pub(crate) fn cancel_wins(e: AttemptError, cancel: &CancelToken) -> AttemptError {
    let dropped = matches!(
        e.kind,
        ErrorKind::Connect | ErrorKind::Channel | ErrorKind::Protocol
    );
    if dropped && cancel.is_cancelled() {
        AttemptError::cancelled().with_outputs(e.outputs)
    } else {
        e
    }
}

/// One attempt of an `exec` or `cli` task on `target` (its error goes
/// through [`cancel_wins`]).
pub(crate) fn attempt(
    shared: &Shared,
    job: &Job,
    target: &Target,
    host_deadline: HostDeadline,
    cancel: &CancelToken,
    progress: &mut Progress,
) -> AttemptResult {
    // Checked before any connection is opened.
    let user = fanout_transport::ssh::require_username(target)?;
    fanout_transport::ssh::require_credentials(target)?;
    // The ssh_config algorithm lists must apply (the same check again when
    // the session is made).
    methods(&shared.verifier, target)?;

    // Jump hosts (each in the connect and auth phases) or a proxy command
    // first, when the target has them; dropped last, after the device.
    let (through, mut route) = jump::open(shared, job, target, host_deadline, cancel, progress)?;

    let (deadline, started) = progress.enter(job, target, Phase::Connect, host_deadline);
    let stream = match through {
        Some(socket) => Ok(Dialled::Through(socket)),
        None => tcp::connect(target, cancel, &deadline).map(Dialled::Tcp),
    };
    // The handshake waits for a slot ([`gate`]); the connect clock stops
    // meanwhile (the wait counts in the host's total only), the host's own
    // deadline does not.
    let mut waited = Duration::ZERO;
    let connected = stream.and_then(|stream| {
        let asked = std::time::Instant::now();
        let host = Deadline::new(started, Phase::Host, None, host_deadline);
        let slot = shared.handshakes.acquire(cancel, &host)?;
        waited = asked.elapsed();
        let deadline =
            Deadline::for_phase(job, target, Phase::Connect, started + waited, host_deadline);
        let conn = connect_over(target, shared, cancel, &deadline, stream);
        drop(slot);
        conn
    });
    progress.timings.connect += started.elapsed().saturating_sub(waited);
    let conn = match (connected, &mut route.proxy) {
        (Ok(conn), _) => conn,
        (Err(e), Some(proxy)) => return Err(proxy.explain(target, e)),
        (Err(e), None) => return Err(e),
    };
    progress.set_legacy_algorithms(legacy_negotiated(&conn.session));

    let (deadline, started) = progress.enter(job, target, Phase::Auth, host_deadline);
    let authed = auth::authenticate(&conn, target, user, shared, &deadline);
    progress.timings.auth += started.elapsed();
    authed?;

    let (deadline, started) = progress.enter(job, target, Phase::Command, host_deadline);
    let result = match &job.task {
        Task::Exec { command } => exec::run(&conn, target, command, &deadline),
        Task::Cli { commands, mode } => {
            shell::run(&conn, target, job, commands, *mode, host_deadline)
        }
        other => Err(fanout_transport::ssh::not_an_ssh_task(other)),
    };
    progress.timings.command += started.elapsed();
    if !matches!(&result, Err(e) if matches!(e.kind, ErrorKind::Timeout | ErrorKind::Cancelled)) {
        conn.close(host_deadline);
    }
    drop(conn);
    drop(route);
    result
}

/// The device's end of the way to it: a TCP socket, or a jump host's
/// channel (or a proxy command's stdio) bridged to a socket pair.
enum Dialled {
    Tcp(std::net::TcpStream),
    Through(std::os::unix::net::UnixStream),
}

impl AsRawFd for Dialled {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            Self::Tcp(s) => s.as_raw_fd(),
            Self::Through(s) => s.as_raw_fd(),
        }
    }
}

/// Handshake and host-key check over `stream` (a TCP socket, a jump
/// host's bridged channel, a proxy command's socket).
fn connect_over<'a>(
    target: &Target,
    shared: &Shared,
    cancel: &'a CancelToken,
    deadline: &Deadline,
    stream: impl AsRawFd + 'static,
) -> Result<Conn<'a>, AttemptError> {
    let fd = stream.as_raw_fd();
    let mut session = new_session()?;
    session.set_blocking(false);
    prefer_methods(&session, &shared.verifier, target)?;
    session.set_tcp_stream(stream);
    let conn = Conn {
        session,
        fd,
        cancel,
    };
    let mut handshaking = conn.session.clone();
    let handshake = conn.drive(deadline, || handshaking.handshake());
    drop(handshaking);
    match handshake {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(handshake_error(conn, &e, target, cancel, deadline)),
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

fn new_session() -> Result<Session, AttemptError> {
    Session::new().map_err(|e| {
        AttemptError::new(
            ErrorKind::Protocol,
            None,
            format!("libssh2 could not create a session: {e}"),
        )
    })
}

fn handshake_error(
    conn: Conn<'_>,
    e: &ssh2::Error,
    target: &Target,
    cancel: &CancelToken,
    deadline: &Deadline,
) -> AttemptError {
    match e.code() {
        // -5 kex failure, -8 key exchange failure, -33 method not supported:
        // the probe connects again, once this connection's socket is closed.
        ErrorCode::Session(-5 | -8 | -33) => {
            drop(conn);
            legacy::explain(target, e, cancel, deadline)
        }
        // -2 banner not received, -7 / -43 socket send / receive failed,
        // -13 the device disconnected: it cut the handshake off.
        ErrorCode::Session(-2 | -7 | -13 | -43) => {
            text::handshake_failed(target, e.message()).congested()
        }
        _ => text::handshake_failed(target, e.message()),
    }
}

/// Algorithm preferences: libssh2's own order with the legacy algorithms
/// old devices offer moved last (libssh2 drops the ones it was built
/// without), each family as the target's ssh_config lists make it
/// ([`fanout_transport::ssh::offer`]); and, unless `HostKeyAlgorithms` is
/// set, the host-key types known_hosts has for the target first, as
/// OpenSSH does. A list that cannot be applied fails the host before it
/// connects.
fn prefer_methods(
    session: &Session,
    verifier: &HostKeyVerifier,
    target: &Target,
) -> Result<(), AttemptError> {
    for (kind, list) in methods(verifier, target)? {
        let _ = session.method_pref(kind, &list);
    }
    Ok(())
}

/// The method preferences of [`prefer_methods`]: (method, comma list).
fn methods(
    verifier: &HostKeyVerifier,
    target: &Target,
) -> Result<Vec<(MethodType, String)>, AttemptError> {
    let prefs = Prefs::get()?;
    let mut out = Vec::new();
    for (family, kinds) in [
        (Family::Kex, &[MethodType::Kex][..]),
        (
            Family::Cipher,
            &[MethodType::CryptCs, MethodType::CryptSc][..],
        ),
        (Family::Mac, &[MethodType::MacCs, MethodType::MacSc][..]),
        (Family::HostKey, &[MethodType::HostKey][..]),
    ] {
        let (defaults, supported) = prefs.family(family);
        let list = match offer(target, family, defaults, supported, "libssh2")? {
            Some(list) => list,
            None if family == Family::HostKey => {
                let known = verifier.known_key_types(target);
                if known.is_empty() {
                    continue;
                }
                host_key_order(defaults, &known, |n| n)
                    .into_iter()
                    .map(String::from)
                    .collect()
            }
            None => defaults.iter().map(|n| n.to_string()).collect(),
        };
        if list.is_empty() {
            continue;
        }
        for kind in kinds {
            out.push((*kind, list.join(",")));
        }
    }
    Ok(out)
}

/// What fanout offers `target` for `family` when its ssh_config sets a
/// list (`None`: it does not, or the list does not apply).
fn offered(target: &Target, family: Family) -> Option<Vec<String>> {
    let prefs = Prefs::get().ok()?;
    let (defaults, supported) = prefs.family(family);
    offer(target, family, defaults, supported, "libssh2")
        .ok()
        .flatten()
}

/// The legacy algorithms the handshake of `session` agreed on.
fn legacy_negotiated(session: &Session) -> Vec<String> {
    let got = |kind| session.methods(kind).unwrap_or_default();
    fanout_transport::ssh::legacy_negotiated([
        (Family::Kex, got(MethodType::Kex)),
        (Family::HostKey, got(MethodType::HostKey)),
        (Family::Cipher, got(MethodType::CryptCs)),
        (Family::Cipher, got(MethodType::CryptSc)),
        (Family::Mac, got(MethodType::MacCs)),
        (Family::Mac, got(MethodType::MacSc)),
    ])
}

/// Method lists, computed once per process: per family, what fanout
/// offers by default (libssh2's order, legacy algorithms last) and all
/// this libssh2 supports.
struct Prefs {
    kex: (Vec<&'static str>, Vec<&'static str>),
    crypt: (Vec<&'static str>, Vec<&'static str>),
    mac: (Vec<&'static str>, Vec<&'static str>),
    host_key: (Vec<&'static str>, Vec<&'static str>),
}

impl Prefs {
    fn get() -> Result<&'static Prefs, AttemptError> {
        static PREFS: OnceLock<Prefs> = OnceLock::new();
        if let Some(prefs) = PREFS.get() {
            return Ok(prefs);
        }
        let session = new_session()?;
        Ok(PREFS.get_or_init(|| {
            let list = |kind: MethodType, legacy: &[&'static str]| {
                let supported = session.supported_algs(kind).unwrap_or_default();
                let mut names: Vec<&'static str> = supported
                    .iter()
                    .copied()
                    .filter(|n| !legacy.contains(n))
                    .collect();
                names.extend(legacy.iter().filter(|n| supported.contains(*n)));
                (names, supported)
            };
            Prefs {
                kex: list(MethodType::Kex, LEGACY_KEX),
                crypt: list(MethodType::CryptCs, LEGACY_CIPHERS),
                mac: list(MethodType::MacCs, LEGACY_MACS),
                host_key: list(MethodType::HostKey, &[]),
            }
        }))
    }

    /// The defaults and everything supported of `family`.
    fn family(&self, family: Family) -> (&[&'static str], &[&'static str]) {
        let (defaults, supported) = match family {
            Family::Kex => &self.kex,
            Family::HostKey => &self.host_key,
            Family::Cipher => &self.crypt,
            Family::Mac => &self.mac,
        };
        (defaults, supported)
    }
}

/// A cancel token cancelled after `after` by a thread of its own (join it).
#[cfg(test)]
fn cancel_after(after: Duration) -> (CancelToken, std::thread::JoinHandle<()>) {
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            cancel.cancel();
        })
    };
    (cancel, canceller)
}
