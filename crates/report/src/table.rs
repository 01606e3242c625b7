use std::io::{self, Write};

use fanout_core::{HostOutcome, RunSummary};

use crate::{Reporter, fold_names, fold_outputs};

/// Lines of each distinct output the table shows by default.
pub const DEFAULT_MAX_LINES: usize = 100;

/// Bytes per shown line, on average, before an output is cut anyway (an
/// output of a few enormous lines must not flood the terminal either).
const BYTES_PER_LINE: usize = 256;

/// How the table shows outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableOptions {
    /// At most this many lines of each distinct output (`None`: all of it).
    /// The rest is counted in a note; JSON and output folders keep it all.
    pub max_lines: Option<usize>,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            max_lines: Some(DEFAULT_MAX_LINES),
        }
    }
}

/// `--format table`: a status line per host as it completes, then each
/// distinct output once under the (folded) names of the hosts that printed
/// it (at most [`TableOptions::max_lines`] lines of it), then one summary
/// line.
pub struct TableReporter<'a> {
    out: Box<dyn Write + 'a>,
    outcomes: Vec<HostOutcome>,
    options: TableOptions,
}

impl<'a> TableReporter<'a> {
    /// Writes to `out`, with the default options.
    pub fn new(out: Box<dyn Write + 'a>) -> Self {
        Self::with_options(out, TableOptions::default())
    }

    /// Writes to `out`.
    pub fn with_options(out: Box<dyn Write + 'a>, options: TableOptions) -> Self {
        Self {
            out,
            outcomes: Vec::new(),
            options,
        }
    }
}

/// The part of `text` the table shows: at most `max_lines` lines and
/// `max_lines x 256` bytes (cut on a character boundary), and how many
/// lines and bytes are left out.
fn excerpt(text: &str, max_lines: usize) -> (&str, usize, usize) {
    // The end of the `max_lines`-th line, or of the whole text.
    let mut end = match max_lines.checked_sub(1) {
        None => 0,
        Some(last) => text
            .match_indices('\n')
            .nth(last)
            .map_or(text.len(), |(i, _)| i + 1),
    };
    let byte_cap = max_lines.saturating_mul(BYTES_PER_LINE);
    if end > byte_cap {
        end = byte_cap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
    }
    let (shown, hidden) = text.split_at(end);
    let mut hidden_lines = hidden.matches('\n').count();
    if !hidden.is_empty() && !hidden.ends_with('\n') {
        hidden_lines += 1;
    }
    (shown, hidden_lines, hidden.len())
}

/// `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `512 bytes`, `3.4 KiB`, `16.0 MiB`.
fn size(bytes: usize) -> String {
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

/// `3 hosts: 3 ok, 0 failed, 0 timeout, 0 cancelled in 3.00 s (seq, concurrency 1)`,
/// then `; 1 host needed legacy SSH algorithms` when one did.
pub fn summary_line(s: &RunSummary) -> String {
    let legacy = match s.legacy_hosts {
        0 => String::new(),
        1 => "; 1 host needed legacy SSH algorithms (see legacy_algorithms in --format json)"
            .to_string(),
        n => format!(
            "; {n} hosts needed legacy SSH algorithms (see legacy_algorithms in --format json)"
        ),
    };
    format!(
        "{} host{}: {} ok, {} failed, {} timeout, {} cancelled in {:.2} s ({}, concurrency {}){legacy}",
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
        match (o.status, o.error_kind, o.message.as_deref()) {
            // `cancelled` says the kind already: only what was happening.
            (fanout_core::Status::Cancelled, _, Some(msg)) => line.push_str(&format!("  {msg}")),
            (_, Some(kind), Some(msg)) => line.push_str(&format!("  {kind}: {msg}")),
            _ => {}
        }
        writeln!(self.out, "{line}")?;
        self.outcomes.push(o.clone());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        for group in fold_outputs(&self.outcomes) {
            let title = format!("{} ({})", fold_names(&group.hosts), group.hosts.len());
            let rule = "-".repeat(title.chars().count().clamp(15, 79));
            writeln!(self.out, "{rule}\n{title}\n{rule}")?;
            let (shown, hidden_lines, hidden_bytes) = match self.options.max_lines {
                Some(max) => excerpt(&group.text, max),
                None => (group.text.as_str(), 0, 0),
            };
            self.out.write_all(shown.as_bytes())?;
            if !shown.is_empty() && !shown.ends_with('\n') {
                writeln!(self.out)?;
            }
            if hidden_bytes > 0 {
                writeln!(
                    self.out,
                    "[... {} more line{} ({}) not shown: --table-lines 0 shows all; --format json/jsonl and --out-dir keep the whole output]",
                    thousands(hidden_lines),
                    if hidden_lines == 1 { "" } else { "s" },
                    size(hidden_bytes)
                )?;
            }
        }
        crate::write_failures(&mut self.out, &self.outcomes)?;
        writeln!(self.out, "{}", summary_line(summary))?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::{ErrorKind, RunSummary, Worker};

    /// The table of `outcomes` with `options`, as text.
    fn table(outcomes: &[HostOutcome], options: TableOptions) -> String {
        let mut buf = Vec::new();
        {
            let mut t = TableReporter::with_options(Box::new(&mut buf), options);
            for o in outcomes {
                t.host(o).unwrap();
            }
            t.finish(&RunSummary::empty("seq", 1)).unwrap();
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn long_outputs_are_cut_with_a_note() {
        let big: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
        let text = table(
            &[crate::sample_outcome("r1", &big)],
            TableOptions { max_lines: Some(3) },
        );
        assert!(
            text.contains("line 1\nline 2\nline 3\n[... 997 more lines ("),
            "{text}"
        );
        assert!(!text.contains("line 4\n"), "{text}");
        assert!(text.contains("--table-lines 0 shows all"), "{text}");
        let all = table(
            &[crate::sample_outcome("r1", &big)],
            TableOptions { max_lines: None },
        );
        assert!(
            all.contains("line 1000\n") && !all.contains("not shown"),
            "{all}"
        );
        // Short outputs are shown whole, without a note.
        let short = table(
            &[crate::sample_outcome("r1", "a\nb\n")],
            TableOptions::default(),
        );
        assert!(
            short.contains("a\nb\n") && !short.contains("not shown"),
            "{short}"
        );
    }

    #[test]
    fn excerpt_counts_what_it_leaves_out() {
        assert_eq!(excerpt("a\nb\nc\n", 2), ("a\nb\n", 1, 2));
        assert_eq!(excerpt("a\nb\nc", 2), ("a\nb\n", 1, 1));
        assert_eq!(excerpt("a\nb\n", 2), ("a\nb\n", 0, 0));
        assert_eq!(excerpt("a\nb", 5), ("a\nb", 0, 0));
        // One enormous line is cut by bytes, on a character boundary.
        let wide = "é".repeat(1000);
        let (shown, lines, bytes) = excerpt(&wide, 1);
        assert!(shown.len() <= BYTES_PER_LINE && shown.len() >= BYTES_PER_LINE - 1);
        assert_eq!((lines, shown.len() + bytes), (1, wide.len()));
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(size(16 << 20), "16.0 MiB");
    }

    #[test]
    fn cancelled_hosts_keep_their_message() {
        let mut late = HostOutcome::cancelled("r2", Worker::Thread(0));
        late.message = Some("cancelled during the command (after 1.2 s)".into());
        let text = table(
            &[
                HostOutcome::cancelled("r1", Worker::Thread(0)),
                late,
                HostOutcome::failed(
                    "r3",
                    ErrorKind::Auth,
                    "password rejected",
                    Worker::Thread(0),
                ),
            ],
            TableOptions::default(),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("cancelled") && lines[0].ends_with("  run cancelled"),
            "{text}"
        );
        assert!(
            lines[1].ends_with("  cancelled during the command (after 1.2 s)"),
            "{text}"
        );
        assert!(lines[2].ends_with("  auth: password rejected"), "{text}");
    }
}
