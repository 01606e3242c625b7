//! `--max-fail N|P%` (and `--fail-fast` = `--max-fail 1`): how many failed
//! hosts stop a run from starting more, like Ansible's
//! `max_fail_percentage`. [`FailGate`] is the one counter every executor
//! consults before it starts a host.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Status;

/// When failures stop a run from starting hosts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxFail {
    /// Stop starting hosts once this many have failed (at least 1).
    Count(usize),
    /// Stop starting hosts once more than this percentage of the run's
    /// hosts have failed (Ansible's `max_fail_percentage`: `0%` stops at
    /// the first failure).
    Percent(f64),
}

impl MaxFail {
    /// Stop at the first failure (`--fail-fast`).
    pub const FIRST: MaxFail = MaxFail::Count(1);

    /// How many failures of a run of `hosts` hosts trip the gate.
    pub fn threshold(self, hosts: usize) -> usize {
        match self {
            MaxFail::Count(n) => n.max(1),
            MaxFail::Percent(p) => {
                // "More than p %": the smallest count whose share exceeds p.
                let allowed = (p / 100.0 * hosts as f64 + 1e-9).floor() as usize;
                allowed.saturating_add(1)
            }
        }
    }
}

impl fmt::Display for MaxFail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxFail::Count(n) => write!(f, "{n}"),
            MaxFail::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Why a `--max-fail` value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a failure limit: pass a count of at least 1 (`--max-fail 5`) or a percentage from 0% to 100% (`--max-fail 10%`)"
)]
pub struct MaxFailError(pub String);

impl FromStr for MaxFail {
    type Err = MaxFailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MaxFailError(s.to_string());
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&p) {
                return Err(bad());
            }
            return Ok(MaxFail::Percent(p));
        }
        match t.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(MaxFail::Count(n)),
            _ => Err(bad()),
        }
    }
}

/// Counts a run's failed hosts (`failed` and `timeout`; `cancelled` is
/// not a failure) against a [`MaxFail`]. Shared by the scheduler and, for
/// the async executor, by the host tasks (it is `Sync`): a host's failure
/// is counted before its slot is given back, so no host starts after the
/// limit is reached. Without a limit it never trips and costs one branch.
#[derive(Debug)]
pub struct FailGate {
    threshold: usize,
    failed: AtomicUsize,
}

impl FailGate {
    /// The gate of a run of `hosts` hosts (`None`: never trips).
    pub fn new(max_fail: Option<MaxFail>, hosts: usize) -> Self {
        Self {
            threshold: max_fail.map_or(usize::MAX, |m| m.threshold(hosts)),
            failed: AtomicUsize::new(0),
        }
    }

    /// Counts a host's outcome; `true` if the gate is (now) tripped.
    pub fn count(&self, status: Status) -> bool {
        if self.threshold == usize::MAX {
            return false;
        }
        if matches!(status, Status::Failed | Status::Timeout) {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
        self.tripped()
    }

    /// Whether enough hosts failed that no more may start.
    pub fn tripped(&self) -> bool {
        self.threshold != usize::MAX && self.failed.load(Ordering::SeqCst) >= self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentages_parse_and_bad_ones_say_what_to_pass() {
        assert_eq!("3".parse(), Ok(MaxFail::Count(3)));
        assert_eq!("10%".parse(), Ok(MaxFail::Percent(10.0)));
        assert_eq!("0%".parse(), Ok(MaxFail::Percent(0.0)));
        for bad in ["0", "-1", "x", "101%", "%"] {
            let err = bad.parse::<MaxFail>().unwrap_err().to_string();
            assert!(err.contains("--max-fail 10%"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_percentage_trips_when_more_than_that_share_failed() {
        // 30 % of 10 hosts: 3 may fail, the 4th stops the run.
        assert_eq!(MaxFail::Percent(30.0).threshold(10), 4);
        assert_eq!(MaxFail::Percent(0.0).threshold(10), 1);
        assert_eq!(MaxFail::Percent(100.0).threshold(10), 11);
        assert_eq!(MaxFail::Count(2).threshold(10), 2);
    }

    #[test]
    fn the_gate_counts_failures_and_timeouts_not_cancelled_or_ok() {
        let gate = FailGate::new(Some(MaxFail::Count(2)), 10);
        assert!(!gate.count(Status::Ok));
        assert!(!gate.count(Status::Cancelled));
        assert!(!gate.count(Status::Failed));
        assert!(gate.count(Status::Timeout));
        assert!(gate.tripped());
        let never = FailGate::new(None, 10);
        for _ in 0..5 {
            assert!(!never.count(Status::Failed));
        }
    }
}
