//! Seed 000: `count()` three times — sequentially (3 x `time.sleep(1)` =
//! 3.00 s) and with `asyncio.gather` (1.00 s). Scaled: 1 s -> 50 ms.
//!
//! `std_sequential` / `tokio_gather` are the Python programs in plain Rust;
//! `fanout/*` runs the same three waits as a 3-host `sleep` job on each
//! executor, so the executors' own overhead shows next to the language's.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fanout_core::{Job, Target, Task};

const UNIT: Duration = Duration::from_millis(50);

fn count_sync() {
    std::hint::black_box("One");
    std::thread::sleep(UNIT);
    std::hint::black_box("Two");
}

async fn count_async() {
    std::hint::black_box("One");
    tokio::time::sleep(UNIT).await;
    std::hint::black_box("Two");
}

fn seed_count(c: &mut Criterion) {
    let mut group = c.benchmark_group("seed_count");
    common::configure(&mut group);
    group.bench_function(BenchmarkId::new("std_sequential", 3), |b| {
        b.iter(|| {
            count_sync();
            count_sync();
            count_sync();
        });
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    group.bench_function(BenchmarkId::new("tokio_gather", 3), |b| {
        b.to_async(&rt)
            .iter(|| async { tokio::join!(count_async(), count_async(), count_async()) });
    });
    let targets = Target::synthetic(3);
    let job = Job::new(Task::Sleep { duration: UNIT }).with_concurrency(3);
    for (name, executor) in common::executors() {
        group.bench_function(BenchmarkId::new(format!("fanout/{name}"), 3), |b| {
            b.iter(|| common::run_ok(executor.as_ref(), &job, &targets));
        });
    }
    group.finish();
}

criterion_group!(benches, seed_count);
criterion_main!(benches);
