//! Back-to-back runs in one process (issue 17's soak): after each run the
//! executor has left nothing open at the devices, and the process's file
//! descriptors, threads and RSS can be compared run to run
//! ([`soak_runs`], which the `soak` bench prints at 10,000 hosts).

use std::time::{Duration, Instant};

use fanout_core::{Executor, Job, Status, Target};
use fanout_sim::Fleet;

use super::fixtures::{exec_task, small_fleet, ssh_job};
use crate::checks::{MakeExecutor, run_job};

/// What one run of [`soak_runs`] did and left behind.
#[derive(Clone, Copy, Debug)]
pub struct SoakRun {
    /// Hosts reported ok.
    pub ok: usize,
    /// Hosts reported.
    pub reported: usize,
    /// How long the run took.
    pub elapsed: Duration,
    /// Connections the fleet still had open once the run returned and
    /// settled (up to 10 s): 0 unless the executor leaked a session.
    pub open_at_fleet: usize,
    /// Connections the fleet accepted during the run.
    pub connections: usize,
    /// This process's open file descriptors after the run.
    pub fds: usize,
    /// This process's threads after the run.
    pub threads: usize,
    /// This process's resident set after the run, in KiB.
    pub rss_kib: u64,
}

/// Runs `job` on `targets` (hosts of `fleet`) `runs` times back to back,
/// sampling after each run what it left open.
pub fn soak_runs(
    exec: &dyn Executor,
    job: &Job,
    targets: &[Target],
    fleet: &Fleet,
    runs: usize,
) -> Vec<SoakRun> {
    (0..runs)
        .map(|_| {
            let before = fleet.stats().connections;
            let d = run_job(exec, job, targets, None, None);
            let elapsed = d.elapsed;
            let until = Instant::now() + Duration::from_secs(10);
            while fleet.stats().active > 0 && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            let stats = fleet.stats();
            let (threads, rss_kib) = status();
            SoakRun {
                ok: d.count(Status::Ok),
                reported: d.outcomes.len(),
                elapsed,
                open_at_fleet: stats.active,
                connections: stats.connections - before,
                fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
                threads,
                rss_kib,
            }
        })
        .collect()
}

/// `Threads` and `VmRSS` (KiB) of /proc/self/status.
fn status() -> (usize, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("Threads:") as usize, field("VmRSS:"))
}

/// Five back-to-back runs of 24 hosts (8 devices, each listed three
/// times) on one executor: every run has every host ok with exactly one
/// connection each, and leaves no connection open at the devices. (The
/// process's own fds and threads are not compared here: other tests share
/// the process; the `soak` bench compares them at 10,000 hosts.)
pub fn soak_leaves_nothing_open(make: MakeExecutor<'_>) {
    let exec = make();
    let fleet = small_fleet(8, "soak-pw-1", "");
    let mut targets = Vec::new();
    for round in 0..3 {
        for mut t in fleet.targets() {
            t.name = format!("{}-{round}", t.name);
            targets.push(t);
        }
    }
    let job = ssh_job(exec_task("show version"), &fleet, 6);
    for (i, run) in soak_runs(exec.as_ref(), &job, &targets, &fleet, 5)
        .iter()
        .enumerate()
    {
        assert_eq!(
            (run.ok, run.reported),
            (24, 24),
            "run {i}: every host ok: {run:?}"
        );
        assert_eq!(
            run.connections, 24,
            "run {i}: one connection per host: {run:?}"
        );
        assert_eq!(
            run.open_at_fleet, 0,
            "run {i}: the executor left sessions open at the devices: {run:?}"
        );
    }
}
