//! What the integration tests share: a fleet with its files in a
//! temporary folder, and the real OpenSSH client against it.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fanout_sim::{Fleet, FleetBuilder};

pub(crate) struct Lab {
    pub(crate) fleet: Fleet,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) key: PathBuf,
}

pub(crate) fn lab(builder: FleetBuilder) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    let fleet = builder
        .inventory_out(dir.path().join("fleet.yaml"))
        .client_key_out(&key)
        .start()
        .expect("fleet starts");
    Lab { fleet, dir, key }
}

impl Lab {
    pub(crate) fn port(&self, name: &str) -> u16 {
        self.fleet
            .devices()
            .iter()
            .find(|d| d.name == name)
            .expect("device")
            .port
    }

    /// `ssh` with strict host-key checking against the fleet's known_hosts
    /// and no user config.
    pub(crate) fn ssh(&self, name: &str) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(["-F", "/dev/null", "-p", &self.port(name).to_string()])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.fleet.known_hosts_path().display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "GlobalKnownHostsFile=/dev/null",
            ])
            .args(["-o", "ConnectTimeout=5"])
            .stdin(Stdio::null());
        cmd
    }

    pub(crate) fn with_key(&self, name: &str) -> Command {
        let mut cmd = self.ssh(name);
        cmd.arg("-i")
            .arg(&self.key)
            .args(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]);
        cmd
    }

    pub(crate) fn with_password(&self, name: &str, password: &str, method: &str) -> Command {
        let askpass = self.dir.path().join(format!("askpass-{method}.sh"));
        std::fs::write(&askpass, format!("#!/bin/sh\necho '{password}'\n")).unwrap();
        std::os::unix::fs::PermissionsExt::set_mode(
            &mut std::fs::metadata(&askpass).unwrap().permissions(),
            0o755,
        );
        std::fs::set_permissions(
            &askpass,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let mut cmd = self.ssh(name);
        cmd.env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0")
            .args([
                "-o",
                &format!("PreferredAuthentications={method}"),
                "-o",
                "PubkeyAuthentication=no",
            ])
            .args(["-o", "NumberOfPasswordPrompts=1"]);
        cmd
    }
}

pub(crate) fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn have_ssh() -> bool {
    let ok = Command::new("ssh")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "ssh (openssh-client) must be installed in CI"
    );
    ok
}

/// Runs `cmd`, killing it after `limit`; returns its output and whether it was killed.
pub(crate) fn run_with_limit(mut cmd: Command, limit: Duration) -> (Output, bool) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut killed = false;
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), killed)
}

pub(crate) fn lab_in(builder: FleetBuilder) -> (Fleet, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let fleet = builder
        .inventory_out(dir.path().join("f.yaml"))
        .start()
        .unwrap();
    (fleet, dir)
}
