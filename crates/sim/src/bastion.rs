//! SSH jump hosts in front of the fleet (`sim serve --bastion`,
//! [`FleetBuilder::bastions`](crate::FleetBuilder::bastions)): each bastion
//! is an SSH server with its own host key and credentials that opens no
//! shell and forwards `direct-tcpip` channels (what `ssh -J` / ProxyJump
//! asks for) only to the next hop: bastion k to bastion k+1, the last one
//! to the fleet's devices. Anything else is refused with a message. A
//! bastion after the first accepts TCP connections only from the one before
//! it (it checks the peer against the previous bastion's outgoing sockets),
//! so a chain of two is really two hops. Each has sshd's `MaxStartups` if
//! asked, and its own counters.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelOpenFailure, MethodKind, MethodSet, SshId};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::limits::{MaxStartups, Startup, StartupGate};

/// Where a bastion listens, how to log in, and the line known_hosts has for it.
#[derive(Clone, PartialEq, Eq)]
pub struct BastionInfo {
    /// Its name in the written ssh_config (`b1`, `b2`, ...).
    pub name: String,
    /// Listen address (loopback).
    pub address: IpAddr,
    /// Listen port.
    pub port: u16,
    /// Login user.
    pub username: String,
    /// Login password (the fleet's client key is accepted too).
    pub password: String,
    /// Its host key as one OpenSSH known_hosts line (`[addr]:port ssh-ed25519 ...`).
    pub known_hosts_line: String,
    /// The bastion clients must come through to reach this one (`None`
    /// for the first).
    pub via: Option<String>,
}

impl std::fmt::Debug for BastionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BastionInfo")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

/// One bastion's counters at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BastionStats {
    /// TCP connections accepted (including those then dropped or refused).
    pub connections: usize,
    /// Successful logins.
    pub logins: usize,
    /// Rejected authentication attempts.
    pub auth_failures: usize,
    /// `direct-tcpip` channels opened to the next hop.
    pub channels: usize,
    /// `direct-tcpip` requests refused (not the next hop, or it did not answer).
    pub forwards_refused: usize,
    /// Connections dropped by `MaxStartups`.
    pub startups_dropped: usize,
    /// Connections that did not come through the previous bastion, closed at once.
    pub direct_refused: usize,
    /// `direct-tcpip` forwards open now.
    pub forwarding: usize,
    /// The most `direct-tcpip` forwards open at once since it started:
    /// what a client's `--per-jump` cap must keep low.
    pub peak_forwarding: usize,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicUsize,
    logins: AtomicUsize,
    auth_failures: AtomicUsize,
    channels: AtomicUsize,
    forwards_refused: AtomicUsize,
    startups_dropped: AtomicUsize,
    direct_refused: AtomicUsize,
    forwarding: AtomicUsize,
    peak_forwarding: AtomicUsize,
}

impl Counters {
    fn snapshot(&self) -> BastionStats {
        let n = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        BastionStats {
            connections: n(&self.connections),
            logins: n(&self.logins),
            auth_failures: n(&self.auth_failures),
            channels: n(&self.channels),
            forwards_refused: n(&self.forwards_refused),
            startups_dropped: n(&self.startups_dropped),
            direct_refused: n(&self.direct_refused),
            forwarding: self.forwarding.load(Ordering::SeqCst),
            peak_forwarding: self.peak_forwarding.load(Ordering::SeqCst),
        }
    }
}

fn bump(a: &AtomicUsize) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// One open forward, counted in `forwarding` (and its peak) until dropped.
struct Forwarding(Arc<Bastion>);

impl Forwarding {
    fn new(b: &Arc<Bastion>) -> Self {
        let now = b.counters.forwarding.fetch_add(1, Ordering::SeqCst) + 1;
        b.counters.peak_forwarding.fetch_max(now, Ordering::SeqCst);
        Self(b.clone())
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        self.0.counters.forwarding.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The local ends of a bastion's connections to its next hop, so that the
/// next bastion can tell them from direct connections.
pub(crate) type Outgoing = Arc<Mutex<HashSet<SocketAddr>>>;

/// A running bastion.
pub(crate) struct Bastion {
    pub(crate) info: BastionInfo,
    config: Arc<russh::server::Config>,
    client_key: PublicKey,
    /// Where `direct-tcpip` may go.
    allowed: HashSet<SocketAddr>,
    /// How `allowed` reads in a refusal ("the fleet's devices, 127.0.0.1
    /// ports 2201-2210").
    allowed_text: String,
    /// The previous bastion's outgoing sockets: the only peers accepted.
    via: Option<Outgoing>,
    outgoing: Outgoing,
    startups: Arc<StartupGate>,
    counters: Counters,
}

/// What a bastion is before it is bound.
pub(crate) struct BastionSetup {
    pub(crate) name: String,
    pub(crate) address: IpAddr,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) key: PrivateKey,
    pub(crate) client_key: PublicKey,
    pub(crate) max_startups: Option<MaxStartups>,
    pub(crate) seed: u64,
}

impl Bastion {
    pub(crate) fn stats(&self) -> BastionStats {
        self.counters.snapshot()
    }

    pub(crate) fn outgoing(&self) -> Outgoing {
        self.outgoing.clone()
    }
}

/// Binds bastion listeners for `setups` (in chain order), wires each to
/// the next hop (the last to `devices`) and starts serving. Runs inside
/// the fleet's runtime.
pub(crate) async fn start(
    setups: Vec<BastionSetup>,
    devices: &[SocketAddr],
) -> Result<Vec<Arc<Bastion>>, crate::SimError> {
    let mut bound = Vec::with_capacity(setups.len());
    for s in setups {
        let addr = SocketAddr::new(s.address, 0);
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            crate::SimError::Io(format!("bastion {} could not listen on {addr}", s.name), e)
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        bound.push((s, listener, port));
    }
    let hops: Vec<SocketAddr> = bound
        .iter()
        .map(|(s, _, port)| SocketAddr::new(s.address, *port))
        .collect();
    let names: Vec<String> = bound.iter().map(|(s, ..)| s.name.clone()).collect();
    let mut out: Vec<Arc<Bastion>> = Vec::with_capacity(bound.len());
    let last = bound.len().saturating_sub(1);
    for (i, (s, listener, port)) in bound.into_iter().enumerate() {
        let (allowed, allowed_text): (HashSet<SocketAddr>, String) = if i == last {
            (devices.iter().copied().collect(), describe_devices(devices))
        } else {
            (
                HashSet::from([hops[i + 1]]),
                format!("the next bastion, {} at {}", names[i + 1], hops[i + 1]),
            )
        };
        let line = crate::keys::known_hosts_line(&s.address.to_string(), port, s.key.public_key());
        let config = russh::server::Config {
            server_id: SshId::Standard("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3".into()),
            methods: MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..]),
            auth_rejection_time: Duration::from_millis(20),
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![s.key],
            inactivity_timeout: Some(Duration::from_secs(1800)),
            nodelay: true,
            ..Default::default()
        };
        let bastion = Arc::new(Bastion {
            info: BastionInfo {
                name: s.name,
                address: s.address,
                port,
                username: s.username,
                password: s.password,
                known_hosts_line: line,
                via: i.checked_sub(1).map(|p| names[p].clone()),
            },
            config: Arc::new(config),
            client_key: s.client_key,
            allowed,
            allowed_text,
            via: out.last().map(|prev| prev.outgoing()),
            outgoing: Arc::default(),
            startups: Arc::new(StartupGate::new(s.max_startups, s.seed ^ i as u64)),
            counters: Counters::default(),
        });
        tokio::spawn(serve(listener, bastion.clone()));
        out.push(bastion);
    }
    Ok(out)
}

fn describe_devices(devices: &[SocketAddr]) -> String {
    let addrs: std::collections::BTreeSet<IpAddr> = devices.iter().map(|d| d.ip()).collect();
    let lo = devices.iter().map(|d| d.port()).min().unwrap_or(0);
    let hi = devices.iter().map(|d| d.port()).max().unwrap_or(0);
    let addrs: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
    format!(
        "the {} devices of its fleet ({} ports {lo}-{hi})",
        devices.len(),
        addrs.join(",")
    )
}

async fn serve(listener: TcpListener, bastion: Arc<Bastion>) {
    let mut backoff = Duration::from_millis(5);
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                backoff = Duration::from_millis(5);
                let b = bastion.clone();
                tokio::spawn(async move { connection(socket, peer, b).await });
            }
            Err(_) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(200));
            }
        }
    }
}

async fn connection(socket: TcpStream, peer: SocketAddr, b: Arc<Bastion>) {
    bump(&b.counters.connections);
    let _ = socket.set_nodelay(true);
    if let Some(via) = &b.via {
        let through_previous = via
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&peer);
        if !through_previous {
            // As a firewall in front of an inner jump host: closed at once.
            bump(&b.counters.direct_refused);
            crate::wire::reset_on_close(&socket);
            return;
        }
    }
    let Some(startup) = b.startups.admit() else {
        bump(&b.counters.startups_dropped);
        return;
    };
    let handler = Conn {
        bastion: b.clone(),
        startup: Some(startup),
    };
    if let Ok(running) = russh::server::run_stream(b.config.clone(), socket, handler).await {
        let _ = running.await;
    }
}

struct Conn {
    bastion: Arc<Bastion>,
    /// Counted as unauthenticated (`MaxStartups`) until it logs in.
    startup: Option<Startup>,
}

impl Conn {
    fn verdict(&mut self, ok: bool) -> Auth {
        if ok {
            self.startup = None;
            bump(&self.bastion.counters.logins);
            Auth::Accept
        } else {
            bump(&self.bastion.counters.auth_failures);
            reject()
        }
    }

    fn is_client_key(&self, user: &str, key: &PublicKey) -> bool {
        user == self.bastion.info.username && key.key_data() == self.bastion.client_key.key_data()
    }
}

fn reject() -> Auth {
    Auth::Reject {
        proceed_with_methods: Some(MethodSet::from(
            &[MethodKind::PublicKey, MethodKind::Password][..],
        )),
        partial_success: false,
    }
}

/// A refusal OpenSSH prints as `channel 0: open failed: administratively
/// prohibited: WHY`.
fn prohibited(why: String) -> ChannelOpenFailure {
    ChannelOpenFailure::Other {
        code: 1,
        reason: why,
    }
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(reject())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let b = &self.bastion.info;
        let ok = user == b.username && password == b.password;
        Ok(self.verdict(ok))
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.is_client_key(user, offer.public_key) {
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
        let ok = self.is_client_key(user, key.public_key);
        Ok(self.verdict(ok))
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let why = format!(
            "fanout-sim bastion {} opens no shell: it only forwards (ssh -J / ProxyJump) to {}",
            self.bastion.info.name, self.bastion.allowed_text
        );
        reply.reject(prohibited(why)).await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let b = self.bastion.clone();
        let target = destination(host_to_connect, port_to_connect);
        let Some(target) = target.filter(|t| b.allowed.contains(t)) else {
            bump(&b.counters.forwards_refused);
            let why = format!(
                "fanout-sim bastion {} forwards only to {}, not to {host_to_connect}:{port_to_connect}",
                b.info.name, b.allowed_text
            );
            reply.reject(prohibited(why)).await;
            return Ok(());
        };
        tokio::spawn(async move {
            match connect(&b, target).await {
                Ok((tcp, local)) => {
                    bump(&b.counters.channels);
                    let _open = Forwarding::new(&b);
                    reply.accept().await;
                    let mut stream = channel.into_stream();
                    let mut tcp = tcp;
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
                    b.outgoing
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&local);
                }
                Err(e) => {
                    bump(&b.counters.forwards_refused);
                    reply
                        .reject(ChannelOpenFailure::Other {
                            code: 2,
                            reason: format!(
                                "fanout-sim bastion {}: connecting to {target} failed: {e}",
                                b.info.name
                            ),
                        })
                        .await;
                }
            }
        });
        Ok(())
    }
}

/// `host:port` of a `direct-tcpip` request as a socket address (an IP
/// literal, or `localhost`); a name the bastion cannot resolve is refused.
fn destination(host: &str, port: u32) -> Option<SocketAddr> {
    let port = u16::try_from(port).ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = match host {
        "localhost" => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        h => h.parse().ok()?,
    };
    Some(SocketAddr::new(ip, port))
}

/// A TCP connection to the next hop from a socket whose local end is
/// recorded first, so the next bastion recognises it.
async fn connect(b: &Bastion, target: SocketAddr) -> std::io::Result<(TcpStream, SocketAddr)> {
    let socket = match target {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(b.info.address, 0))?;
    let local = socket.local_addr()?;
    b.outgoing
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(local);
    match tokio::time::timeout(Duration::from_secs(10), socket.connect(target)).await {
        Ok(Ok(tcp)) => {
            let _ = tcp.set_nodelay(true);
            Ok((tcp, local))
        }
        failed => {
            b.outgoing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&local);
            Err(match failed {
                Ok(Err(e)) => e,
                _ => std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 10 s"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_ip_literals_or_localhost() {
        assert_eq!(
            destination("127.0.0.1", 2201),
            Some("127.0.0.1:2201".parse().unwrap())
        );
        assert_eq!(
            destination("localhost", 22),
            Some("127.0.0.1:22".parse().unwrap())
        );
        assert_eq!(destination("[::1]", 22), Some("[::1]:22".parse().unwrap()));
        assert_eq!(destination("r1.example.com", 22), None);
        assert_eq!(destination("127.0.0.1", 70000), None);
    }
}
