//! An independent in-flight meter: each host runs a tiny shell command that
//! increments an in-flight counter file under `flock`, records the highest
//! value seen, holds, and decrements it — one counter for all hosts and one
//! per host address. It also stamps its own start and end times (ns, from
//! `date`). These are what really ran at once, whatever the executor
//! believes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tempfile::TempDir;

/// A directory where probe commands record `NAME.b` / `NAME.e` stamps.
#[derive(Debug)]
pub struct Probe {
    dir: TempDir,
}

/// One host's interval as the host itself measured it (ns since epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// Start stamp.
    pub begin: u128,
    /// End stamp.
    pub end: u128,
}

impl Probe {
    /// A fresh, empty probe directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temporary directory for the probe"),
        }
    }

    /// The directory (for custom probe commands).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `local` argv that stamps begin, counts itself in (all hosts and its
    /// address), holds for `hold`, counts itself out, stamps end.
    pub fn argv(&self, hold: Duration) -> Vec<String> {
        let dir = self.dir.path().display();
        let script = format!(
            r#"D='{dir}'; date +%s%N > "$D/{{name}}.b"
exec 9>>"$D/lock"
bump() {{ flock 9; n=$(( $(cat "$D/$1.cur" 2>/dev/null || echo 0) + $2 )); echo $n > "$D/$1.cur"
  m=$(cat "$D/$1.max" 2>/dev/null || echo 0); [ $n -gt $m ] && echo $n > "$D/$1.max"; flock -u 9; }}
bump all 1; bump 'at-{{host}}' 1; sleep {secs:.3}; bump 'at-{{host}}' -1; bump all -1
date +%s%N > "$D/{{name}}.e""#,
            secs = hold.as_secs_f64()
        );
        vec!["sh".into(), "-c".into(), script]
    }

    /// `local` argv that only stamps its start (and end) time: cheap, for
    /// measuring when hosts start.
    pub fn stamp_argv(&self) -> Vec<String> {
        let dir = self.dir.path().display();
        let script = format!("date +%s%N > '{dir}/{{name}}.b'; date +%s%N > '{dir}/{{name}}.e'");
        vec!["sh".into(), "-c".into(), script]
    }

    /// Most hosts in flight at once, as counted by the hosts.
    pub fn max_in_flight(&self) -> usize {
        self.read_max("all")
    }

    /// Most hosts with this address in flight at once.
    pub fn max_in_flight_at(&self, address: &str) -> usize {
        self.read_max(&format!("at-{address}"))
    }

    fn read_max(&self, key: &str) -> usize {
        std::fs::read_to_string(self.dir.path().join(format!("{key}.max")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Intervals recorded so far, by host name (hosts that did not finish
    /// their probe are left out).
    pub fn intervals(&self) -> BTreeMap<String, Interval> {
        let mut out = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(self.dir.path()) else {
            return out;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "b") {
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let read = |p: &Path| -> Option<u128> {
                    std::fs::read_to_string(p).ok()?.trim().parse().ok()
                };
                if let (Some(begin), Some(end)) = (read(&path), read(&path.with_extension("e"))) {
                    out.insert(name, Interval { begin, end });
                }
            }
        }
        out
    }
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

/// Most intervals overlapping at one instant.
pub fn max_overlap<'a>(intervals: impl IntoIterator<Item = &'a Interval>) -> usize {
    let mut edges: Vec<(u128, i32)> = Vec::new();
    for i in intervals {
        edges.push((i.begin, 1));
        edges.push((i.end, -1));
    }
    // Ends sort before starts at the same instant: touching is not overlapping.
    edges.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, delta) in edges {
        now += delta;
        max = max.max(now);
    }
    usize::try_from(max).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_counts_concurrent_intervals() {
        let iv = |begin, end| Interval { begin, end };
        assert_eq!(max_overlap(&[iv(0, 10), iv(10, 20), iv(20, 30)]), 1);
        assert_eq!(max_overlap(&[iv(0, 10), iv(5, 20), iv(6, 7)]), 3);
        assert_eq!(max_overlap(&[]), 0);
    }
}
