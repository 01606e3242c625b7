//! An SSH connection in libssh2's non-blocking mode: every call that would
//! block returns `EAGAIN`, and [`Conn::drive`] then polls the socket
//! together with the cancel token's descriptor ([`poll_cancellable`]) until
//! the phase deadline. So a hung device times out on time, a cancelled host
//! stops at once, and a waiting host costs no wake-ups: 10,000 threads on
//! a 100 ms timer each were 100,000 context switches a second, most of the
//! CPU of a 10,000-session run (README, Executors).

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, CommandOutput, Phase};
use fanout_engine::{AttemptError, Deadline, HostDeadline};
use fanout_transport::ssh::CLOSE_WAIT;
use ssh2::{BlockDirections, ErrorCode, Session};

/// Longest single wait where no descriptor tells of a cancellation (a jump
/// host's pump and its stop flag, a name lookup, a token without a
/// [`CancelToken::wake_fd`]): bounds how late it is noticed.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// libssh2's "would block".
const EAGAIN: ErrorCode = ErrorCode::Session(-37);

/// Why waiting on the socket stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Halt {
    /// The run was cancelled.
    Cancelled,
    /// The phase deadline passed.
    Deadline,
}

/// An SSH connection in non-blocking mode. Dropping it shuts the socket
/// down first, so libssh2 frees the session without waiting for the peer.
pub(super) struct Conn<'a> {
    pub(super) session: Session,
    pub(super) fd: RawFd,
    pub(super) cancel: &'a CancelToken,
}

impl Conn<'_> {
    /// Runs `op` until it no longer answers `EAGAIN`, waiting on the socket
    /// in between; stops at the deadline or on cancellation.
    pub(super) fn drive<T>(
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
    pub(super) fn check(&self, deadline: &Deadline) -> Result<(), Halt> {
        if self.cancel.is_cancelled() {
            return Err(Halt::Cancelled);
        }
        if deadline.passed() {
            return Err(Halt::Deadline);
        }
        Ok(())
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked
    /// on, the deadline passes or the run is cancelled; `Err` once
    /// cancelled or past the deadline.
    pub(super) fn wait(&self, deadline: &Deadline) -> Result<(), Halt> {
        self.check(deadline)?;
        let events = match self.session.block_directions() {
            BlockDirections::Outbound => libc::POLLOUT,
            BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
            BlockDirections::Inbound | BlockDirections::None => libc::POLLIN,
        };
        poll_cancellable(self.fd, events, deadline.remaining(), self.cancel);
        Ok(())
    }

    /// The error of a halted wait: a timeout of the deadline's phase, or
    /// cancelled; keeps `outputs`.
    pub(super) fn halted(
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

    /// The session and its socket, for a jump host's pump thread, which
    /// shuts the socket down itself when it ends.
    pub(super) fn into_parts(self) -> (Session, RawFd) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the session is moved out
        // exactly once (the other fields are a descriptor and a reference).
        let session = unsafe { std::ptr::read(&this.session) };
        (session, this.fd)
    }

    /// Says goodbye: sends a disconnect, stops sending, and waits briefly
    /// for the device to close its end, so that the device has ended the
    /// session before the next host starts (it never sees more than `-c`
    /// sessions from us). Never waits past the host's deadline.
    pub(super) fn close(&self, host_deadline: HostDeadline) {
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
            if !poll_cancellable(self.fd, libc::POLLIN, Some(left), self.cancel) {
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

/// Waits until `fd` is ready for `events`, `cancel` is cancelled or `wait`
/// has passed (`None`: no limit), rounded up to a millisecond; whether `fd`
/// became ready. It sleeps in one `poll(2)` on `fd` and the token's
/// [`CancelToken::wake_fd`]; without that descriptor, for at most one
/// [`TICK`].
pub(crate) fn poll_cancellable(
    fd: RawFd,
    events: libc::c_short,
    wait: Option<Duration>,
    cancel: &CancelToken,
) -> bool {
    let Some(wake) = cancel.wake_fd() else {
        return poll(fd, events, wait.map_or(TICK, |w| w.min(TICK)));
    };
    let mut pfds = [
        libc::pollfd {
            fd,
            events,
            revents: 0,
        },
        libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&wake),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ms = wait.map_or(-1, millis);
    // SAFETY: polls two pollfds we own; `wake` outlives the call.
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), 2, ms) };
    rc > 0 && pfds[0].revents != 0
}

/// `wait` in whole milliseconds for `poll(2)`, rounded up.
fn millis(wait: Duration) -> libc::c_int {
    wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
}

/// Polls one descriptor for `events` for at most `wait` (rounded up to a
/// millisecond); whether it became ready.
pub(crate) fn poll(fd: RawFd, events: libc::c_short, wait: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = millis(wait);
    // SAFETY: polls one pollfd we own.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    rc > 0
}
