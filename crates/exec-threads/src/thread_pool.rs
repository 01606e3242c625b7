//! `-e threads`: a fixed pool of OS threads pulling hosts from a
//! crossbeam-channel work queue and sending outcomes back on a result
//! channel: the source material's `Queue` pattern, with blocking ssh2
//! sessions on each thread.

use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use fanout_core::{
    CancelToken, ExecError, Executor, HostOutcome, Job, RunSummary, Sink, Target, Worker,
};
use fanout_engine::{AttemptGate, ConnectRate};

use crate::dispatch::{Launcher, PoolShape, drive, run_one};
use crate::settings::{self, BuildError, DEFAULT_STACK_SIZE, MIN_STACK_SIZE};
use fanout_engine::blocking::HostRun;
use fanout_transport_blocking::Transports;

/// Most threads one pool may have: past this, an OS-thread-per-host model
/// costs more than it brings; use `-e async` for more hosts in flight.
pub const MAX_THREADS: usize = 10_000;

/// Runs up to `-c` hosts at once, each on its own OS thread of a fixed pool
/// (`-e threads`). Threads are created when the run starts (no more than
/// there are hosts) and end with it.
///
/// Every thread blocks in its host's I/O, so `-c 1000` means 1,000 threads;
/// they are cheap because their stacks are small (256 KiB by default, see
/// [`ThreadPoolBuilder::stack_size`]) and mostly untouched.
#[derive(Clone, Debug)]
pub struct ThreadPool {
    stack_size: usize,
}

impl Default for ThreadPool {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreadPool {
    /// A pool with default settings.
    pub fn new() -> Self {
        Self {
            stack_size: DEFAULT_STACK_SIZE,
        }
    }

    /// A builder for non-default settings.
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder {
            stack_size: DEFAULT_STACK_SIZE,
        }
    }

    /// Stack size of each pool thread, in bytes.
    pub fn stack_size(&self) -> usize {
        self.stack_size
    }
}

/// Builds a [`ThreadPool`] (by value, like rayon's `ThreadPoolBuilder`).
#[derive(Clone, Debug)]
#[must_use]
pub struct ThreadPoolBuilder {
    stack_size: usize,
}

impl ThreadPoolBuilder {
    /// Stack size of each pool thread in bytes (default 256 KiB, at least
    /// 64 KiB). Only touched pages cost memory.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// The pool, or what is wrong with the settings.
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        if self.stack_size < MIN_STACK_SIZE {
            return Err(BuildError::StackTooSmall {
                bytes: self.stack_size,
            });
        }
        Ok(ThreadPool {
            stack_size: self.stack_size,
        })
    }
}

impl Executor for ThreadPool {
    fn name(&self) -> &str {
        "threads"
    }

    fn concurrency(&self, job: &Job) -> usize {
        job.limits.concurrency
    }

    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        job.validate()?;
        let concurrency = job.limits.concurrency;
        if concurrency > MAX_THREADS {
            return Err(setup(format!(
                "-c {concurrency} asks for more than {MAX_THREADS} threads; lower -c, or use -e async for more hosts in flight"
            )));
        }
        let threads = concurrency.min(targets.len());
        settings::check_threads(threads, job.task.kind(), targets).map_err(setup)?;
        let transports = Transports::for_job(job).map_err(|e| setup(e.to_string()))?;
        let limiter = ConnectRate::for_limits(&job.limits);
        let run_cancel = cancel.child();
        let (work_tx, work_rx) = crossbeam_channel::unbounded::<usize>();
        let (result_tx, result_rx) = crossbeam_channel::unbounded::<(usize, HostOutcome)>();
        let started = Instant::now();
        std::thread::scope(|scope| {
            for n in 0..threads {
                let (work, results) = (work_rx.clone(), result_tx.clone());
                let run = HostRun {
                    worker: Worker::Thread(n),
                    cancel: &run_cancel,
                    connect_rate: limiter.as_ref().map(|l| l as &dyn AttemptGate),
                    transport: Some(&transports),
                };
                let spawned = std::thread::Builder::new()
                    .name(format!("fanout-{n}"))
                    .stack_size(self.stack_size)
                    .spawn_scoped(scope, move || {
                        worker(job, targets, run, started, &work, &results)
                    });
                if let Err(e) = spawned {
                    // Nothing was handed out yet: the threads already made
                    // end as soon as the queue closes, and no host is reported.
                    drop(work_tx);
                    return Err(setup(format!(
                        "could create only {n} of {threads} threads ({e}); lower -c or --stack-size, or raise the thread limit (ulimit -u)"
                    )));
                }
            }
            drop(result_tx);
            let mut launcher = Queue {
                work: work_tx,
                taken_back: work_rx,
            };
            let shape = PoolShape {
                name: self.name(),
                concurrency,
                // --max-fail: no host may start after the failure that trips it,
                // so hosts are handed out by the dispatcher that counts.
                metered: job.limits.has_caps() || job.limits.max_fail.is_some(),
            };
            let summary = drive(
                shape,
                job,
                targets,
                sink,
                &run_cancel,
                &mut launcher,
                &result_rx,
            );
            // Dropping the launcher closes the queue: idle threads end.
            drop(launcher);
            Ok(summary)
        })
    }
}

/// One pool thread: run hosts from the queue until it closes.
fn worker(
    job: &Job,
    targets: &[Target],
    run: HostRun<'_>,
    started: Instant,
    work: &Receiver<usize>,
    results: &Sender<(usize, HostOutcome)>,
) {
    for index in work.iter() {
        let outcome = run_one(job, &targets[index], run, started);
        if results.send((index, outcome)).is_err() {
            return;
        }
    }
}

/// The work queue as seen by the calling thread.
struct Queue {
    work: Sender<usize>,
    /// The calling thread's own end of the queue, to take hosts back on cancel.
    taken_back: Receiver<usize>,
}

impl Launcher for Queue {
    fn launch(&mut self, index: usize) {
        // Cannot fail: the calling thread holds a receiver itself.
        let _ = self.work.send(index);
    }

    fn withdraw(&mut self) -> Vec<usize> {
        self.taken_back.try_iter().collect()
    }
}

fn setup(message: String) -> ExecError {
    ExecError::setup("threads", message)
}
