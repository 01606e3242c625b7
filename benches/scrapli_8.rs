//! Seed 000: scrapli's `show version` on 8 NX-OS connections, one after
//! another (5.97 s) vs asyncio (4.67 s), here against an in-process
//! simulated fleet of 8 NX-OS devices with 50 ms command latency.
//!
//! Each iteration logs in to all 8 devices over SSH, opens the interactive
//! CLI, disables paging, runs `show version` and logs out — through the
//! executors' library API: `seq` (ssh2, one device after another) is the
//! seed's sync program, `async` (russh, all 8 at once) its asyncio one;
//! the other executors at `-c 8` for reference.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fanout_core::{CliMode, Job, Platform, Task};
use fanout_sim::Fleet;

const DEVICES: usize = 8;

fn scrapli_8(c: &mut Criterion) {
    let fleet = Fleet::builder()
        .devices(DEVICES)
        .platform(Platform::Nxos)
        .latency(Duration::from_millis(50), Duration::ZERO)
        .start()
        .expect("simulated fleet");
    let targets = fleet.targets();
    let mut job = Job::new(Task::Cli {
        commands: vec!["show version".to_string()],
        mode: CliMode::User,
    })
    .with_concurrency(DEVICES);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];

    let mut group = c.benchmark_group("scrapli_8");
    common::configure(&mut group);
    for (name, executor) in common::executors() {
        group.bench_function(BenchmarkId::new(name, DEVICES), |b| {
            b.iter(|| common::run_ok(executor.as_ref(), &job, &targets));
        });
    }
    group.finish();
}

criterion_group!(benches, scrapli_8);
criterion_main!(benches);
