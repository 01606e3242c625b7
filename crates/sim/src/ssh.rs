//! The SSH side of a device: the per-connection russh handler, its exec
//! and interactive-shell channels, and the SSH ends of the faults.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use russh::client::GexParams;
use russh::kex::dh::groups::{DH_GROUP14, DH_GROUP16, DH_GROUP18, DhGroup};
use russh::server::{
    Auth, ChannelOpenHandle, Handle, Msg, PublicKeyOffer, Response, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, Disconnect, MethodKind, MethodSet};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::device::Device;
use crate::faults::Fault;
use crate::limits::Startup;
use crate::session::{ShellTask, Wire};
use crate::wire::{KillSwitch, KillableStream};

/// An admitted connection: the SSH handshake, logins, channels.
pub(crate) async fn session(socket: TcpStream, device: &Arc<Device>, startup: Startup) {
    let kill = Arc::new(KillSwitch::default());
    let stream = KillableStream::new(socket, kill.clone());
    let handler = Connection {
        device: device.clone(),
        kill,
        shells: HashMap::new(),
        closed: HashMap::new(),
        startup: Some(startup),
    };
    if let Ok(running) = russh::server::run_stream(device.config.clone(), stream, handler).await {
        let _ = running.await;
    }
}

/// A connection beyond the session limit: the SSH version exchange, then a
/// disconnect saying why (OpenSSH prints `Received disconnect from ...:
/// too many sessions`), before any key exchange: no login is ever judged,
/// as a device out of vty lines does not.
pub(crate) async fn refuse_busy(mut socket: TcpStream, device: &Arc<Device>, why: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let id = match &device.config.server_id {
        russh::SshId::Standard(id) => id.to_string(),
        russh::SshId::Raw(raw) => raw.trim_end().to_string(),
    };
    let mut out = format!("{id}\r\n").into_bytes();
    out.extend(disconnect_packet(
        Disconnect::TooManyConnections as u32,
        &why,
    ));
    if socket.write_all(&out).await.is_err() {
        return;
    }
    // Close politely: our end first, then wait (at most 5 s) for the
    // client to close its, so the disconnect is read, not reset away.
    let _ = socket.shutdown().await;
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// An SSH_MSG_DISCONNECT in the clear, as it may be sent before the key
/// exchange (RFC 4253 section 11.1): packet length, padding length,
/// payload (message 1, reason code, description, empty language tag),
/// at least 4 bytes of padding to a multiple of 8, no MAC.
fn disconnect_packet(reason: u32, description: &str) -> Vec<u8> {
    let mut payload = vec![1u8];
    payload.extend(reason.to_be_bytes());
    payload.extend((description.len() as u32).to_be_bytes());
    payload.extend(description.as_bytes());
    payload.extend(0u32.to_be_bytes());
    let mut padding = 8 - (4 + 1 + payload.len()) % 8;
    if padding < 4 {
        padding += 8;
    }
    let length = (1 + payload.len() + padding) as u32;
    let mut packet = length.to_be_bytes().to_vec();
    packet.push(padding as u8);
    packet.extend(payload);
    packet.extend(std::iter::repeat_n(0u8, padding));
    packet
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
    /// Counted as unauthenticated (`max_startups`) until it logs in.
    startup: Option<Startup>,
}

impl Connection {
    fn task(&mut self, channel: ChannelId, session: &mut Session) -> ShellTask<SshWire> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shells.insert(channel, tx);
        let closed = Arc::new(AtomicBool::new(false));
        self.closed.insert(channel, closed.clone());
        let wire = SshWire {
            handle: session.handle(),
            channel,
            kill: self.kill.clone(),
            closed,
        };
        ShellTask::new(&self.device, wire, rx)
    }

    fn check_user(&self, user: &str) -> bool {
        !self.device.has(Fault::AuthFail) && user == self.device.spec.username
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

/// A channel's end of a console session.
pub(crate) struct SshWire {
    handle: Handle,
    channel: ChannelId,
    kill: Arc<KillSwitch>,
    /// The client closed this channel (data for a closed channel is
    /// dropped by the session without an error).
    closed: Arc<AtomicBool>,
}

impl Wire for SshWire {
    async fn send(&mut self, bytes: Vec<u8>) -> bool {
        !self.closed.load(Ordering::SeqCst)
            && (bytes.is_empty() || self.handle.data(self.channel, bytes).await.is_ok())
    }

    fn kill(&mut self) {
        self.kill.kill();
    }

    async fn finish(&mut self, exit_status: u32) {
        let _ = self
            .handle
            .exit_status_request(self.channel, exit_status)
            .await;
        let _ = self.handle.eof(self.channel).await;
        let _ = self.handle.close(self.channel).await;
    }
}
