//! What a run did: [`RunSummary`], and the per-status counters
//! ([`StatusCounts`]) every tally of outcomes uses.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Status;

/// How many outcomes ended in each [`Status`]: the one set of counters of
/// every summary and tally (serialized as `ok`, `failed`, `timeout`,
/// `cancelled`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// `ok` outcomes.
    pub ok: usize,
    /// `failed` outcomes.
    pub failed: usize,
    /// `timeout` outcomes.
    pub timeout: usize,
    /// `cancelled` outcomes.
    pub cancelled: usize,
}

impl StatusCounts {
    /// Counts one outcome of `status`.
    pub fn add(&mut self, status: Status) {
        *self.slot(status) += 1;
    }

    /// Outcomes of `status`.
    pub fn get(&self, status: Status) -> usize {
        let mut copy = *self;
        *copy.slot(status)
    }

    /// Outcomes counted, whatever their status.
    pub fn total(&self) -> usize {
        self.ok + self.failed + self.timeout + self.cancelled
    }

    fn slot(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Ok => &mut self.ok,
            Status::Failed => &mut self.failed,
            Status::Timeout => &mut self.timeout,
            Status::Cancelled => &mut self.cancelled,
        }
    }
}

/// What a run did, counted from the outcomes delivered. As JSON:
/// `{"executor", "concurrency", "hosts", "ok", "failed", "timeout",
/// "cancelled", "wall_s"}`, and `"legacy_hosts"` when some host needed
/// legacy SSH algorithms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Executor name.
    pub executor: String,
    /// Hosts in flight at most (the executor's effective `-c`).
    pub concurrency: usize,
    /// Outcomes delivered.
    pub hosts: usize,
    /// Outcomes per status.
    #[serde(flatten)]
    pub counts: StatusCounts,
    /// From the first host starting to the last outcome.
    #[serde(rename = "wall_s", with = "seconds")]
    pub wall: Duration,
    /// Outcomes whose connection agreed on legacy SSH algorithms
    /// ([`HostOutcome::legacy_algorithms`](crate::HostOutcome) not empty).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub legacy_hosts: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl RunSummary {
    /// A summary of no hosts yet (what a run that starts nothing reports).
    pub fn empty(executor: impl Into<String>, concurrency: usize) -> Self {
        Self {
            executor: executor.into(),
            concurrency,
            hosts: 0,
            counts: StatusCounts::default(),
            wall: Duration::ZERO,
            legacy_hosts: 0,
        }
    }

    /// Whether every host ended `ok`.
    pub fn all_ok(&self) -> bool {
        self.counts.ok == self.hosts
    }
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e6)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Duration::try_from_secs_f64(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_status() {
        let mut c = StatusCounts::default();
        for status in [Status::Ok, Status::Failed, Status::Cancelled, Status::Ok] {
            c.add(status);
        }
        assert_eq!((c.ok, c.failed, c.timeout, c.cancelled), (2, 1, 0, 1));
        assert_eq!((c.get(Status::Ok), c.get(Status::Timeout)), (2, 0));
        assert_eq!(c.total(), 4);
    }

    #[test]
    fn the_summary_json_keeps_its_flat_layout() {
        let summary = RunSummary {
            executor: "seq".into(),
            concurrency: 1,
            hosts: 3,
            counts: StatusCounts {
                ok: 1,
                failed: 1,
                timeout: 0,
                cancelled: 1,
            },
            wall: Duration::from_millis(1500),
            legacy_hosts: 0,
        };
        let json = serde_json::to_string(&summary).unwrap();
        assert_eq!(
            json,
            r#"{"executor":"seq","concurrency":1,"hosts":3,"ok":1,"failed":1,"timeout":0,"cancelled":1,"wall_s":1.5}"#
        );
        let back: RunSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, summary);
        assert!(!back.all_ok());
        let legacy = RunSummary {
            legacy_hosts: 2,
            ..summary
        };
        let json = serde_json::to_string(&legacy).unwrap();
        assert!(
            json.ends_with(r#""wall_s":1.5,"legacy_hosts":2}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<RunSummary>(&json).unwrap(), legacy);
    }
}
