//! The run's connect rates: every connection attempt (first tries and
//! retries alike) takes the next slot of the run's limiter (`--connect-rate`)
//! and of its first jump hop's (`--per-jump-rate`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, Limits, Rate, Target};

use crate::jump_key;

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
        take_slot(&mut next, self.interval)
    }

    /// Blocks until the next slot; returns `false` if cancelled meanwhile.
    pub fn acquire(&self, cancel: &CancelToken) -> bool {
        wait_for(self.reserve(), cancel)
    }
}

/// The slot at `next` (or now, if that has passed); `next` moves on by
/// `interval`.
fn take_slot(next: &mut Option<Instant>, interval: Duration) -> Instant {
    let now = Instant::now();
    let slot = match *next {
        Some(t) if t > now => t,
        _ => now,
    };
    *next = Some(slot + interval);
    slot
}

/// Sleeps until `slot`; `false` if cancelled meanwhile.
fn wait_for(slot: Instant, cancel: &CancelToken) -> bool {
    let wait = slot.saturating_duration_since(Instant::now());
    if wait.is_zero() {
        return !cancel.is_cancelled();
    }
    !cancel.sleep(wait)
}

/// The run's connect rates, built from its [`Limits`]: `--connect-rate`
/// (one limiter every attempt takes a slot of) and `--per-jump-rate` (one
/// limiter per distinct first jump hop, keyed like `--per-jump` by
/// [`jump_key`]; hosts dialled directly take none). An attempt takes a slot
/// of each limiter that applies to it and starts at the later one, so
/// neither rate is ever exceeded.
#[derive(Debug)]
pub struct ConnectRate {
    global: Option<ConnectRateLimiter>,
    per_jump: Option<PerJump>,
}

#[derive(Debug)]
struct PerJump {
    interval: Duration,
    next: Mutex<HashMap<String, Option<Instant>>>,
}

impl ConnectRate {
    /// The rates of `limits`; `None` when it sets neither.
    pub fn for_limits(limits: &Limits) -> Option<Self> {
        if limits.connect_rate.is_none() && limits.per_jump_rate.is_none() {
            return None;
        }
        Some(Self {
            global: limits.connect_rate.map(ConnectRateLimiter::new),
            per_jump: limits.per_jump_rate.map(|rate| PerJump {
                interval: rate.interval(),
                next: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Reserves the slots of an attempt on `target` and returns when it may
    /// start.
    pub fn reserve(&self, target: &Target) -> Instant {
        let global = self.global.as_ref().map(ConnectRateLimiter::reserve);
        let jump = self.per_jump.as_ref().and_then(|per| {
            let key = jump_key(target)?;
            let mut next = per.next.lock().unwrap_or_else(|e| e.into_inner());
            Some(take_slot(next.entry(key).or_default(), per.interval))
        });
        match (global, jump) {
            (Some(a), Some(b)) => a.max(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => Instant::now(),
        }
    }
}

/// Where every connection attempt of a run (first tries and retries
/// alike) waits for its turn, so the run's connect rates hold however many
/// threads or processes make attempts. [`ConnectRate`] is the in-process
/// gate; the process executor's workers use one that asks the parent's.
pub trait AttemptGate: Send + Sync {
    /// Blocks until the next attempt on `target` may start; `false` if
    /// cancelled meanwhile (the attempt must not start).
    fn acquire(&self, target: &Target, cancel: &CancelToken) -> bool;
}

impl AttemptGate for ConnectRate {
    fn acquire(&self, target: &Target, cancel: &CancelToken) -> bool {
        wait_for(self.reserve(target), cancel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::JumpHop;

    fn limits(connect_rate: Option<&str>, per_jump_rate: Option<&str>) -> Limits {
        Limits {
            connect_rate: connect_rate.map(|r| r.parse().unwrap()),
            per_jump_rate: per_jump_rate.map(|r| r.parse().unwrap()),
            ..Limits::default()
        }
    }

    fn behind(name: &str, bastion: Option<&str>) -> Target {
        let mut t = Target::new(name, "127.0.0.1");
        if let Some(b) = bastion {
            t.reach.jump = vec![JumpHop {
                host: b.into(),
                port: 22,
                ..JumpHop::default()
            }];
        }
        t
    }

    #[test]
    fn the_rate_is_an_attempt_gate() {
        let rate = ConnectRate::for_limits(&limits(Some("20/s"), None)).unwrap();
        let gate: &dyn AttemptGate = &rate;
        let cancel = CancelToken::new();
        let t = behind("h", None);
        let started = Instant::now();
        assert!(
            gate.acquire(&t, &cancel) && gate.acquire(&t, &cancel) && gate.acquire(&t, &cancel)
        );
        assert!(
            started.elapsed() >= Duration::from_millis(95),
            "{:?}",
            started.elapsed()
        );
        cancel.cancel();
        assert!(!gate.acquire(&t, &cancel), "cancelled: no attempt");
    }

    #[test]
    fn slots_are_spaced_by_the_interval() {
        let limiter = ConnectRateLimiter::new("100/s".parse().unwrap());
        let slots: Vec<Instant> = (0..5).map(|_| limiter.reserve()).collect();
        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(10));
        }
    }

    #[test]
    fn no_rate_is_no_gate() {
        assert!(ConnectRate::for_limits(&Limits::default()).is_none());
    }

    #[test]
    fn each_first_hop_has_its_own_slots_and_direct_hosts_take_none() {
        let rate = ConnectRate::for_limits(&limits(None, Some("10/s"))).unwrap();
        let (a, b, direct) = (
            behind("a", Some("b1")),
            behind("b", Some("b2")),
            behind("d", None),
        );
        let a_slots: Vec<Instant> = (0..3).map(|_| rate.reserve(&a)).collect();
        let b_first = rate.reserve(&b);
        let direct_slots: Vec<Instant> = (0..3).map(|_| rate.reserve(&direct)).collect();
        for pair in a_slots.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(100), "b1 is paced");
        }
        // b2's first slot is not behind b1's three.
        assert!(b_first < a_slots[1], "b2 waits for b1's slots");
        let now = Instant::now();
        assert!(
            direct_slots.iter().all(|s| *s <= now),
            "hosts dialled directly are not paced by --per-jump-rate"
        );
    }

    #[test]
    fn both_rates_hold_an_attempt_to_the_later_slot() {
        let rate = ConnectRate::for_limits(&limits(Some("1000/s"), Some("10/s"))).unwrap();
        let a = behind("a", Some("b1"));
        let first = rate.reserve(&a);
        let second = rate.reserve(&a);
        assert!(
            second - first >= Duration::from_millis(100),
            "the per-jump rate holds"
        );
        let direct = rate.reserve(&behind("d", None));
        assert!(
            direct < second,
            "a direct host only waits for the global slot"
        );
    }
}
