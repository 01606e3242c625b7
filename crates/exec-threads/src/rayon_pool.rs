//! `-e rayon`: hosts as tasks of a rayon thread pool. It exists to teach:
//! rayon is built for CPU work (one thread per core, work stealing), so it
//! is great for `cpu` tasks and wrong for blocking I/O, where each waiting
//! host occupies one of the few threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::Sender;
use fanout_core::{
    CancelToken, ExecError, Executor, HostOutcome, Job, RunSummary, Sink, Target, Worker,
};
use fanout_engine::{AttemptGate, ConnectRate};

use crate::dispatch::{Launcher, PoolShape, drive, run_one};
use crate::settings::{self, BuildError, DEFAULT_STACK_SIZE, MIN_STACK_SIZE};
use crate::thread_pool::MAX_THREADS;
use fanout_engine::blocking::HostRun;
use fanout_transport_blocking::Transports;

/// Runs hosts as tasks on a rayon `ThreadPool` (`-e rayon`), by default one
/// thread per core. Great for CPU-bound tasks; for blocking I/O (SSH, sleep)
/// only as many hosts as threads are in flight, which is the lesson.
#[derive(Clone, Debug, Default)]
pub struct Rayon {
    threads: Option<usize>,
    stack_size: Option<usize>,
}

impl Rayon {
    /// One thread per core.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for non-default settings.
    pub fn builder() -> RayonBuilder {
        RayonBuilder::default()
    }

    /// Threads of the pool this executor builds for each run.
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }
}

/// Builds a [`Rayon`] executor (by value).
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct RayonBuilder {
    threads: Option<usize>,
    stack_size: Option<usize>,
}

impl RayonBuilder {
    /// Pool threads (default: one per core, as rayon does).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Stack size of each pool thread in bytes (default 256 KiB).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The executor, or what is wrong with the settings.
    pub fn build(self) -> Result<Rayon, BuildError> {
        if self.threads == Some(0) {
            return Err(BuildError::ZeroThreads);
        }
        if let Some(bytes) = self.stack_size.filter(|b| *b < MIN_STACK_SIZE) {
            return Err(BuildError::StackTooSmall { bytes });
        }
        Ok(Rayon {
            threads: self.threads,
            stack_size: self.stack_size,
        })
    }
}

impl Executor for Rayon {
    fn name(&self) -> &str {
        "rayon"
    }

    fn concurrency(&self, job: &Job) -> usize {
        self.threads().min(job.limits.concurrency)
    }

    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        job.validate()?;
        let threads = self.threads();
        if threads > MAX_THREADS {
            return Err(setup(format!(
                "{threads} rayon threads are more than {MAX_THREADS}; lower -c"
            )));
        }
        let concurrency = self.concurrency(job);
        // Every pool thread counts against the process limit, busy or not.
        settings::check_threads(threads, job.task.kind(), targets).map_err(setup)?;
        let transports = Transports::for_job(job).map_err(|e| setup(e.to_string()))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(self.stack_size.unwrap_or(DEFAULT_STACK_SIZE))
            .thread_name(|n| format!("fanout-rayon-{n}"))
            .build()
            .map_err(|e| {
                setup(format!(
                    "could not start {threads} rayon threads ({e}); lower -c or raise the thread limit (ulimit -u)"
                ))
            })?;
        let limiter = ConnectRate::for_limits(&job.limits);
        let run_cancel = cancel.child();
        let (result_tx, result_rx) = crossbeam_channel::unbounded::<(usize, HostOutcome)>();
        // A host runs only if it claims its flag first; on cancel the
        // calling thread claims what no worker has started.
        let claimed: Vec<AtomicBool> = targets.iter().map(|_| AtomicBool::new(false)).collect();
        let started = Instant::now();
        let shape = PoolShape {
            name: self.name(),
            concurrency,
            metered: job.limits.has_caps()
                || concurrency < threads
                || job.limits.max_fail.is_some(),
        };
        let summary = pool.in_place_scope(|scope| {
            let mut launcher = Spawner {
                scope,
                job,
                targets,
                cancel: &run_cancel,
                limiter: limiter.as_ref(),
                transports: &transports,
                claimed: &claimed,
                results: result_tx,
                started,
                launched: Vec::new(),
            };
            drive(
                shape,
                job,
                targets,
                sink,
                &run_cancel,
                &mut launcher,
                &result_rx,
            )
        });
        Ok(summary)
    }
}

/// Spawns each launched host as a rayon task of the scope.
struct Spawner<'scope, 'env> {
    scope: &'scope rayon::Scope<'env>,
    job: &'env Job,
    targets: &'env [Target],
    cancel: &'env CancelToken,
    limiter: Option<&'env ConnectRate>,
    transports: &'env Transports,
    claimed: &'env [AtomicBool],
    results: Sender<(usize, HostOutcome)>,
    started: Instant,
    launched: Vec<usize>,
}

impl Launcher for Spawner<'_, '_> {
    fn launch(&mut self, index: usize) {
        self.launched.push(index);
        let (job, targets, cancel, limiter, transports, claimed) = (
            self.job,
            self.targets,
            self.cancel,
            self.limiter,
            self.transports,
            self.claimed,
        );
        let (results, started) = (self.results.clone(), self.started);
        self.scope.spawn(move |_| {
            if claimed[index].swap(true, Ordering::SeqCst) {
                return;
            }
            let run = HostRun {
                worker: Worker::Thread(rayon::current_thread_index().unwrap_or(0)),
                cancel,
                connect_rate: limiter.map(|l| l as &dyn AttemptGate),
                transport: Some(transports),
            };
            let outcome = run_one(job, &targets[index], run, started);
            let _ = results.send((index, outcome));
        });
    }

    fn withdraw(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.launched)
            .into_iter()
            .filter(|i| !self.claimed[*i].swap(true, Ordering::SeqCst))
            .collect()
    }
}

fn setup(message: String) -> ExecError {
    ExecError::setup("rayon", message)
}
