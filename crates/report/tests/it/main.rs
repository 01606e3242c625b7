//! fanout-report's integration tests: diffs between runs, similar-output
//! grouping, and what extras add to every JSON format.

mod diff;
mod extras;
mod similar;

use fanout_core::{CommandOutput, HostOutcome, RunSummary, Worker};

/// An `ok` host with one command's output.
pub(crate) fn ok(host: &str, command: &str, stdout: &str) -> HostOutcome {
    HostOutcome::ok(
        host,
        vec![CommandOutput {
            command: command.into(),
            stdout: stdout.into(),
            ..Default::default()
        }],
        Worker::Task(0),
    )
}

/// The summary the reporters end with (its numbers do not matter here).
pub(crate) fn summary() -> RunSummary {
    fanout_core::RunSummary::empty("async", 4)
}
