//! At most so many SSH handshakes at once in this process, whatever `-c`.
//!
//! A handshake is CPU work on both ends (key exchange, host-key check).
//! The OS shares the CPU between threads fairly, so 10,000 threads that
//! start their handshakes together all progress together and all finish
//! late: on 2 cores, 10,000 at once took past the 10 s connect timeout
//! for thousands of them, where the same handshakes one after another take
//! about a millisecond each. The gate lets [`HandshakeGate::per_core`]
//! handshakes run per core and queues the rest, roughly in arrival order
//! (a futex wakes its waiters first come, first served, though a host
//! arriving as a slot frees may take it first), each waiting at no CPU
//! cost. A slot is taken once the TCP connection (or the jump host's
//! channel) is open, so a device that does not answer holds none, and
//! given back when the handshake and host-key check are over. The connect
//! clock stops while the host waits: the wait, like a `--connect-rate`
//! wait, counts in the host's total time, not in its connect time, and the
//! host's own timeout (`--timeout host=`) still applies. tokio's tasks need
//! no such gate: a runtime thread runs each task's handshake step to its
//! next wait, in turn.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Wake, Waker};

use fanout_core::CancelToken;
use fanout_engine::{AttemptError, Deadline};

/// Handshakes in progress at once, per core of the machine. Far above what
/// a loopback fleet needs to keep the CPU busy (a handshake waits on a
/// round trip or two), and enough for devices a WAN round trip away:
/// 1,024 on 2 cores, each taking a second, is still about the 900
/// handshakes a second those 2 cores can do (README, Simulator).
pub(crate) const PER_CORE: usize = 512;

/// The run's handshake slots.
#[derive(Debug)]
pub(crate) struct HandshakeGate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A handshake slot, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    gate: &'a HandshakeGate,
}

impl HandshakeGate {
    /// A gate of `slots` handshakes at once (at least 1).
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                free: Mutex::new(slots.max(1)),
                freed: Condvar::new(),
            }),
        }
    }

    /// [`PER_CORE`] slots for each core this process may run on.
    pub(crate) fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores.saturating_mul(PER_CORE))
    }

    /// Waits for a slot, until `deadline` (the host's own: a queued host
    /// still times out on time) or a cancel, whichever comes first.
    pub(crate) fn acquire(
        &self,
        cancel: &CancelToken,
        deadline: &Deadline,
    ) -> Result<Slot<'_>, AttemptError> {
        let mut cancelled = std::pin::pin!(cancel.cancelled());
        let mut registered = false;
        let mut free = self.lock();
        loop {
            if cancel.is_cancelled() {
                return Err(AttemptError::cancelled());
            }
            if *free > 0 {
                *free -= 1;
                return Ok(Slot { gate: self });
            }
            // Before the first wait, woken by a cancel: the token wakes
            // this waker, which takes the lock before notifying, so a
            // cancel between the check above and the wait is not missed.
            if !registered {
                registered = true;
                let waker = Waker::from(self.inner.clone());
                let now =
                    std::future::Future::poll(cancelled.as_mut(), &mut Context::from_waker(&waker));
                if now.is_ready() {
                    return Err(AttemptError::cancelled());
                }
            }
            let freed = &self.inner.freed;
            free = match deadline.remaining() {
                None => freed.wait(free).unwrap_or_else(PoisonError::into_inner),
                Some(left) if left.is_zero() => return Err(deadline.timeout_error(Vec::new())),
                Some(left) => {
                    freed
                        .wait_timeout(free, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.inner
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Wake for Inner {
    fn wake(self: Arc<Self>) {
        let _free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        self.freed.notify_all();
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.gate.lock() += 1;
        self.gate.inner.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::Phase;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    #[test]
    fn no_more_than_the_slots_hold_at_once_and_every_waiter_gets_one() {
        let gate = HandshakeGate::new(3);
        let cancel = CancelToken::new();
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..24 {
                s.spawn(|| {
                    let slot = gate.acquire(&cancel, &forever()).expect("not cancelled");
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    inside.fetch_sub(1, Ordering::SeqCst);
                    drop(slot);
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(*gate.lock(), 3, "every slot given back");
    }

    #[test]
    fn a_cancel_frees_every_waiter_at_once() {
        let gate = Arc::new(HandshakeGate::new(1));
        let cancel = CancelToken::new();
        let held = gate.acquire(&cancel, &forever()).expect("a free slot");
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..4 {
            let (gate, cancel, tx) = (gate.clone(), cancel.clone(), tx.clone());
            std::thread::spawn(move || {
                let got = gate.acquire(&cancel, &forever());
                let _ = tx.send(got.err().map(|e| e.kind));
            });
        }
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "waiters wait while the slot is held"
        );
        cancel.cancel();
        for _ in 0..4 {
            let got = rx.recv_timeout(Duration::from_secs(10));
            assert_eq!(
                got,
                Ok(Some(fanout_core::ErrorKind::Cancelled)),
                "a cancelled waiter returns, without a slot"
            );
        }
        drop(held);
        assert!(
            gate.acquire(&cancel, &forever()).is_err(),
            "cancelled before asking"
        );
        assert_eq!(*gate.lock(), 1);
    }

    #[test]
    fn a_queued_host_times_out_at_its_own_deadline() {
        let gate = HandshakeGate::new(1);
        let cancel = CancelToken::new();
        let _held = gate.acquire(&cancel, &forever()).expect("a free slot");
        let started = Instant::now();
        let host = Some((
            started + Duration::from_millis(300),
            Duration::from_millis(300),
        ));
        let deadline = Deadline::new(started, Phase::Host, None, host);
        let err = gate.acquire(&cancel, &deadline).expect_err("no slot frees");
        assert_eq!(err.kind, fanout_core::ErrorKind::Timeout);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "{took:?}"
        );
    }

    /// No deadline at all.
    fn forever() -> Deadline {
        Deadline::new(Instant::now(), Phase::Connect, None, None)
    }
}
