use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::CancelToken;

/// A rate such as `50/s` or `600/m`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    per_second: f64,
}

impl Rate {
    /// `n` events per second: between one a day and a billion a second.
    pub fn per_second(n: f64) -> Option<Self> {
        (n.is_finite() && (1.0 / 86_400.0..=1e9).contains(&n)).then_some(Self { per_second: n })
    }

    /// Events per second.
    pub fn as_per_second(self) -> f64 {
        self.per_second
    }

    /// Time between two events.
    pub fn interval(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_second)
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `50/s`, `50/sec`, `600/m`, `3600/h` or a bare `50` (per second).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("invalid rate `{s}`: expected N/s, N/m or N/h, from 1/day to 1e9/s, e.g. 50/s")
        };
        let (n, unit) = s.split_once('/').unwrap_or((s, "s"));
        let n: f64 = n.trim().parse().map_err(|_| bad())?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            _ => return Err(bad()),
        };
        Rate::per_second(n / seconds).ok_or_else(bad)
    }
}

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
    fn parses_rates() {
        assert_eq!("50/s".parse::<Rate>().unwrap().as_per_second(), 50.0);
        assert_eq!("600/m".parse::<Rate>().unwrap().as_per_second(), 10.0);
        assert_eq!("20".parse::<Rate>().unwrap().as_per_second(), 20.0);
        assert!("0/s".parse::<Rate>().is_err());
        assert!("1e-30/s".parse::<Rate>().is_err());
        assert!("5/fortnight".parse::<Rate>().is_err());
    }

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
