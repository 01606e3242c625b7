//! Accepting connections, whatever the transport: the accept loop, and
//! what happens before the first byte of SSH or telnet — the session limit
//! (`max_sessions`), sshd's `MaxStartups`, `hang_on_connect`, the banner
//! delay — then the transport's own session.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::device::Device;
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
                let why = format!(
                    "too many sessions: all {} of {} are in use, try again later",
                    device.spec.max_sessions.map_or(0, |l| l.max),
                    device.spec.name
                );
                if device.telnet {
                    crate::telnet::refuse_busy(socket, &why).await;
                } else {
                    crate::ssh::refuse_busy(socket, device, why).await;
                }
                return;
            }
        },
    };
    let _serving = device.serving();
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
        crate::wire::reset_on_close(&socket);
    }
    if device.telnet {
        crate::telnet::session(socket, device, startup).await;
    } else {
        crate::ssh::session(socket, device, startup).await;
    }
}
