//! TCP connect that honours the connect deadline and cancellation: a
//! non-blocking `connect(2)` polled in ticks (std's `connect_timeout` could
//! not be interrupted by Ctrl-C).

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd};

use fanout_core::{CancelToken, ErrorKind, Target};

use super::{TICK, endpoint, poll};
use crate::run_host::{AttemptError, Deadline};

/// A connected, non-blocking TCP stream to the target, with `TCP_NODELAY`.
pub(super) fn connect(
    target: &Target,
    cancel: &CancelToken,
    deadline: &Deadline,
) -> Result<TcpStream, AttemptError> {
    let addrs: Vec<SocketAddr> = (target.address.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| {
            AttemptError::new(
                ErrorKind::Connect,
                None,
                format!(
                    "cannot resolve `{}`: {e}; check the hostname in the inventory",
                    target.address
                ),
            )
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        match connect_one(addr, cancel, deadline)? {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    let why = match last {
        Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            "connection refused: nothing listens there; check the port and that SSH is enabled on the device".to_string()
        }
        Some(e) => format!("{e}; check the address and port, and that the device is reachable"),
        None => "the name resolved to no address".to_string(),
    };
    Err(AttemptError::new(
        ErrorKind::Connect,
        None,
        format!("could not connect to {}: {why}", endpoint(target)),
    ))
}

/// One address: `Ok(Err(_))` when the connection failed, `Err(_)` when the
/// deadline passed or the run was cancelled.
fn connect_one(
    addr: SocketAddr,
    cancel: &CancelToken,
    deadline: &Deadline,
) -> Result<io::Result<TcpStream>, AttemptError> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: creates a socket; the result is checked before use.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Ok(Err(io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a fresh socket nobody else owns; the stream closes it.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` holds a valid sockaddr of `len` bytes for `domain`.
    let rc = unsafe { libc::connect(fd, (&raw const storage).cast(), len) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINPROGRESS) {
            return Ok(Err(err));
        }
        loop {
            if cancel.is_cancelled() {
                return Err(AttemptError::cancelled());
            }
            if deadline.passed() {
                return Err(deadline.timeout_error(Vec::new()));
            }
            let wait = deadline.remaining().map_or(TICK, |left| left.min(TICK));
            if poll(stream.as_raw_fd(), libc::POLLOUT, wait) {
                break;
            }
        }
        if let Some(err) = stream.take_error().ok().flatten() {
            return Ok(Err(err));
        }
    }
    Ok(Ok(stream))
}

/// `addr` as a C socket address.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is a valid (unspecified) address.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&raw mut storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}
