//! `fanout compare --timeline DIR`: one `fanout run --timeline` picture
//! per executor, all on the same time scale, drawn from the outcomes each
//! child printed (its JSON Lines) after every executor has run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fanout_core::HostOutcome;
use fanout_report::{TimelineHost, span, timeline_path, write_timeline};

/// The hosts of each executor's last run, for the pictures.
pub(crate) struct Timelines {
    dir: PathBuf,
    runs: Vec<Option<Vec<TimelineHost>>>,
}

/// Creates `dir` if needed and checks a picture can be written there,
/// before anything runs.
pub(crate) fn check_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "--timeline {}: the folder could not be created; choose a folder you can write to",
            dir.display()
        )
    })?;
    crate::out_path::check_output_file("--timeline", &timeline_path(dir, "seq"), &["svg"])
}

impl Timelines {
    pub(crate) fn new(dir: &Path, executors: usize) -> Self {
        Self {
            dir: dir.to_path_buf(),
            runs: vec![None; executors],
        }
    }

    /// Keeps the hosts of executor `e`'s run from what it printed (JSON
    /// Lines, in the order they came: the child ran with --order
    /// inventory, so rows follow the inventory).
    pub(crate) fn record(&mut self, e: usize, stdout: &[u8]) {
        let hosts = String::from_utf8_lossy(stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<HostOutcome>(line).ok())
            .map(|o| TimelineHost::from(&o))
            .collect();
        if let Some(slot) = self.runs.get_mut(e) {
            *slot = Some(hosts);
        }
    }

    /// Writes `DIR/timeline-NAME.svg` per executor that ran, on one scale.
    pub(crate) fn write(self, names: &[String], task: &str) -> Result<()> {
        let scale = self
            .runs
            .iter()
            .flatten()
            .map(|hosts| span(hosts))
            .max()
            .unwrap_or_default();
        for (name, hosts) in names.iter().zip(self.runs) {
            let Some(hosts) = hosts else { continue };
            let path = timeline_path(&self.dir, name);
            let title = format!("fanout compare, -e {name}: {task} on {} hosts", hosts.len());
            write_timeline(&path, &title, &hosts, Some(scale))?;
            crate::note!(
                "fanout compare: wrote the {name} timeline to {}",
                path.display()
            );
        }
        Ok(())
    }
}
