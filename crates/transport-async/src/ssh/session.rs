//! One SSH session on russh: TCP connect and handshake with the host key
//! checked by the run's verifier, and a polite disconnect. The socket russh
//! drives comes back to the attempt when russh lets go of it, so the
//! attempt can wait for the device to close its end; and it fails once the
//! attempt is gone, so russh's session task never outlives it.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use fanout_core::{ErrorKind, HostKeyPolicy, Target};
use fanout_engine::AttemptError;
use fanout_hostkeys::{HostKeyError, HostKeyVerifier};
use fanout_transport::ssh::{Family, endpoint, text};
use russh::client::{self, Handle, Session};
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use russh::{ChannelId, ChannelOpenFailure, Disconnect};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::Shared;

/// Says goodbye and waits until the device has closed its end, so that
/// the connection is over on both sides before this host's permit goes to
/// the next host: a device (or sshd's MaxSessions) never sees more than
/// `-c` connections from us, not even for a moment.
pub(super) async fn close(handle: Handle<Client>, socket_back: oneshot::Receiver<Stream>) {
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

/// Any byte stream a session can run over: a TCP socket, a `direct-tcpip`
/// channel of a jump host, a proxy command's stdio.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The stream under a session.
pub(super) type Stream = Box<dyn Io>;

/// The stream russh drives; when russh drops it, the socket goes back
/// to the host (through `back`) instead of being closed, so the host can
/// wait for the device to close its end.
///
/// Once `killed` resolves (its attempt is gone), every read and write
/// fails and the socket is closed: russh's session task, which owns this
/// stream, then ends instead of waiting on the device forever.
struct Returning {
    socket: Option<Stream>,
    back: Option<oneshot::Sender<Stream>>,
    killed: Option<oneshot::Receiver<()>>,
}

impl Returning {
    fn socket(&mut self, cx: &mut Context<'_>) -> std::io::Result<Pin<&mut Stream>> {
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
pub(super) struct Client {
    verifier: Arc<HostKeyVerifier>,
    target: Arc<Target>,
    /// The server's words when it refused to open a channel (a jump host
    /// refusing a forward says why here, not in the error).
    refusal: Refusal,
    /// The legacy algorithms the first key exchange agreed on.
    legacy: Legacy,
    /// Where the device's disconnect message goes, once.
    farewell: Option<oneshot::Sender<Farewell>>,
}

/// Why the device ended the connection, in its own words: the reason code
/// and description of its SSH disconnect (`TooManyConnections`, "too many
/// sessions: ...").
#[derive(Debug)]
pub(super) struct Farewell {
    code: u32,
    description: String,
}

impl Farewell {
    /// A device out of sessions (vty lines, sshd's MaxSessions or
    /// MaxStartups) says so with this reason: no credential was judged.
    pub(super) fn out_of_sessions(&self) -> bool {
        self.code == text::TOO_MANY_CONNECTIONS
    }

    /// Its words for a message ([`text::disconnect_words`]).
    pub(super) fn words(&self) -> String {
        text::disconnect_words(self.code, &self.description)
    }
}

/// What became of a session's connection, known once its session task has
/// ended: the device's [`Farewell`], or nothing (the connection failed, or
/// the task ended without the device saying goodbye).
pub(super) struct Ending(oneshot::Receiver<Farewell>);

impl Ending {
    /// The device's farewell, waiting for the session task to end; only
    /// when `handle` is closed (the task is ending: its handler, holding
    /// the sender, goes with it), never on a live connection.
    pub(super) async fn farewell(&mut self, handle: &Handle<Client>) -> Option<Farewell> {
        if handle.is_closed() {
            (&mut self.0).await.ok()
        } else {
            None
        }
    }

    /// The farewell if the session task has ended already.
    fn now(&mut self) -> Option<Farewell> {
        self.0.try_recv().ok()
    }
}

/// Where [`Client`] keeps the legacy algorithms its key exchange agreed on.
pub(super) type Legacy = Arc<Mutex<Vec<String>>>;

/// Where [`Client`] keeps the description of the last refused channel.
pub(super) type Refusal = Arc<Mutex<Option<String>>>;

/// What the host-key check needs of `target`: its name, endpoint,
/// host-key policy and own known_hosts files (not its credentials or
/// variables).
fn key_check_target(target: &Target) -> Target {
    let mut t = Target::new(target.name.clone(), target.address.clone());
    t.port = target.port;
    t.host_keys = target.host_keys;
    t.reach.known_hosts = target.reach.known_hosts.clone();
    t
}

/// Why the handshake ended: russh's error, or the host key was refused.
#[derive(Debug)]
pub(super) enum ClientError {
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

    async fn channel_open_failure(
        &mut self,
        _channel: ChannelId,
        reason: ChannelOpenFailure,
        description: &str,
        _language: &str,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let code = match reason {
            ChannelOpenFailure::AdministrativelyProhibited => "administratively prohibited",
            ChannelOpenFailure::ConnectFailed => "connect failed",
            ChannelOpenFailure::UnknownChannelType => "unknown channel type",
            ChannelOpenFailure::ResourceShortage => "resource shortage",
            ChannelOpenFailure::Other { .. } => "refused",
        };
        let words = if description.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {description}")
        };
        *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(words);
        Ok(())
    }

    async fn kex_done(
        &mut self,
        _shared_secret: Option<&[u8]>,
        names: &russh::Names,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let mut legacy = self.legacy.lock().unwrap_or_else(|e| e.into_inner());
        // The first key exchange is the handshake; a rekey agrees on the
        // same lists.
        if legacy.is_empty() {
            *legacy = fanout_transport::ssh::legacy_negotiated([
                (Family::Kex, names.kex.as_ref()),
                (Family::HostKey, names.key.as_str()),
                (Family::Cipher, names.cipher.as_ref()),
                (Family::Mac, names.client_mac.as_ref()),
                (Family::Mac, names.server_mac.as_ref()),
            ]);
        }
        Ok(())
    }

    async fn disconnected(
        &mut self,
        reason: client::DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        match reason {
            client::DisconnectReason::ReceivedDisconnect(info) => {
                if let Some(tx) = self.farewell.take() {
                    let _ = tx.send(Farewell {
                        code: info.reason_code as u32,
                        description: info.message,
                    });
                }
                Ok(())
            }
            client::DisconnectReason::Error(e) => Err(e),
        }
    }

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

/// A handshake's session.
pub(super) struct Handshake {
    pub(super) handle: Handle<Client>,
    /// The socket, once russh lets go of it ([`close`]).
    pub(super) socket_back: oneshot::Receiver<Stream>,
    /// Where a refused channel's reason is kept.
    pub(super) refusal: Refusal,
    /// The legacy algorithms it agreed on.
    pub(super) legacy: Vec<String>,
    /// Why the device ended it, once it has.
    pub(super) ending: Ending,
}

/// TCP connect to `target`, then the SSH handshake over it.
pub(super) async fn connect(
    shared: &Shared,
    target: &Target,
    killed: oneshot::Receiver<()>,
) -> Result<Handshake, AttemptError> {
    let tcp = tcp_connect(target).await?;
    let _ = tcp.set_nodelay(true);
    connect_over(shared, target, Box::new(tcp), killed).await
}

/// The SSH handshake with `target` over `stream` (a socket, a jump host's
/// channel, a proxy command's stdio), the host key checked.
pub(super) async fn connect_over(
    shared: &Shared,
    target: &Target,
    stream: Stream,
    killed: oneshot::Receiver<()>,
) -> Result<Handshake, AttemptError> {
    let config = shared.config_for(target)?;
    let refusal = Refusal::default();
    let legacy = Legacy::default();
    let (farewell, ending) = oneshot::channel();
    let mut ending = Ending(ending);
    let handler = Client {
        verifier: shared.verifier.clone(),
        target: Arc::new(key_check_target(target)),
        refusal: refusal.clone(),
        legacy: legacy.clone(),
        farewell: Some(farewell),
    };
    let (back, socket_back) = oneshot::channel();
    let stream = Returning {
        socket: Some(stream),
        back: Some(back),
        killed: Some(killed),
    };
    let handle = client::connect_stream(config, stream, handler)
        .await
        // The session task has ended: what the device said is known.
        .map_err(|e| handshake_error(e, target, ending.now()))?;
    let legacy = std::mem::take(&mut *legacy.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Handshake {
        handle,
        socket_back,
        refusal,
        legacy,
        ending,
    })
}

/// A handshake the device cut off, in its words when it said any: a
/// device out of sessions, sshd's MaxStartups, a closed or reset socket.
pub(super) fn cut_off_handshake(
    target: &Target,
    farewell: Option<&Farewell>,
    otherwise: impl std::fmt::Display,
) -> AttemptError {
    match farewell {
        Some(f) => text::disconnected_in_handshake(target, f.code, &f.description),
        None => text::handshake_failed(target, otherwise).congested(),
    }
}

fn handshake_error(err: ClientError, target: &Target, farewell: Option<Farewell>) -> AttemptError {
    match err {
        ClientError::HostKey(e) => AttemptError::new(e.kind(), None, e.to_string()),
        ClientError::Ssh(russh::Error::NoCommonAlgo { kind, ours, theirs }) => {
            let family = match kind {
                russh::AlgorithmKind::Kex => Some(Family::Kex),
                russh::AlgorithmKind::Key => Some(Family::HostKey),
                russh::AlgorithmKind::Cipher => Some(Family::Cipher),
                russh::AlgorithmKind::Mac => Some(Family::Mac),
                russh::AlgorithmKind::Compression => None,
            };
            let hint = match family.and_then(|f| Some((f, f.spec(&target.reach)?))) {
                Some((f, spec)) => format!(
                    "; the host's ssh_config decides what fanout offers ({} `{spec}`{}): add an \
                     algorithm the device offers there, or enable a supported algorithm on the device",
                    f.keyword(),
                    target
                        .reach
                        .sources
                        .get(f.field())
                        .map(|s| format!(", {s}"))
                        .unwrap_or_default()
                ),
                None => ". Enable a supported algorithm on the device".to_string(),
            };
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
                    "no common {kind} algorithm with {}: the device offered {}; fanout {} {}{hint}",
                    endpoint(target),
                    theirs.join(", "),
                    if family.is_some_and(|f| f.spec(&target.reach).is_some()) {
                        "offered"
                    } else {
                        "supports"
                    },
                    ours.join(", ")
                ),
            )
        }
        ClientError::Ssh(e) if cut_off(&e) => cut_off_handshake(target, farewell.as_ref(), e),
        ClientError::Ssh(e) => text::handshake_failed(target, e),
    }
}

/// Whether the device closed, reset or disconnected the connection during
/// the handshake (sshd's MaxStartups, a device out of sessions), rather
/// than speaking badly.
fn cut_off(e: &russh::Error) -> bool {
    use std::io::ErrorKind as Io;
    match e {
        russh::Error::Disconnect | russh::Error::HUP => true,
        russh::Error::IO(io) => matches!(
            io.kind(),
            Io::UnexpectedEof | Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe
        ),
        _ => false,
    }
}

/// TCP connect to the target's addresses in turn (its IP address as is,
/// or its host name looked up first), as the policy words the failures.
pub(crate) async fn tcp_connect(target: &Target) -> Result<TcpStream, AttemptError> {
    let addrs: Vec<SocketAddr> = match target.address.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::net::lookup_host((target.address.as_str(), target.port))
            .await
            .map_err(|e| text::resolve_failed(target, &e))?
            .collect(),
    };
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(text::connect_failed(target, last.as_ref()))
}
