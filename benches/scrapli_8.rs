//! Seed 000 (book chapter "asyncio intro", lines 412-465):
//! `scrapli_example_3_sync.py` vs `scrapli_example_3_async.py` — 8
//! connections, 4 to each of 2 NX-OS devices in the order .50, .60, .50,
//! .60, ..., each logging in, running `show version` and logging out: one
//! after another 5.97 s, with asyncio 4.67 s.
//!
//! Here the 2 devices are simulated NX-OS boxes in this process. Each
//! connection pays a login cost (the SSH banner comes 40 ms late) and each
//! command line 15 ms (paging off, then `show version`): 70 ms per
//! connection, the seed's 5.97 s / 8 = 0.75 s scaled by about 1/10. So the
//! ideal of `seq` (the seed's sync program, ssh2) is 8 x 70 = 560 ms, and
//! of `async` (its asyncio one, russh) one connection's 70 ms: the
//! simulated devices serve 4 sessions each at once without slowing down.
//! (Real NX-OS boxes do slow down, which is most of the seed's 4.67 s; a
//! per-device session limit in the simulator will let this bench show it.)
//! The other executors at `-c 8` for reference.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fanout_core::{CliMode, Job, Platform, Target, Task};
use fanout_sim::Fleet;

const DEVICES: usize = 2;
const CONNECTIONS: usize = 8;
const LOGIN: Duration = Duration::from_millis(40);
const COMMAND: Duration = Duration::from_millis(15);

fn scrapli_8(c: &mut Criterion) {
    let fleet = Fleet::builder()
        .devices(DEVICES)
        .platform(Platform::Nxos)
        .banner_delay(LOGIN)
        .latency(COMMAND, Duration::ZERO)
        .start()
        .expect("simulated fleet");
    // The seed's list: .50, .60, .50, .60, ... — each connection its own
    // host of the job (names must be unique), two addresses in turn.
    let devices = fleet.targets();
    let targets: Vec<Target> = (0..CONNECTIONS)
        .map(|i| {
            let mut t = devices[i % DEVICES].clone();
            t.name = format!("{}-conn{}", t.name, i / DEVICES + 1);
            t
        })
        .collect();
    let mut job = Job::new(Task::Cli {
        commands: vec!["show version".to_string()],
        mode: CliMode::User,
    })
    .with_concurrency(CONNECTIONS);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];

    let mut group = c.benchmark_group("scrapli_8");
    common::configure(&mut group);
    for (name, executor) in common::executors() {
        group.bench_function(BenchmarkId::new(name, CONNECTIONS), |b| {
            b.iter(|| common::run_ok(executor.as_ref(), &job, &targets));
        });
    }
    group.finish();
}

criterion_group!(benches, scrapli_8);
criterion_main!(benches);
