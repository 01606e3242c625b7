//! [`ProcessExecutor`] and its builder.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use fanout_core::{CancelToken, ExecError, Executor, Job, RunSummary, Sink, Target};
use fanout_engine::BlockingTransport;
use fanout_transport_blocking::Transports;

use crate::{limits, scheduler};

/// How hosts are spread over worker processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ProcessMode {
    /// A fresh `fanout worker` per host, at most `-c` alive at once
    /// (`multiprocessing.Process` per device). Pays a process start per host.
    PerHost,
    /// `-c` long-lived workers, each taking the next host when free
    /// (`multiprocessing.Pool`). Pays a process start per worker.
    #[default]
    Pool,
}

impl ProcessMode {
    /// CLI spelling: `per-host` or `pool`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessMode::PerHost => "per-host",
            ProcessMode::Pool => "pool",
        }
    }
}

impl fmt::Display for ProcessMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProcessMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "per-host" => Ok(ProcessMode::PerHost),
            "pool" => Ok(ProcessMode::Pool),
            other => Err(format!(
                "unknown process mode `{other}`: expected per-host or pool"
            )),
        }
    }
}

/// Runs hosts in `fanout worker` child processes (`-e process`): one per
/// host, or a pool of long-lived workers (see [`ProcessMode`]).
///
/// The parent schedules: it hands a host to a worker only when `-c`, the
/// per-group caps and the connect rate allow, and streams each outcome to
/// the sink (on the calling thread) as its worker reports it. A worker that
/// dies mid-host fails only that host (`worker_crashed`, with the signal or
/// exit status and the end of its stderr) and is replaced; a worker that
/// overruns its host's deadline by more than a grace is killed. Cancelling
/// stops the hosts in flight (a worker that does not stop within 0.5 s is
/// killed); when `run` returns, no worker and nothing a worker started is
/// left running.
#[derive(Clone, Debug)]
pub struct ProcessExecutor {
    pub(crate) mode: ProcessMode,
    pub(crate) program: Option<PathBuf>,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) workers: Option<usize>,
}

impl ProcessExecutor {
    /// A builder: pool mode, workers are this program (`current_exe`).
    pub fn builder() -> ProcessExecutorBuilder {
        ProcessExecutorBuilder {
            inner: ProcessExecutor {
                mode: ProcessMode::default(),
                program: None,
                env: Vec::new(),
                workers: None,
            },
        }
    }

    /// The mode hosts are run in.
    pub fn mode(&self) -> ProcessMode {
        self.mode
    }
}

/// Builds a [`ProcessExecutor`] (by value: `builder().mode(..).build()`).
#[derive(Clone, Debug)]
#[must_use]
pub struct ProcessExecutorBuilder {
    inner: ProcessExecutor,
}

impl ProcessExecutorBuilder {
    /// Per-host processes or a pool (default: pool).
    pub fn mode(mut self, mode: ProcessMode) -> Self {
        self.inner.mode = mode;
        self
    }

    /// The `fanout` binary to start as `PROGRAM worker` (default: the
    /// running executable, `std::env::current_exe()`). Tests pass
    /// `env!("CARGO_BIN_EXE_fanout")`.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.inner.program = Some(program.into());
        self
    }

    /// Sets an environment variable for every worker (in addition to this
    /// process's environment), e.g. the test-only
    /// [`FAULTS_ENV`](crate::FAULTS_ENV).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.inner.env.push((key.into(), value.into()));
        self
    }

    /// At most `n` worker processes alive, whatever the job's concurrency
    /// (default: the job's `-c` alone). The CLI passes the number of cores
    /// for `--process-mode pool` when `-c` is not given.
    pub fn workers(mut self, n: usize) -> Self {
        self.inner.workers = Some(n);
        self
    }

    /// The executor.
    pub fn build(self) -> ProcessExecutor {
        self.inner
    }
}

impl Executor for ProcessExecutor {
    fn name(&self) -> &str {
        "process"
    }

    /// Worker processes alive at most: `-c`, capped by
    /// [`workers`](ProcessExecutorBuilder::workers).
    fn concurrency(&self, job: &Job) -> usize {
        let c = job.limits.concurrency;
        self.workers.map_or(c, |w| w.clamp(1, c.max(1)))
    }

    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        job.validate()?;
        let setup = |message: String| ExecError::setup(self.name(), message);
        let program = match &self.program {
            Some(program) => program.clone(),
            None => std::env::current_exe().map_err(|e| {
                setup(format!(
                    "cannot find its own executable to start workers from ({e})"
                ))
            })?,
        };
        match std::fs::metadata(&program) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(setup(format!(
                    "the worker program {} is not a file",
                    program.display()
                )));
            }
            Err(e) => {
                return Err(setup(format!(
                    "the worker program {} cannot be used: {e}",
                    program.display()
                )));
            }
        }
        // A garbled known_hosts file fails the run before any host, as
        // with the other executors (each worker reads it again).
        let transports = Transports::for_job(job).map_err(|e| setup(e.to_string()))?;
        let workers = self.concurrency(job).min(targets.len());
        limits::check(workers, job.task.kind(), targets).map_err(setup)?;
        let transport = Some(&transports as &dyn BlockingTransport);
        Ok(scheduler::run(
            self, &program, job, targets, sink, cancel, transport,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for mode in [ProcessMode::PerHost, ProcessMode::Pool] {
            assert_eq!(mode.as_str().parse::<ProcessMode>().unwrap(), mode);
        }
        assert!(
            "fork"
                .parse::<ProcessMode>()
                .unwrap_err()
                .contains("per-host or pool")
        );
    }

    #[test]
    fn a_missing_program_is_a_setup_error_before_any_outcome() {
        let exec = ProcessExecutor::builder()
            .program("/nonexistent/fanout")
            .build();
        let job = Job::new(fanout_core::Task::Cpu { iterations: 1 }).with_concurrency(2);
        let mut sink = fanout_core::CollectSink::default();
        let err = exec
            .run(&job, &Target::synthetic(3), &mut sink, &CancelToken::new())
            .unwrap_err();
        assert!(
            matches!(&err, ExecError::Setup { message, .. } if message.contains("/nonexistent/fanout")),
            "{err}"
        );
        assert!(sink.outcomes.is_empty());
    }
}
