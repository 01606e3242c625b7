//! Shared by the benches: every executor of this workspace, and a runner
//! that checks every host really succeeded (a bench of failures would
//! measure nothing). Each bench uses the parts it needs.
#![allow(dead_code)]

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};
use fanout_core::{CancelToken, CollectSink, Executor, Job, Target};
use fanout_exec_async::AsyncExecutor;
use fanout_exec_process::ProcessExecutor;
use fanout_exec_threads::{Rayon, Sequential, ThreadPool};

/// The executors to compare, by CLI name. Adding one is one line here.
pub fn executors() -> Vec<(&'static str, Box<dyn Executor>)> {
    vec![
        ("seq", Box::new(Sequential::new())),
        ("threads", Box::new(ThreadPool::new())),
        ("rayon", Box::new(Rayon::new())),
        // A pool of -c worker processes (the CLI's default mode): this
        // bench binary is not fanout, so name the binary that is.
        (
            "process",
            Box::new(
                ProcessExecutor::builder()
                    .program(env!("CARGO_BIN_EXE_fanout"))
                    .build(),
            ),
        ),
        ("async", Box::new(AsyncExecutor::new())),
    ]
}

/// The executor named `name` (panics if this workspace has none by that name).
pub fn executor(name: &str) -> Box<dyn Executor> {
    executors()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, e)| e)
        .unwrap_or_else(|| panic!("no `{name}` executor in this workspace"))
}

/// Runs `job` on `targets` and panics unless every host is ok.
pub fn run_ok(executor: &dyn Executor, job: &Job, targets: &[Target]) {
    let mut sink = CollectSink::default();
    let summary = executor
        .run(job, targets, &mut sink, &CancelToken::new())
        .unwrap_or_else(|e| panic!("{}: {e}", executor.name()));
    if !summary.all_ok() {
        let bad = sink.outcomes.iter().find(|o| !o.is_ok());
        panic!(
            "{}: not every host ok: {summary:?}; e.g. {bad:?}",
            executor.name()
        );
    }
}

/// The settings of every group: iterations here take milliseconds to
/// seconds, so 10 flat samples in about 3 s (plus 1 s of warm-up) per
/// benchmark keep a full `cargo bench` under 10 minutes on 2 cores.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}
