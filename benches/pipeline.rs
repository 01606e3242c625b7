//! Seed 004 (blog "libraries used with asyncio"): `asyncio.Queue`
//! pipelines, as the seed writes them.
//!
//! - `queue_3_workers` (lines 456-522): 20 random sleeps of 0.05-1.0 s
//!   (scaled by 1/100: 0.5-10 ms, a fixed draw) on a queue; 3 workers take
//!   items and mark them done; `queue.join()`, then the workers are
//!   cancelled and awaited. Ideal: each item to the first free worker (the
//!   makespan is printed when the bench starts). tokio: a queue with
//!   `task_done`/`join` (examples/common/queue.rs) and `abort`; threads: a
//!   crossbeam channel, `join` by counting done messages, and — threads
//!   cannot be aborted — "cancel" by closing the queue.
//! - `two_stage` (lines 524-608): 3 roles on queue 1; one stage-1 worker
//!   logs in over SSH to the one remote host (a simulated IOS device, 5 ms
//!   per command), runs a command, parses names out of its output, puts
//!   them on queue 2 and only then marks the role done; one stage-2 worker
//!   runs a shell command per list (`create_subprocess_shell`); join queue
//!   1, join queue 2, cancel both workers. tokio: fanout's async engine
//!   (`run_stream`, russh) and `tokio::process`; threads: fanout's `seq`
//!   executor (ssh2) and `std::process`. Ideal: three logins, three 5 ms
//!   commands and the last shell command, one after another;
//!   `ssh_exec_once` measures one login + command alone.

#[path = "common/mod.rs"]
mod common;
#[path = "../examples/common/queue.rs"]
mod queue;

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fanout_core::{CancelToken, CollectSink, Executor, Job, Target, Task};
use fanout_exec_threads::Sequential;
use fanout_sim::Fleet;
use futures_util::StreamExt;
use queue::Queue;

const WORKERS: usize = 3;
const ROLES: [&str; 3] = ["cache", "relay", "live"];
const COMMAND: Duration = Duration::from_millis(5);

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

/// Each item to the worker that frees up first: the best 3 workers can do.
fn makespan(items: &[Duration], workers: usize) -> Duration {
    let mut free_at = vec![Duration::ZERO; workers];
    for d in items {
        *free_at.iter_mut().min().expect("workers") += *d;
    }
    free_at.into_iter().max().unwrap_or_default()
}

async fn tokio_queue(items: &[Duration]) {
    let queue = Arc::new(Queue::new());
    for d in items {
        queue.put(*d);
    }
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                loop {
                    let d = queue.get().await;
                    tokio::time::sleep(d).await;
                    queue.task_done();
                }
            })
        })
        .collect();
    queue.join().await;
    for w in &workers {
        w.abort();
    }
    for w in workers {
        assert!(w.await.is_err_and(|e| e.is_cancelled()));
    }
}

fn thread_queue(items: &[Duration]) {
    let (tx, rx) = crossbeam_channel::unbounded::<Duration>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<()>();
    for d in items {
        tx.send(*d).expect("queue open");
    }
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            let (rx, done) = (rx.clone(), done_tx.clone());
            s.spawn(move || {
                for d in rx {
                    std::thread::sleep(d);
                    done.send(()).expect("main waits"); // task_done()
                }
            });
        }
        for _ in items {
            done_rx.recv().expect("workers alive"); // join()
        }
        drop(tx); // "cancel": each worker's loop ends when the queue closes
    });
}

/// The names of the interfaces that are down, tagged with the role.
fn parse(role: &str, output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.trim_end().ends_with("down"))
        .filter_map(|l| l.split_whitespace().next())
        .map(|i| format!("{role}-{i}"))
        .collect()
}

fn shell(names: &[String]) -> String {
    format!("echo restart service on 'name@({})'", names.join("|"))
}

async fn tokio_two_stage(job: Arc<Job>, host: Target) {
    let (q1, q2) = (
        Arc::new(Queue::new()),
        Arc::new(Queue::<Vec<String>>::new()),
    );
    for role in ROLES {
        q1.put(role);
    }
    let stage1 = {
        let (q1, q2) = (Arc::clone(&q1), Arc::clone(&q2));
        tokio::spawn(async move {
            loop {
                let role = q1.get().await;
                let one = vec![host.clone()];
                let mut outcomes =
                    fanout_exec_async::run_stream(Arc::clone(&job), one, CancelToken::new())
                        .expect("valid job");
                let o = outcomes.next().await.expect("one outcome");
                assert!(o.is_ok(), "{:?}", o.message);
                q2.put(parse(role, &o.outputs[0].stdout));
                q1.task_done();
            }
        })
    };
    let stage2 = {
        let q2 = Arc::clone(&q2);
        tokio::spawn(async move {
            loop {
                let names = q2.get().await;
                let cmd = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(shell(&names))
                    .output();
                assert!(cmd.await.expect("run sh").status.success());
                q2.task_done();
            }
        })
    };
    q1.join().await;
    q2.join().await;
    stage1.abort();
    stage2.abort();
    for t in [stage1, stage2] {
        assert!(t.await.is_err_and(|e| e.is_cancelled()), "a worker died");
    }
}

fn thread_two_stage(job: &Job, host: &Target) {
    let (q1_tx, q1_rx) = crossbeam_channel::unbounded::<&str>();
    let (q2_tx, q2_rx) = crossbeam_channel::unbounded::<Vec<String>>();
    let (done1_tx, done1_rx) = crossbeam_channel::unbounded::<()>();
    let (done2_tx, done2_rx) = crossbeam_channel::unbounded::<()>();
    for role in ROLES {
        q1_tx.send(role).expect("queue 1 open");
    }
    std::thread::scope(|s| {
        s.spawn(move || {
            for role in q1_rx {
                let mut sink = CollectSink::default();
                Sequential::new()
                    .run(
                        job,
                        std::slice::from_ref(host),
                        &mut sink,
                        &CancelToken::new(),
                    )
                    .expect("valid job");
                let o = &sink.outcomes[0];
                assert!(o.is_ok(), "{:?}", o.message);
                q2_tx
                    .send(parse(role, &o.outputs[0].stdout))
                    .expect("queue 2 open");
                done1_tx.send(()).expect("main waits");
            }
        });
        s.spawn(move || {
            for names in q2_rx {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(shell(&names))
                    .output();
                assert!(out.expect("run sh").status.success());
                done2_tx.send(()).expect("main waits");
            }
        });
        for _ in ROLES {
            done1_rx.recv().expect("stage 1 alive"); // join queue 1
        }
        for _ in ROLES {
            done2_rx.recv().expect("stage 2 alive"); // join queue 2
        }
        // "cancel": closing queue 1 ends stage 1, which drops queue 2's
        // sender and so ends stage 2.
        drop(q1_tx);
    });
}

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let items = sleeps(20);
    eprintln!(
        "pipeline/queue_3_workers: ideal {:.1} ms (sum of the sleeps {:.1} ms)",
        makespan(&items, WORKERS).as_secs_f64() * 1e3,
        items.iter().sum::<Duration>().as_secs_f64() * 1e3
    );
    let fleet = Fleet::builder()
        .devices(1)
        .latency(COMMAND, Duration::ZERO)
        .start()
        .expect("simulated fleet");
    let host = fleet.targets().remove(0);
    let mut job = Job::new(Task::Exec {
        command: "show ip interface brief".into(),
    });
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    let job = Arc::new(job);

    let mut group = c.benchmark_group("pipeline");
    common::configure(&mut group);
    group.bench_function(BenchmarkId::new("queue_3_workers/tokio", 20), |b| {
        b.to_async(&rt).iter(|| tokio_queue(&items));
    });
    group.bench_function(BenchmarkId::new("queue_3_workers/threads", 20), |b| {
        b.iter(|| thread_queue(&items));
    });
    group.bench_function(BenchmarkId::new("two_stage/tokio", ROLES.len()), |b| {
        b.to_async(&rt)
            .iter(|| tokio_two_stage(Arc::clone(&job), host.clone()));
    });
    group.bench_function(BenchmarkId::new("two_stage/threads", ROLES.len()), |b| {
        b.iter(|| thread_two_stage(&job, &host));
    });
    // What one role's SSH step costs alone: the ideal of `two_stage` is
    // three of these plus one shell command.
    group.bench_function(BenchmarkId::new("ssh_exec_once/tokio", 1), |b| {
        b.to_async(&rt).iter(|| async {
            let one = vec![host.clone()];
            let mut outcomes =
                fanout_exec_async::run_stream(Arc::clone(&job), one, CancelToken::new())
                    .expect("valid job");
            assert!(outcomes.next().await.expect("one outcome").is_ok());
        });
    });
    group.bench_function(BenchmarkId::new("ssh_exec_once/threads", 1), |b| {
        b.iter(|| common::run_ok(&Sequential::new(), &job, std::slice::from_ref(&host)));
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
