//! What changed between two runs, per host (`fanout diff OLD NEW`,
//! `fanout run --diff-against DIR`): status, output (a unified diff by the
//! `similar` crate), hosts only on one side.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use fanout_core::{HostOutcome, Status};
use similar::TextDiff;

use crate::fold::output_text;

/// Why an output folder could not be read as one side of a diff.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// No `summary.json`: not written by `fanout run --out-dir`.
    #[error(
        "{}: not a fanout output folder (no summary.json); pass folders written by `fanout run --out-dir DIR`",
        path.display()
    )]
    NotOutDir {
        /// The folder.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// `summary.json` is not what `--out-dir` writes.
    #[error("{}: {message}; was it written by `fanout run --out-dir`?", path.display())]
    Summary {
        /// The summary file.
        path: PathBuf,
        /// What is wrong (with line:column for JSON syntax).
        message: String,
    },
}

/// One host of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotHost {
    /// Host name.
    pub name: String,
    /// How it ended (unknown when summary.json does not say).
    pub status: Option<Status>,
    /// Its output, as in its `HOST.txt`.
    pub text: String,
    /// Where the text came from, for diff headers (`old/r1.txt`).
    pub label: String,
}

/// One side of a diff: each host's status and output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    hosts: Vec<SnapshotHost>,
    by_name: HashMap<String, usize>,
}

impl Snapshot {
    /// A snapshot of hosts (of several with one name, the first).
    pub fn new(all: Vec<SnapshotHost>) -> Self {
        let mut by_name = HashMap::new();
        let mut hosts = Vec::with_capacity(all.len());
        for h in all {
            if !by_name.contains_key(&h.name) {
                by_name.insert(h.name.clone(), hosts.len());
                hosts.push(h);
            }
        }
        Self { hosts, by_name }
    }

    /// An output folder of `fanout run --out-dir`: hosts and files from its
    /// `summary.json` (`"files"`: host → file), outputs from the files.
    pub fn load(dir: &Path) -> Result<Self, DiffError> {
        let summary_path = dir.join("summary.json");
        if !summary_path.is_file() {
            return Err(DiffError::NotOutDir {
                path: dir.to_path_buf(),
            });
        }
        let text = fs::read_to_string(&summary_path).map_err(|source| DiffError::Io {
            path: summary_path.clone(),
            source,
        })?;
        let bad = |message: String| DiffError::Summary {
            path: summary_path.clone(),
            message,
        };
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        let files = doc
            .get("files")
            .and_then(|f| f.as_object())
            .ok_or_else(|| bad("no \"files\" object (host name -> file name)".into()))?;
        let statuses: HashMap<&str, Status> = doc
            .get("hosts")
            .and_then(|h| h.as_array())
            .into_iter()
            .flatten()
            .filter_map(|h| {
                let name = h.get("host")?.as_str()?;
                let status = serde_json::from_value(h.get("status")?.clone()).ok()?;
                Some((name, status))
            })
            .collect();
        let mut hosts = Vec::with_capacity(files.len());
        for (name, file) in files {
            let file = file
                .as_str()
                .filter(|f| is_plain_file_name(f))
                .ok_or_else(|| bad(format!("\"files\" entry of {name} is not a file name")))?;
            let path = dir.join(file);
            let text = fs::read_to_string(&path).map_err(|source| DiffError::Io {
                path: path.clone(),
                source,
            })?;
            hosts.push(SnapshotHost {
                name: name.clone(),
                status: statuses.get(name.as_str()).copied(),
                text,
                label: path.display().to_string(),
            });
        }
        Ok(Self::new(hosts))
    }

    /// This run's outcomes, labelled `LABEL/HOST`.
    pub fn from_outcomes(label: &str, outcomes: &[HostOutcome]) -> Self {
        Self::new(
            outcomes
                .iter()
                .map(|o| SnapshotHost::from_outcome(label, o))
                .collect(),
        )
    }

    /// The host named `name`.
    pub fn get(&self, name: &str) -> Option<&SnapshotHost> {
        self.by_name.get(name).map(|&i| &self.hosts[i])
    }

    /// Every host, in the order given.
    pub fn hosts(&self) -> &[SnapshotHost] {
        &self.hosts
    }
}

impl SnapshotHost {
    /// One outcome as a snapshot host, labelled `LABEL/HOST`.
    pub fn from_outcome(label: &str, o: &HostOutcome) -> Self {
        Self {
            name: o.host.clone(),
            status: Some(o.status),
            text: output_text(o),
            label: format!("{label}/{}", o.host),
        }
    }
}

/// A file name `--out-dir` could have written: no folder part.
fn is_plain_file_name(f: &str) -> bool {
    !f.is_empty() && !f.contains('/') && f != "." && f != ".."
}

/// How one host differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Same status, same output.
    Same,
    /// Status or output differ.
    Changed,
    /// Only in the new run.
    Added,
    /// Only in the old run.
    Removed,
}

/// One host's comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostChange {
    /// Host name.
    pub host: String,
    /// How it differs.
    pub change: Change,
    /// Its status in the old run.
    pub old_status: Option<Status>,
    /// Its status in the new run.
    pub new_status: Option<Status>,
    /// The unified diff of its outputs, when both exist and differ.
    pub unified: Option<String>,
}

impl HostChange {
    /// Compares one host of the new run with the old run's (if any).
    pub fn between(old: Option<&SnapshotHost>, new: &SnapshotHost) -> Self {
        let Some(old) = old else {
            return Self {
                host: new.name.clone(),
                change: Change::Added,
                old_status: None,
                new_status: new.status,
                unified: None,
            };
        };
        let unified = (old.text != new.text).then(|| unified_diff(old, new));
        let change = if unified.is_some() || old.status != new.status {
            Change::Changed
        } else {
            Change::Same
        };
        Self {
            host: new.name.clone(),
            change,
            old_status: old.status,
            new_status: new.status,
            unified,
        }
    }
}

/// `--- old/r1.txt` / `+++ new/r1.txt` and hunks with 3 lines of context.
fn unified_diff(old: &SnapshotHost, new: &SnapshotHost) -> String {
    TextDiff::from_lines(&old.text, &new.text)
        .unified_diff()
        .context_radius(3)
        .header(&old.label, &new.label)
        .to_string()
}

/// Counts of a [`RunDiff`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffCounts {
    /// Hosts whose status or output differ.
    pub changed: usize,
    /// Hosts only in the new run.
    pub added: usize,
    /// Hosts only in the old run.
    pub removed: usize,
    /// Hosts with the same status and output.
    pub same: usize,
}

/// Every host of two runs, compared; hosts in natural name order
/// (`r2` before `r10`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDiff {
    /// What the old side is called (`old/`, a folder).
    pub old_label: String,
    /// What the new side is called.
    pub new_label: String,
    /// One entry per host of either side.
    pub hosts: Vec<HostChange>,
}

impl RunDiff {
    /// Compares `old` with `new`.
    pub fn between(old_label: &str, old: &Snapshot, new_label: &str, new: &Snapshot) -> Self {
        let mut hosts: Vec<HostChange> = new
            .hosts()
            .iter()
            .map(|h| HostChange::between(old.get(&h.name), h))
            .collect();
        hosts.extend(
            old.hosts()
                .iter()
                .filter(|h| new.get(&h.name).is_none())
                .map(|h| HostChange {
                    host: h.name.clone(),
                    change: Change::Removed,
                    old_status: h.status,
                    new_status: None,
                    unified: None,
                }),
        );
        hosts.sort_by(|a, b| natural_cmp(&a.host, &b.host));
        Self {
            old_label: old_label.to_string(),
            new_label: new_label.to_string(),
            hosts,
        }
    }

    /// How many hosts changed, appeared, disappeared or stayed the same.
    pub fn counts(&self) -> DiffCounts {
        let mut c = DiffCounts::default();
        for h in &self.hosts {
            match h.change {
                Change::Same => c.same += 1,
                Change::Changed => c.changed += 1,
                Change::Added => c.added += 1,
                Change::Removed => c.removed += 1,
            }
        }
        c
    }

    /// Any host changed, appeared or disappeared.
    pub fn has_differences(&self) -> bool {
        self.hosts.iter().any(|h| h.change != Change::Same)
    }

    /// `2 hosts changed, 1 only in new/, 0 only in old/, 7 same`.
    pub fn count_line(&self) -> String {
        let c = self.counts();
        format!(
            "{} host{} changed, {} only in {}, {} only in {}, {} same",
            c.changed,
            if c.changed == 1 { "" } else { "s" },
            c.added,
            self.new_label,
            c.removed,
            self.old_label,
            c.same
        )
    }

    /// The report: per differing host a line saying what changed and the
    /// unified diff of its output, then [`count_line`](Self::count_line).
    /// `color`: ANSI colours (only for a terminal).
    pub fn write(&self, out: &mut dyn Write, color: bool) -> io::Result<()> {
        let paint = Paint(color);
        for h in &self.hosts {
            let status = |s: Option<Status>| s.map_or("unknown", |s| s.as_str());
            let line = match h.change {
                Change::Same => continue,
                Change::Added => format!(
                    "{}: only in {} ({})",
                    h.host,
                    self.new_label,
                    status(h.new_status)
                ),
                Change::Removed => format!(
                    "{}: only in {} ({})",
                    h.host,
                    self.old_label,
                    status(h.old_status)
                ),
                Change::Changed => {
                    let mut what = Vec::new();
                    if h.old_status != h.new_status {
                        what.push(format!(
                            "status {} -> {}",
                            status(h.old_status),
                            status(h.new_status)
                        ));
                    }
                    if h.unified.is_some() {
                        what.push("output changed".to_string());
                    }
                    format!("{}: {}", h.host, what.join(", "))
                }
            };
            writeln!(out, "{}", paint.bold(&line))?;
            if let Some(unified) = &h.unified {
                write_unified(out, unified, paint)?;
            }
        }
        writeln!(out, "{}", self.count_line())
    }
}

fn write_unified(out: &mut dyn Write, unified: &str, paint: Paint) -> io::Result<()> {
    for body in unified.lines() {
        let styled = if body.starts_with("+++") || body.starts_with("---") {
            paint.bold(body)
        } else if body.starts_with("@@") {
            paint.code("36", body)
        } else if body.starts_with('+') {
            paint.code("32", body)
        } else if body.starts_with('-') {
            paint.code("31", body)
        } else {
            body.to_string()
        };
        writeln!(out, "{styled}")?;
    }
    Ok(())
}

/// ANSI styling when on (a terminal without NO_COLOR), plain text otherwise.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn code(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(self, text: &str) -> String {
        self.code("1", text)
    }
}

/// `r2` < `r10`: digit runs compare by value, the rest as text.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> impl Iterator<Item = (bool, &str)> {
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digit = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digit)
                .unwrap_or(rest.len());
            let (chunk, tail) = rest.split_at(end);
            rest = tail;
            Some((digit, chunk))
        })
    }
    let mut ca = chunks(a);
    let mut cb = chunks(b);
    loop {
        match (ca.next(), cb.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((true, x)), Some((true, y))) => {
                let (tx, ty) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                let ord = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some((_, x)), Some((_, y))) => {
                if x != y {
                    return x.cmp(y);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["r10", "r2", "core", "r1", "r02"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["core", "r1", "r02", "r2", "r10"]);
    }

    #[test]
    fn colours_only_when_asked() {
        let mut plain = Vec::new();
        write_unified(
            &mut plain,
            "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n",
            Paint(false),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n"
        );
        let mut coloured = Vec::new();
        write_unified(&mut coloured, "-x\n+y\n", Paint(true)).unwrap();
        assert_eq!(
            String::from_utf8(coloured).unwrap(),
            "\x1b[31m-x\x1b[0m\n\x1b[32m+y\x1b[0m\n"
        );
    }
}
