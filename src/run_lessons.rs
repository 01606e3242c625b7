//! The `fanout run` options that make the concurrency models visible (the
//! teaching kit): result order, the async runtime, the seed of
//! `sleep MIN..MAX`, and the timeline picture.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use fanout_core::ResultOrder;
use fanout_exec_async::Runtime;

use crate::cli::ExecutorName;

/// `fanout run` options of the teaching kit (one block, flattened into
/// `RunArgs`).
#[derive(Debug, Args)]
pub(crate) struct RunLessonArgs {
    /// Order of the results in every output format: completion (each host
    /// as it finishes, like asyncio.as_completed) or inventory (inventory
    /// order, like asyncio.gather; a host that finishes early waits for
    /// those before it, and only those waiting are held in memory).
    #[arg(long, value_enum, value_name = "ORDER", default_value_t = OrderArg::Completion)]
    pub(crate) order: OrderArg,

    /// With -e async: current-thread (every host on one thread, like
    /// asyncio's single event loop; same as -e async-ct) or multi-thread
    /// (a work-stealing pool, one thread per core) [default: multi-thread].
    #[arg(long, value_enum, value_name = "RUNTIME")]
    pub(crate) runtime: Option<RuntimeArg>,

    /// Seed of `sleep MIN..MAX`: each host's duration is picked from the
    /// seed and the host's name, so the same seed gives the same durations
    /// on every executor and every run [default: 1].
    #[arg(long, value_name = "N", default_value_t = fanout_core::DEFAULT_SLEEP_SEED)]
    pub(crate) seed: u64,

    /// Draw the run as an SVG picture: one bar per host (queued, connect,
    /// auth, command, in colour) against wall time, so each executor's
    /// shape shows (seq's staircase, threads' blocks of -c, async's single
    /// wave). Above 200 hosts, consecutive hosts share a row.
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) timeline: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OrderArg {
    /// As each host finishes (asyncio.as_completed).
    Completion,
    /// In inventory order (asyncio.gather).
    Inventory,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum RuntimeArg {
    /// One thread runs every host (asyncio's event loop).
    CurrentThread,
    /// A work-stealing pool of one thread per core.
    MultiThread,
}

impl RunLessonArgs {
    /// Checks the options that write files, before any host starts.
    pub(crate) fn check_paths(&self) -> Result<()> {
        if let Some(path) = &self.timeline {
            crate::out_path::check_output_file("--timeline", path, &["svg"])?;
        }
        Ok(())
    }

    pub(crate) fn order(&self) -> ResultOrder {
        match self.order {
            OrderArg::Completion => ResultOrder::Completion,
            OrderArg::Inventory => ResultOrder::Inventory,
        }
    }

    /// The async runtime `-e` and `--runtime` ask for, or an error when
    /// they do not go together.
    pub(crate) fn async_runtime(&self, executor: ExecutorName) -> Result<Runtime> {
        Ok(match (executor, self.runtime) {
            (ExecutorName::Async, None | Some(RuntimeArg::MultiThread)) => Runtime::MultiThread,
            (ExecutorName::Async | ExecutorName::AsyncCt, Some(RuntimeArg::CurrentThread))
            | (ExecutorName::AsyncCt, None) => Runtime::CurrentThread,
            (ExecutorName::AsyncCt, Some(RuntimeArg::MultiThread)) => bail!(
                "-e async-ct is -e async --runtime current-thread, so --runtime multi-thread contradicts it; use -e async for the multi-thread runtime"
            ),
            (other, Some(_)) => bail!(
                "--runtime chooses the tokio runtime of -e async, and -e {} has none; use -e async --runtime ... or leave --runtime out",
                other.as_str()
            ),
            (_, None) => Runtime::MultiThread,
        })
    }
}
