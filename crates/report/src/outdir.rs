//! `--out-dir DIR`: one file per host plus `summary.json`, swapped in whole.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use fanout_core::{HostOutcome, RunSummary};

use crate::extras::{HostExtras, HostsJson};
use crate::fold::output_text;
use crate::json::Document;

/// Why an output folder could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutDirError {
    /// The destination exists but is not something we may replace.
    #[error("{path}: {reason}; choose another --out-dir or move it away")]
    Refused {
        /// The destination.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A filesystem operation failed.
    #[error("{path}: {action} failed: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The results could not be put in place; they are kept in `staging`.
    #[error("{source}; the results are kept in {}", staging.display())]
    Kept {
        /// The folder holding the complete results.
        staging: PathBuf,
        /// What failed.
        source: Box<OutDirError>,
    },
}

/// Whether `dest` may be replaced: absent, empty, or an earlier fanout
/// output (it holds `summary.json`).
fn check_replaceable(dest: &Path) -> Result<(), OutDirError> {
    let Ok(meta) = fs::symlink_metadata(dest) else {
        return Ok(());
    };
    let refuse = |reason: &str| OutDirError::Refused {
        path: dest.to_path_buf(),
        reason: reason.to_string(),
    };
    if !meta.is_dir() {
        return Err(refuse("exists and is not a directory"));
    }
    let empty = fs::read_dir(dest)
        .map_err(io_err(dest, "reading"))?
        .next()
        .is_none();
    if !empty && !dest.join("summary.json").is_file() {
        return Err(refuse(
            "exists and is not a fanout output folder (no summary.json), so it is not replaced",
        ));
    }
    Ok(())
}

fn io_err<'p>(
    path: &'p Path,
    action: &'static str,
) -> impl FnOnce(std::io::Error) -> OutDirError + 'p {
    move |source| OutDirError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// An output folder being written. Files go to a hidden sibling folder;
/// [`finish`](Self::finish) swaps it in place of `DIR` in one atomic
/// `renameat2(RENAME_EXCHANGE)` (or a rename when `DIR` is new), so readers
/// see either the old folder or the new one, never a mix. If the run dies
/// before `finish`, `DIR` is untouched and the hidden folder is removed on
/// drop.
#[derive(Debug)]
pub struct OutDir {
    dest: PathBuf,
    staging: PathBuf,
    used: BTreeSet<String>,
    hosts: Vec<HostOutcome>,
    /// `extras[i]` belongs to `hosts[i]` (parsed records, diff).
    extras: Vec<HostExtras>,
    /// Host name → its file, recorded in summary.json.
    files: BTreeMap<String, String>,
    finished: bool,
    /// Staging folders of earlier runs that were killed, removed.
    stale: Vec<PathBuf>,
}

impl OutDir {
    /// Checks `dest` and starts a staging folder beside it. An existing
    /// `dest` is only replaced when it is empty or a previous fanout output
    /// (it holds `summary.json`).
    pub fn create(dest: &Path) -> Result<Self, OutDirError> {
        check_replaceable(dest)?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_err(parent, "creating"))?;
        let stale = remove_stale(parent, &name);
        let staging = parent.join(format!(".{name}.fanout-tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir(&staging).map_err(io_err(&staging, "creating"))?;
        Ok(Self {
            dest: dest.to_path_buf(),
            staging,
            used: BTreeSet::new(),
            files: BTreeMap::new(),
            hosts: Vec::new(),
            extras: Vec::new(),
            finished: false,
            stale,
        })
    }

    /// The staging folders of earlier runs on the same DEST that were
    /// killed before they could finish (their process is gone), which
    /// [`create`](Self::create) removed: for a warning naming them.
    pub fn removed_stale(&self) -> &[PathBuf] {
        &self.stale
    }

    /// Writes `HOST.txt` with the host's output (see the README).
    pub fn host(&mut self, outcome: &HostOutcome) -> Result<(), OutDirError> {
        self.host_with(outcome, &HostExtras::default())
    }

    /// [`host`](Self::host), with what summary.json adds to the host's
    /// object (parsed records, diff).
    pub fn host_with(
        &mut self,
        outcome: &HostOutcome,
        extras: &HostExtras,
    ) -> Result<(), OutDirError> {
        let file = self.file_name(&outcome.host);
        self.files.insert(outcome.host.clone(), file.clone());
        let path = self.staging.join(file);
        fs::write(&path, output_text(outcome)).map_err(io_err(&path, "writing"))?;
        self.hosts.push(outcome.clone());
        self.extras.push(extras.clone());
        Ok(())
    }

    /// Writes `summary.json` (every outcome and the summary, as
    /// `--format json`), then swaps the folder into place.
    pub fn finish(mut self, summary: &RunSummary) -> Result<PathBuf, OutDirError> {
        // Whatever happens now, never delete what was written: on failure
        // the staging folder stays and the error names it.
        self.finished = true;
        let staging = self.staging.clone();
        self.swap_in(summary).map_err(|e| OutDirError::Kept {
            staging,
            source: Box::new(e),
        })
    }

    fn swap_in(&self, summary: &RunSummary) -> Result<PathBuf, OutDirError> {
        let path = self.staging.join("summary.json");
        let doc = Document {
            hosts: HostsJson {
                outcomes: &self.hosts,
                extras: &self.extras,
            },
            summary,
            files: Some(&self.files),
        };
        let mut file = fs::File::create(&path).map_err(io_err(&path, "creating"))?;
        serde_json::to_writer_pretty(&mut file, &doc)
            .map_err(std::io::Error::other)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io_err(&path, "writing"))?;
        if fs::symlink_metadata(&self.dest).is_err() {
            fs::rename(&self.staging, &self.dest)
                .map_err(io_err(&self.dest, "renaming into place"))?;
            return Ok(self.dest.clone());
        }
        // DEST may have changed during the run: check it again.
        check_replaceable(&self.dest)?;
        match exchange(&self.staging, &self.dest) {
            // The old folder now sits at the staging path; it was checked.
            Ok(()) => {
                let _ = fs::remove_dir_all(&self.staging);
            }
            // No RENAME_EXCHANGE here (NFS, some FUSE): move the old folder
            // aside, put the new one in place, then remove the old one.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                let aside = self.staging.with_extension("old");
                fs::rename(&self.dest, &aside)
                    .map_err(io_err(&self.dest, "moving the old folder aside"))?;
                fs::rename(&self.staging, &self.dest)
                    .map_err(io_err(&self.dest, "renaming into place"))?;
                let _ = fs::remove_dir_all(&aside);
            }
            Err(e) => return Err(io_err(&self.dest, "swapping in the new folder")(e)),
        }
        Ok(self.dest.clone())
    }

    /// A safe, unique file name for a host: `[A-Za-z0-9._-]`, others `_`.
    fn file_name(&mut self, host: &str) -> String {
        let mut base: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if base.is_empty() || base.starts_with('.') || base == "summary" {
            base.insert(0, '_');
        }
        let mut name = format!("{base}.txt");
        let mut n = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{base}~{n}.txt");
            n += 1;
        }
        name
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Atomically exchanges two paths (Linux renameat2 RENAME_EXCHANGE).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let ca = CString::new(a.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let cb = CString::new(b.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them
    // relative to the working directory like rename(2).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Removes `.NAME.fanout-tmp-PID` beside DEST whose process no longer
/// runs on this machine: a run killed (SIGKILL, power loss) while it
/// wrote. A live process's folder is another run's, and one holding
/// `summary.json` is complete results a failed swap kept (its error named
/// it): neither is touched.
fn remove_stale(parent: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!(".{name}.fanout-tmp-");
    let mut removed = Vec::new();
    for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let Ok(pid) = rest.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id()
            || Path::new(&format!("/proc/{pid}")).exists()
            || entry.path().join("summary.json").exists()
        {
            continue;
        }
        if fs::remove_dir_all(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_outcome as outcome;
    use fanout_core::{RunSummary, StatusCounts};

    #[test]
    fn a_killed_runs_staging_folder_is_removed_and_named_a_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("out");
        // A pid no process has: past the kernel's pid_max.
        let dead = tmp.path().join(".out.fanout-tmp-4194305");
        // Complete results a failed swap kept (its error named the folder).
        let kept = tmp.path().join(".out.fanout-tmp-4194306");
        // pid 1 runs: another run's folder, never ours to remove.
        let live = tmp.path().join(".out.fanout-tmp-1");
        let other = tmp.path().join(".elsewhere.fanout-tmp-4194305");
        for d in [&dead, &kept, &live, &other] {
            fs::create_dir(d).unwrap();
            fs::write(d.join("r1.txt"), "partial").unwrap();
        }
        fs::write(kept.join("summary.json"), "{}").unwrap();
        let dir = OutDir::create(&dest).unwrap();
        assert_eq!(dir.removed_stale(), std::slice::from_ref(&dead));
        assert!(!dead.exists());
        assert!(kept.exists() && live.exists() && other.exists());
    }

    #[test]
    fn writes_then_replaces_a_previous_output_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("out");
        let summary = RunSummary {
            executor: "seq".into(),
            concurrency: 1,
            hosts: 0,
            counts: StatusCounts::default(),
            wall: std::time::Duration::ZERO,
            legacy_hosts: 0,
        };
        let mut dir = OutDir::create(&dest).unwrap();
        dir.host(&outcome("r1", "one\n")).unwrap();
        dir.host(&outcome("r/2", "two\n")).unwrap();
        dir.finish(&summary).unwrap();
        assert_eq!(fs::read_to_string(dest.join("r1.txt")).unwrap(), "one\n");
        assert_eq!(fs::read_to_string(dest.join("r_2.txt")).unwrap(), "two\n");
        let doc: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dest.join("summary.json")).unwrap()).unwrap();
        assert_eq!(doc["hosts"].as_array().unwrap().len(), 2);

        // A second run replaces the whole folder: r/2 is gone, r3 is new.
        let mut dir = OutDir::create(&dest).unwrap();
        dir.host(&outcome("r3", "three\n")).unwrap();
        // Until finish, the old folder is intact.
        assert!(dest.join("r1.txt").exists());
        dir.finish(&summary).unwrap();
        assert!(!dest.join("r1.txt").exists());
        assert!(dest.join("r3.txt").exists());
        let leftovers: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "staging folder must be gone");
    }

    #[test]
    fn abandoned_run_leaves_destination_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("out");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("summary.json"), "{}").unwrap();
        let mut dir = OutDir::create(&dest).unwrap();
        dir.host(&outcome("r1", "x")).unwrap();
        drop(dir);
        assert_eq!(fs::read_dir(&dest).unwrap().count(), 1);
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_foreign_folders_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let foreign = tmp.path().join("docs");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("notes.md"), "mine").unwrap();
        let err = OutDir::create(&foreign).unwrap_err().to_string();
        assert!(err.contains("not a fanout output folder"), "{err}");
        let file = tmp.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(
            OutDir::create(&file)
                .unwrap_err()
                .to_string()
                .contains("not a directory")
        );
    }

    #[test]
    fn colliding_names_get_suffixes() {
        let tmp = tempfile::tempdir().unwrap();
        let mut dir = OutDir::create(&tmp.path().join("o")).unwrap();
        assert_eq!(dir.file_name("a/b"), "a_b.txt");
        assert_eq!(dir.file_name("a_b"), "a_b~2.txt");
        assert_eq!(dir.file_name("summary"), "_summary.txt");
        assert_eq!(dir.file_name(".."), "_...txt");
    }
}
