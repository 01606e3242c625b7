//! The `async` executor: [`run_stream`](crate::run_stream) on a tokio
//! runtime owned by [`Executor::run`], outcomes handed to the sink on the
//! calling thread as they arrive.

use std::sync::Arc;
use std::time::Duration;

use fanout_core::{CancelToken, ExecError, Executor, Flow, Job, RunSummary, Sink, Target};
use futures_util::{FutureExt, StreamExt};

/// How long `run` waits, after the last outcome, for background work of
/// the runtime (SSH sessions closing, output readers) before leaving it.
const SHUTDOWN_WAIT: Duration = Duration::from_millis(500);

/// One tokio task per host (`-e async`): hosts wait on timers and sockets,
/// not threads, so `-c` can be in the thousands at a few KiB per host.
/// Best for I/O-bound fleets; CPU-bound `cpu` tasks go to tokio's blocking
/// pool. Build it with [`AsyncExecutor::builder`].
#[derive(Clone, Debug)]
pub struct AsyncExecutor {
    worker_threads: usize,
    runtime: Runtime,
}

/// Which tokio runtime [`AsyncExecutor::run`](Executor::run) creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Runtime {
    /// A work-stealing pool of worker threads (default): SSH handshakes
    /// use every core.
    #[default]
    MultiThread,
    /// Every host on the calling thread, like Python's one asyncio event
    /// loop: as fast for timers and I/O waits, fewer SSH hosts/s when
    /// handshakes need the CPU. The executor is named `async-ct`.
    CurrentThread,
}

/// Builds an [`AsyncExecutor`] (by value; every setting has a default).
#[derive(Clone, Debug, Default)]
pub struct AsyncExecutorBuilder {
    worker_threads: Option<usize>,
    runtime: Runtime,
}

impl AsyncExecutorBuilder {
    /// Worker threads of the multi-thread runtime (default: one per core,
    /// so SSH handshakes use every core); `cpu` tasks use tokio's blocking
    /// pool either way. Ignored by [`Runtime::CurrentThread`].
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n.max(1));
        self
    }

    /// The runtime `run` creates (default [`Runtime::MultiThread`]).
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = runtime;
        self
    }

    /// The executor.
    pub fn build(self) -> AsyncExecutor {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        AsyncExecutor {
            worker_threads: match self.runtime {
                Runtime::MultiThread => self.worker_threads.unwrap_or(cores),
                Runtime::CurrentThread => 1,
            },
            runtime: self.runtime,
        }
    }
}

impl Default for AsyncExecutor {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl AsyncExecutor {
    /// A builder with defaults.
    pub fn builder() -> AsyncExecutorBuilder {
        AsyncExecutorBuilder::default()
    }

    /// The executor with default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tokio worker threads `run` uses (1 for the current-thread runtime:
    /// the calling thread).
    pub fn worker_threads(&self) -> usize {
        self.worker_threads
    }

    /// The runtime `run` creates.
    pub fn runtime_kind(&self) -> Runtime {
        self.runtime
    }

    fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        let mut builder = match self.runtime {
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Runtime::MultiThread => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(self.worker_threads);
                b
            }
        };
        builder.thread_name("fanout-async").enable_all().build()
    }
}

impl Executor for AsyncExecutor {
    fn name(&self) -> &str {
        match self.runtime {
            Runtime::MultiThread => "async",
            Runtime::CurrentThread => "async-ct",
        }
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
        // The host tasks outlive this borrow: they get a copy.
        self.run_shared(job, targets.into(), sink, cancel)
    }

    fn run_shared(
        &self,
        job: &Job,
        targets: Arc<[Target]>,
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        job.validate()?;
        if tokio::runtime::Handle::try_current().is_ok() {
            // block_on inside a runtime would panic ("Cannot start a runtime
            // from within a runtime").
            return Err(ExecError::setup(
                self.name(),
                "AsyncExecutor::run blocks the calling thread, so it cannot be called from within a tokio runtime; in async code use fanout_exec_async::run_stream, or call run from a plain thread (e.g. tokio::task::spawn_blocking)",
            ));
        }
        let runtime = self.runtime().map_err(|e| {
            ExecError::setup(
                self.name(),
                format!(
                    "could not start the tokio runtime: {e}; lower the worker threads or free resources"
                ),
            )
        })?;
        // The sink's Flow::Stop cancels this run without cancelling the caller's token.
        let stop = cancel.child();
        let result = runtime.block_on(async {
            // A library never prints: `--host-keys off` is the caller's to
            // announce (the CLI does); HostStream::warnings is for
            // run_stream users.
            let mut outcomes = crate::run_stream(Arc::new(job.clone()), targets, stop.clone())?;
            loop {
                let next = match outcomes.next().now_or_never() {
                    Some(next) => next,
                    None => {
                        // Nothing waiting: the sink writes what it holds.
                        if sink.idle() == Flow::Stop {
                            stop.cancel();
                        }
                        outcomes.next().await
                    }
                };
                let Some(outcome) = next else { break };
                if sink.accept(outcome) == Flow::Stop {
                    stop.cancel();
                }
            }
            // The last line is out before the runtime's teardown waits.
            sink.idle();
            let mut summary = outcomes.summary();
            summary.executor = self.name().to_string();
            Ok::<RunSummary, ExecError>(summary)
        });
        runtime.shutdown_timeout(SHUTDOWN_WAIT);
        result
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use fanout_core::{CollectSink, Status, Task};

    use super::*;

    #[test]
    fn a_sleep_past_the_clock_waits_until_cancelled() {
        // No timeout and a sleep too long for the clock: waits (no
        // overflow panic) until the run is cancelled.
        let job = Job::new(Task::Sleep {
            duration: Duration::MAX,
        });
        let cancel = CancelToken::new();
        let canceller = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                cancel.cancel();
            })
        };
        let mut sink = CollectSink::default();
        let started = Instant::now();
        let _ =
            AsyncExecutor::new().run(&job, &[Target::new("h1", "127.0.0.1")], &mut sink, &cancel);
        canceller.join().unwrap();
        let o = &sink.outcomes[0];
        assert_eq!(o.status, Status::Cancelled, "{o:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    /// The flavour and worker count of the runtime the caller is inside.
    fn runtime_seen() -> Option<(tokio::runtime::RuntimeFlavor, usize)> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        Some((handle.runtime_flavor(), handle.metrics().num_workers()))
    }

    #[test]
    fn the_current_thread_runtime_runs_every_host_on_the_calling_thread() {
        let job = Job::new(Task::Sleep {
            duration: Duration::from_millis(300),
        })
        .with_concurrency(20);
        let targets: Vec<Target> = (0..20)
            .map(|i| Target::new(format!("h{i}"), "127.0.0.1"))
            .collect();
        use tokio::runtime::RuntimeFlavor;
        for (runtime, name, seen_runtime) in [
            (
                Runtime::CurrentThread,
                "async-ct",
                (RuntimeFlavor::CurrentThread, 1),
            ),
            (
                Runtime::MultiThread,
                "async",
                (RuntimeFlavor::MultiThread, 2),
            ),
        ] {
            let exec = AsyncExecutor::builder()
                .runtime(runtime)
                .worker_threads(2)
                .build();
            assert_eq!(exec.name(), name);
            let mut seen = Vec::new();
            let mut sink = |o: fanout_core::HostOutcome| {
                seen.push((o.status, runtime_seen()));
                Flow::Continue
            };
            let started = Instant::now();
            exec.run(&job, &targets, &mut sink, &CancelToken::new())
                .unwrap();
            // One wave: 20 sleeps of 300 ms at once, on one thread or two.
            assert!(started.elapsed() < Duration::from_secs(3), "{name}");
            assert_eq!(seen.len(), 20);
            let summary = exec
                .run(
                    &job,
                    &targets[..1],
                    &mut CollectSink::default(),
                    &CancelToken::new(),
                )
                .unwrap();
            assert_eq!(summary.executor, name, "the summary names the runtime");
            assert!(seen.iter().all(|(s, _)| *s == Status::Ok), "{seen:?}");
            assert!(
                seen.iter().all(|(_, r)| r.as_ref() == Some(&seen_runtime)),
                "{name}: the runtime outcomes arrived in: {seen:?}"
            );
        }
    }

    #[tokio::test]
    async fn run_inside_a_runtime_is_a_setup_error_not_a_panic() {
        let job = Job::new(Task::Sleep {
            duration: Duration::from_millis(1),
        });
        let targets = vec![Target::new("h1", "127.0.0.1")];
        let mut sink = CollectSink::default();
        let err = AsyncExecutor::new()
            .run(&job, &targets, &mut sink, &CancelToken::new())
            .unwrap_err();
        assert!(matches!(err, ExecError::Setup { .. }), "{err:?}");
        assert!(err.to_string().contains("run_stream"), "{err}");
    }
}
