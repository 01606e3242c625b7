//! Key handling: echo, line editing (backspace, ^U, ^C, ^Z, escape
//! sequences), Enter, the hidden enable secret, and the `--More--` pager.

use fanout_core::Platform;

use super::{Console, MAX_LINE, Mode, NONE, Outcome, State, Step, err, out};

impl Console {
    pub(super) fn key(&mut self, b: u8, steps: &mut Vec<Step>) {
        let hidden = self.state == State::Secret;
        match b {
            b'\r' | b'\n' => self.enter(steps),
            0x08 | 0x7f => {
                let erased = self.erase_char();
                if erased && !hidden {
                    steps.push(Step::Echo(b"\x08 \x08".to_vec()));
                }
            }
            0x15 => {
                while self.erase_char() {
                    if !hidden {
                        steps.push(Step::Echo(b"\x08 \x08".to_vec()));
                    }
                }
            }
            0x03 | 0x1a => {
                self.line.clear();
                let mark = if b == 0x03 { "^C" } else { "^Z" };
                if self.mode == Mode::Config && self.cisco_like() && self.state == State::Line {
                    steps.push(Step::Echo(mark.as_bytes().to_vec()));
                    let o = self.end_config();
                    self.emit(o, steps);
                } else if b == 0x03 {
                    self.state = State::Line;
                    let mut v = mark.as_bytes().to_vec();
                    v.extend_from_slice(b"\r\n");
                    v.extend(self.trailer(false));
                    steps.push(Step::Echo(v));
                }
            }
            0x1b => self.esc = 1,
            b if b >= 0x20 && self.line.len() < MAX_LINE => {
                self.line.push(b);
                if !hidden {
                    steps.push(Step::Echo(vec![b]));
                }
            }
            _ => {}
        }
    }

    /// Removes the last (UTF-8) character of the line buffer.
    fn erase_char(&mut self) -> bool {
        while let Some(b) = self.line.pop() {
            if b & 0xc0 != 0x80 {
                return true;
            }
        }
        false
    }

    fn enter(&mut self, steps: &mut Vec<Step>) {
        let raw = std::mem::take(&mut self.line);
        let line = String::from_utf8_lossy(&raw).into_owned();
        let outcome = match self.state {
            State::Secret => {
                self.state = State::Line;
                if self.secret.as_deref() == Some(line.as_str()) {
                    self.mode = Mode::Exec;
                    out(NONE)
                } else {
                    err([self.profile().enable_denied, ""])
                }
            }
            State::Ask(q) => {
                self.state = State::Line;
                self.answer(q, &line)
            }
            _ if line.trim().is_empty() => {
                let mut v = b"\r\n".to_vec();
                v.extend(self.trailer(false));
                steps.push(Step::Echo(v));
                return;
            }
            _ => self.run(&line),
        };
        self.emit(outcome, steps);
    }

    fn emit(&mut self, outcome: Outcome, steps: &mut Vec<Step>) {
        match outcome {
            Outcome::Out { lines, .. } => {
                let tail = self.trailer(!lines.is_empty());
                let mut v = b"\r\n".to_vec();
                v.extend(self.paginate(lines, tail));
                steps.push(Step::Reply(v));
            }
            Outcome::Password => {
                self.state = State::Secret;
                steps.push(Step::Echo(
                    format!("\r\n{}", self.profile().password_prompt).into_bytes(),
                ));
            }
            Outcome::Ask(q, text) => {
                self.state = State::Ask(q);
                steps.push(Step::Reply(format!("\r\n{text}").into_bytes()));
            }
            Outcome::Close(lines) => {
                if !lines.is_empty() {
                    steps.push(Step::Echo(
                        format!("\r\n{}\r\n", lines.join("\r\n")).into_bytes(),
                    ));
                }
                self.state = State::Closed;
                steps.push(Step::Close);
            }
        }
    }

    fn paginate(&mut self, lines: Vec<String>, tail: Vec<u8>) -> Vec<u8> {
        let mut v = Vec::new();
        let no_more = std::mem::take(&mut self.no_more);
        match self.profile().more_marker {
            Some(marker) if self.page > 0 && lines.len() > self.page && !no_more => {
                let n = (self.page - 1).max(1);
                push_lines(&mut v, &lines[..n]);
                v.extend_from_slice(marker.as_bytes());
                self.pager = lines[n..].to_vec();
                self.pager_tail = tail;
                self.state = State::Pager;
            }
            _ => {
                push_lines(&mut v, &lines);
                v.extend(tail);
            }
        }
        v
    }

    pub(super) fn pager_key(&mut self, b: u8, steps: &mut Vec<Step>) {
        let marker = self.profile().more_marker.unwrap_or("");
        let n = match b {
            b' ' => (self.page - 1).max(1),
            b'\r' | b'\n' => 1,
            _ => 0,
        };
        let mut v = Vec::new();
        if n == 0 {
            self.pager.clear();
            v.extend_from_slice(b"\r\n");
        } else {
            let len = marker.len();
            if self.platform == Platform::Junos {
                v.extend(format!("\r{}\r", " ".repeat(len)).bytes());
            } else {
                v.extend(format!("{0}{1}{0}", "\x08".repeat(len), " ".repeat(len)).bytes());
            }
            let chunk: Vec<String> = self.pager.drain(..n.min(self.pager.len())).collect();
            push_lines(&mut v, &chunk);
        }
        if self.pager.is_empty() {
            v.extend(std::mem::take(&mut self.pager_tail));
            self.state = State::Line;
        } else {
            v.extend_from_slice(marker.as_bytes());
        }
        steps.push(Step::Echo(v));
    }
}

fn push_lines(v: &mut Vec<u8>, lines: &[String]) {
    for l in lines {
        v.extend_from_slice(l.as_bytes());
        v.extend_from_slice(b"\r\n");
    }
}
