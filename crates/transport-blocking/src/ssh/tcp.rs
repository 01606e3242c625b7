//! TCP connect that honours the connect deadline and cancellation: the
//! host name resolved on a helper thread (getaddrinfo cannot be
//! interrupted; IP addresses need none; its wait ticks every 100 ms),
//! then a non-blocking `connect(2)` polled with the cancel descriptor
//! (std's `connect_timeout` could not be interrupted by Ctrl-C).

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::mpsc::{self, RecvTimeoutError};

use fanout_core::{CancelToken, Target};

use fanout_transport::ssh::text;

use super::conn::{TICK, poll_cancellable};
use fanout_engine::{AttemptError, Deadline};

/// A connected, non-blocking TCP stream to the target, with `TCP_NODELAY`.
pub(crate) fn connect(
    target: &Target,
    cancel: &CancelToken,
    deadline: &Deadline,
) -> Result<TcpStream, AttemptError> {
    let addrs = resolve(target, cancel, deadline)?;
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
    Err(text::connect_failed(target, last.as_ref()))
}

/// The target's addresses: its IP address as is, or its host name looked
/// up on a helper thread, waited for until the deadline or a cancel.
fn resolve(
    target: &Target,
    cancel: &CancelToken,
    deadline: &Deadline,
) -> Result<Vec<SocketAddr>, AttemptError> {
    if let Ok(ip) = target.address.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let (name, port) = (target.address.clone(), target.port);
    let looked_up = lookup_on_thread(
        move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect)
        },
        cancel,
        deadline,
    );
    match looked_up {
        Lookup::Done(Ok(addrs)) => Ok(addrs),
        Lookup::Done(Err(e)) => Err(text::resolve_failed(target, &e)),
        Lookup::Cancelled => Err(AttemptError::cancelled()),
        Lookup::TimedOut => Err(text::resolve_timed_out(
            deadline.timeout_error(Vec::new()),
            target,
        )),
    }
}

/// How a name lookup ended.
enum Lookup<T> {
    Done(io::Result<T>),
    Cancelled,
    TimedOut,
}

/// Runs `lookup` on a thread of its own and waits for it in ticks until
/// the deadline or a cancel. A lookup still running then is left to finish
/// on its own (its result is dropped).
fn lookup_on_thread<T: Send + 'static>(
    lookup: impl FnOnce() -> io::Result<T> + Send + 'static,
    cancel: &CancelToken,
    deadline: &Deadline,
) -> Lookup<T> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("fanout-resolve".into())
        .stack_size(64 << 10)
        .spawn(move || {
            let _ = tx.send(lookup());
        });
    if let Err(e) = spawned {
        return Lookup::Done(Err(io::Error::new(
            e.kind(),
            format!("could not start a thread to look the name up ({e})"),
        )));
    }
    loop {
        if cancel.is_cancelled() {
            return Lookup::Cancelled;
        }
        if deadline.passed() {
            return Lookup::TimedOut;
        }
        let wait = deadline.remaining().map_or(TICK, |left| left.min(TICK));
        match rx.recv_timeout(wait) {
            Ok(result) => return Lookup::Done(result),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Lookup::Done(Err(io::Error::other("the lookup thread died")));
            }
        }
    }
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
            if poll_cancellable(
                stream.as_raw_fd(),
                libc::POLLOUT,
                deadline.remaining(),
                cancel,
            ) {
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use fanout_core::Phase;

    use super::*;

    fn deadline(after: Duration) -> Deadline {
        Deadline::new(Instant::now(), Phase::Connect, Some(after), None)
    }

    fn hanging_lookup() -> io::Result<Vec<SocketAddr>> {
        std::thread::sleep(Duration::from_secs(30));
        Ok(Vec::new())
    }

    #[test]
    fn a_hanging_lookup_ends_at_the_deadline_and_on_cancel() {
        let started = Instant::now();
        let got = lookup_on_thread(
            hanging_lookup,
            &CancelToken::new(),
            &deadline(Duration::from_millis(300)),
        );
        assert!(matches!(got, Lookup::TimedOut));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        let (cancel, canceller) = super::super::cancel_after(Duration::from_millis(200));
        let started = Instant::now();
        let got = lookup_on_thread(hanging_lookup, &cancel, &deadline(Duration::from_secs(60)));
        canceller.join().unwrap();
        assert!(matches!(got, Lookup::Cancelled));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        let got = lookup_on_thread(
            || Ok(7),
            &CancelToken::new(),
            &deadline(Duration::from_secs(5)),
        );
        assert!(matches!(got, Lookup::Done(Ok(7))));
    }

    #[test]
    fn ip_addresses_need_no_lookup_and_names_resolve() {
        let mut target = Target::new("r1", "127.0.0.1");
        target.port = 2201;
        let cancel = CancelToken::new();
        let addrs = resolve(&target, &cancel, &deadline(Duration::from_secs(5))).unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:2201".parse().unwrap()]);
        target.address = "::1".into();
        let addrs = resolve(&target, &cancel, &deadline(Duration::from_secs(5))).unwrap();
        assert_eq!(addrs, vec!["[::1]:2201".parse().unwrap()]);
        // Even a passed deadline does not stop an address that needs no lookup.
        target.address = "127.0.0.1".into();
        let passed = deadline(Duration::ZERO);
        assert!(resolve(&target, &cancel, &passed).is_ok());
        target.address = "localhost".into();
        let addrs = resolve(&target, &cancel, &deadline(Duration::from_secs(10))).unwrap();
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 2201),
            "{addrs:?}"
        );
    }
}
