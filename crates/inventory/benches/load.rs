//! Loading 100,000 hosts of every format (fanout YAML, Nornir, Ansible YAML
//! and INI, NetBox), in-process: `cargo bench -p fanout-inventory`.
//! `FANOUT_BENCH_HOSTS=N` loads N hosts instead. The inventories are the
//! scale test's (tests/it/generate.rs), written to a temporary directory.

#[path = "../tests/it/generate.rs"]
mod generate;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fanout_inventory::LoadOptions;

fn load(c: &mut Criterion) {
    let n: usize = std::env::var("FANOUT_BENCH_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let env = |v: &str| (v == "LAB_PW").then(|| "pw".to_string());
    let mut group = c.benchmark_group("load");
    // About a second per load before this work: 10 samples, no more.
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(n as u64));
    for format in ["fanout", "nornir", "ansible-yaml", "ansible-ini", "netbox"] {
        let path = generate::write(format, n, tmp.path());
        group.bench_with_input(BenchmarkId::new(format, n), &path, |b, path| {
            // The inventory is freed after the clock stops: loading is timed.
            b.iter_with_large_drop(|| {
                let inv = fanout_inventory::load_with(path, &LoadOptions::default(), &env)
                    .unwrap_or_else(|e| panic!("{format}: {e}"));
                assert_eq!(inv.targets.len(), n, "{format}");
                inv
            });
        });
    }
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
