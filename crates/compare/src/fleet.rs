//! A simulated fleet in its own child process (`fanout sim serve`), so the
//! devices' CPU is never billed to the executor being measured.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::MeasureError;
use crate::child::signal_process;
use crate::procfs::{self, CpuTime};

/// A running `fanout sim serve` child and its inventory. Stopped (SIGINT,
/// then SIGKILL after 5 s) when dropped.
#[derive(Debug)]
pub struct FleetProcess {
    child: Option<Child>,
    dir: tempfile::TempDir,
    inventory: PathBuf,
    started_in: Duration,
}

impl FleetProcess {
    /// Runs `program serve_args... --inventory-out DIR/fleet.yaml` and waits
    /// until the inventory exists (the simulator writes it atomically once
    /// every device accepts connections), the child exits, or `timeout`.
    pub fn start(
        program: &Path,
        serve_args: &[OsString],
        timeout: Duration,
    ) -> Result<Self, MeasureError> {
        Self::start_in(Self::temp_dir()?, program, serve_args, timeout)
    }

    /// A temporary directory for a fleet's files (removed with the fleet).
    pub fn temp_dir() -> Result<tempfile::TempDir, MeasureError> {
        tempfile::Builder::new()
            .prefix("fanout-compare-")
            .tempdir()
            .map_err(|e| MeasureError::Fleet {
                message: format!("creating a temporary directory for the fleet's inventory: {e}"),
            })
    }

    /// [`start`](Self::start) in `dir` (made by [`temp_dir`](Self::temp_dir)),
    /// where `serve_args` may name other files the fleet writes.
    pub fn start_in(
        dir: tempfile::TempDir,
        program: &Path,
        serve_args: &[OsString],
        timeout: Duration,
    ) -> Result<Self, MeasureError> {
        let io = |what: &str, source| MeasureError::Fleet {
            message: format!("{what}: {source}"),
        };
        let inventory = dir.path().join("fleet.yaml");
        let log = dir.path().join("fleet.log");
        let stdout = File::create(&log).map_err(|e| io("creating the fleet's log file", e))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| io("creating the fleet's log file", e))?;
        let started = Instant::now();
        let child = Command::new(program)
            .args(serve_args)
            .arg("--inventory-out")
            .arg(&inventory)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|source| MeasureError::Spawn {
                program: program.display().to_string(),
                source,
            })?;
        let mut fleet = Self {
            child: Some(child),
            dir,
            inventory,
            started_in: Duration::ZERO,
        };
        let log_text =
            |dir: &Path| std::fs::read_to_string(dir.join("fleet.log")).unwrap_or_default();
        loop {
            if fleet.inventory.exists() {
                fleet.started_in = started.elapsed();
                return Ok(fleet);
            }
            if let Some(child) = fleet.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                fleet.child = None;
                return Err(MeasureError::Fleet {
                    message: format!(
                        "the simulated fleet exited ({status}) before writing its inventory:\n{}",
                        log_text(fleet.dir.path()).trim_end()
                    ),
                });
            }
            if started.elapsed() > timeout {
                let text = log_text(fleet.dir.path());
                return Err(MeasureError::Fleet {
                    message: format!(
                        "the simulated fleet did not start within {} s (stopped it); its output so far:\n{}",
                        timeout.as_secs(),
                        text.trim_end()
                    ),
                });
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Process id of the fleet.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The inventory of the fleet's devices (with its known_hosts beside it).
    pub fn inventory_path(&self) -> &Path {
        &self.inventory
    }

    /// The directory of the fleet's inventory and other files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Time from spawn to the inventory appearing.
    pub fn start_time(&self) -> Duration {
        self.started_in
    }

    /// CPU the fleet has used so far (None once it is gone).
    pub fn cpu_time(&self) -> Option<CpuTime> {
        procfs::cpu_time(self.pid()?)
    }

    /// What the fleet printed (its listening banner; its statistics once stopped).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("fleet.log")).unwrap_or_default()
    }

    /// Stops the fleet: SIGINT (it shuts down cleanly), SIGKILL after 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal_process(child.id(), libc::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for FleetProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_that_exits_early_is_reported_with_its_output() {
        // `sh -c 'echo no fleet; exit 4' --inventory-out FILE`: never writes it.
        let args: Vec<OsString> = vec!["-c".into(), "echo no fleet here >&2; exit 4".into()];
        let err = FleetProcess::start(Path::new("sh"), &args, Duration::from_secs(10)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("exited") && text.contains("no fleet here"),
            "{text}"
        );
    }

    #[test]
    fn inventory_appearing_means_started_and_drop_stops_it() {
        // A stand-in fleet: writes the file named after --inventory-out ($1
        // after the script's $0), then serves until signalled.
        let script = "touch \"$2\"; exec sleep 30";
        let args: Vec<OsString> = vec!["-c".into(), script.into(), "sh".into()];
        let fleet = FleetProcess::start(Path::new("sh"), &args, Duration::from_secs(10)).unwrap();
        let pid = fleet.pid().unwrap();
        assert!(fleet.inventory_path().exists());
        assert!(fleet.cpu_time().is_some());
        let dir = fleet.inventory_path().parent().unwrap().to_path_buf();
        drop(fleet);
        assert!(
            procfs::cpu_time(pid).is_none(),
            "the fleet process was reaped"
        );
        assert!(!dir.exists(), "its temporary directory was removed");
    }

    #[test]
    fn a_fleet_that_never_starts_times_out_and_is_killed() {
        let args: Vec<OsString> = vec!["-c".into(), "exec sleep 30".into()];
        let started = Instant::now();
        let err =
            FleetProcess::start(Path::new("sh"), &args, Duration::from_millis(300)).unwrap_err();
        assert!(err.to_string().contains("did not start within"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(8));
    }
}
