//! What every SSH host of a run shares: the host-key verifier, the
//! private keys read from disk and the handshake slots.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fanout_core::{Job, Secret};
use fanout_hostkeys::{HostKeyError, HostKeyVerifier};

use super::gate::HandshakeGate;

/// What every SSH host of a run shares: the host-key verifier (known_hosts
/// read once, `accept-new` appends serialised), the private keys read from
/// disk and the handshake slots ([`HandshakeGate`]). Built once per run
/// (inside [`Transports`](crate::Transports)).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) verifier: HostKeyVerifier,
    pub(crate) keys: KeyFiles,
    pub(crate) handshakes: HandshakeGate,
}

impl Shared {
    /// Shared state around `verifier`.
    pub(crate) fn new(verifier: HostKeyVerifier) -> Self {
        Self {
            verifier,
            keys: KeyFiles::default(),
            handshakes: HandshakeGate::per_core(),
        }
    }

    /// The verifier of `job` (its policy and known_hosts files, then
    /// `~/.ssh/known_hosts`); an unreadable or garbled file is an error
    /// naming it.
    pub(crate) fn for_job(job: &Job) -> Result<Self, HostKeyError> {
        Ok(Self::new(HostKeyVerifier::for_job(job)?))
    }
}

/// Private key files, read once per run. The text of a key is a
/// [`Secret`]; `Debug` shows only the paths.
#[derive(Default)]
pub(crate) struct KeyFiles {
    read: Mutex<HashMap<PathBuf, Arc<Result<Secret, String>>>>,
}

impl KeyFiles {
    pub(crate) fn get(&self, path: &Path) -> Arc<Result<Secret, String>> {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.entry(path.to_path_buf())
            .or_insert_with(|| {
                Arc::new(
                    std::fs::read_to_string(path)
                        .map(Secret::new)
                        .map_err(|e| fanout_transport::ssh::auth::key_file_unreadable(path, &e)),
                )
            })
            .clone()
    }
}

impl fmt::Debug for KeyFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("KeyFiles")
            .field("read", &read.keys().collect::<Vec<_>>())
            .finish()
    }
}
