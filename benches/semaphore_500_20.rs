//! Seed 001: 500 tasks of `asyncio.sleep(1)` behind `asyncio.Semaphore(20)`
//! (25 s: 500 / 20 rounds of 1 s). Scaled: 1 s -> 10 ms, so ideal 250 ms.
//!
//! `tokio_semaphore` is the Python program in Rust; `fanout/*` is a 500-host
//! `sleep 10ms` job at `-c 20` on each executor (seq ignores -c, rayon has
//! one thread per core: their lesson is how far from 250 ms they land).

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fanout_core::{Job, Target, Task};
use tokio::sync::Semaphore;

const TASKS: usize = 500;
const LIMIT: usize = 20;
const UNIT: Duration = Duration::from_millis(10);

async fn gated(sem: Arc<Semaphore>) {
    let _permit = sem.acquire().await.expect("semaphore open");
    tokio::time::sleep(UNIT).await;
}

fn semaphore(c: &mut Criterion) {
    let mut group = c.benchmark_group("semaphore_500_20");
    common::configure(&mut group);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    group.bench_function(BenchmarkId::new("tokio_semaphore", TASKS), |b| {
        b.to_async(&rt).iter(|| async {
            let sem = Arc::new(Semaphore::new(LIMIT));
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..TASKS {
                set.spawn(gated(Arc::clone(&sem)));
            }
            while let Some(done) = set.join_next().await {
                done.expect("task ran");
            }
        });
    });
    let targets = Target::synthetic(TASKS);
    let job = Job::new(Task::Sleep { duration: UNIT }).with_concurrency(LIMIT);
    for (name, executor) in common::executors() {
        // seq alone would take 5 s per iteration: it is the baseline of
        // seed_count and executors, not of a 20-way limit.
        if name == "seq" {
            continue;
        }
        group.bench_function(BenchmarkId::new(format!("fanout/{name}"), TASKS), |b| {
            b.iter(|| common::run_ok(executor.as_ref(), &job, &targets));
        });
    }
    group.finish();
}

criterion_group!(benches, semaphore);
criterion_main!(benches);
