//! The run's connect rate: every connection attempt (first tries and
//! retries alike) takes the next slot of one limiter.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, Rate};

/// Spaces out connection opens so at most `rate` start per second, the way
/// sshd's MaxStartups forces real automation to. Shared by all threads of
/// an executor; each call to [`acquire`](Self::acquire) takes the next slot.
#[derive(Debug)]
pub struct ConnectRateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl ConnectRateLimiter {
    /// A limiter for `rate`.
    pub fn new(rate: Rate) -> Self {
        Self {
            interval: rate.interval(),
            next: Mutex::new(None),
        }
    }

    /// Reserves the next slot and returns when it starts.
    pub fn reserve(&self) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let slot = match *next {
            Some(t) if t > now => t,
            _ => now,
        };
        *next = Some(slot + self.interval);
        slot
    }

    /// Blocks until the next slot; returns `false` if cancelled meanwhile.
    pub fn acquire(&self, cancel: &CancelToken) -> bool {
        let slot = self.reserve();
        let wait = slot.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return !cancel.is_cancelled();
        }
        !cancel.sleep(wait)
    }
}

/// Where every connection attempt of a run (first tries and retries
/// alike) waits for its turn, so the run's connect rate holds however many
/// threads or processes make attempts. [`ConnectRateLimiter`] is the
/// in-process gate; the process executor's workers use one that asks the
/// parent's single limiter.
pub trait AttemptGate: Send + Sync {
    /// Blocks until the next attempt may start; `false` if cancelled
    /// meanwhile (the attempt must not start).
    fn acquire(&self, cancel: &CancelToken) -> bool;
}

impl AttemptGate for ConnectRateLimiter {
    fn acquire(&self, cancel: &CancelToken) -> bool {
        ConnectRateLimiter::acquire(self, cancel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_is_an_attempt_gate() {
        let limiter = ConnectRateLimiter::new("20/s".parse().unwrap());
        let gate: &dyn AttemptGate = &limiter;
        let cancel = CancelToken::new();
        let started = Instant::now();
        assert!(gate.acquire(&cancel) && gate.acquire(&cancel) && gate.acquire(&cancel));
        assert!(
            started.elapsed() >= Duration::from_millis(95),
            "{:?}",
            started.elapsed()
        );
        cancel.cancel();
        assert!(!gate.acquire(&cancel), "cancelled: no attempt");
    }

    #[test]
    fn slots_are_spaced_by_the_interval() {
        let limiter = ConnectRateLimiter::new("100/s".parse().unwrap());
        let slots: Vec<Instant> = (0..5).map(|_| limiter.reserve()).collect();
        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(10));
        }
    }
}
