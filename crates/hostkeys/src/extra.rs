//! A target's own known_hosts files (ssh_config `UserKnownHostsFile`,
//! [`Reach::known_hosts`](fanout_core::Reach)): checked before the run's
//! files, each distinct file read once per verifier (so once per run),
//! read-only (`accept-new` appends to the run's first file).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::HostKeyError;
use crate::known_hosts::{Entry, Index};
use crate::store::{self, Source};

/// One extra file, indexed (its entries' `file` is 0).
pub(crate) struct Extra {
    pub(crate) path: PathBuf,
    pub(crate) index: Index,
}

/// The extra files read so far, by path as the target names them.
#[derive(Default)]
pub(crate) struct Extras {
    files: Mutex<HashMap<PathBuf, Result<Arc<Extra>, HostKeyError>>>,
}

impl Extras {
    /// `paths`, each read on first need (a missing file is empty; a bad
    /// line is an error naming FILE:LINE, as in any file the user named).
    pub(crate) fn get(&self, paths: &[PathBuf]) -> Result<Vec<Arc<Extra>>, HostKeyError> {
        let mut files = crate::lock(&self.files);
        paths
            .iter()
            .map(|path| {
                files
                    .entry(path.clone())
                    .or_insert_with(|| load(path))
                    .clone()
            })
            .collect()
    }
}

fn load(path: &Path) -> Result<Arc<Extra>, HostKeyError> {
    let loaded = store::load_all(&[Source {
        path: path.to_path_buf(),
        explicit: true,
    }])?;
    Ok(Arc::new(Extra {
        path: path.to_path_buf(),
        index: loaded.index,
    }))
}

impl Extra {
    pub(crate) fn lookup(&self, name: &str) -> Vec<&Entry> {
        self.index.lookup(name)
    }
}
