//! `--connect-rate auto`: a start rate per endpoint that adapts to how
//! the endpoint copes, by additive increase and multiplicative decrease
//! (AIMD, as TCP does with its window).
//!
//! An endpoint is what a storm overwhelms: the first jump hop of a host
//! routed through bastions (sshd's `MaxStartups` drops new connections
//! while too many are unauthenticated), and the device itself
//! (`address:port`: its vty lines or session limit); an attempt books a
//! start in both. Each starts unpaced. When an attempt's connection is
//! dropped during the SSH handshake
//! ([`AttemptError::congested`](crate::AttemptError::congested) says by
//! which), that endpoint's rate is cut to [`BETA`] times the rate it was
//! really taking connections at (the starts booked in the last second over
//! the time they span, at least a quarter second; or its paced rate if
//! lower), never below
//! [`MIN_RATE`]. A burst of `-c` starts at once counts as spanning a
//! quarter second (`MIN_SPAN`); if the cut rate still storms, the next
//! drop cuts again, one round trip later. A drop of an
//! attempt booked before that cut belongs to the same storm and cuts
//! nothing more (one cut per round trip, as TCP's fast recovery). Every
//! attempt that gets past the handshake then adds `step / rate` starts per
//! second to both its endpoints, so a rate climbs back by `step` per
//! second (`step`: what the last cut took away, spread over [`RECOVERY`])
//! until the next drop. Timeouts are no signal: a device that never
//! answers says nothing about a storm.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use fanout_core::{ErrorKind, Phase};

use crate::Congestion;
use crate::transport::AttemptResult;

/// The rate after a cut, as a share of the rate taken before it.
pub const BETA: f64 = 0.5;

/// The lowest rate a cut leaves (starts per second): drops are random
/// (`MaxStartups` drops with a probability), so an endpoint is never
/// starved.
pub const MIN_RATE: f64 = 1.0;

/// How long additive increase takes to win back what a cut took.
pub const RECOVERY: Duration = Duration::from_secs(1);

/// How far back the starts an endpoint took are counted.
const WINDOW: Duration = Duration::from_secs(1);

/// The shortest time the starts of a [`WINDOW`] are taken to span: a
/// burst of `-c` starts at once counts as four times as dense as the same
/// starts spread over the second, not thousands of times (which would take
/// a cut per round trip to come down from).
const MIN_SPAN: Duration = Duration::from_millis(250);

/// What an attempt said about its endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// An endpoint dropped the connection during the SSH handshake: the
    /// device, or a jump host on the way.
    Congested(Congestion),
    /// The connection got past the handshake (whatever happened after).
    Passed,
}

impl Signal {
    /// What an attempt's result says of its endpoints: `None` when it says
    /// nothing (cancelled; a connection refused, timed out or unreachable
    /// before the handshake; no common algorithm; a host that could not
    /// be tried; its whole time run out, wherever it was).
    pub fn of(result: &AttemptResult) -> Option<Signal> {
        let err = match result {
            Ok(_) => return Some(Signal::Passed),
            Err(err) => err,
        };
        if let Some(at) = err.congested {
            return Some(Signal::Congested(at));
        }
        match (err.kind, err.phase) {
            (
                ErrorKind::Connect
                | ErrorKind::Cancelled
                | ErrorKind::Protocol
                | ErrorKind::InvalidTarget
                | ErrorKind::WorkerCrashed,
                _,
            )
            | (ErrorKind::Timeout, None | Some(Phase::Connect) | Some(Phase::Host)) => None,
            _ => Some(Signal::Passed),
        }
    }
}

/// One endpoint's rate.
#[derive(Debug, Default)]
pub(crate) struct Aimd {
    /// Starts per second allowed; `None` until the first cut.
    rate: Option<f64>,
    /// The rate climbs back by this much per second: what the last cut
    /// took, spread over [`RECOVERY`].
    step: f64,
    /// Cuts so far: an attempt booked under an earlier count belongs to a
    /// storm already answered.
    cuts: u32,
    /// Start times booked within the last [`WINDOW`].
    starts: VecDeque<Instant>,
}

impl Aimd {
    /// The time between two starts now (zero while unpaced).
    pub(crate) fn interval(&self) -> Duration {
        self.rate
            .map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r))
    }

    /// The rate now, if paced.
    #[cfg(test)]
    pub(crate) fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// An attempt was booked to start at `at`; the cuts so far (its
    /// [`cut`](Self::cut) or [`raise`](Self::raise) hands them back).
    pub(crate) fn booked(&mut self, at: Instant) -> u32 {
        self.starts.push_back(at);
        self.forget(at);
        self.cuts
    }

    fn forget(&mut self, now: Instant) {
        while self
            .starts
            .front()
            .is_some_and(|s| now.saturating_duration_since(*s) > WINDOW)
        {
            self.starts.pop_front();
        }
    }

    /// An attempt booked after `cuts` cuts was dropped, at `now`: the rate
    /// is cut, unless a cut came after its booking (the same storm).
    pub(crate) fn cut(&mut self, cuts: u32, now: Instant) {
        if cuts != self.cuts {
            return;
        }
        self.forget(now);
        let before = self
            .rate
            .map_or_else(|| self.taken(), |r| r.min(self.taken().max(MIN_RATE)));
        let after = (before * BETA).max(MIN_RATE);
        // Back to where it was cut from within RECOVERY, then on at that pace.
        self.step = ((before - after) / RECOVERY.as_secs_f64()).max(MIN_RATE);
        self.rate = Some(after);
        self.cuts += 1;
    }

    /// The rate the endpoint was taking connections at: the starts booked
    /// within the last [`WINDOW`] over the time they span, at least
    /// [`MIN_SPAN`] (a burst of 100 starts in 5 ms is 400 a second; 100
    /// starts spread over 500 ms are 200).
    fn taken(&self) -> f64 {
        match (self.starts.front(), self.starts.back()) {
            (Some(first), Some(last)) if self.starts.len() > 1 => {
                let span = last
                    .saturating_duration_since(*first)
                    .max(MIN_SPAN)
                    .as_secs_f64();
                (self.starts.len() - 1) as f64 / span
            }
            _ => self.starts.len() as f64 / WINDOW.as_secs_f64(),
        }
    }

    /// An attempt got past the handshake: a paced rate climbs.
    pub(crate) fn raise(&mut self) {
        if let Some(r) = self.rate.as_mut() {
            *r += self.step / *r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn unpaced_until_the_first_drop_then_half_the_rate_taken() {
        let t0 = Instant::now();
        let mut a = Aimd::default();
        assert_eq!(a.interval(), Duration::ZERO);
        // 201 starts 2 ms apart (500 a second), then a drop.
        let mut epoch = 0;
        for i in 0..=200 {
            epoch = a.booked(ms(t0, i * 2));
        }
        a.raise();
        assert_eq!(a.rate(), None, "a pass before any drop paces nothing");
        a.cut(epoch, ms(t0, 400));
        assert_eq!(a.rate(), Some(250.0));
        assert_eq!(a.interval(), Duration::from_millis(4));
    }

    #[test]
    fn a_burst_counts_as_spanning_a_quarter_second() {
        let t0 = Instant::now();
        let mut a = Aimd::default();
        // 101 starts within 10 ms: 400 a second, not 10,000 (nor 101).
        for i in 0..=100 {
            a.booked(t0 + Duration::from_micros(i * 100));
        }
        a.cut(0, ms(t0, 20));
        assert_eq!(a.rate(), Some(200.0));
    }

    #[test]
    fn one_cut_per_storm_then_additive_increase() {
        let t0 = Instant::now();
        let mut a = Aimd::default();
        for i in 0..=100 {
            a.booked(ms(t0, i * 5));
        }
        a.cut(0, ms(t0, 500));
        assert_eq!(a.rate(), Some(100.0), "half of 200 a second");
        // Attempts booked before the cut drop too, even if they start
        // after it: the same storm.
        for i in 0..20 {
            a.cut(0, ms(t0, 510 + i));
        }
        assert_eq!(
            a.rate(),
            Some(100.0),
            "booked before the cut: no second cut"
        );
        // Climbs back by (200 - 100) / 1 s = 100/s per second: at 100/s,
        // each pass adds 100 / 100 = 1.
        a.raise();
        assert_eq!(a.rate(), Some(101.0));
        // A drop of an attempt booked after the cut cuts again, from the
        // paced rate (lower than the 200 a second the starts span).
        let epoch = a.booked(ms(t0, 505));
        assert_eq!(epoch, 1);
        a.cut(epoch, ms(t0, 900));
        assert_eq!(a.rate(), Some(50.5));
        a.raise();
        assert_eq!(a.rate(), Some(50.5 + 50.5 / 50.5));
    }

    #[test]
    fn what_an_attempt_says() {
        use crate::AttemptError;
        let err = |kind, phase| Err(AttemptError::new(kind, phase, "x"));
        assert_eq!(Signal::of(&Ok(Vec::new())), Some(Signal::Passed));
        assert_eq!(
            Signal::of(&Err(
                AttemptError::new(ErrorKind::Connect, None, "cut").congested()
            )),
            Some(Signal::Congested(Congestion::Target))
        );
        assert_eq!(Signal::of(&err(ErrorKind::Connect, None)), None, "refused");
        assert_eq!(
            Signal::of(&err(ErrorKind::Timeout, Some(Phase::Connect))),
            None
        );
        assert_eq!(
            Signal::of(&err(ErrorKind::Timeout, Some(Phase::Host))),
            None
        );
        assert_eq!(Signal::of(&err(ErrorKind::Cancelled, None)), None);
        assert_eq!(
            Signal::of(&err(ErrorKind::Auth, None)),
            Some(Signal::Passed),
            "a rejected login got past the handshake"
        );
        assert_eq!(
            Signal::of(&err(ErrorKind::Timeout, Some(Phase::Command))),
            Some(Signal::Passed)
        );
    }

    #[test]
    fn never_below_the_floor() {
        let t0 = Instant::now();
        let mut a = Aimd::default();
        a.booked(t0);
        for i in 0..10 {
            a.cut(i, ms(t0, 1000 * u64::from(i)));
        }
        assert_eq!(a.rate(), Some(MIN_RATE));
        a.raise();
        assert!(a.rate().unwrap() > MIN_RATE, "and it climbs from there");
    }
}
