//! The operator options of `fanout run` (issue 16): `--max-fail`,
//! `--fail-fast`, `--failed-out`, `-v`/`-vv` and `-q`, kept in their own
//! flattened block so other run options grow beside them without conflicts.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use fanout_core::{HostOutcome, MaxFail, Status, Target};

#[derive(Debug, Args)]
pub(crate) struct RunOpsArgs {
    /// Stop starting hosts once N have failed, or once more than P% of the
    /// hosts have (like Ansible's max_fail_percentage); hosts in flight
    /// finish, the rest are reported cancelled. `failed` and `timeout`
    /// count, `cancelled` does not.
    #[arg(long, value_name = "N|P%", conflicts_with = "fail_fast")]
    pub(crate) max_fail: Option<MaxFail>,

    /// Stop starting hosts after the first failure: --max-fail 1.
    #[arg(long)]
    pub(crate) fail_fast: bool,

    /// Write the name of every host that was not ok (failed, timeout or
    /// cancelled), one per line, to FILE; rerun exactly those with
    /// `-l @FILE`.
    #[arg(long, value_name = "FILE")]
    pub(crate) failed_out: Option<PathBuf>,

    /// Per-host logs on stderr (through `tracing`): -v hosts starting and
    /// ending, -vv also each attempt, each target (secrets as `***`) and
    /// the phase timings. Replaces the progress bar.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Quiet stderr: no progress bar and no note naming what `-e auto`
    /// chose (results, warnings and errors still appear).
    #[arg(short = 'q', long)]
    pub(crate) quiet: bool,
}

impl RunOpsArgs {
    /// `--max-fail`, or `--fail-fast` as `--max-fail 1`.
    pub(crate) fn max_fail(&self) -> Option<MaxFail> {
        if self.fail_fast {
            Some(MaxFail::FIRST)
        } else {
            self.max_fail
        }
    }

    /// Checks the output paths before any host starts.
    pub(crate) fn check_paths(&self) -> Result<()> {
        if let Some(path) = &self.failed_out {
            crate::out_path::check_output_file("--failed-out", path, &[])?;
        }
        Ok(())
    }
}

/// The hosts of a run that were not ok, for `--failed-out`.
#[derive(Debug, Default)]
pub(crate) struct FailedHosts {
    names: HashSet<String>,
}

impl FailedHosts {
    pub(crate) fn host(&mut self, outcome: &HostOutcome) {
        if outcome.status != Status::Ok {
            self.names.insert(outcome.host.clone());
        }
    }

    /// Writes the names, in inventory order, one per line, to `path`.
    pub(crate) fn write(&self, path: &Path, targets: &[Target]) -> Result<usize> {
        let mut text = String::new();
        let mut n = 0;
        for t in targets.iter().filter(|t| self.names.contains(&t.name)) {
            text.push_str(&t.name);
            text.push('\n');
            n += 1;
        }
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("--failed-out {}: could not create it", path.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("--failed-out {}: could not write it", path.display()))?;
        Ok(n)
    }
}

/// The host names a `-l @FILE` list names: one per line; blank lines and
/// lines starting with `#` are skipped, surrounding spaces trimmed.
pub(crate) fn read_host_list(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "-l @{}: could not read the host list; give a file of host names, one per line (e.g. written by --failed-out)",
            path.display()
        )
    })?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        bail!(
            "-l @{}: the list names no host (a --failed-out file of a run where every host was ok is empty): nothing to run",
            path.display()
        );
    }
    Ok(names)
}

/// Keeps the `targets` named in every `-l @FILE` list of `filters` (the
/// other filters are the inventory's); returns the lists' names that are
/// not hosts of the source, for a warning.
pub(crate) fn select_listed(
    targets: &mut Vec<Target>,
    all: &[Target],
    lists: &[PathBuf],
) -> Result<Vec<String>> {
    let mut unknown = Vec::new();
    let known: HashSet<&str> = all.iter().map(|t| t.name.as_str()).collect();
    for path in lists {
        let names = read_host_list(path)?;
        for n in &names {
            if !known.contains(n.as_str()) && !unknown.contains(n) {
                unknown.push(n.clone());
            }
        }
        let wanted: HashSet<String> = names.into_iter().collect();
        targets.retain(|t| wanted.contains(&t.name));
    }
    Ok(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_list_skips_blanks_and_comments_and_an_empty_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed.txt");
        std::fs::write(&path, "r1\n\n  r3  \n# a note\n").unwrap();
        assert_eq!(read_host_list(&path).unwrap(), ["r1", "r3"]);
        std::fs::write(&path, "\n# nothing\n").unwrap();
        let err = read_host_list(&path).unwrap_err().to_string();
        assert!(err.contains("names no host"), "{err}");
        let err = read_host_list(&dir.path().join("nosuch")).unwrap_err();
        assert!(format!("{err:#}").contains("one per line"), "{err:#}");
    }

    #[test]
    fn listed_hosts_are_kept_in_inventory_order_and_strangers_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.txt");
        std::fs::write(&path, "r3\nr1\nghost\n").unwrap();
        let all: Vec<Target> = ["r1", "r2", "r3"]
            .iter()
            .map(|n| Target::new(*n, "127.0.0.1"))
            .collect();
        let mut selected = all.clone();
        let unknown = select_listed(&mut selected, &all, &[path]).unwrap();
        let names: Vec<&str> = selected.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["r1", "r3"]);
        assert_eq!(unknown, ["ghost"]);
    }
}
