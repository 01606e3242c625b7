//! The run's connect rates: every connection attempt (first tries and
//! retries alike) books a start time that keeps the run's rate
//! (`--connect-rate`), its first jump hop's (`--per-jump-rate`) and, with
//! `--connect-rate auto`, its endpoint's adaptive rate ([`crate::adaptive`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, Limits, Rate, Target};

use crate::adaptive::{Aimd, Signal};
use crate::transport::AttemptResult;
use crate::{Congestion, jump_key};

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
        Self::spaced(rate.interval())
    }

    fn spaced(interval: Duration) -> Self {
        Self {
            interval,
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

/// One endpoint under `--connect-rate auto`: its adaptive rate and the
/// calendar that spaces its starts by it.
#[derive(Debug)]
struct Endpoint {
    aimd: Aimd,
    calendar: Calendar,
}

impl Endpoint {
    fn new() -> Self {
        Self {
            aimd: Aimd::default(),
            calendar: Calendar::spaced(Duration::ZERO),
        }
    }
}

/// A booked attempt: when it may start, and (under `--connect-rate auto`)
/// the cut counts of its endpoints when it was booked, which
/// [`ConnectRate::settle`] hands back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// When the attempt may start.
    pub start: Instant,
    /// Cuts of the jump host's endpoint, and of the device's.
    epochs: (Option<u32>, Option<u32>),
}

impl Ticket {
    /// A ticket for an attempt free to start at `start`, booked with no
    /// adaptive rate (the process executor's worker holds its parent's).
    pub fn at(start: Instant) -> Self {
        Self {
            start,
            epochs: (None, None),
        }
    }
}

/// The run's connect rates, built from its [`Limits`]: `--connect-rate`
/// (one calendar every attempt books in), `--per-jump-rate` (one
/// calendar per distinct first jump hop, keyed like `--per-jump` by
/// [`jump_key`]; hosts dialled directly book none) and `--connect-rate
/// auto` (an adaptive rate per endpoint: each attempt books in its first
/// jump hop's, if any, and its device's, by address:port). An attempt
/// starts at the earliest time free in every calendar that applies to it,
/// so no rate is ever exceeded, and a host waiting for its bastion does
/// not delay a direct host's start.
#[derive(Debug)]
pub struct ConnectRate {
    global: Option<Mutex<Calendar>>,
    per_jump: Option<(Rate, Mutex<HashMap<String, Calendar>>)>,
    /// Boxed: a run without `--connect-rate auto` carries a pointer.
    adaptive: Option<Box<Mutex<HashMap<String, Endpoint>>>>,
}

/// `--connect-rate auto`'s device endpoint of `target`.
fn device_key(target: &Target) -> String {
    if target.address.contains(':') {
        format!("[{}]:{}", target.address, target.port)
    } else {
        format!("{}:{}", target.address, target.port)
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The earliest time at or after `t` free in both endpoints' calendars.
fn endpoints_free(
    t: Instant,
    endpoints: Option<&HashMap<String, Endpoint>>,
    keys: &(Option<String>, String),
) -> Instant {
    let Some(map) = endpoints else {
        return t;
    };
    let hop = keys.0.as_ref().and_then(|k| map.get(k));
    let t = hop.map_or(t, |e| e.calendar.earliest_free(t));
    map.get(&keys.1).map_or(t, |e| e.calendar.earliest_free(t))
}

impl ConnectRate {
    /// The rates of `limits`; `None` when it sets none.
    pub fn for_limits(limits: &Limits) -> Option<Self> {
        if limits.connect_rate.is_none()
            && limits.per_jump_rate.is_none()
            && !limits.connect_rate_auto
        {
            return None;
        }
        Some(Self {
            global: limits.connect_rate.map(|r| Mutex::new(Calendar::new(r))),
            per_jump: limits
                .per_jump_rate
                .map(|r| (r, Mutex::new(HashMap::new()))),
            adaptive: limits
                .connect_rate_auto
                .then(|| Box::new(Mutex::new(HashMap::new()))),
        })
    }

    /// Books an attempt on `target`: when it may start.
    pub fn reserve(&self, target: &Target) -> Ticket {
        let now = Instant::now();
        // Locks in one order: the run's calendar, the jump hosts', the
        // endpoints'.
        let mut global = self.global.as_ref().map(locked);
        let key = self.per_jump.as_ref().and_then(|_| jump_key(target));
        let mut jumps = match (&self.per_jump, &key) {
            (Some((_, map)), Some(_)) => Some(locked(map)),
            _ => None,
        };
        let mut jump = match (&mut jumps, key, &self.per_jump) {
            (Some(map), Some(key), Some((rate, _))) => {
                Some(map.entry(key).or_insert_with(|| Calendar::new(*rate)))
            }
            _ => None,
        };
        let mut endpoints = self.adaptive.as_deref().map(locked);
        // Keys only under `--connect-rate auto`: a fixed rate allocates nothing.
        let keys = endpoints
            .as_ref()
            .map(|_| (jump_key(target), device_key(target)));
        if let (Some(map), Some(keys)) = (endpoints.as_mut(), &keys) {
            if let Some(hop) = &keys.0 {
                map.entry(hop.clone()).or_insert_with(Endpoint::new);
            }
            map.entry(keys.1.clone()).or_insert_with(Endpoint::new);
        }
        // The earliest time every calendar has free: each moves it on
        // until none does.
        let mut t = now;
        loop {
            let a = global.as_ref().map_or(t, |g| g.earliest_free(t));
            let b = jump.as_ref().map_or(a, |j| j.earliest_free(a));
            let c = match &keys {
                Some(keys) => endpoints_free(b, endpoints.as_deref(), keys),
                None => b,
            };
            if c == t {
                break;
            }
            t = c;
        }
        if let Some(g) = global.as_mut() {
            g.book(t, now);
        }
        if let Some(j) = jump.as_mut() {
            j.book(t, now);
        }
        let mut book = |key: &String| {
            endpoints
                .as_mut()
                .and_then(|map| map.get_mut(key))
                .map(|e| {
                    // An unpaced endpoint's calendar holds nothing.
                    if !e.calendar.interval.is_zero() {
                        e.calendar.book(t, now);
                    }
                    e.aimd.booked(t)
                })
        };
        let epochs = match &keys {
            Some((hop, device)) => (hop.as_ref().and_then(&mut book), book(device)),
            None => (None, None),
        };
        Ticket { start: t, epochs }
    }

    /// The attempt on `target` booked as `ticket` ended with `signal`:
    /// under `--connect-rate auto` the endpoint that cut its handshake off
    /// is slowed, or both its endpoints sped up when it got through.
    pub fn settle(&self, target: &Target, ticket: Ticket, signal: Signal) {
        let Some(adaptive) = &self.adaptive else {
            return;
        };
        let now = Instant::now();
        let mut map = locked(adaptive);
        let hop = jump_key(target);
        let mut adjust = |key: &str, epoch: Option<u32>, cut: bool| {
            if let (Some(e), Some(epoch)) = (map.get_mut(key), epoch) {
                if cut {
                    e.aimd.cut(epoch, now);
                } else {
                    e.aimd.raise();
                }
                e.calendar.interval = e.aimd.interval();
            }
        };
        let device = device_key(target);
        match (signal, &hop) {
            (Signal::Congested(Congestion::Hop), Some(hop)) => {
                adjust(hop, ticket.epochs.0, true);
            }
            (Signal::Congested(_), _) => adjust(&device, ticket.epochs.1, true),
            (Signal::Passed, _) => {
                if let Some(hop) = &hop {
                    adjust(hop, ticket.epochs.0, false);
                }
                adjust(&device, ticket.epochs.1, false);
            }
        }
    }

    /// Whether `--connect-rate auto` adapts these rates (the drivers then
    /// report each attempt's [`Signal`]).
    pub fn adapts(&self) -> bool {
        self.adaptive.is_some()
    }

    /// `--connect-rate auto`'s rate now for `target`'s first jump hop
    /// (`hop`) or its device, starts per second (`None`: unpaced, or not
    /// adaptive).
    #[cfg(test)]
    fn adaptive_rate(&self, target: &Target, hop: bool) -> Option<f64> {
        let adaptive = self.adaptive.as_ref()?;
        let key = if hop {
            jump_key(target)?
        } else {
            device_key(target)
        };
        locked(adaptive).get(&key).and_then(|e| e.aimd.rate())
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
    /// Blocks until the next attempt on `target` may start, and returns
    /// its booking; `None` if cancelled meanwhile (the attempt must not
    /// start).
    fn acquire(&self, target: &Target, cancel: &CancelToken) -> Option<Ticket>;

    /// The attempt on `target` booked as `ticket` ended with `signal`
    /// (reported only when [`adapts`](Self::adapts)).
    fn settle(&self, target: &Target, ticket: Ticket, signal: Signal);

    /// Whether the gate adapts to what attempts meet (`--connect-rate auto`).
    fn adapts(&self) -> bool;

    /// The attempt booked as `ticket` ended with `result`: what it says of
    /// its endpoints goes to [`settle`](Self::settle), if the gate adapts
    /// and the result says anything. Every driver calls this after each
    /// attempt.
    fn report(&self, target: &Target, ticket: Ticket, result: &AttemptResult) {
        if self.adapts()
            && let Some(signal) = Signal::of(result)
        {
            self.settle(target, ticket, signal);
        }
    }
}

impl AttemptGate for ConnectRate {
    fn acquire(&self, target: &Target, cancel: &CancelToken) -> Option<Ticket> {
        let ticket = self.reserve(target);
        wait_for(ticket.start, cancel).then_some(ticket)
    }

    fn settle(&self, target: &Target, ticket: Ticket, signal: Signal) {
        ConnectRate::settle(self, target, ticket, signal);
    }

    fn adapts(&self) -> bool {
        ConnectRate::adapts(self)
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
        assert!((0..3).all(|_| gate.acquire(&t, &cancel).is_some()));
        assert!(
            started.elapsed() >= Duration::from_millis(95),
            "{:?}",
            started.elapsed()
        );
        cancel.cancel();
        assert!(gate.acquire(&t, &cancel).is_none(), "cancelled: no attempt");
    }

    #[test]
    fn slots_are_spaced_by_the_interval() {
        let rate = ConnectRate::for_limits(&limits(Some("100/s"), None)).unwrap();
        let t = behind("h", None);
        let slots: Vec<Instant> = (0..5).map(|_| rate.reserve(&t).start).collect();
        assert!(spaced(&slots, Duration::from_millis(10)), "{slots:?}");
    }

    #[test]
    fn auto_paces_the_endpoint_that_drops_and_no_other() {
        let rate = ConnectRate::for_limits(&Limits {
            connect_rate_auto: true,
            ..Limits::default()
        })
        .unwrap();
        let (a, d) = (behind("a", Some("b1")), behind("d", None));
        let tickets: Vec<Ticket> = (0..10).map(|_| rate.reserve(&a)).collect();
        let now = Instant::now();
        assert!(
            tickets.iter().all(|s| s.start <= now),
            "unpaced before a drop"
        );
        rate.settle(&a, tickets[3], Signal::Passed);
        assert_eq!(rate.adaptive_rate(&a, true), None);
        rate.settle(&a, tickets[9], Signal::Congested(Congestion::Hop));
        let cut = rate
            .adaptive_rate(&a, true)
            .expect("b1 is paced after its drop");
        assert_eq!(
            rate.adaptive_rate(&a, false),
            None,
            "the device did not drop"
        );
        // The same storm: booked before the cut.
        rate.settle(&a, tickets[8], Signal::Congested(Congestion::Hop));
        assert_eq!(rate.adaptive_rate(&a, true), Some(cut));
        let next: Vec<Instant> = (0..3).map(|_| rate.reserve(&a).start).collect();
        assert!(
            spaced(&next, Duration::from_secs_f64(1.0 / cut)),
            "{next:?} at {cut}/s"
        );
        // Another host behind b1 shares its endpoint; a direct host
        // (another device: port 22 of another address) is not paced.
        let mut other = behind("d", None);
        other.address = "127.0.0.2".into();
        assert!(rate.reserve(&other).start <= Instant::now());
        assert_eq!(
            rate.adaptive_rate(&behind("a2", Some("b1")), true),
            Some(cut)
        );
        // The device behind b1 drops: its own rate is cut, b1's is not.
        let t = rate.reserve(&d);
        rate.settle(&d, t, Signal::Congested(Congestion::Target));
        assert!(rate.adaptive_rate(&d, false).is_some());
        assert_eq!(rate.adaptive_rate(&a, true), Some(cut));
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
        let a_slots: Vec<Instant> = (0..3).map(|_| rate.reserve(&a).start).collect();
        assert!(spaced(&a_slots, Duration::from_millis(100)), "b1 is paced");
        // b2's first slot is not behind b1's three: it is free at once.
        let b_first = rate.reserve(&b).start;
        assert!(b_first <= Instant::now(), "b2 waits for b1's slots");
        let direct_slots: Vec<Instant> = (0..3).map(|_| rate.reserve(&direct).start).collect();
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
        let mut all: Vec<Instant> = (0..4).map(|_| rate.reserve(&direct).start).collect();
        let b1 = behind("a", Some("b1"));
        let through: Vec<Instant> = (0..4).map(|_| rate.reserve(&b1).start).collect();
        assert!(spaced(&through, Duration::from_millis(100)), "{through:?}");
        // A direct host booked now fills a gap between b1's starts instead
        // of waiting for the last of them.
        let late = rate.reserve(&direct).start;
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
