//! Configuration mode of the Cisco-like platforms: entering and leaving it,
//! editing the running config (or the IOS-XR / JunOS candidate), `commit`,
//! the questions a device asks, and `no ...`.

use std::sync::PoisonError;
use std::time::SystemTime;

use fanout_core::Platform;

use super::{Console, DeviceConfig, Interface, Mode, NONE, Outcome, Question, Sub, err, out};
use crate::profile;

impl Console {
    /// Changes the configuration being edited: the running one on IOS, NX-OS
    /// and EOS; the candidate (applied by `commit`) on IOS-XR and JunOS.
    pub(super) fn edit_config<R>(&mut self, f: impl FnOnce(&mut DeviceConfig) -> R) -> R {
        self.dirty = true;
        let now = Some(SystemTime::now());
        match &mut self.candidate {
            Some(c) => {
                c.last_change = now;
                f(c)
            }
            None => {
                let mut c = self.config.lock().unwrap_or_else(PoisonError::into_inner);
                c.last_change = now;
                f(&mut c)
            }
        }
    }

    pub(super) fn iface(&mut self, f: impl FnOnce(&mut Interface)) -> Outcome {
        if let Some(Sub::Interface(name, _)) = self.sub.clone() {
            self.edit_config(|c| {
                if let Some(i) = c.interfaces.iter_mut().find(|i| i.name == name) {
                    f(i);
                }
            });
        }
        out(NONE)
    }

    pub(super) fn enter_config(&mut self, private: bool) -> Outcome {
        self.mode = Mode::Config;
        self.sub = None;
        self.edit.clear();
        self.dirty = false;
        if matches!(self.platform, Platform::Iosxr | Platform::Junos) {
            let running = self.lock().clone();
            self.candidate = Some(running);
        }
        match self.platform {
            Platform::Ios | Platform::Iosxe => {
                out(["Enter configuration commands, one per line.  End with CNTL/Z."])
            }
            Platform::Nxos => out(["Enter configuration commands, one per line. End with CNTL/Z."]),
            Platform::Junos if private => out([
                "warning: uncommitted changes will be discarded on exit",
                "Entering configuration mode",
            ]),
            Platform::Junos => out(["Entering configuration mode"]),
            _ => out(NONE),
        }
    }

    pub(super) fn end_config(&mut self) -> Outcome {
        if self.platform == Platform::Iosxr && self.dirty {
            return Outcome::Ask(
                Question::XrUncommitted,
                "Uncommitted changes found, commit them before exiting(yes/no/cancel)? [cancel]:"
                    .into(),
            );
        }
        self.leave_config();
        out(NONE)
    }

    pub(super) fn leave_config(&mut self) {
        self.mode = Mode::Exec;
        self.sub = None;
        self.edit.clear();
        self.candidate = None;
        self.dirty = false;
    }

    pub(super) fn commit(&mut self) {
        if let Some(c) = self.candidate.clone() {
            *self.lock() = c;
        }
        self.dirty = false;
    }

    pub(super) fn answer(&mut self, q: Question, text: &str) -> Outcome {
        let a = text.trim().to_ascii_lowercase();
        let yes = !a.is_empty() && "yes".starts_with(&a);
        match q {
            Question::ConfigureFrom if a.is_empty() || "terminal".starts_with(&a) => {
                self.enter_config(false)
            }
            Question::ConfigureFrom => err(["?Must be \"terminal\", \"memory\" or \"network\""]),
            Question::CopyDestination => out(["Building configuration...", "[OK]"]),
            Question::XrUncommitted if yes => {
                self.commit();
                self.leave_config();
                out(NONE)
            }
            Question::XrUncommitted if !a.is_empty() && "no".starts_with(&a) => {
                self.leave_config();
                out(NONE)
            }
            Question::XrUncommitted => out(NONE),
            Question::JunosExit if a.is_empty() || yes => {
                self.leave_config();
                out(["Exiting configuration mode"])
            }
            Question::JunosExit => out(NONE),
        }
    }

    /// `no <rest>` in the Cisco-like configuration modes.
    pub(super) fn no(&mut self, rest: &str) -> Outcome {
        let p = self.platform;
        let w: Vec<&str> = rest.split_whitespace().collect();
        let first = w.first().map_or(String::new(), |s| s.to_ascii_lowercase());
        let is = |full: &str| first.len() >= 2 && full.starts_with(&first);
        let plain = w.join(" ");
        match self.sub.clone() {
            Some(Sub::Interface(..)) => self.iface(|i| {
                if is("shutdown") {
                    i.shutdown = false;
                } else if is("description") {
                    i.description = None;
                } else if (is("ip") || is("ipv4"))
                    && w.get(1).is_some_and(|s| "address".starts_with(*s))
                {
                    i.address = None;
                } else {
                    remove_or_negate(&mut i.lines, &plain);
                }
            }),
            Some(Sub::Block(h, _)) => {
                self.edit_config(|c| {
                    if let Some(b) = c.blocks.iter_mut().find(|b| b.header == h) {
                        remove_or_negate(&mut b.lines, &plain);
                    }
                });
                out(NONE)
            }
            None if is("hostname") => {
                let name = match p {
                    Platform::Nxos => "switch",
                    Platform::Eos => "localhost",
                    Platform::Iosxr => "ios",
                    _ => "Router",
                };
                self.edit_config(|c| c.hostname = name.to_string());
                out(NONE)
            }
            None if is("interface") => {
                let name = profile::normalize_iface(p, &w[1..].concat()).unwrap_or_default();
                self.edit_config(|c| c.interfaces.retain(|i| i.name != name));
                out(NONE)
            }
            None if is("router") || is("line") => {
                let kind = if is("router") { "router" } else { "line" };
                let header = [kind]
                    .iter()
                    .chain(&w[1..])
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                self.edit_config(|c| c.blocks.retain(|b| b.header != header));
                out(NONE)
            }
            None => {
                self.edit_config(|c| remove_or_negate(&mut c.lines, &plain));
                out(NONE)
            }
        }
    }
}

pub(super) fn push_unique(lines: &mut Vec<String>, line: String) {
    // Configuring `X` undoes an earlier `no X`.
    let negated = format!("no {line}");
    lines.retain(|l| *l != negated);
    if !lines.contains(&line) {
        lines.push(line);
    }
}

/// `no X`: removes the lines `X` starts (or equals); when none, records
/// `no X` itself (as IOS shows `no ip domain lookup`).
fn remove_or_negate(lines: &mut Vec<String>, what: &str) {
    let before = lines.len();
    lines.retain(|l| !(l == what || l.starts_with(&format!("{what} "))));
    if lines.len() == before {
        push_unique(lines, format!("no {what}"));
    }
}
