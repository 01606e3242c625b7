//! fanout-compare: how `fanout compare` measures executors, and what it
//! concludes.
//!
//! This crate owns the measuring of one `fanout run` child process
//! ([`MeasuredChild`]: wall time, CPU of the child and the children it
//! reaped from `wait4`, peak proportional (PSS) and resident (RSS) memory
//! of its whole process tree sampled from `/proc`), the simulated fleet as its own child process
//! ([`FleetProcess`], whose CPU is read from `/proc/PID/stat` and reported
//! separately), per-host latency percentiles ([`Percentiles`]) read from the
//! run's JSON lines ([`RunLog`]), the aggregation of interleaved repeats
//! ([`ExecutorResult`], [`Comparison`]), the estimate of a run before it
//! starts ([`estimate`]), the recommendation ([`recommend`]) and when a
//! comparison may give one ([`conclude`]), its reasoning in words
//! ([`explain`]), and the output: table, Markdown and JSON
//! ([`render`]) and SVG charts ([`plot`]). Which executors exist and how a
//! child is started is the binary's business (`src/compare_cmd.rs`).

mod child;
mod estimate;
mod explain;
mod external;
mod fleet;
mod histogram;
mod json;
pub mod plot;
pub mod procfs;
mod recommend;
pub mod render;
mod result;
mod runlog;
mod verdict;

pub use child::{
    ChildMeasurement, MeasuredChild, SAMPLE_INTERVAL, interrupt_group, interrupt_process,
    signal_process,
};
pub use estimate::{Estimate, HostCost, PROCESS_START_CPU, estimate, max_run_hint};
pub use explain::explain;
pub use external::External;
pub use fleet::FleetProcess;
pub use histogram::Percentiles;
pub use recommend::{
    Recommendation, TOLERANCE, Workload, WorkloadClass, recommend, recommend_among,
};
pub use result::{Comparison, ExecutorResult, RunMeasurement, RunProblem, Skipped, interleaved};
pub use runlog::RunLog;
pub use verdict::{Rules, Verdict, conclude};

/// Why measuring could not happen.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// A child process could not be started.
    #[error(
        "could not start `{program}`: {source}; check that the program exists and is executable"
    )]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for a child failed.
    #[error("waiting for child process {pid} failed: {source}")]
    Wait {
        /// Its pid.
        pid: u32,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The simulated fleet did not come up.
    #[error("{message}")]
    Fleet {
        /// What happened, with the fleet's own output.
        message: String,
    },
    /// A chart could not be drawn or written.
    #[error("could not write the chart {path}: {message}")]
    Plot {
        /// The SVG file.
        path: String,
        /// What went wrong.
        message: String,
    },
}
