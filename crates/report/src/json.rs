use std::io::{self, Write};

use fanout_core::{HostOutcome, RunSummary};
use serde::Serialize;

use crate::Reporter;
use crate::extras::{HostExtras, HostJson, HostsJson};

/// `--format jsonl`: one object per host as it completes (flushed by
/// [`Reporter::flush`] once no outcome is waiting), then
/// `{"summary": {...}}`.
pub struct JsonLinesReporter<'a> {
    out: Box<dyn Write + 'a>,
    /// One line, serialized here and written to `out` in one call: the
    /// serializer's many small writes stay out of the `dyn Write` (half
    /// the main thread's time in a million-host run).
    line: Vec<u8>,
}

impl<'a> JsonLinesReporter<'a> {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + 'a>) -> Self {
        Self {
            out,
            line: Vec::with_capacity(512),
        }
    }
}

/// A serializer error as an I/O error, keeping the kind of a failed write
/// (a closed pipe stays `BrokenPipe`, so the caller can tell it apart).
fn to_io(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    }
}

impl Reporter for JsonLinesReporter<'_> {
    fn host(&mut self, outcome: &HostOutcome) -> io::Result<()> {
        self.host_with(outcome, &HostExtras::default())
    }

    fn host_with(&mut self, outcome: &HostOutcome, extras: &HostExtras) -> io::Result<()> {
        let host = HostJson {
            outcome,
            extras: Some(extras),
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &host).map_err(to_io)?;
        self.line.push(b'\n');
        let written = self.out.write_all(&self.line);
        if self.line.capacity() > 1 << 20 {
            // A host with megabytes of output does not keep them allocated.
            self.line = Vec::with_capacity(512);
        }
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        #[derive(Serialize)]
        struct Line<'s> {
            summary: &'s RunSummary,
        }
        serde_json::to_writer(&mut self.out, &Line { summary }).map_err(to_io)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// `--format json`: `{"hosts": [...], "summary": {...}}` once the run ends.
pub struct JsonReporter<'a> {
    out: Box<dyn Write + 'a>,
    hosts: Vec<HostOutcome>,
    /// `extras[i]` belongs to `hosts[i]`.
    extras: Vec<HostExtras>,
}

impl<'a> JsonReporter<'a> {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + 'a>) -> Self {
        Self {
            out,
            hosts: Vec::new(),
            extras: Vec::new(),
        }
    }
}

/// The `--format json` document (also `summary.json` of an output folder).
#[derive(Serialize)]
pub(crate) struct Document<'d> {
    pub(crate) hosts: HostsJson<'d>,
    pub(crate) summary: &'d RunSummary,
    /// Output folders only: host name -> its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) files: Option<&'d std::collections::BTreeMap<String, String>>,
}

impl Reporter for JsonReporter<'_> {
    fn host(&mut self, outcome: &HostOutcome) -> io::Result<()> {
        self.host_with(outcome, &HostExtras::default())
    }

    fn host_with(&mut self, outcome: &HostOutcome, extras: &HostExtras) -> io::Result<()> {
        self.hosts.push(outcome.clone());
        self.extras.push(extras.clone());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Nothing is written before the run ends.
        Ok(())
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        let doc = Document {
            hosts: HostsJson {
                outcomes: &self.hosts,
                extras: &self.extras,
            },
            summary,
            files: None,
        };
        serde_json::to_writer_pretty(&mut self.out, &doc).map_err(to_io)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::RunSummary;

    /// A pipe whose reader has gone away.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_stays_a_broken_pipe() {
        let summary = RunSummary::empty("seq", 1);
        let outcome = crate::sample_outcome("r1", "x\n");
        let mut lines = JsonLinesReporter::new(Box::new(Closed));
        let err = lines.host(&outcome).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        let mut doc = JsonReporter::new(Box::new(Closed));
        doc.host(&outcome).unwrap();
        let err = doc.finish(&summary).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
    }
}
