//! How many sessions a device takes: a per-device limit on SSH connections
//! open at once (`--max-sessions N`), and what an extra one gets
//! (`--max-sessions-mode refuse|queue`).
//!
//! Real devices: IOS / IOS-XE have as many sessions as vty lines
//! (`line vty 0 4`: 5; up to 16 or more); NX-OS `line vty` /
//! `session-limit` (default 32); EOS `management ssh` / `connection limit`
//! (default 50); JunOS `system services ssh connection-limit` (default 75).
//! They all refuse the extra connection at once — the client sees the
//! connection closed during the handshake, no login prompt — which is
//! `refuse` here (with an SSH disconnect message saying why). `queue` is the
//! small embedded SSH server (console servers, PDUs, cheap access switches)
//! that serves N connections and leaves the others in the listen backlog:
//! the extra session waits, without a banner, until one ends.
//!
//! And connection storms: sshd's `MaxStartups START:RATE:FULL`
//! ([`MaxStartups`]): beyond START unauthenticated connections, a new one is
//! dropped with probability RATE % rising linearly to 100 % at FULL. Per
//! device, as sshd is per daemon.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::faults::SplitMix;

/// What a device does with a connection beyond its session limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SessionLimitMode {
    /// Close it right after the SSH version exchange, with a disconnect
    /// message (`Received disconnect ... too many sessions`).
    #[default]
    Refuse,
    /// Hold it, banner not sent, until a session ends.
    Queue,
}

impl SessionLimitMode {
    /// The name on the command line and in inventory vars.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionLimitMode::Refuse => "refuse",
            SessionLimitMode::Queue => "queue",
        }
    }
}

impl fmt::Display for SessionLimitMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionLimitMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "refuse" => Ok(SessionLimitMode::Refuse),
            "queue" => Ok(SessionLimitMode::Queue),
            other => Err(format!(
                "unknown session-limit mode `{other}`: expected refuse or queue"
            )),
        }
    }
}

/// A per-device limit on SSH connections open at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimit {
    /// Most connections at once (at least 1).
    pub max: usize,
    /// What the connection beyond `max` gets.
    pub mode: SessionLimitMode,
}

/// sshd's `MaxStartups START:RATE:FULL`: random early drop of new
/// connections while START or more are unauthenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxStartups {
    /// Unauthenticated connections below which none is dropped.
    pub start: usize,
    /// Drop probability (percent) at START.
    pub rate: u8,
    /// Unauthenticated connections from which every new one is dropped.
    pub full: usize,
}

impl MaxStartups {
    /// The probability (percent) that a new connection is dropped while
    /// `unauthenticated` others are: sshd's `should_drop_connection`.
    pub fn drop_percent(&self, unauthenticated: usize) -> f64 {
        if unauthenticated < self.start {
            0.0
        } else if unauthenticated >= self.full || self.rate >= 100 {
            100.0
        } else {
            let rate = f64::from(self.rate);
            let span = (self.full - self.start) as f64;
            rate + (100.0 - rate) * (unauthenticated - self.start) as f64 / span
        }
    }
}

impl fmt::Display for MaxStartups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.start, self.rate, self.full)
    }
}

impl FromStr for MaxStartups {
    type Err = String;

    /// `START:RATE:FULL` (e.g. sshd's default `10:30:100`), or `N` alone
    /// (sshd: every connection beyond N unauthenticated is dropped).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            format!("max-startups `{s}`: {why}; write START:RATE:FULL like sshd's 10:30:100, or N")
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        let num = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| bad("not a whole number"))
        };
        let (start, rate, full) = match parts.as_slice() {
            [n] => (num(n)?, 100, num(n)?),
            [a, r, f] => (num(a)?, num(r)?, num(f)?),
            _ => return Err(bad("expected one or three numbers")),
        };
        if rate > 100 {
            return Err(bad("RATE is a percentage, 0-100"));
        }
        if start == 0 || full < start {
            return Err(bad("START must be at least 1 and FULL at least START"));
        }
        Ok(MaxStartups {
            start,
            rate: rate as u8,
            full,
        })
    }
}

/// One SSH server's `MaxStartups` state (a device's, or a bastion's): the
/// connections accepted and not yet authenticated, and a seeded coin.
#[derive(Debug)]
pub(crate) struct StartupGate {
    limit: Option<MaxStartups>,
    unauthenticated: AtomicUsize,
    draws: AtomicU64,
    seed: u64,
}

impl StartupGate {
    pub(crate) fn new(limit: Option<MaxStartups>, seed: u64) -> Self {
        Self {
            limit,
            unauthenticated: AtomicUsize::new(0),
            draws: AtomicU64::new(0),
            seed,
        }
    }

    /// A new connection: `None` when it is dropped, else its place among
    /// the unauthenticated ones (given back when it logs in or closes). The
    /// coin is seeded: the same seed and the same sequence of connections
    /// drop the same ones.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Startup> {
        let Some(limit) = self.limit else {
            return Some(Startup(None));
        };
        let now = self.unauthenticated.load(Ordering::SeqCst);
        let percent = limit.drop_percent(now);
        if percent > 0.0 {
            let n = self.draws.fetch_add(1, Ordering::Relaxed);
            let mut coin =
                SplitMix(self.seed ^ 0x0073_7461_7274_7570 ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            if coin.unit() * 100.0 < percent {
                return None;
            }
        }
        self.unauthenticated.fetch_add(1, Ordering::SeqCst);
        Some(Startup(Some(self.clone())))
    }
}

/// A connection counted as unauthenticated until dropped (login or close).
pub(crate) struct Startup(Option<Arc<StartupGate>>);

impl Drop for Startup {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            g.unauthenticated.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name() {
        for m in [SessionLimitMode::Refuse, SessionLimitMode::Queue] {
            assert_eq!(m.as_str().parse::<SessionLimitMode>(), Ok(m));
        }
        assert!(
            "drop"
                .parse::<SessionLimitMode>()
                .unwrap_err()
                .contains("refuse or queue")
        );
    }

    #[test]
    fn max_startups_is_sshds_random_early_drop() {
        let m: MaxStartups = "10:30:100".parse().unwrap();
        assert_eq!(m.to_string(), "10:30:100");
        assert_eq!(m.drop_percent(9), 0.0);
        assert_eq!(m.drop_percent(10), 30.0);
        assert_eq!(m.drop_percent(55), 65.0);
        assert_eq!(m.drop_percent(100), 100.0);
        let n: MaxStartups = "5".parse().unwrap();
        assert_eq!((n.drop_percent(4), n.drop_percent(5)), (0.0, 100.0));
        for bad in ["10:130:100", "10:30", "20:30:10", "x", "0:30:10"] {
            assert!(
                bad.parse::<MaxStartups>()
                    .unwrap_err()
                    .contains("START:RATE:FULL"),
                "{bad}"
            );
        }
    }
}
