//! How long an executor's run will take, before it runs: from what one
//! host costs (the task's own duration for `sleep`, a one-host probe run
//! otherwise) and how many hosts the executor's model keeps in flight.
//!
//! The model: hosts go in rounds of `in flight` (for CPU-bound hosts, at
//! most one per core); a run is `rounds x one host`, plus, for the process
//! executor, starting its worker processes. It ignores what hosts share
//! (SSH handshakes compete with the fleet for the cores), so for the
//! parallel executors it is a lower bound; for `seq` and `rayon` on I/O it
//! is close. It exists to warn before a comparison runs for many minutes.

use std::time::Duration;

use serde::Serialize;

use crate::render::fmt_time;

/// CPU to start one `fanout worker` process (fork, exec, dynamic linking,
/// handshake): about 7 ms measured on the project's 2-core machine.
pub const PROCESS_START_CPU: Duration = Duration::from_millis(8);

/// What one host costs, for estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct HostCost {
    /// Wall time of one host, start to outcome.
    pub wall: Duration,
    /// The host keeps a core busy all that time, so more hosts in flight
    /// than cores do not help.
    pub cpu_bound: bool,
}

/// One executor's expected run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Estimate {
    /// Executor name.
    pub executor: String,
    /// One run, start to last outcome.
    #[serde(rename = "run_s", serialize_with = "secs")]
    pub run: Duration,
    /// How it was reckoned: `1000 hosts x 1 s, 1 at a time`.
    pub basis: String,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e3).round() / 1e3)
}

/// The run of `executor` with `concurrency` hosts in flight (what it will
/// really use: seq 1, rayon one per core) on `hosts` hosts of `cost` each,
/// on a machine with `cores` cores.
pub fn estimate(
    executor: &str,
    concurrency: usize,
    hosts: usize,
    cores: usize,
    cost: HostCost,
) -> Estimate {
    let in_flight = concurrency.clamp(1, hosts.max(1));
    let parallel = if cost.cpu_bound {
        in_flight.min(cores.max(1))
    } else {
        in_flight
    };
    let rounds = hosts.div_ceil(parallel);
    let mut run = cost
        .wall
        .saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX));
    let at = if parallel == 1 {
        "1 at a time".to_string()
    } else if cost.cpu_bound && parallel < in_flight {
        format!("{parallel} at a time (CPU-bound, {cores} cores)")
    } else {
        format!("{parallel} at a time")
    };
    let mut basis = format!("{hosts} hosts x {}, {at}", fmt_time(cost.wall));
    if executor == "process" {
        let workers = u32::try_from(in_flight).unwrap_or(u32::MAX);
        let start =
            PROCESS_START_CPU.saturating_mul(workers) / u32::try_from(cores.max(1)).unwrap_or(1);
        run += start;
        basis.push_str(&format!(
            ", + {} starting {in_flight} workers",
            fmt_time(start)
        ));
    }
    Estimate {
        executor: executor.to_string(),
        run,
        basis,
    }
}

/// A `--max-run` value that includes a run of `total`: whole seconds up
/// to two minutes, whole minutes beyond.
pub fn max_run_hint(total: Duration) -> String {
    let secs = total.as_secs_f64().ceil() as u64 + 1;
    if secs <= 120 {
        format!("{secs}s")
    } else {
        format!("{}m", secs.div_ceil(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLEEP_1S: HostCost = HostCost {
        wall: Duration::from_secs(1),
        cpu_bound: false,
    };

    #[test]
    fn rounds_of_hosts_in_flight() {
        // compare --synthetic 1000 sleep 1s on 2 cores, -c 100.
        let seq = estimate("seq", 1, 1000, 2, SLEEP_1S);
        assert_eq!(seq.run, Duration::from_secs(1000));
        assert_eq!(seq.basis, "1000 hosts x 1.00 s, 1 at a time");
        let rayon = estimate("rayon", 2, 1000, 2, SLEEP_1S);
        assert_eq!(rayon.run, Duration::from_secs(500));
        let threads = estimate("threads", 100, 1000, 2, SLEEP_1S);
        assert_eq!(threads.run, Duration::from_secs(10));
        assert_eq!(threads.basis, "1000 hosts x 1.00 s, 100 at a time");
        // The process pool also starts its workers: 100 x 8 ms over 2 cores.
        let process = estimate("process", 100, 1000, 2, SLEEP_1S);
        assert_eq!(process.run, Duration::from_millis(10_400));
        assert!(
            process.basis.ends_with(", + 400 ms starting 100 workers"),
            "{}",
            process.basis
        );
        // More in flight than hosts: one round.
        let few = estimate("async", 100, 8, 2, SLEEP_1S);
        assert_eq!(
            (few.run, few.basis.as_str()),
            (Duration::from_secs(1), "8 hosts x 1.00 s, 8 at a time")
        );
    }

    #[test]
    fn cpu_bound_hosts_use_at_most_every_core() {
        let cpu = HostCost {
            wall: Duration::from_millis(500),
            cpu_bound: true,
        };
        let threads = estimate("threads", 100, 8, 2, cpu);
        assert_eq!(threads.run, Duration::from_secs(2));
        assert_eq!(
            threads.basis,
            "8 hosts x 500 ms, 2 at a time (CPU-bound, 2 cores)"
        );
        assert_eq!(estimate("seq", 1, 8, 2, cpu).run, Duration::from_secs(4));
    }

    #[test]
    fn hints_round_up() {
        assert_eq!(max_run_hint(Duration::from_millis(2000)), "3s");
        assert_eq!(max_run_hint(Duration::from_secs(1000)), "17m");
        assert_eq!(max_run_hint(Duration::from_secs(119)), "120s");
    }
}
