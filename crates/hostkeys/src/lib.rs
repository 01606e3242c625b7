//! Host-key verification for every SSH transport of fanout: reading OpenSSH
//! known_hosts files, applying the host-key policy (`strict`, `accept-new`,
//! `off`) and explaining refusals.
//!
//! This crate owns the known_hosts format (plain, `[host]:port`, comma
//! lists, `*`/`?` wildcards, `!` negation, hashed `|1|` names, `@revoked`;
//! `@cert-authority` lines are ignored), the search order of the files,
//! appending new keys under `accept-new` (an in-process mutex plus `flock(2)`
//! so that concurrent fanout processes never add a host twice), and the
//! messages of [`HostKeyError`]. It does no networking: a transport hands
//! [`HostKeyVerifier::verify`] the key the device offered.
//!
//! Files are read once, when the verifier is built; `verify` is a hash
//! lookup (plus one HMAC per hashed line) and only touches the disk to add an
//! unknown key under `accept-new`.
//!
//! Lines that are not valid known_hosts are an error naming `FILE:LINE` in
//! files the user named (`--known-hosts`, the inventory's `known_hosts:`);
//! in `~/.ssh/known_hosts` they are skipped, as OpenSSH does, and reported by
//! [`HostKeyVerifier::warnings`].

mod error;
mod extra;
mod known_hosts;
mod pattern;
mod store;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{
    Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use base64::Engine as _;
use fanout_core::{HostKeyPolicy, Job, Target};

pub use error::{
    ChangedKey, HostKeyError, Location, OfferedKey, RevokedKey, UnknownKey, fingerprint,
};
pub use known_hosts::key_type_of;
pub use pattern::{hash_host_name, host_name};

use extra::{Extra, Extras};
use known_hosts::{BASE64, Entry, Index, Marker};
use store::{FileState, LockedFile, Source};

/// What [`HostKeyVerifier::verify`] concluded about an accepted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// A known_hosts entry for the host has this key.
    Known,
    /// The key was unknown and `accept-new` appended it to `file`.
    Added {
        /// The known_hosts file the key was appended to.
        file: PathBuf,
    },
    /// The policy is `off`: nothing was checked.
    NotChecked,
}

/// Checks host keys against known_hosts under a policy. Build one per run
/// and share it (`Arc`) between all hosts; it is `Send + Sync`.
pub struct HostKeyVerifier {
    policy: HostKeyPolicy,
    sources: Vec<Source>,
    /// Read on first need: at construction unless the policy is `off`, in
    /// which case only when a target overrides it.
    state: OnceLock<Result<State, HostKeyError>>,
    /// Targets' own files (`UserKnownHostsFile`), checked before `sources`.
    extras: Extras,
}

/// Lock order: `disk` before `index`; nothing that holds `index` takes
/// `disk`.
struct State {
    index: RwLock<Index>,
    /// Serialises `accept-new` appends within the process; holds what is
    /// known about the files on disk.
    disk: Mutex<Disk>,
}

struct Disk {
    files: Vec<FileState>,
    warnings: Vec<String>,
}

/// What the index says about an offered key.
enum Decision<'a> {
    Known,
    Revoked(&'a Entry),
    Changed(&'a Entry),
    Unknown,
}

impl HostKeyVerifier {
    /// A verifier searching `files` in order, then `~/.ssh/known_hosts`
    /// (added here when `$HOME` is set and it is not already listed).
    /// Missing files are fine (treated as empty); unreadable ones, and bad
    /// lines in `files`, are an error naming the file (and line). Nothing is
    /// read when `policy` is `off` until a target overrides it.
    pub fn new(policy: HostKeyPolicy, files: &[PathBuf]) -> Result<Self, HostKeyError> {
        let mut sources: Vec<Source> = Vec::new();
        for path in files {
            push_unique(&mut sources, path, true);
        }
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            push_unique(
                &mut sources,
                &Path::new(&home).join(".ssh").join("known_hosts"),
                false,
            );
        }
        Self::with_sources(policy, sources)
    }

    /// `new(job.host_keys, &job.known_hosts)`.
    pub fn for_job(job: &Job) -> Result<Self, HostKeyError> {
        Self::new(job.host_keys, &job.known_hosts)
    }

    /// Like [`new`](Self::new) but searching exactly `files`, without
    /// `~/.ssh/known_hosts` (for tests and simulated fleets, whose result
    /// must not depend on the user's own file).
    pub fn from_files(policy: HostKeyPolicy, files: &[PathBuf]) -> Result<Self, HostKeyError> {
        let mut sources = Vec::new();
        for path in files {
            push_unique(&mut sources, path, true);
        }
        Self::with_sources(policy, sources)
    }

    fn with_sources(policy: HostKeyPolicy, sources: Vec<Source>) -> Result<Self, HostKeyError> {
        let verifier = HostKeyVerifier {
            policy,
            sources,
            state: OnceLock::new(),
            extras: Extras::default(),
        };
        if policy != HostKeyPolicy::Off {
            verifier.state()?;
        }
        Ok(verifier)
    }

    /// The run's policy (a target's `host_keys` overrides it).
    pub fn policy(&self) -> HostKeyPolicy {
        self.policy
    }

    /// The known_hosts files searched, in order; `accept-new` appends to
    /// the first.
    pub fn files(&self) -> Vec<&Path> {
        self.sources.iter().map(|s| s.path.as_path()).collect()
    }

    /// Lines skipped in `~/.ssh/known_hosts` (or the file itself, if it
    /// could not be read), one message each; print them once per run.
    pub fn warnings(&self) -> Vec<String> {
        match self.state.get() {
            Some(Ok(state)) => lock(&state.disk).warnings.clone(),
            _ => Vec::new(),
        }
    }

    /// Key types (e.g. `ssh-ed25519`) known_hosts has for `target`, in file
    /// order: a transport can prefer these host-key algorithms, as OpenSSH
    /// does, so that a device with several keys offers the known one.
    pub fn known_key_types(&self, target: &Target) -> Vec<String> {
        let Some(Ok(state)) = self.state.get() else {
            return Vec::new();
        };
        let name = host_name(&target.address, target.port);
        let mut types: Vec<String> = Vec::new();
        let extras = self
            .extras
            .get(&target.reach.known_hosts)
            .unwrap_or_default();
        let index = read(&state.index);
        let entries = extras
            .iter()
            .flat_map(|x| x.lookup(&name))
            .chain(index.lookup(&name));
        for e in entries {
            if e.marker == Marker::None && !types.contains(&e.key_type) {
                types.push(e.key_type.clone());
            }
        }
        types
    }

    /// Checks the key `target` offered. `key_type` is e.g. `ssh-ed25519`
    /// (the type named inside `key_blob` wins if they differ, so passing a
    /// signature algorithm such as `rsa-sha2-256` is harmless); `key_blob`
    /// is the SSH wire-format public key. The policy is
    /// `target.host_keys`, else the verifier's.
    ///
    /// Only `accept-new` with an unknown key touches the disk (and may wait
    /// for another process's lock on the file); everything else is an
    /// in-memory lookup.
    pub fn verify(
        &self,
        target: &Target,
        key_type: &str,
        key_blob: &[u8],
    ) -> Result<HostKeyStatus, HostKeyError> {
        let policy = target.host_keys.unwrap_or(self.policy);
        if policy == HostKeyPolicy::Off {
            return Ok(HostKeyStatus::NotChecked);
        }
        let state = self.state()?;
        let name = host_name(&target.address, target.port);
        let key_type = key_type_of(key_blob).unwrap_or(key_type);
        // The target's own files first: the first that has an entry for
        // the host decides.
        let extras = self.extras.get(&target.reach.known_hosts)?;
        for extra in &extras {
            if let Some(settled) = settled_in(extra, &name, key_type, key_blob) {
                return settled;
            }
        }
        let strict = {
            let index = read(&state.index);
            if let Some(settled) = self.settled(&index, &name, key_type, key_blob) {
                return settled;
            }
            (policy == HostKeyPolicy::Strict)
                .then(|| self.unknown(&index, target, &name, key_type, key_blob, None))
        };
        // The index lock is released: `accept_new` takes the disk lock first.
        let unknown = match strict {
            Some(e) => e,
            None => match self.accept_new(state, target, &name, key_type, key_blob) {
                Err(e @ HostKeyError::Unknown(_)) => e,
                done => return done,
            },
        };
        Err(with_extras(unknown, &extras))
    }

    fn state(&self) -> Result<&State, HostKeyError> {
        self.state
            .get_or_init(|| {
                store::load_all(&self.sources).map(|loaded| State {
                    index: RwLock::new(loaded.index),
                    disk: Mutex::new(Disk {
                        files: loaded.files,
                        warnings: loaded.warnings,
                    }),
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// `Some` unless the key is unknown.
    fn settled(
        &self,
        index: &Index,
        name: &str,
        key_type: &str,
        blob: &[u8],
    ) -> Option<Result<HostKeyStatus, HostKeyError>> {
        match decide(index, name, key_type, blob) {
            Decision::Known => Some(Ok(HostKeyStatus::Known)),
            Decision::Revoked(e) => Some(Err(HostKeyError::Revoked(Box::new(RevokedKey {
                offered: offered(name, key_type, blob),
                at: self.location(e),
            })))),
            Decision::Changed(e) => Some(Err(HostKeyError::Changed(Box::new(ChangedKey {
                offered: offered(name, key_type, blob),
                known_fingerprint: fingerprint(&e.blob),
                at: self.location(e),
                pattern: e.hosts.wildcard_for(name).map(str::to_string),
            })))),
            Decision::Unknown => None,
        }
    }

    fn accept_new(
        &self,
        state: &State,
        target: &Target,
        name: &str,
        key_type: &str,
        blob: &[u8],
    ) -> Result<HostKeyStatus, HostKeyError> {
        let Some(first) = self.sources.first() else {
            return Err(HostKeyError::NowhereToAppend {
                host: name.to_string(),
            });
        };
        let refusal = if !writable_name(name) {
            Some(format!(
                "accept-new cannot write `{name}` to known_hosts (it contains a space, `,`, `#`, `*`, `?` or `!`)"
            ))
        } else if key_type_of(blob).is_none() {
            Some(
                "accept-new cannot write the key: the transport passed something that is not an SSH \
                 public key blob (a fanout bug; please report it)"
                    .to_string(),
            )
        } else {
            None
        };
        if refusal.is_some() {
            let index = read(&state.index);
            return Err(self.unknown(&index, target, name, key_type, blob, refusal));
        }
        let mut disk = lock(&state.disk);
        // Another thread may have added it while this one waited.
        if let Some(settled) = self.settled(&read(&state.index), name, key_type, blob) {
            return settled;
        }
        let mut file = LockedFile::open(&first.path)?;
        let Disk { files, warnings } = &mut *disk;
        let news = file.catch_up(&self.sources, files, warnings)?;
        news.apply(&mut write(&state.index));
        // Another process may have added it before we took the lock.
        if let Some(settled) = self.settled(&read(&state.index), name, key_type, blob) {
            return settled;
        }
        let text = format!("{name} {key_type} {}", BASE64.encode(blob));
        let line = file.append(&first.path, &mut files[0], &text)?;
        write(&state.index).insert(store::appended_entry(line, name, key_type, blob));
        Ok(HostKeyStatus::Added {
            file: first.path.clone(),
        })
    }

    fn unknown(
        &self,
        index: &Index,
        target: &Target,
        name: &str,
        key_type: &str,
        blob: &[u8],
        extra: Option<String>,
    ) -> HostKeyError {
        let mut notes: Vec<String> = Vec::new();
        // A stat per file on this error path; the disk lock is not taken
        // here because the caller holds the index lock (lock order is
        // disk, then index).
        for source in &self.sources {
            if !source.path.exists() {
                notes.push(format!("{} does not exist", source.path.display()));
            }
        }
        for e in index.lookup(name) {
            if e.marker == Marker::None && e.key_type != key_type {
                notes.push(format!(
                    "{} has a {} key for {name}, but the device offered {key_type}",
                    self.location(e),
                    e.key_type
                ));
            }
        }
        // The commonest hand-written mistake: the entry names the host for
        // another port (OpenSSH writes port 22 as plain `host`, others as
        // `[host]:port`).
        let address = target.address.to_ascii_lowercase();
        let other = if target.port == 22 {
            format!("[{address}]:22")
        } else {
            address.clone()
        };
        for e in index.lookup(&other) {
            if e.marker == Marker::None && e.hosts.wildcard_for(&other).is_none() {
                notes.push(format!(
                    "{} is for `{other}`, which is not how known_hosts names {}:{} (write it as `{name}`)",
                    self.location(e),
                    target.address,
                    target.port
                ));
            }
        }
        notes.extend(extra);
        HostKeyError::Unknown(Box::new(UnknownKey {
            offered: offered(name, key_type, blob),
            address: target.address.clone(),
            port: target.port,
            searched: self.sources.iter().map(|s| s.path.clone()).collect(),
            notes,
        }))
    }

    fn location(&self, e: &Entry) -> Location {
        Location {
            file: self.sources[e.file].path.clone(),
            line: e.line,
        }
    }
}

impl fmt::Debug for HostKeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostKeyVerifier")
            .field("policy", &self.policy)
            .field("files", &self.files())
            .finish_non_exhaustive()
    }
}

fn offered(name: &str, key_type: &str, blob: &[u8]) -> OfferedKey {
    OfferedKey {
        host: name.to_string(),
        key_type: key_type.to_string(),
        fingerprint: fingerprint(blob),
    }
}

fn decide<'a>(index: &'a Index, name: &str, key_type: &str, blob: &[u8]) -> Decision<'a> {
    let found = index.lookup(name);
    // As OpenSSH: a revoked key is refused even if another line lists it.
    if let Some(e) = found
        .iter()
        .find(|e| e.marker == Marker::Revoked && e.blob == blob)
    {
        return Decision::Revoked(e);
    }
    if found
        .iter()
        .any(|e| e.marker == Marker::None && e.blob == blob)
    {
        return Decision::Known;
    }
    match found
        .iter()
        .find(|e| e.marker == Marker::None && e.key_type == key_type)
    {
        Some(e) => Decision::Changed(e),
        None => Decision::Unknown,
    }
}

/// What one of a target's own files says about the offered key; `None`:
/// it has no entry for the host.
fn settled_in(
    extra: &Extra,
    name: &str,
    key_type: &str,
    blob: &[u8],
) -> Option<Result<HostKeyStatus, HostKeyError>> {
    let at = |e: &Entry| Location {
        file: extra.path.clone(),
        line: e.line,
    };
    let found = extra.lookup(name);
    if let Some(e) = found
        .iter()
        .find(|e| e.marker == Marker::Revoked && e.blob == blob)
    {
        return Some(Err(HostKeyError::Revoked(Box::new(RevokedKey {
            offered: offered(name, key_type, blob),
            at: at(e),
        }))));
    }
    if found
        .iter()
        .any(|e| e.marker == Marker::None && e.blob == blob)
    {
        return Some(Ok(HostKeyStatus::Known));
    }
    let e = found
        .iter()
        .find(|e| e.marker == Marker::None && e.key_type == key_type)?;
    Some(Err(HostKeyError::Changed(Box::new(ChangedKey {
        offered: offered(name, key_type, blob),
        known_fingerprint: fingerprint(&e.blob),
        at: at(e),
        pattern: e.hosts.wildcard_for(name).map(str::to_string),
    }))))
}

/// An unknown-key error naming the target's own files first among those
/// searched.
fn with_extras(err: HostKeyError, extras: &[std::sync::Arc<Extra>]) -> HostKeyError {
    match err {
        HostKeyError::Unknown(mut u) if !extras.is_empty() => {
            let mut searched: Vec<PathBuf> = extras.iter().map(|x| x.path.clone()).collect();
            searched.retain(|p| !u.searched.contains(p));
            searched.append(&mut u.searched);
            u.searched = searched;
            HostKeyError::Unknown(u)
        }
        other => other,
    }
}

/// A name `accept-new` can write as a known_hosts host field.
fn writable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['|', '@'])
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || ",#*?!".contains(c))
}

fn push_unique(sources: &mut Vec<Source>, path: &Path, explicit: bool) {
    let same = |s: &Source| {
        s.path == path
            || matches!(
                (s.path.canonicalize(), path.canonicalize()),
                (Ok(a), Ok(b)) if a == b
            )
    };
    if !sources.iter().any(same) {
        sources.push(Source {
            path: path.to_path_buf(),
            explicit,
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<HostKeyVerifier>();
        assert_send_sync::<HostKeyError>();
    }

    #[test]
    fn writable_names() {
        assert!(writable_name("[127.0.0.1]:2201"));
        assert!(writable_name("r1.lab"));
        assert!(!writable_name("a b"));
        assert!(!writable_name("a,b"));
        assert!(!writable_name("r*"));
        assert!(!writable_name("|1|x"));
        assert!(!writable_name(""));
    }
}
