//! The known_hosts files on disk: loading them into an [`Index`], and
//! appending under `accept-new` without two writers ever adding the same host.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use crate::error::{HostKeyError, Location};
use crate::known_hosts::{Entry, Index, count_lines, parse_chunk};

/// One known_hosts file to search.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) path: PathBuf,
    /// Named by the user (`--known-hosts`, the inventory): bad lines are
    /// errors. `~/.ssh/known_hosts` is not: bad lines are skipped, as
    /// OpenSSH does.
    pub(crate) explicit: bool,
}

/// How much of a file the index holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileState {
    /// (device, inode) of the file that was read.
    identity: Option<(u64, u64)>,
    /// Bytes indexed.
    len: u64,
    /// Lines indexed (a final line without `\n` counts).
    lines: usize,
    /// Whether the indexed bytes end with `\n` (or are empty).
    ends_with_newline: bool,
}

/// Everything read from disk.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) index: Index,
    pub(crate) files: Vec<FileState>,
    pub(crate) warnings: Vec<String>,
}

/// Reads and indexes every file; a missing file is empty.
pub(crate) fn load_all(sources: &[Source]) -> Result<Loaded, HostKeyError> {
    let mut loaded = Loaded {
        index: Index::default(),
        files: Vec::with_capacity(sources.len()),
        warnings: Vec::new(),
    };
    for i in 0..sources.len() {
        let state = load_file(sources, i, &mut loaded.index, &mut loaded.warnings)?;
        loaded.files.push(state);
    }
    Ok(loaded)
}

fn load_file(
    sources: &[Source],
    i: usize,
    index: &mut Index,
    warnings: &mut Vec<String>,
) -> Result<FileState, HostKeyError> {
    let source = &sources[i];
    let empty = FileState {
        ends_with_newline: true,
        ..FileState::default()
    };
    let mut file = match File::open(&source.path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(empty),
        Err(e) if !source.explicit => {
            warnings.push(format!("{}: skipped: {e}", source.path.display()));
            return Ok(empty);
        }
        Err(e) => return Err(HostKeyError::io(&source.path, "read", e)),
    };
    let mut bytes = Vec::new();
    let read = file
        .metadata()
        .and_then(|meta| {
            file.read_to_end(&mut bytes)?;
            Ok(meta)
        })
        .map_err(|e| HostKeyError::io(&source.path, "read", e));
    let meta = match read {
        Ok(meta) => meta,
        Err(e) if !source.explicit => {
            warnings.push(format!("skipped: {e}"));
            return Ok(empty);
        }
        Err(e) => return Err(e),
    };
    let (entries, bad) = parse_chunk(&bytes, i, 1);
    judge_bad_lines(source, bad, warnings)?;
    for entry in entries {
        index.insert(entry);
    }
    Ok(FileState {
        identity: Some((meta.dev(), meta.ino())),
        len: bytes.len() as u64,
        lines: count_lines(&bytes),
        ends_with_newline: bytes.is_empty() || bytes.ends_with(b"\n"),
    })
}

/// Bad lines are an error in a file the user named, warnings otherwise.
fn judge_bad_lines(
    source: &Source,
    bad: Vec<(usize, String)>,
    warnings: &mut Vec<String>,
) -> Result<(), HostKeyError> {
    if let (true, Some((line, reason))) = (source.explicit, bad.first()) {
        return Err(HostKeyError::Parse {
            at: Location {
                file: source.path.clone(),
                line: *line,
            },
            reason: reason.clone(),
            more: bad.len() - 1,
        });
    }
    for (line, reason) in bad {
        warnings.push(format!(
            "{}:{line}: skipped a line that is not valid known_hosts: {reason}",
            source.path.display()
        ));
    }
    Ok(())
}

/// What [`LockedFile::catch_up`] found.
pub(crate) enum CatchUp {
    /// Entries other processes appended (possibly none).
    Appended(Vec<Entry>),
    /// The file was replaced: a fresh index of all files.
    Reloaded(Index),
}

impl CatchUp {
    pub(crate) fn apply(self, index: &mut Index) {
        match self {
            CatchUp::Appended(entries) => entries.into_iter().for_each(|e| index.insert(e)),
            CatchUp::Reloaded(fresh) => *index = fresh,
        }
    }
}

/// The first file, opened for appending and locked with `flock(2)` (so
/// other fanout processes appending to it wait); unlocked when dropped.
pub(crate) struct LockedFile {
    file: File,
}

impl LockedFile {
    pub(crate) fn open(path: &Path) -> Result<LockedFile, HostKeyError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| HostKeyError::io(parent, "create", e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| HostKeyError::io(path, "create or open", e))?;
        // std's File::lock is flock(LOCK_EX) on Linux: per open file
        // description, so it also serialises threads that opened the file
        // separately.
        file.lock().map_err(|e| HostKeyError::io(path, "lock", e))?;
        Ok(LockedFile { file })
    }

    /// What other processes changed in the file since it was indexed:
    /// the entries they appended, or (if the file was replaced or shrank,
    /// e.g. by `ssh-keygen -R`) everything reloaded. Updates `files` and
    /// `warnings`; the caller applies the result to the index, so that the
    /// index lock is not held while reading the disk.
    pub(crate) fn catch_up(
        &self,
        sources: &[Source],
        files: &mut Vec<FileState>,
        warnings: &mut Vec<String>,
    ) -> Result<CatchUp, HostKeyError> {
        let path = &sources[0].path;
        let meta = self
            .file
            .metadata()
            .map_err(|e| HostKeyError::io(path, "read", e))?;
        let identity = (meta.dev(), meta.ino());
        let state = &files[0];
        let replaced = state.identity.is_some_and(|id| id != identity);
        let shrank = meta.len() < state.len;
        let extends_partial_line = !state.ends_with_newline && meta.len() > state.len;
        if replaced || shrank || extends_partial_line {
            let fresh = load_all(sources)?;
            *files = fresh.files;
            *warnings = fresh.warnings;
            // If the path was swapped again since we opened it, make sure
            // the next catch_up looks at the file we hold.
            files[0].identity = Some(identity);
            return Ok(CatchUp::Reloaded(fresh.index));
        }
        let mut appended = Vec::new();
        if meta.len() > state.len {
            let mut tail = vec![0; (meta.len() - state.len) as usize];
            self.file
                .read_exact_at(&mut tail, state.len)
                .map_err(|e| HostKeyError::io(path, "read", e))?;
            let (entries, bad) = parse_chunk(&tail, 0, state.lines + 1);
            judge_bad_lines(&sources[0], bad, warnings)?;
            appended = entries;
            let state = &mut files[0];
            state.len = meta.len();
            state.lines += count_lines(&tail);
            state.ends_with_newline = tail.ends_with(b"\n");
        }
        files[0].identity = Some(identity);
        Ok(CatchUp::Appended(appended))
    }

    /// Appends `host key_type base64` as a new line; returns its line number.
    pub(crate) fn append(
        &mut self,
        path: &Path,
        state: &mut FileState,
        line: &str,
    ) -> Result<usize, HostKeyError> {
        let mut text = String::with_capacity(line.len() + 2);
        if !state.ends_with_newline {
            text.push('\n');
        }
        text.push_str(line);
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| HostKeyError::io(path, "append to", e))?;
        state.len += text.len() as u64;
        state.lines += 1;
        state.ends_with_newline = true;
        Ok(state.lines)
    }
}

/// The entry `append` wrote, for the in-memory index.
pub(crate) fn appended_entry(line: usize, name: &str, key_type: &str, blob: &[u8]) -> Entry {
    Entry {
        file: 0,
        line,
        marker: crate::known_hosts::Marker::None,
        hosts: crate::pattern::Hosts::Patterns {
            positive: vec![name.to_string()],
            negated: Vec::new(),
        },
        key_type: key_type.to_string(),
        blob: blob.to_vec(),
    }
}
