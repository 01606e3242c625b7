//! Seed 004: `asyncio.Queue` pipelines.
//!
//! - `queue_3_workers`: 20 items of random sleeps (0.05-1.0 s, scaled to
//!   0.5-10 ms) consumed by 3 workers; `queue.join()`, then the workers are
//!   cancelled. tokio tasks vs OS threads on a crossbeam channel.
//! - `two_stage`: a producer puts roles on queue 1; stage-1 workers turn
//!   each into a result after a remote call (a 5 ms wait) and put it on
//!   queue 2; a stage-2 worker runs a local subprocess (`true`) per result,
//!   as the seed's `heist_worker` runs `create_subprocess_shell`.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// The seed's `random.uniform(0.05, 1.0)`, scaled by 1/100 and made
/// deterministic (a fixed LCG) so every run does the same work.
fn sleeps(n: usize) -> Vec<Duration> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
            Duration::from_secs_f64((0.05 + unit * 0.95) / 100.0)
        })
        .collect()
}

async fn tokio_queue(items: &[Duration], workers: usize) {
    let (tx, rx) = async_queue::<Duration>();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    for d in items {
        tx.send(*d).expect("queue open");
    }
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let rx = std::sync::Arc::clone(&rx);
        let done = done_tx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some(d) = next else { break };
                tokio::time::sleep(d).await;
                let _ = done.send(()); // task_done()
            }
        }));
    }
    // queue.join(): every item done.
    for _ in 0..items.len() {
        done_rx.recv().await.expect("workers alive");
    }
    // Cancel the workers, then wait for them to go.
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
}

fn thread_queue(items: &[Duration], workers: usize) {
    let (tx, rx) = crossbeam_channel::unbounded::<Duration>();
    for d in items {
        tx.send(*d).expect("queue open");
    }
    drop(tx); // the workers stop when the queue is drained
    std::thread::scope(|s| {
        for _ in 0..workers {
            let rx = rx.clone();
            s.spawn(move || {
                for d in rx {
                    std::thread::sleep(d);
                }
            });
        }
    });
}

const ROLES: usize = 30;
const STAGE1_WORKERS: usize = 3;
const REMOTE_CALL: Duration = Duration::from_millis(5);

async fn tokio_two_stage() {
    let (q1_tx, q1_rx) = async_queue::<usize>();
    let (q2_tx, mut q2_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for role in 0..ROLES {
        q1_tx.send(role).expect("queue 1 open");
    }
    drop(q1_tx);
    let mut stage1 = Vec::new();
    for _ in 0..STAGE1_WORKERS {
        let rx = std::sync::Arc::clone(&q1_rx);
        let out = q2_tx.clone();
        stage1.push(tokio::spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some(role) = next else { break };
                tokio::time::sleep(REMOTE_CALL).await;
                out.send(format!("machine-{role}")).expect("queue 2 open");
            }
        }));
    }
    drop(q2_tx);
    let stage2 = tokio::spawn(async move {
        let mut ran = 0;
        while let Some(name) = q2_rx.recv().await {
            let status = tokio::process::Command::new("true")
                .arg(name)
                .status()
                .await
                .expect("run true");
            assert!(status.success());
            ran += 1;
        }
        ran
    });
    for t in stage1 {
        t.await.expect("stage 1 worker");
    }
    assert_eq!(stage2.await.expect("stage 2 worker"), ROLES);
}

type SharedReceiver<T> =
    std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<T>>>;

fn async_queue<T>() -> (tokio::sync::mpsc::UnboundedSender<T>, SharedReceiver<T>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (tx, std::sync::Arc::new(tokio::sync::Mutex::new(rx)))
}

fn thread_two_stage() {
    let (q1_tx, q1_rx) = crossbeam_channel::unbounded::<usize>();
    let (q2_tx, q2_rx) = crossbeam_channel::unbounded::<String>();
    for role in 0..ROLES {
        q1_tx.send(role).expect("queue 1 open");
    }
    drop(q1_tx);
    std::thread::scope(|s| {
        for _ in 0..STAGE1_WORKERS {
            let rx = q1_rx.clone();
            let out = q2_tx.clone();
            s.spawn(move || {
                for role in rx {
                    std::thread::sleep(REMOTE_CALL);
                    out.send(format!("machine-{role}")).expect("queue 2 open");
                }
            });
        }
        drop(q2_tx);
        let stage2 = s.spawn(move || {
            let mut ran = 0;
            for name in q2_rx {
                let status = std::process::Command::new("true")
                    .arg(name)
                    .status()
                    .expect("run true");
                assert!(status.success());
                ran += 1;
            }
            ran
        });
        assert_eq!(stage2.join().expect("stage 2 worker"), ROLES);
    });
}

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let items = sleeps(20);
    let mut group = c.benchmark_group("pipeline");
    common::configure(&mut group);
    group.bench_function(BenchmarkId::new("queue_3_workers/tokio", 20), |b| {
        b.to_async(&rt).iter(|| tokio_queue(&items, 3));
    });
    group.bench_function(BenchmarkId::new("queue_3_workers/threads", 20), |b| {
        b.iter(|| thread_queue(&items, 3));
    });
    group.bench_function(BenchmarkId::new("two_stage/tokio", ROLES), |b| {
        b.to_async(&rt).iter(tokio_two_stage);
    });
    group.bench_function(BenchmarkId::new("two_stage/threads", ROLES), |b| {
        b.iter(thread_two_stage);
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
