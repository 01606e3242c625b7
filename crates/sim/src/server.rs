//! The SSH side of a device: accept loop, per-connection russh handler,
//! exec and interactive-shell channels, and the faults that act on them.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use russh::client::GexParams;
use russh::kex::dh::groups::{DH_GROUP14, DH_GROUP16, DH_GROUP18, DhGroup};
use russh::server::{
    Auth, ChannelOpenHandle, Handle, Msg, PublicKeyOffer, Response, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, Disconnect, MethodKind, MethodSet};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::console::{Console, Step};
use crate::device::{Device, LatencySource, Startup};
use crate::faults::Fault;
use crate::limits::SessionLimitMode;

/// Accepts connections forever. Unlike russh's own `run_on_socket`, an
/// accept() error (e.g. EMFILE when out of descriptors) neither stops the
/// device nor drops its established sessions: it backs off and retries.
pub(crate) async fn serve(listener: TcpListener, device: Arc<Device>) {
    let mut backoff = Duration::from_millis(5);
    loop {
        match listener.accept().await {
            Ok((socket, _peer)) => {
                backoff = Duration::from_millis(5);
                let device = device.clone();
                tokio::spawn(async move {
                    device.stats.connected();
                    connection(socket, &device).await;
                    device.stats.disconnected();
                });
            }
            Err(_) => {
                device.stats.accept_error();
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(200));
            }
        }
    }
}

async fn connection(socket: TcpStream, device: &Arc<Device>) {
    let _ = socket.set_nodelay(true);
    // A session slot (a vty line) is taken at accept time, for the whole
    // connection.
    let _slot = match &device.limit {
        None => None,
        Some((mode, slots)) => match (slots.try_acquire(), mode) {
            (Ok(slot), _) => Some(slot),
            (Err(_), SessionLimitMode::Queue) => {
                device.stats.session_queued();
                match slots.acquire().await {
                    Ok(slot) => Some(slot),
                    Err(_) => return,
                }
            }
            (Err(_), SessionLimitMode::Refuse) => {
                device.stats.session_refused();
                refuse_busy(socket, device).await;
                return;
            }
        },
    };
    // sshd's MaxStartups: closed at once, before the banner.
    let Some(startup) = device.startup() else {
        return;
    };
    if device.has(Fault::HangOnConnect) {
        // Accept the TCP connection, never say a word: read until the client gives up.
        let mut socket = socket;
        let mut sink = [0u8; 1024];
        while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
        return;
    }
    let delay = if device.has(Fault::SlowBanner) {
        device.spec.slow_banner_delay.max(device.spec.banner_delay)
    } else {
        device.spec.banner_delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if device.has(Fault::DropMidOutput) {
        // Reset, not a polite FIN, when the connection is cut.
        reset_on_close(&socket);
    }
    let kill = Arc::new(KillSwitch::default());
    let stream = KillableStream {
        inner: socket,
        kill: kill.clone(),
    };
    let handler = Connection {
        device: device.clone(),
        kill,
        shells: HashMap::new(),
        closed: HashMap::new(),
        refusing: false,
        startup: Some(startup),
    };
    if let Ok(running) = russh::server::run_stream(device.config.clone(), stream, handler).await {
        let _ = running.await;
    }
}

/// A connection beyond the session limit: the SSH version exchange, then a
/// disconnect saying why (OpenSSH prints `Received disconnect from ...:
/// too many sessions`), no login.
async fn refuse_busy(socket: TcpStream, device: &Arc<Device>) {
    let handler = Connection {
        device: device.clone(),
        kill: Arc::new(KillSwitch::default()),
        shells: HashMap::new(),
        closed: HashMap::new(),
        refusing: true,
        startup: None,
    };
    let stream = KillableStream {
        inner: socket,
        kill: handler.kill.clone(),
    };
    let limit = device.spec.max_sessions.map_or(0, |l| l.max);
    if let Ok(running) = russh::server::run_stream(device.config.clone(), stream, handler).await {
        let _ = running
            .handle()
            .disconnect(
                Disconnect::TooManyConnections,
                format!(
                    "too many sessions: all {limit} of {} are in use, try again later",
                    device.spec.name
                ),
                String::new(),
            )
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(5), running).await;
    }
}

/// Per-connection russh handler.
struct Connection {
    device: Arc<Device>,
    kill: Arc<KillSwitch>,
    /// Channels with a console task: keystrokes go to it, and dropping the
    /// sender (channel closed, connection gone) tells the task to end.
    shells: HashMap<ChannelId, mpsc::UnboundedSender<Vec<u8>>>,
    /// Set when the client closes the channel (an EOF from the client does
    /// not close it): tells endless output to stop.
    closed: HashMap<ChannelId, Arc<AtomicBool>>,
    /// A connection beyond the session limit: no login succeeds.
    refusing: bool,
    /// Counted as unauthenticated (`max_startups`) until it logs in.
    startup: Option<Startup>,
}

impl Connection {
    fn task(&mut self, channel: ChannelId, session: &mut Session) -> ShellTask {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shells.insert(channel, tx);
        let closed = Arc::new(AtomicBool::new(false));
        self.closed.insert(channel, closed.clone());
        ShellTask::new(
            &self.device,
            session.handle(),
            channel,
            self.kill.clone(),
            rx,
            closed,
        )
    }

    fn check_user(&self, user: &str) -> bool {
        !self.refusing && !self.device.has(Fault::AuthFail) && user == self.device.spec.username
    }

    /// The time a login takes on this device (AAA lookup).
    async fn auth_delay(&self) {
        let delay = self.device.spec.auth_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    fn verdict(&mut self, ok: bool) -> Auth {
        if ok {
            self.startup = None;
            self.device.stats.login();
            Auth::Accept
        } else {
            self.device.stats.auth_failure();
            Auth::Reject {
                proceed_with_methods: Some(MethodSet::from(
                    &[
                        MethodKind::PublicKey,
                        MethodKind::KeyboardInteractive,
                        MethodKind::Password,
                    ][..],
                )),
                partial_success: false,
            }
        }
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(
                &[
                    MethodKind::PublicKey,
                    MethodKind::KeyboardInteractive,
                    MethodKind::Password,
                ][..],
            )),
            partial_success: false,
        })
    }

    /// Group exchange (legacy devices): the smallest standard safe-prime
    /// group the client accepts — 2048 bits for OpenSSH — as an old box with
    /// one fixed group answers, so that the exchange costs what group14 does
    /// (russh's default would pick 4096 bits for a 3072-bit preference).
    async fn lookup_dh_gex_group(
        &mut self,
        gex: &GexParams,
    ) -> Result<Option<DhGroup>, Self::Error> {
        let accepted = gex.min_group_size()..=gex.max_group_size();
        Ok([&DH_GROUP14, &DH_GROUP16, &DH_GROUP18]
            .into_iter()
            .find(|g| accepted.contains(&g.bit_size()))
            .cloned())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        self.auth_delay().await;
        let ok = self.check_user(user) && password == self.device.spec.password;
        Ok(self.verdict(ok))
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        match response {
            // First round: ask for the password, like IOS does.
            None => Ok(Auth::Partial {
                name: "".into(),
                instructions: "".into(),
                prompts: vec![("Password: ".into(), false)].into(),
            }),
            Some(mut answers) => {
                self.auth_delay().await;
                let given = answers.next();
                let ok = self.check_user(user)
                    && given.as_deref() == Some(self.device.spec.password.as_bytes());
                Ok(self.verdict(ok))
            }
        }
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // Answer the probe honestly so clients move on to their next key.
        if self.check_user(user) && offer.public_key.key_data() == self.device.client_key.key_data()
        {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::Reject {
                proceed_with_methods: None,
                partial_success: false,
            })
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        self.auth_delay().await;
        let ok =
            self.check_user(user) && key.public_key.key_data() == self.device.client_key.key_data();
        Ok(self.verdict(ok))
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let task = self.task(channel, session);
        tokio::spawn(task.run());
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let command = String::from_utf8_lossy(data).into_owned();
        let task = self.task(channel, session);
        tokio::spawn(task.exec(command));
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(tx) = self.shells.get(&channel) {
            let _ = tx.send(data.to_vec());
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.shells.remove(&channel);
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.shells.remove(&channel);
        if let Some(closed) = self.closed.remove(&channel) {
            closed.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Runs one channel's console: echo at once, command output after the
/// simulated latency, faults applied to command output.
struct ShellTask {
    device: Arc<Device>,
    handle: Handle,
    channel: ChannelId,
    kill: Arc<KillSwitch>,
    latency: LatencySource,
    console: Console,
    input: mpsc::UnboundedReceiver<Vec<u8>>,
    /// The client closed this channel.
    closed: Arc<AtomicBool>,
}

impl ShellTask {
    fn new(
        device: &Arc<Device>,
        handle: Handle,
        channel: ChannelId,
        kill: Arc<KillSwitch>,
        input: mpsc::UnboundedReceiver<Vec<u8>>,
        closed: Arc<AtomicBool>,
    ) -> Self {
        let console = device.console();
        Self {
            latency: device.latency_source(),
            device: device.clone(),
            handle,
            channel,
            kill,
            console,
            input,
            closed,
        }
    }

    async fn send(&self, bytes: Vec<u8>) -> bool {
        bytes.is_empty() || self.handle.data(self.channel, bytes).await.is_ok()
    }

    /// Sends a command's output, or misbehaves. Returns false when the
    /// session is over.
    async fn reply(&mut self, bytes: Vec<u8>) -> bool {
        self.device.stats.command();
        if self.device.has(Fault::HangOnCommand) {
            // Never answer; swallow input until the client gives up.
            while self.input.recv().await.is_some() {}
            return false;
        }
        tokio::time::sleep(self.latency.next()).await;
        if self.device.has(Fault::EndlessOutput) {
            self.endless_output().await;
            return false;
        }
        if self.device.has(Fault::DropMidOutput) {
            let half = bytes.len() / 2;
            let _ = self.send(bytes[..half].to_vec()).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.kill.kill();
            return false;
        }
        self.send(bytes).await
    }

    /// Output that never ends, as fast as the client's window allows (it
    /// always finds data waiting), until the client closes the channel or
    /// the connection is gone. Keystrokes are ignored.
    async fn endless_output(&mut self) {
        let chunk = Fault::ENDLESS_LINE.repeat(256).into_bytes();
        // Data for a closed channel is dropped by the session without an
        // error, hence the flag.
        while !self.closed.load(Ordering::SeqCst)
            && self.handle.data(self.channel, chunk.clone()).await.is_ok()
        {
            while self.input.try_recv().is_ok() {}
        }
    }

    async fn run(mut self) {
        if self.device.has(Fault::EndlessOutput) {
            self.endless_output().await;
            return;
        }
        let banner = self.console.open();
        if !self.send(banner).await {
            return;
        }
        while let Some(bytes) = self.input.recv().await {
            for step in self.console.input(&bytes) {
                let alive = match step {
                    Step::Echo(b) => self.send(b).await,
                    Step::Reply(b) => self.reply(b).await,
                    Step::Close => {
                        let _ = self.handle.exit_status_request(self.channel, 0).await;
                        let _ = self.handle.eof(self.channel).await;
                        let _ = self.handle.close(self.channel).await;
                        false
                    }
                };
                if !alive {
                    return;
                }
            }
        }
    }

    async fn exec(mut self, command: String) {
        let reply = self.console.exec(&command);
        if !self.reply(reply.output).await {
            return;
        }
        let _ = self
            .handle
            .exit_status_request(self.channel, reply.exit_status)
            .await;
        let _ = self.handle.eof(self.channel).await;
        let _ = self.handle.close(self.channel).await;
    }
}

/// Lets a fault cut a connection from outside the russh session: once
/// killed, reads see EOF and writes fail, so the session ends and the
/// socket is dropped (with SO_LINGER 0: a reset).
#[derive(Default)]
struct KillSwitch {
    killed: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl KillSwitch {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            w.wake();
        }
    }

    fn killed(&self, cx: &Context<'_>) -> bool {
        if self.killed.load(Ordering::SeqCst) {
            return true;
        }
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        self.killed.load(Ordering::SeqCst)
    }
}

struct KillableStream {
    inner: TcpStream,
    kill: Arc<KillSwitch>,
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.killed(cx) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// SO_LINGER with a zero timeout: closing sends a reset at once (it never
/// blocks, unlike a non-zero linger).
fn reset_on_close(socket: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads `linger` (of the size we pass) on a socket we own.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
