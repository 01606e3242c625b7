//! An SSH connection in libssh2's non-blocking mode: every call that would
//! block returns `EAGAIN`, and [`Conn::drive`] then polls the socket for at
//! most one [`TICK`] before checking the phase deadline and the cancel
//! token. So a hung device times out on time, and a cancelled host stops
//! within one tick (100 ms) plus the time to close the socket (immediate).

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, CommandOutput, Phase};
use fanout_engine::{AttemptError, Deadline, HostDeadline};
use fanout_transport::ssh::CLOSE_WAIT;
use ssh2::{BlockDirections, ErrorCode, Session};

/// Longest single wait on the socket: bounds how late a deadline or a
/// cancellation is noticed.
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
    /// on, for at most one [`TICK`]; `Err` once cancelled or past the deadline.
    pub(super) fn wait(&self, deadline: &Deadline) -> Result<(), Halt> {
        self.check(deadline)?;
        let events = match self.session.block_directions() {
            BlockDirections::Outbound => libc::POLLOUT,
            BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
            BlockDirections::Inbound | BlockDirections::None => libc::POLLIN,
        };
        let wait = deadline.remaining().map_or(TICK, |left| left.min(TICK));
        poll(self.fd, events, wait);
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
            if !poll(self.fd, libc::POLLIN, left.min(TICK)) {
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

/// Polls one descriptor for `events` for at most `wait` (rounded up to a
/// millisecond); whether it became ready.
pub(crate) fn poll(fd: RawFd, events: libc::c_short, wait: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: polls one pollfd we own.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    rc > 0
}
