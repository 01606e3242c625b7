//! What a terminal would show for the bytes a device sent: CR LF, CR CR LF
//! and LF end a line, a lone CR returns to column 0, backspace moves left,
//! ANSI/VT100 escape sequences are dropped (erase-to-end-of-line and cursor
//! moves are applied). Built incrementally, one byte at a time, so the text
//! never depends on how the bytes were split into reads.
//!
//! Pager artefacts (`--More--` erased with backspaces and spaces, JunOS's
//! `\r` + spaces + `\r`) vanish the way they vanish on a screen: cells
//! overwritten with a space right after the cursor moved back are *blank*,
//! and blank cells at the end of a line are not part of its text. Spaces a
//! device prints as content (column padding) are kept.

//!
//! Memory is bounded whatever the device sends: the cursor never moves past
//! [`MAX_LINE_WIDTH`] (a line that long continues on the next screen line,
//! its text unchanged), and the completed text stops at
//! [`OUTPUT_CAP`](fanout_core::OUTPUT_CAP) with a marker saying it was cut.

use fanout_core::{OUTPUT_CAP, output_cut_marker};

/// Longest line considered as a prompt or pager marker; longer lines are
/// output, whatever they contain (bounds the work per read).
const MAX_PROMPT_LINE: usize = 512;

/// Columns of the screen: cursor moves stop at the last one, and a line
/// printed past it wraps (its text goes on unbroken).
pub(crate) const MAX_LINE_WIDTH: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cell {
    ch: char,
    /// A space written to erase, not printed as content.
    blank: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Esc {
    None,
    /// After ESC.
    Start,
    /// Inside `ESC [ params final`.
    Csi {
        param: u32,
        private: bool,
    },
    /// Inside `ESC ] ... BEL` (window title).
    Osc,
    /// ESC seen inside an OSC (`ESC \` ends it).
    OscEscape,
}

/// The terminal view of one exchange.
#[derive(Clone, Debug)]
pub(crate) struct Screen {
    /// Completed lines, each ending in `\n`.
    done: String,
    /// The line the cursor is on.
    cells: Vec<Cell>,
    cursor: usize,
    /// The cursor moved back (BS, CR) and no visible character was printed
    /// since: spaces written now erase.
    erasing: bool,
    pending_cr: bool,
    esc: Esc,
    utf8: Vec<u8>,
    utf8_need: usize,
    /// Times the cursor went back or to a new line (BS, CR, LF, cursor
    /// moves, erases).
    rewinds: u64,
    received: usize,
    /// Most bytes `done` may hold (the marker aside).
    cap: usize,
    /// `done` reached `cap`: later text is dropped.
    cut: bool,
}

impl Default for Screen {
    fn default() -> Self {
        Self::with_cap(OUTPUT_CAP)
    }
}

impl Screen {
    /// A screen keeping at most `cap` bytes of completed text.
    pub(crate) fn with_cap(cap: usize) -> Self {
        Self {
            done: String::new(),
            cells: Vec::new(),
            cursor: 0,
            erasing: false,
            pending_cr: false,
            esc: Esc::None,
            utf8: Vec::with_capacity(4),
            utf8_need: 0,
            rewinds: 0,
            received: 0,
            cap,
            cut: false,
        }
    }

    /// Applies bytes received from the device.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.received += bytes.len();
        for &b in bytes {
            self.byte(b);
        }
    }

    /// Bytes received so far.
    pub(crate) fn received(&self) -> usize {
        self.received
    }

    /// Times the cursor went back or down so far. A pager marker shown
    /// again after a rewind is a new marker; the same marker completed by a
    /// late trailing space is not.
    pub(crate) fn rewinds(&self) -> u64 {
        self.rewinds
    }

    /// Completed lines, each ending in `\n`.
    pub(crate) fn done(&self) -> &str {
        &self.done
    }

    /// The current (unterminated) line when the cursor sits at its end and
    /// no escape sequence, CR or UTF-8 character is half-received: what a
    /// device waiting for input shows (a prompt, `Password: `, `--More--`).
    pub(crate) fn tail(&self) -> Option<String> {
        if self.pending_cr || self.esc != Esc::None || self.utf8_need > 0 {
            return None;
        }
        let n = self.content_len();
        (self.cursor >= n && n <= MAX_PROMPT_LINE).then(|| self.line_text())
    }

    /// The current line's text (trailing blank cells dropped).
    pub(crate) fn line_text(&self) -> String {
        self.cells[..self.content_len()]
            .iter()
            .map(|c| c.ch)
            .collect()
    }

    /// Everything shown so far: completed lines plus the current line.
    pub(crate) fn text(&self) -> String {
        let mut s = self.done.clone();
        s.push_str(&self.line_text());
        s
    }

    /// The last `n` characters of [`text`](Self::text), without copying
    /// the rest.
    pub(crate) fn last_chars(&self, n: usize) -> String {
        let line = self.line_text();
        let in_line = line.chars().count();
        if in_line >= n {
            return line.chars().skip(in_line - n).collect();
        }
        let want = n - in_line;
        let start = self
            .done
            .char_indices()
            .rev()
            .nth(want - 1)
            .map_or(0, |(i, _)| i);
        let mut s = self.done[start..].to_string();
        s.push_str(&line);
        s
    }

    fn content_len(&self) -> usize {
        self.cells.len() - self.cells.iter().rev().take_while(|c| c.blank).count()
    }

    fn byte(&mut self, b: u8) {
        if self.utf8_need > 0 {
            if b & 0xc0 == 0x80 {
                self.utf8.push(b);
                if self.utf8.len() == self.utf8_need {
                    let ch = std::str::from_utf8(&self.utf8)
                        .ok()
                        .and_then(|s| s.chars().next())
                        .unwrap_or(char::REPLACEMENT_CHARACTER);
                    self.utf8.clear();
                    self.utf8_need = 0;
                    self.put(ch);
                }
                return;
            }
            self.utf8.clear();
            self.utf8_need = 0;
            self.put(char::REPLACEMENT_CHARACTER);
        }
        if self.esc != Esc::None {
            self.escape(b);
            return;
        }
        if self.pending_cr {
            match b {
                b'\n' => {
                    self.pending_cr = false;
                    self.newline();
                    return;
                }
                b'\r' => return,
                _ => {
                    self.pending_cr = false;
                    self.cursor = 0;
                    self.erasing = true;
                    self.rewinds += 1;
                }
            }
        }
        match b {
            b'\r' => self.pending_cr = true,
            b'\n' => self.newline(),
            0x08 => {
                self.cursor = self.cursor.saturating_sub(1);
                self.erasing = true;
                self.rewinds += 1;
            }
            0x1b => self.esc = Esc::Start,
            b'\t' => self.put('\t'),
            0x00..=0x1f | 0x7f => {}
            0x20..=0x7e => self.put(char::from(b)),
            0xc2..=0xdf => self.start_utf8(b, 2),
            0xe0..=0xef => self.start_utf8(b, 3),
            0xf0..=0xf4 => self.start_utf8(b, 4),
            _ => self.put(char::REPLACEMENT_CHARACTER),
        }
    }

    fn start_utf8(&mut self, b: u8, len: usize) {
        self.utf8.push(b);
        self.utf8_need = len;
    }

    fn escape(&mut self, b: u8) {
        self.esc = match (self.esc, b) {
            (Esc::Start, b'[') => Esc::Csi {
                param: 0,
                private: false,
            },
            (Esc::Start, b']') => Esc::Osc,
            (Esc::Start, _) => Esc::None,
            (Esc::Csi { param, private }, b'0'..=b'9') => Esc::Csi {
                param: param.saturating_mul(10).saturating_add(u32::from(b - b'0')),
                private,
            },
            (Esc::Csi { param, .. }, b'?' | b'>' | b'=') => Esc::Csi {
                param,
                private: true,
            },
            (Esc::Csi { param, private }, 0x40..=0x7e) => {
                if !private {
                    self.csi(param, b);
                }
                Esc::None
            }
            (Esc::Csi { .. }, 0x18 | 0x1a) => Esc::None,
            (csi @ Esc::Csi { .. }, _) => csi,
            (Esc::Osc, 0x07) | (Esc::OscEscape, b'\\') => Esc::None,
            (Esc::Osc | Esc::OscEscape, 0x1b) => Esc::OscEscape,
            (Esc::Osc | Esc::OscEscape, _) => Esc::Osc,
            (Esc::None, _) => Esc::None,
        };
    }

    /// The CSI sequences that change what a line shows.
    fn csi(&mut self, param: u32, fin: u8) {
        let n = usize::try_from(param.max(1)).unwrap_or(usize::MAX);
        match fin {
            // Erase in line: 0 = cursor to end, 1 = start to cursor, 2 = all.
            b'K' => match param {
                0 => self.cells.truncate(self.cursor),
                1 => {
                    let end = (self.cursor + 1).min(self.cells.len());
                    for c in &mut self.cells[..end] {
                        *c = Cell {
                            ch: ' ',
                            blank: true,
                        };
                    }
                }
                _ => self.cells.clear(),
            },
            b'D' => {
                self.cursor = self.cursor.saturating_sub(n);
                self.erasing = true;
            }
            // Past the last column only as far as the wrap point.
            b'C' => self.cursor = self.cursor.saturating_add(n).min(MAX_LINE_WIDTH),
            b'G' => {
                self.cursor = (n - 1).min(MAX_LINE_WIDTH - 1);
                self.erasing = true;
            }
            _ => {}
        }
        self.rewinds += 1;
    }

    fn put(&mut self, ch: char) {
        if self.cursor >= MAX_LINE_WIDTH {
            // The line is full: it continues on the next one, and its text
            // goes on unbroken (no line end is added).
            // The cursor may sit past the line's end (ESC [ n C): the gap
            // shows as spaces.
            let gap = MAX_LINE_WIDTH.saturating_sub(self.cells.len());
            let full: String = self
                .cells
                .iter()
                .map(|c| c.ch)
                .chain(std::iter::repeat_n(' ', gap))
                .collect();
            self.append_done(&full);
            self.cells.clear();
            self.cursor = 0;
            self.rewinds += 1;
        }
        let blank = ch == ' ' && self.erasing;
        if ch != ' ' {
            self.erasing = false;
        }
        while self.cells.len() < self.cursor {
            self.cells.push(Cell {
                ch: ' ',
                blank: true,
            });
        }
        let cell = Cell { ch, blank };
        match self.cells.get_mut(self.cursor) {
            Some(c) => *c = cell,
            None => self.cells.push(cell),
        }
        self.cursor += 1;
    }

    /// Adds `text` to the completed text, up to the cap; the first text
    /// that does not fit is cut there and the cut marked.
    fn append_done(&mut self, text: &str) {
        if self.cut {
            return;
        }
        if self.done.len() + text.len() <= self.cap {
            self.done.push_str(text);
            return;
        }
        let mut end = self.cap.saturating_sub(self.done.len()).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.done.push_str(&text[..end]);
        self.done.push_str(&output_cut_marker(self.cap));
        self.cut = true;
    }

    fn newline(&mut self) {
        let n = self.content_len();
        let mut line: String = self.cells[..n].iter().map(|c| c.ch).collect();
        line.push('\n');
        self.append_done(&line);
        self.cells.clear();
        self.cursor = 0;
        self.erasing = false;
        self.rewinds += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(chunks: &[&[u8]]) -> Screen {
        let mut s = Screen::default();
        for c in chunks {
            s.feed(c);
        }
        s
    }

    #[test]
    fn line_endings_are_normalised() {
        let s = shown(&[b"a\r\nb\r\r\nc\nd"]);
        assert_eq!(s.done(), "a\nb\nc\n");
        assert_eq!(s.tail().as_deref(), Some("d"));
    }

    #[test]
    fn cr_split_from_lf_across_reads_is_one_line_end() {
        let s = shown(&[b"a\r", b"\nb"]);
        assert_eq!(s.text(), "a\nb");
        let half = shown(&[b"R1#\r"]);
        assert_eq!(half.tail(), None, "a pending CR is not a finished line");
    }

    #[test]
    fn lone_cr_overwrites_from_column_zero() {
        let s = shown(&[b"xxxxx\rab\r\n"]);
        assert_eq!(s.done(), "abxxx\n");
    }

    #[test]
    fn cisco_pager_erase_leaves_no_trace_but_keeps_padding() {
        let mut s = Screen::default();
        s.feed(b"line one\r\n --More-- ");
        assert_eq!(s.tail().as_deref(), Some(" --More-- "));
        s.feed(b"\x08\x08\x08\x08\x08\x08\x08\x08\x08\x08");
        assert_eq!(s.tail(), None, "cursor moved back: not at the end");
        s.feed(b"          \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08");
        s.feed(b"ab  \r\n ip x\r\n\r\nR1#");
        assert_eq!(s.done(), "line one\nab  \n ip x\n\n");
        assert_eq!(s.tail().as_deref(), Some("R1#"));
    }

    #[test]
    fn junos_pager_erase_leaves_no_trace() {
        let s = shown(&[b"x\r\n---(more)---", b"\r            \r", b"  indented\r\n"]);
        assert_eq!(s.done(), "x\n  indented\n");
    }

    #[test]
    fn backspace_echo_erases_characters() {
        let s = shown(&[b"shw\x08 \x08\x08 \x08how ver\r\n"]);
        assert_eq!(s.done(), "show ver\n");
    }

    #[test]
    fn escape_sequences_are_dropped_and_applied() {
        let s = shown(&[b"\x1b]0;admin@host: ~\x07\x1b[01;32madmin@host\x1b[00m:~$ \x1b[?2004h"]);
        assert_eq!(s.tail().as_deref(), Some("admin@host:~$ "));
        let k = shown(&[b"garbage\r\x1b[Kclean\r\n"]);
        assert_eq!(k.done(), "clean\n");
        let split = shown(&[b"a\x1b", b"[3", b"1mb"]);
        assert_eq!(split.text(), "ab");
    }

    #[test]
    fn utf8_split_across_reads() {
        let bytes = "héllo → ok".as_bytes();
        let mut s = Screen::default();
        for b in bytes {
            s.feed(std::slice::from_ref(b));
        }
        assert_eq!(s.text(), "héllo → ok");
        let bad = shown(&[b"a\xffb\xc3(c"]);
        assert_eq!(bad.text(), "a\u{fffd}b\u{fffd}(c");
    }

    #[test]
    fn last_chars_spans_lines() {
        let s = shown(&["ab\r\nçd\r\nef".as_bytes()]);
        assert_eq!(s.last_chars(1), "f");
        assert_eq!(s.last_chars(4), "d\nef");
        assert_eq!(s.last_chars(5), "çd\nef");
        assert_eq!(s.last_chars(100), "ab\nçd\nef");
        assert_eq!(Screen::default().last_chars(5), "");
    }

    #[test]
    fn cursor_moves_far_right_allocate_nothing_huge() {
        for far in [
            &b"\x1b[4294967295C"[..],
            b"\x1b[99999999999G",
            b"\x1b[4096C",
        ] {
            let mut s = Screen::default();
            s.feed(b"ab");
            s.feed(far);
            s.feed(b"x\x1b[4294967295Cy\r\nR1#");
            assert!(
                s.cells.capacity() <= 2 * MAX_LINE_WIDTH,
                "{}",
                s.cells.capacity()
            );
            assert!(
                s.done().len() <= 2 * MAX_LINE_WIDTH + 2,
                "{}",
                s.done().len()
            );
            assert!(s.done().starts_with("ab ") && s.done().ends_with("y\n"));
            assert_eq!(s.tail().as_deref(), Some("R1#"));
        }
        let s = shown(&[b"abc\x1b[5000Gz"]);
        assert_eq!(s.cursor, MAX_LINE_WIDTH);
        assert_eq!(s.line_text().chars().last(), Some('z'));
    }

    #[test]
    fn lines_longer_than_the_screen_keep_their_text() {
        let long: String = (0..3 * MAX_LINE_WIDTH + 7)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let s = shown(&[long.as_bytes(), b"\r\nR1#"]);
        assert_eq!(s.done(), format!("{long}\n"));
        assert!(s.cells.len() <= MAX_LINE_WIDTH);
        assert_eq!(s.tail().as_deref(), Some("R1#"));
    }

    #[test]
    fn completed_text_is_capped_with_a_marker() {
        let mut s = Screen::with_cap(64);
        for _ in 0..20 {
            s.feed(b"0123456789\r\n");
        }
        s.feed("é".repeat(100).as_bytes());
        s.feed(b"\r\nR1#");
        let marker = output_cut_marker(64);
        assert!(s.done().ends_with(&marker), "{:?}", s.done());
        assert_eq!(s.done().len(), 64 + marker.len());
        assert!(s.done().starts_with("0123456789\n0123456789\n"));
        assert_eq!(s.tail().as_deref(), Some("R1#"), "the prompt is still seen");
        assert!(marker.contains("output cut at 64 bytes"), "{marker}");
        assert!(output_cut_marker(OUTPUT_CAP).contains("16 MiB"));
    }

    #[test]
    fn long_lines_are_never_a_tail() {
        let long = "x".repeat(MAX_PROMPT_LINE + 1) + "#";
        assert_eq!(shown(&[long.as_bytes()]).tail(), None);
    }
}
