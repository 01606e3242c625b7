//! The way to a device that is not dialled directly, on ssh2: a chain of
//! jump hosts (ProxyJump) or a proxy command ([`super::proxy`]).
//!
//! libssh2 runs a session over a socket descriptor, so each hop's
//! `direct-tcpip` channel is bridged to one end of a
//! `UnixStream::pair()`, and the next session (the next hop, or the
//! device) runs over the other end. The bridge is a [`Pump`]: one thread
//! per hop (`fanout-jump`) that owns the hop's session (in libssh2's
//! non-blocking mode) and moves bytes both ways, waiting on both
//! descriptors for at most one [`TICK`] before checking its stop flag and
//! the run's cancel token. Each hop is connected (connect phase) and logged
//! into (auth phase) on the calling thread, under the host's deadline, with
//! the policy's checks and messages ([`fanout_transport::ssh::jump`]).
//! Dropping the [`Route`] stops every pump (last hop first) and joins its
//! thread, which closes the hop's socket: nothing outlives the host.

use std::io::{ErrorKind as IoKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use fanout_core::{CancelToken, Job, Phase, Target};
use fanout_engine::{AttemptError, HostDeadline, Progress};
use fanout_transport::ssh::jump::{forward_refused, hop_target, next_endpoint, on_hop};
use fanout_transport::ssh::{require_credentials, require_username};
use ssh2::{BlockDirections, Channel, Session};

use super::conn::TICK;
use super::proxy::Proxy;
use super::{Shared, auth, tcp};

/// What keeps the way to the device open: one pump per hop (first hop
/// first), or the proxy command.
#[derive(Default)]
pub(super) struct Route {
    pumps: Vec<Pump>,
    pub(super) proxy: Option<Proxy>,
}

impl Drop for Route {
    fn drop(&mut self) {
        // The device's side first: each pump says goodbye to its hop over
        // the pump before it.
        while let Some(pump) = self.pumps.pop() {
            drop(pump);
        }
    }
}

/// The socket to `target` when it is reached through jump hosts or a proxy
/// command (`None`: dial it directly), and the route that keeps it open.
pub(super) fn open(
    shared: &Shared,
    job: &Job,
    target: &Target,
    host_deadline: HostDeadline,
    cancel: &CancelToken,
    progress: &mut Progress,
) -> Result<(Option<UnixStream>, Route), AttemptError> {
    let mut route = Route::default();
    if target.reach.jump.is_empty() {
        if let Some(command) = &target.reach.proxy_command {
            let (socket, proxy) = Proxy::spawn(target, command)?;
            route.proxy = Some(proxy);
            return Ok((Some(socket), route));
        }
        return Ok((None, route));
    }
    let mut under: Option<UnixStream> = None;
    for (i, hop) in target.reach.jump.iter().enumerate() {
        let hop_t = hop_target(target, hop);
        let user = require_username(&hop_t).map_err(|e| on_hop(e, hop))?;
        require_credentials(&hop_t).map_err(|e| on_hop(e, hop))?;

        let (deadline, started) = progress.enter(job, target, Phase::Connect, host_deadline);
        let connected = match under.take() {
            Some(socket) => super::connect_over(&hop_t, shared, cancel, &deadline, socket),
            None => tcp::connect(&hop_t, cancel, &deadline)
                .and_then(|tcp| super::connect_over(&hop_t, shared, cancel, &deadline, tcp)),
        };
        progress.timings.connect += started.elapsed();
        let conn = connected.map_err(|e| on_hop(e, hop))?;

        let (deadline, started) = progress.enter(job, target, Phase::Auth, host_deadline);
        let authed = auth::authenticate(&conn, &hop_t, user, shared, &deadline);
        progress.timings.auth += started.elapsed();
        authed.map_err(|e| on_hop(e, hop))?;

        let (deadline, started) = progress.enter(job, target, Phase::Connect, host_deadline);
        let (to_host, to_port) = next_endpoint(target, i);
        let opened = conn.drive(&deadline, || {
            conn.session
                .channel_direct_tcpip(&to_host, to_port, Some(("127.0.0.1", 0)))
        });
        progress.timings.connect += started.elapsed();
        let channel = match opened {
            Ok(Ok(channel)) => channel,
            Ok(Err(e)) => {
                let reason = e
                    .message()
                    .strip_prefix("Channel open failure (")
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or(e.message())
                    .to_string();
                return Err(forward_refused(hop, (&to_host, to_port), reason));
            }
            Err(halt) => return Err(on_hop(conn.halted(halt, &deadline, Vec::new()), hop)),
        };
        let (near, far) = UnixStream::pair().map_err(|e| {
            on_hop(
                AttemptError::new(
                    fanout_core::ErrorKind::Connect,
                    None,
                    format!("could not create a socket pair to bridge the forward: {e}"),
                ),
                hop,
            )
        })?;
        // libssh2's non-blocking mode needs a non-blocking socket.
        let _ = far.set_nonblocking(true);
        let (session, fd) = conn.into_parts();
        route.pumps.push(
            Pump::start(session, fd, channel, near, cancel.clone()).map_err(|e| on_hop(e, hop))?,
        );
        under = Some(far);
    }
    Ok((under, route))
}

/// One hop's bridge: a thread moving bytes between the hop's channel and
/// one end of a socket pair; stopped and joined when dropped.
pub(super) struct Pump {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Pump {
    fn start(
        session: Session,
        fd: RawFd,
        channel: Channel,
        local: UnixStream,
        cancel: CancelToken,
    ) -> Result<Self, AttemptError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("fanout-jump".into())
            .stack_size(128 << 10)
            .spawn(move || pump(session, fd, channel, local, &flag, &cancel))
            .map_err(|e| {
                AttemptError::new(
                    fanout_core::ErrorKind::Connect,
                    None,
                    format!("could not start the thread that bridges the forward: {e}"),
                )
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// libssh2's "would block".
fn would_block(e: &std::io::Error) -> bool {
    e.kind() == IoKind::WouldBlock
}

/// The pump's loop: until both directions ended, a side failed, the pump
/// was stopped or the run cancelled. Then it says goodbye to the hop (one
/// non-blocking try) and closes the hop's socket.
fn pump(
    session: Session,
    fd: RawFd,
    mut channel: Channel,
    mut local: UnixStream,
    stop: &AtomicBool,
    cancel: &CancelToken,
) {
    let _ = local.set_nonblocking(true);
    let mut buf = vec![0u8; 32 << 10];
    let (mut to_local, mut to_channel) = (Vec::<u8>::new(), Vec::<u8>::new());
    let (mut channel_eof, mut local_eof, mut eof_sent) = (false, false, false);
    while !stop.load(Ordering::Relaxed) && !cancel.is_cancelled() {
        let mut moved = false;
        if to_local.is_empty() && !channel_eof {
            match channel.read(&mut buf) {
                Ok(0) if channel.eof() => {
                    channel_eof = true;
                    let _ = local.shutdown(std::net::Shutdown::Write);
                    moved = true;
                }
                Ok(0) => {}
                Ok(n) => {
                    to_local.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
        }
        if !to_local.is_empty() {
            match local.write(&to_local) {
                Ok(n) => {
                    to_local.drain(..n);
                    moved = true;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
        }
        if to_channel.is_empty() && !local_eof {
            match local.read(&mut buf) {
                Ok(0) => {
                    local_eof = true;
                    moved = true;
                }
                Ok(n) => {
                    to_channel.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
        }
        if !to_channel.is_empty() {
            match channel.write(&to_channel) {
                Ok(n) => {
                    to_channel.drain(..n);
                    moved = true;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => break,
            }
        }
        if local_eof && to_channel.is_empty() && !eof_sent {
            match channel.send_eof() {
                Ok(()) => {
                    eof_sent = true;
                    moved = true;
                }
                Err(e) if e.code() == ssh2::ErrorCode::Session(-37) => {}
                Err(_) => break,
            }
        }
        if channel_eof && local_eof && eof_sent && to_local.is_empty() {
            break;
        }
        if !moved {
            wait(&session, fd, &local, !to_local.is_empty(), TICK);
        }
    }
    let _ = session.disconnect(None, "done", None);
    drop(channel);
    // SAFETY: shuts down the hop's socket, which this thread's session
    // owns (closed when the session drops, just after).
    unsafe {
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
    drop(session);
}

/// Waits until the hop's socket (in the direction libssh2 is blocked on)
/// or the local end is ready, for at most `tick`.
fn wait(
    session: &Session,
    fd: RawFd,
    local: &UnixStream,
    local_out: bool,
    tick: std::time::Duration,
) {
    let hop_events = match session.block_directions() {
        BlockDirections::Outbound => libc::POLLOUT,
        BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
        BlockDirections::Inbound | BlockDirections::None => libc::POLLIN,
    };
    let mut fds = [
        libc::pollfd {
            fd,
            events: hop_events,
            revents: 0,
        },
        libc::pollfd {
            fd: local.as_raw_fd(),
            events: if local_out {
                libc::POLLOUT
            } else {
                libc::POLLIN
            },
            revents: 0,
        },
    ];
    let ms = tick.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: polls two pollfds we own.
    unsafe {
        libc::poll(fds.as_mut_ptr(), 2, ms);
    }
}
