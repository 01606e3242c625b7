//! fanout's output: how outcomes reach people and scripts.
//!
//! One [`Reporter`] per output format, all fed the same way — each
//! [`HostOutcome`] as it completes, then the [`RunSummary`]:
//! [`TableReporter`] (a streaming status line per host, then outputs folded
//! across hosts like `clush -b`/`dshbak`, then a summary line),
//! [`JsonLinesReporter`] (one object per host, then `{"summary": ...}`) and
//! [`JsonReporter`] (one document at the end). [`OutDir`] writes one file
//! per host plus `summary.json` into a directory that is swapped in
//! atomically, so an existing directory is never half-overwritten.
//!
//! Around them: [`HostExtras`] (parsed records and diffs added to a host's
//! JSON object), [`SimilarTableReporter`] (`--group similar`: outputs that
//! differ only in names, addresses, numbers and times folded together, the
//! varying fields marked) and [`RunDiff`] (`fanout diff`, `--diff-against`:
//! what changed per host between two runs). This crate only renders and
//! compares results; it never runs hosts.

mod diff;
mod extras;
mod failures;
mod fold;
mod json;
mod outdir;
mod similar_outputs;
mod table;
mod timeline;

use std::io;

use fanout_core::{HostOutcome, RunSummary};

pub use diff::{Change, DiffCounts, DiffError, HostChange, RunDiff, Snapshot, SnapshotHost};
pub use extras::{HostDiffJson, HostExtras, OutputExtras};
pub use failures::{FailureGroup, failure_groups, write_failures};
pub use fold::{FoldedOutput, fold_names, fold_outputs, output_text};
pub use json::{JsonLinesReporter, JsonReporter};
pub use outdir::{OutDir, OutDirError};
pub use similar_outputs::{SimilarGroup, SimilarTableReporter, group_similar};
pub use table::{DEFAULT_MAX_LINES, TableOptions, TableReporter, summary_line};
pub use timeline::{
    MAX_ROWS, TimelineError, TimelineHost, TimelineRecorder, span, timeline_path, write_timeline,
};

/// Receives outcomes as they complete and the summary at the end.
pub trait Reporter {
    /// One host finished.
    fn host(&mut self, outcome: &HostOutcome) -> io::Result<()>;
    /// One host finished, with what fanout added to its outcome (parsed
    /// records, its diff against an earlier run). The JSON reporters put
    /// `extras` into the host's object; the others ignore them.
    fn host_with(&mut self, outcome: &HostOutcome, extras: &HostExtras) -> io::Result<()> {
        let _ = extras;
        self.host(outcome)
    }
    /// Writes out what the reporter's writer holds: called when no outcome
    /// is waiting ([`Sink::idle`](fanout_core::Sink::idle)), so a host's
    /// line streams as soon as its burst is written, while a burst of
    /// hosts is a few large writes (the host methods do not flush).
    fn flush(&mut self) -> io::Result<()>;
    /// The run ended (completed, failed or interrupted); flushes.
    fn finish(&mut self, summary: &RunSummary) -> io::Result<()>;
}

/// The output formats of `fanout run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Human table: streaming status lines, folded outputs, summary.
    #[default]
    Table,
    /// One JSON object per host as it completes, then a summary object.
    Jsonl,
    /// One JSON document `{"hosts": [...], "summary": {...}}` at the end.
    Json,
}

/// A reporter for `format` writing to `out` (the table with its default
/// options).
pub fn reporter<'a>(format: Format, out: Box<dyn io::Write + 'a>) -> Box<dyn Reporter + 'a> {
    reporter_with(format, TableOptions::default(), out)
}

/// A reporter for `format` writing to `out`; `table` applies to
/// [`Format::Table`].
pub fn reporter_with<'a>(
    format: Format,
    table: TableOptions,
    out: Box<dyn io::Write + 'a>,
) -> Box<dyn Reporter + 'a> {
    match format {
        Format::Table => Box::new(TableReporter::with_options(out, table)),
        Format::Jsonl => Box::new(JsonLinesReporter::new(out)),
        Format::Json => Box::new(JsonReporter::new(out)),
    }
}

/// An `ok` outcome with one command's output, for this crate's tests.
#[cfg(test)]
pub(crate) fn sample_outcome(host: &str, stdout: &str) -> HostOutcome {
    HostOutcome::ok(
        host,
        vec![fanout_core::CommandOutput {
            command: "c".into(),
            stdout: stdout.into(),
            ..Default::default()
        }],
        fanout_core::Worker::Thread(0),
    )
}
