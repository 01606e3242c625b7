//! Seed 004 (blog "libraries used with asyncio", lines 456-522): three
//! workers on one queue, `queue.join()`, then cancel the workers.
//!
//! Twenty random sleeps of 0.05-1.0 s go on a queue; three worker tasks
//! take items, sleep, and mark each done. `join()` returns when every item
//! is done — the workers themselves loop forever, so then they are
//! cancelled and awaited. Three workers finish in about a third of the
//! total sleep time.
//!
//! ```text
//! cargo run --release --example queue_workers
//! ```

#[path = "common/mod.rs"]
mod common;
#[path = "common/queue.rs"]
mod queue;

use std::sync::Arc;
use std::time::{Duration, Instant};

use queue::Queue;

async fn worker(name: String, queue: Arc<Queue<Duration>>) {
    loop {
        let sleep_for = queue.get().await;
        tokio::time::sleep(sleep_for).await;
        // Done only after the work: `join()` must not return before it.
        queue.task_done();
        println!(
            "{name} has slept for {:.2} seconds",
            sleep_for.as_secs_f64()
        );
    }
}

/// `random.uniform(0.05, 1.0)`, from a fixed-seed generator so that every
/// run draws the same sleeps (a 64-bit LCG: good enough for sleeps).
fn uniform(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    0.05 + (*state >> 11) as f64 / (1u64 << 53) as f64 * 0.95
}

/// How long three workers need at best: each item goes to the worker that
/// frees up first, as the queue hands them out.
fn ideal(sleeps: &[f64], workers: usize) -> f64 {
    let mut free_at = vec![0.0_f64; workers];
    for s in sleeps {
        let first = free_at
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("workers");
        *first += s;
    }
    free_at.into_iter().fold(0.0, f64::max)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let queue = Arc::new(Queue::new());
    let mut rng = 2024;
    let sleeps: Vec<f64> = (0..20).map(|_| uniform(&mut rng)).collect();
    for s in &sleeps {
        queue.put(common::secs(*s));
    }
    let total_sleep_time: f64 = sleeps.iter().sum();

    let tasks: Vec<_> = (0..3)
        .map(|i| tokio::spawn(worker(format!("worker-{i}"), Arc::clone(&queue))))
        .collect();

    let started_at = Instant::now();
    queue.join().await;
    let total_slept_for = started_at.elapsed();

    // Cancel the workers, then wait until they are gone (`gather(*tasks,
    // return_exceptions=True)`): a cancelled task's JoinError says so.
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let cancelled = task.await.is_err_and(|e| e.is_cancelled());
        assert!(cancelled, "a worker ended on its own");
    }

    println!("====");
    println!(
        "3 workers slept in parallel for {:.2} seconds",
        total_slept_for.as_secs_f64()
    );
    println!(
        "total expected sleep time: {:.2} seconds",
        total_sleep_time * common::scale()
    );
    common::completed(total_slept_for, None, Some(ideal(&sleeps, 3)));
}
