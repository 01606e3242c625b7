use std::io::{self, Write};

use fanout_core::{HostOutcome, RunSummary};

use crate::{Reporter, fold_names, fold_outputs};

/// `--format table`: a status line per host as it completes, then each
/// distinct output once under the (folded) names of the hosts that printed
/// it, then one summary line.
pub struct TableReporter<'a> {
    out: Box<dyn Write + 'a>,
    outcomes: Vec<HostOutcome>,
}

impl<'a> TableReporter<'a> {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + 'a>) -> Self {
        Self {
            out,
            outcomes: Vec::new(),
        }
    }
}

/// `3 hosts: 3 ok, 0 failed, 0 timeout, 0 cancelled in 3.00 s (seq, concurrency 1)`.
pub fn summary_line(s: &RunSummary) -> String {
    format!(
        "{} host{}: {} ok, {} failed, {} timeout, {} cancelled in {:.2} s ({}, concurrency {})",
        s.hosts,
        if s.hosts == 1 { "" } else { "s" },
        s.counts.ok,
        s.counts.failed,
        s.counts.timeout,
        s.counts.cancelled,
        s.wall.as_secs_f64(),
        s.executor,
        s.concurrency
    )
}

impl Reporter for TableReporter<'_> {
    fn host(&mut self, o: &HostOutcome) -> io::Result<()> {
        let ms = o.timings.total.as_secs_f64() * 1e3;
        let mut line = format!("{:<9} {:<16} {:>9.1} ms", o.status.as_str(), o.host, ms);
        if o.attempts > 1 {
            line.push_str(&format!("  ({} attempts)", o.attempts));
        }
        if let (Some(kind), Some(msg)) = (o.error_kind, o.message.as_deref())
            && o.status != fanout_core::Status::Cancelled
        {
            line.push_str(&format!("  {kind}: {msg}"));
        }
        writeln!(self.out, "{line}")?;
        self.out.flush()?;
        self.outcomes.push(o.clone());
        Ok(())
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        for group in fold_outputs(&self.outcomes) {
            let title = format!("{} ({})", fold_names(&group.hosts), group.hosts.len());
            let rule = "-".repeat(title.chars().count().clamp(15, 79));
            writeln!(self.out, "{rule}\n{title}\n{rule}")?;
            self.out.write_all(group.text.as_bytes())?;
            if !group.text.ends_with('\n') {
                writeln!(self.out)?;
            }
        }
        writeln!(self.out, "{}", summary_line(summary))?;
        self.out.flush()
    }
}
