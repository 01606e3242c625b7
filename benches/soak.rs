//! Soak (issue 17): ten back-to-back in-process runs of `exec 'show
//! version'` on every executor against one simulated fleet, printing after
//! each run what the process holds — file descriptors, threads, RSS — and
//! whether runs 2 to 10 stay within 5 % of run 2 (run 1 warms up
//! allocator pools and caches). Not criterion: the figure is the drift.
//!
//! ```text
//! cargo bench --bench soak                       # 2,000 hosts (200 devices x 10), ~3 min
//! FANOUT_SOAK_HOSTS=10000 cargo bench --bench soak -- threads process async
//! ```

#[path = "common/mod.rs"]
mod common;

use fanout_testkit::fleet_checks::{SoakRun, soak_runs};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The largest drift of `value` over runs 2.. from run 2, in percent.
fn drift(runs: &[SoakRun], value: impl Fn(&SoakRun) -> f64) -> f64 {
    let Some(base) = runs.get(1).map(&value) else {
        return 0.0;
    };
    runs[1..]
        .iter()
        .map(|r| (value(r) - base).abs() * 100.0 / base.max(1.0))
        .fold(0.0, f64::max)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks executors.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let hosts = env("FANOUT_SOAK_HOSTS", 2_000);
    let runs = env("FANOUT_SOAK_RUNS", 10);
    let devices = (hosts / 10).max(1);
    let fleet = fanout_sim::Fleet::builder()
        .devices(devices)
        .credentials("admin", "soak-pw-1", Some("en"))
        .start()
        .expect("the simulated fleet starts");
    let targets: Vec<_> = (0..hosts)
        .map(|i| {
            let mut t = fleet.targets()[i % devices].clone();
            t.name = format!("h{i:06}");
            t
        })
        .collect();
    let mut job = fanout_testkit::fleet_checks::fleet_job(
        fanout_core::Task::Exec {
            command: "show version".into(),
        },
        &fleet,
    );
    job.limits.concurrency = 100;
    println!("{hosts} hosts ({devices} devices), -c 100, {runs} runs per executor");
    println!("| executor | run | ok | wall s | fds | threads | RSS MiB | open at fleet |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut verdicts = Vec::new();
    for (name, exec) in common::executors() {
        if !filter.is_empty() && !filter.iter().any(|f| f == name) {
            continue;
        }
        let samples = soak_runs(exec.as_ref(), &job, &targets, &fleet, runs);
        for (i, r) in samples.iter().enumerate() {
            println!(
                "| {name} | {} | {} | {:.2} | {} | {} | {:.1} | {} |",
                i + 1,
                r.ok,
                r.elapsed.as_secs_f64(),
                r.fds,
                r.threads,
                r.rss_kib as f64 / 1024.0,
                r.open_at_fleet
            );
        }
        let (rss, fds) = (
            drift(&samples, |r| r.rss_kib as f64),
            drift(&samples, |r| r.fds as f64),
        );
        let all_ok = samples
            .iter()
            .all(|r| r.ok == hosts && r.open_at_fleet == 0);
        verdicts.push(format!(
            "{name}: RSS drift {rss:.1} %, fd drift {fds:.1} % over runs 2-{runs}; {}",
            if rss <= 5.0 && fds <= 5.0 && all_ok {
                "flat"
            } else {
                "NOT flat (or not every host ok)"
            }
        ));
    }
    for v in verdicts {
        println!("{v}");
    }
}
