//! JunOS configuration statements: `set`, `delete` and `edit` relative to
//! the `[edit ...]` path, on the candidate configuration.

use super::config_mode::push_unique;
use super::{Console, DeviceConfig, Interface, NONE, Outcome, err, out};
use crate::profile::{self, Act};

impl Console {
    pub(super) fn junos_error(&self, col: usize, text: &str) -> Outcome {
        let plen = self.prompt().chars().count();
        err([format!("{}^", " ".repeat(plen + col)), text.to_string()])
    }

    /// JunOS `set` / `delete` / `edit` (relative to the `[edit ...]` path).
    pub(super) fn junos_statement(&mut self, act: Act, rest: &str, col: usize) -> Outcome {
        let mut w = self.edit.clone();
        let typed = profile::shell_words(rest);
        if self.edit.is_empty()
            && let Some(first) = typed.first()
        {
            let lf = first.to_ascii_lowercase();
            let found: Vec<&str> = profile::JUNOS_TOP
                .iter()
                .copied()
                .filter(|k| k.starts_with(&lf))
                .collect();
            match (found.iter().find(|k| **k == lf), found.as_slice()) {
                (Some(k), _) | (None, [k]) => w.push(k.to_string()),
                (None, []) => return self.junos_error(col, "syntax error."),
                (None, _) => return self.junos_error(col, &format!("'{first}' is ambiguous.")),
            }
            w.extend(typed.into_iter().skip(1));
        } else {
            w.extend(typed);
        }
        let v: Vec<&str> = w.iter().map(String::as_str).collect();
        let missing = col + rest.len() + 1;
        match act {
            Act::JEdit => {
                self.edit = w.clone();
                out(NONE)
            }
            Act::JSet => match v.as_slice() {
                [_] | ["system", "host-name"] => self.junos_error(missing, "missing argument."),
                ["system", "host-name", h] if !profile::valid_hostname(h) => {
                    self.junos_error(col, "error: invalid hostname")
                }
                ["system", "host-name", h] => {
                    let h = h.to_string();
                    self.edit_config(|c| c.hostname = h);
                    out(NONE)
                }
                ["interfaces", name, tail @ ..] => {
                    let (name, tail) = (
                        name.to_string(),
                        tail.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    );
                    let addr = match tail.as_slice() {
                        [u, _, f, inet, a, ip]
                            if u == "unit" && f == "family" && inet == "inet" && a == "address" =>
                        {
                            match profile::parse_address(std::slice::from_ref(ip)) {
                                Ok(x) => Some(x),
                                Err(_) => {
                                    return self
                                        .junos_error(col, "error: invalid ip address or prefix");
                                }
                            }
                        }
                        _ => None,
                    };
                    self.edit_config(|c| {
                        let at = c
                            .interfaces
                            .iter()
                            .position(|i| i.name == name)
                            .unwrap_or_else(|| {
                                c.interfaces.push(Interface {
                                    name: name.clone(),
                                    description: None,
                                    address: None,
                                    shutdown: false,
                                    manual: false,
                                    lines: Vec::new(),
                                });
                                c.interfaces.len() - 1
                            });
                        let i = &mut c.interfaces[at];
                        match (tail.first().map(String::as_str), addr) {
                            (_, Some(x)) => {
                                i.address = Some(x);
                                i.manual = true;
                            }
                            (None, None) => {}
                            (Some("description"), None) if tail.len() > 1 => {
                                i.description = Some(tail[1..].join(" "))
                            }
                            (Some("disable"), None) if tail.len() == 1 => i.shutdown = true,
                            _ => push_unique(&mut i.lines, jline(&tail)),
                        }
                    });
                    out(NONE)
                }
                _ => {
                    let line = jline(&w);
                    self.edit_config(|c| push_unique(&mut c.lines, line));
                    out(NONE)
                }
            },
            _ => {
                let found = self.edit_config(|c| junos_delete(c, &v));
                if found {
                    out(NONE)
                } else {
                    out(["warning: statement not found"])
                }
            }
        }
    }
}

fn jline(words: &[String]) -> String {
    words
        .iter()
        .map(|w| profile::jquote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// JunOS `delete`: returns whether something was removed.
fn junos_delete(c: &mut DeviceConfig, v: &[&str]) -> bool {
    if let ["interfaces", name, tail @ ..] = v {
        let Some(at) = c.interfaces.iter().position(|i| i.name == *name) else {
            return false;
        };
        let i = &mut c.interfaces[at];
        match tail {
            [] => {
                c.interfaces.remove(at);
            }
            ["description", ..] => return i.description.take().is_some(),
            ["disable"] => return std::mem::replace(&mut i.shutdown, false),
            ["unit", ..] => return i.address.take().is_some(),
            _ => {
                let what = tail.join(" ");
                let before = i.lines.len();
                i.lines
                    .retain(|l| !(l == &what || l.starts_with(&format!("{what} "))));
                return i.lines.len() != before;
            }
        }
        return true;
    }
    if v == ["system", "host-name"] {
        c.hostname = "Amnesiac".into();
        return true;
    }
    let what = v.join(" ");
    let before = c.lines.len();
    c.lines
        .retain(|l| !(l == &what || l.starts_with(&format!("{what} "))));
    c.lines.len() != before
}
