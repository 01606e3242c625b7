//! The run's connect rates: every connection attempt (first tries and
//! retries alike) books a start time that keeps the run's rate
//! (`--connect-rate`) and its first jump hop's (`--per-jump-rate`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, Limits, Rate, Target};

use crate::jump_key;

/// The start times booked under one rate: any two at least `interval`
/// apart. A booking may fill a gap between later ones, so a host held back
/// by one rate does not hold back hosts the other rate alone governs.
#[derive(Debug)]
struct Calendar {
    interval: Duration,
    booked: BTreeSet<Instant>,
    /// Whether a booking may fit between two others. While not (one rate
    /// alone books each start after the last), the earliest free time is
    /// found without a walk over the bookings.
    gaps: bool,
}

impl Calendar {
    fn new(rate: Rate) -> Self {
        Self {
            interval: rate.interval(),
            booked: BTreeSet::new(),
            gaps: false,
        }
    }

    /// The earliest time at or after `t` at least `interval` away from
    /// every booking.
    fn earliest_free(&self, mut t: Instant) -> Instant {
        let (Some(first), Some(last)) = (self.booked.first(), self.booked.last()) else {
            return t;
        };
        if t + self.interval <= *first || t >= *last + self.interval {
            return t;
        }
        if !self.gaps {
            return *last + self.interval;
        }
        loop {
            if let Some(prev) = self.booked.range(..=t).next_back()
                && t < *prev + self.interval
            {
                t = *prev + self.interval;
                continue;
            }
            if let Some(next) = self.booked.range(t..).next()
                && *next < t + self.interval
            {
                t = *next + self.interval;
                continue;
            }
            return t;
        }
    }

    /// Books `t`, forgetting bookings too old to constrain any time from `now` on.
    fn book(&mut self, t: Instant, now: Instant) {
        if let Some(horizon) = now.checked_sub(self.interval) {
            self.booked = self.booked.split_off(&horizon);
        }
        match self.booked.last() {
            None => self.gaps = false,
            Some(last) if t < *last || t >= *last + self.interval * 2 => self.gaps = true,
            Some(_) => {}
        }
        self.booked.insert(t);
    }
}

/// The run's connect rates, built from its [`Limits`]: `--connect-rate`
/// (one calendar every attempt books in) and `--per-jump-rate` (one
/// calendar per distinct first jump hop, keyed like `--per-jump` by
/// [`jump_key`]; hosts dialled directly book none). An attempt starts at
/// the earliest time free in every calendar that applies to it, so neither
/// rate is ever exceeded, and a host waiting for its bastion does not
/// delay a direct host's start.
#[derive(Debug)]
pub struct ConnectRate {
    global: Option<Mutex<Calendar>>,
    per_jump: Option<(Rate, Mutex<HashMap<String, Calendar>>)>,
}

impl ConnectRate {
    /// The rates of `limits`; `None` when it sets neither.
    pub fn for_limits(limits: &Limits) -> Option<Self> {
        if limits.connect_rate.is_none() && limits.per_jump_rate.is_none() {
            return None;
        }
        Some(Self {
            global: limits.connect_rate.map(|r| Mutex::new(Calendar::new(r))),
            per_jump: limits
                .per_jump_rate
                .map(|r| (r, Mutex::new(HashMap::new()))),
        })
    }

    /// Books an attempt on `target` and returns when it may start.
    pub fn reserve(&self, target: &Target) -> Instant {
        let now = Instant::now();
        // Locks in one order: the run's calendar, then the jump hosts'.
        let mut global = self
            .global
            .as_ref()
            .map(|g| g.lock().unwrap_or_else(|e| e.into_inner()));
        let key = self.per_jump.as_ref().and_then(|_| jump_key(target));
        let mut jumps = match (&self.per_jump, &key) {
            (Some((_, map)), Some(_)) => Some(map.lock().unwrap_or_else(|e| e.into_inner())),
            _ => None,
        };
        let mut jump = match (&mut jumps, key, &self.per_jump) {
            (Some(map), Some(key), Some((rate, _))) => {
                Some(map.entry(key).or_insert_with(|| Calendar::new(*rate)))
            }
            _ => None,
        };
        let mut t = now;
        loop {
            let a = global.as_ref().map_or(t, |g| g.earliest_free(t));
            let b = jump.as_ref().map_or(a, |j| j.earliest_free(a));
            if b == a {
                t = a;
                break;
            }
            t = b;
        }
        if let Some(g) = global.as_mut() {
            g.book(t, now);
        }
        if let Some(j) = jump.as_mut() {
            j.book(t, now);
        }
        t
    }
}

/// Sleeps until `slot`; `false` if cancelled meanwhile.
fn wait_for(slot: Instant, cancel: &CancelToken) -> bool {
    let wait = slot.saturating_duration_since(Instant::now());
    if wait.is_zero() {
        return !cancel.is_cancelled();
    }
    !cancel.sleep(wait)
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

    /// Every pair at least `gap` apart.
    fn spaced(slots: &[Instant], gap: Duration) -> bool {
        let mut sorted = slots.to_vec();
        sorted.sort();
        sorted.windows(2).all(|w| w[1] - w[0] >= gap)
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
        let rate = ConnectRate::for_limits(&limits(Some("100/s"), None)).unwrap();
        let t = behind("h", None);
        let slots: Vec<Instant> = (0..5).map(|_| rate.reserve(&t)).collect();
        assert!(spaced(&slots, Duration::from_millis(10)), "{slots:?}");
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
        assert!(spaced(&a_slots, Duration::from_millis(100)), "b1 is paced");
        // b2's first slot is not behind b1's three: it is free at once.
        let b_first = rate.reserve(&b);
        assert!(b_first <= Instant::now(), "b2 waits for b1's slots");
        let direct_slots: Vec<Instant> = (0..3).map(|_| rate.reserve(&direct)).collect();
        let now = Instant::now();
        assert!(
            direct_slots.iter().all(|s| *s <= now),
            "hosts dialled directly are not paced by --per-jump-rate"
        );
    }

    #[test]
    fn with_both_rates_each_holds_and_a_direct_host_is_not_held_behind_a_bastion() {
        // A global backlog, then hosts behind b1: they must still start
        // 100 ms apart, not together when the backlog clears.
        let rate = ConnectRate::for_limits(&limits(Some("20/s"), Some("10/s"))).unwrap();
        let direct = behind("d", None);
        let mut all: Vec<Instant> = (0..4).map(|_| rate.reserve(&direct)).collect();
        let b1 = behind("a", Some("b1"));
        let through: Vec<Instant> = (0..4).map(|_| rate.reserve(&b1)).collect();
        assert!(spaced(&through, Duration::from_millis(100)), "{through:?}");
        // A direct host booked now fills a gap between b1's starts instead
        // of waiting for the last of them.
        let late = rate.reserve(&direct);
        assert!(
            late < *through.iter().max().unwrap(),
            "{late:?} vs {through:?}"
        );
        all.extend(&through);
        all.push(late);
        assert!(
            spaced(&all, Duration::from_millis(50)),
            "the run's rate holds: {all:?}"
        );
    }

    #[test]
    fn a_calendar_fills_gaps_and_keeps_its_interval() {
        let mut c = Calendar::new("10/s".parse().unwrap());
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        c.book(ms(0), t0);
        c.book(ms(300), t0);
        assert_eq!(c.earliest_free(ms(50)), ms(100), "after the first");
        assert_eq!(c.earliest_free(ms(150)), ms(150), "a gap that fits");
        assert_eq!(c.earliest_free(ms(250)), ms(400), "too close to 300");
        assert_eq!(c.earliest_free(ms(900)), ms(900), "past the last");
    }

    #[test]
    fn a_gapless_calendar_answers_after_its_last_booking() {
        let mut c = Calendar::new("10/s".parse().unwrap());
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        for n in [0, 100, 200, 300] {
            c.book(ms(n), t0);
        }
        assert!(!c.gaps);
        assert_eq!(c.earliest_free(ms(10)), ms(400));
        c.book(ms(600), t0);
        assert!(c.gaps, "300..600 has room for one");
        assert_eq!(c.earliest_free(ms(10)), ms(400));
        c.book(ms(400), t0);
        assert_eq!(c.earliest_free(ms(10)), ms(500));
    }
}
