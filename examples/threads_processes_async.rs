//! Seed 003 (slides "Make Python applications faster with asyncio", lines
//! 44-53 and 80): threads vs processes vs async on the same job.
//!
//! The slides' claims: threads have low overhead but shared state;
//! processes have a higher overhead and memory footprint and pay off for
//! CPU-heavy work; async has "less overhead and [is] slightly faster than
//! threads" and scales best. Here all three run `show version` on the same
//! 100 simulated devices, 100 in flight, through fanout's executors:
//! `threads` (a pool of OS threads, ssh2), `process` in per-host mode (one
//! OS process per device, as `multiprocessing.Process` per device) and
//! `async` (tokio tasks, russh). Every device takes the same 0.7 s (login
//! and two commands), so the ideal for each model is one device's time;
//! what each one adds on top is its overhead.
//!
//! ```text
//! cargo run --release --example threads_processes_async
//! ```
//! `fanout compare` does this with CPU, memory and latency percentiles.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use fanout_core::{CancelToken, CliMode, Executor, Flow, HostOutcome, Job, Platform, Task};
use fanout_exec_async::AsyncExecutor;
use fanout_exec_process::{ProcessExecutor, ProcessMode};
use fanout_exec_threads::ThreadPool;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The process executor starts this same program as `... worker` for
    // each device: serve that before anything else (no fleet in a worker).
    if std::env::args().nth(1).as_deref() == Some("worker") {
        std::process::exit(fanout_exec_process::worker_main().into());
    }
    let n = common::devices(100);
    let fleet = common::lab(n, Platform::Ios).start()?;
    let mut job = Job::new(Task::Cli {
        commands: vec!["show version".into()],
        mode: CliMode::User,
    })
    .with_concurrency(n);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    let targets = fleet.targets();

    let executors: Vec<(&str, Box<dyn Executor>)> = vec![
        ("threads", Box::new(ThreadPool::new())),
        (
            "processes",
            Box::new(
                ProcessExecutor::builder()
                    .mode(ProcessMode::PerHost)
                    .build(),
            ),
        ),
        ("async", Box::new(AsyncExecutor::new())),
    ];
    // One device's login + paging off + `show version`.
    let ideal = common::LOGIN + 2.0 * common::COMMAND;
    println!("{n} devices, {n} in flight, `show version` on each");
    for (name, executor) in executors {
        let mut ok = 0;
        let mut count_ok = |o: HostOutcome| {
            ok += usize::from(o.is_ok());
            Flow::Continue
        };
        let s = Instant::now();
        executor.run(&job, &targets, &mut count_ok, &CancelToken::new())?;
        let wall = s.elapsed().as_secs_f64();
        println!(
            "{name:<9} {ok:>4}/{n} ok in {wall:.2} s = {:>6.1} devices/s, {:+.2} s over the ideal ({})",
            n as f64 / wall,
            wall - ideal * common::scale(),
            common::versus(None, Some(ideal))
        );
    }
    Ok(())
}
