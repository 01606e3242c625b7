//! What a remote command printed, kept the same way by every transport.

use fanout_core::{CommandOutput, OUTPUT_CAP, output_cut_marker};

/// stdout and stderr of a remote command as they arrive, each kept up to
/// [`OUTPUT_CAP`] bytes (the rest is dropped and the cut marked), turned
/// into a [`CommandOutput`] the same way by the blocking (ssh2) and async
/// (russh) transports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapturedStreams {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    cut_out: bool,
    cut_err: bool,
}

impl CapturedStreams {
    /// Appends to stdout, up to the cap.
    pub fn push_stdout(&mut self, data: &[u8]) {
        push_capped(&mut self.stdout, &mut self.cut_out, data);
    }

    /// Appends to stderr, up to the cap.
    pub fn push_stderr(&mut self, data: &[u8]) {
        push_capped(&mut self.stderr, &mut self.cut_err, data);
    }

    /// Bytes kept so far (both streams).
    pub fn received(&self) -> usize {
        self.stdout.len() + self.stderr.len()
    }

    /// The stdout kept so far.
    pub fn stdout(&self) -> &[u8] {
        &self.stdout
    }

    /// The output of `command` so far: lossy UTF-8, the cut marked, an
    /// empty stderr left out.
    pub fn output(&self, command: &str, exit_status: Option<i32>) -> CommandOutput {
        let text = |bytes: &[u8], cut: bool| {
            let mut s = String::from_utf8_lossy(bytes).into_owned();
            if cut {
                s.push_str(&output_cut_marker(OUTPUT_CAP));
            }
            s
        };
        CommandOutput {
            command: command.to_string(),
            stdout: text(&self.stdout, self.cut_out),
            stderr: Some(text(&self.stderr, self.cut_err)).filter(|s| !s.is_empty()),
            exit_status,
            ..Default::default()
        }
    }
}

/// The last non-blank line of `text`, trimmed, keeping at most its last
/// `max_chars` characters: what timeout messages quote as "last output seen".
pub fn last_line(text: &str, max_chars: usize) -> Option<String> {
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    let chars: Vec<char> = line.chars().collect();
    let start = chars.len().saturating_sub(max_chars);
    Some(chars[start..].iter().collect())
}

fn push_capped(buf: &mut Vec<u8>, cut: &mut bool, data: &[u8]) {
    let room = OUTPUT_CAP.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
    *cut |= data.len() > room;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_capped_and_the_cut_is_marked() {
        let mut c = CapturedStreams::default();
        c.push_stdout(b"hello\n");
        assert_eq!(c.output("x", Some(0)).stdout, "hello\n");
        assert_eq!(c.output("x", None).stderr, None);
        c.push_stderr(&vec![b'e'; OUTPUT_CAP + 10]);
        let out = c.output("x", None);
        let stderr = out.stderr.unwrap();
        assert!(
            stderr.ends_with(&output_cut_marker(OUTPUT_CAP)),
            "cut marked"
        );
        assert_eq!(c.received(), 6 + OUTPUT_CAP);
    }

    #[test]
    fn last_line_quotes_the_end_of_the_last_non_blank_line() {
        assert_eq!(last_line("a\n  bcdef  \n\n", 3).as_deref(), Some("def"));
        assert_eq!(last_line(" \n", 3), None);
    }
}
