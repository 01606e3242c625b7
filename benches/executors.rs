//! Every executor of the workspace x {10, 100, 1000} hosts, on I/O-bound
//! work (`sleep 1ms` per host, concurrency 100) and CPU-bound work (`cpu
//! 200000` per host, about 0.2 ms). The table `fanout compare` prints, as
//! criterion statistics. Add an executor in `common/mod.rs`.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fanout_core::{Job, Target, Task};

const SIZES: [usize; 3] = [10, 100, 1000];
const CONCURRENCY: usize = 100;

fn bench(c: &mut Criterion, group_name: &str, task: Task) {
    let mut group = c.benchmark_group(group_name);
    common::configure(&mut group);
    let job = Job::new(task).with_concurrency(CONCURRENCY);
    for (name, executor) in common::executors() {
        for hosts in SIZES {
            let targets = Target::synthetic(hosts);
            group.throughput(Throughput::Elements(hosts as u64));
            group.bench_with_input(BenchmarkId::new(name, hosts), &targets, |b, targets| {
                b.iter(|| common::run_ok(executor.as_ref(), &job, targets));
            });
        }
    }
    group.finish();
}

fn io_bound(c: &mut Criterion) {
    bench(
        c,
        "executors/io_sleep_1ms",
        Task::Sleep {
            duration: Duration::from_millis(1),
        },
    );
}

fn cpu_bound(c: &mut Criterion) {
    bench(
        c,
        "executors/cpu_200k",
        Task::Cpu {
            iterations: 200_000,
        },
    );
}

criterion_group!(benches, io_bound, cpu_bound);
criterion_main!(benches);
