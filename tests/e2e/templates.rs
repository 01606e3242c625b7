//! Templated `exec` and `cli` commands (`{name}`, `{host}`, `{vars.KEY}`):
//! checked before any host starts, rendered per host, a host missing a
//! variable failing alone.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{fanout, json_lines, run};

/// Kills and reaps the simulated fleet when the test ends, however it ends.
pub(crate) struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn serve(args: &[&str], inventory_out: &std::path::Path) -> Served {
    let child = fanout()
        .args(["sim", "serve"])
        .args(args)
        .arg("--inventory-out")
        .arg(inventory_out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut served = Served(child);
    let start = Instant::now();
    while !inventory_out.exists() {
        assert!(
            served.0.try_wait().unwrap().is_none(),
            "sim serve exited before writing its inventory"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the fleet never wrote its inventory"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    served
}

#[test]
fn unknown_placeholders_and_secrets_stop_the_run_before_any_host() {
    for (task, says) in [
        (
            vec!["exec", "hostname lab-{nmae}"],
            "unknown placeholder `{nmae}`",
        ),
        (
            vec!["cli", "--config", "username x secret {password}"],
            "secrets are never placeholders",
        ),
        (vec!["exec", "awk '{print $1}'"], "write `{{`"),
    ] {
        let mut args = vec!["run", "--synthetic", "2"];
        args.extend(task.iter().copied());
        let r = run(&args);
        assert_eq!(r.code, 2, "{task:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{task:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("{vars.KEY}") || says.contains("secret"),
            "{}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "no host ran: {}", r.stdout);
    }
}

#[test]
fn exec_and_cli_commands_are_rendered_per_host() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = tmp.path().join("fleet.yaml");
    let _served = serve(&["-n", "2", "--profile", "linux"], &fleet);
    // A second inventory with a variable for r1 only, the fleet's hosts
    // and known_hosts as they are.
    let text = std::fs::read_to_string(&fleet).unwrap();
    let r1 = text
        .lines()
        .find(|l| l.trim_start().starts_with("\"r1\":"))
        .unwrap_or_else(|| panic!("no r1 in {text}"));
    let with_site = r1.replace('}', ", vars: {site: lon}}");
    let sited = tmp.path().join("sited.yaml");
    std::fs::write(&sited, text.replace(r1, &with_site)).unwrap();
    let r = run(&[
        "run",
        "-i",
        fleet.to_str().unwrap(),
        "--format",
        "jsonl",
        "exec",
        "echo {name} {port} {platform}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    for host in &lines[..2] {
        let name = host["host"].as_str().unwrap();
        let out = &host["outputs"][0];
        let command = out["command"].as_str().unwrap();
        assert!(
            command.starts_with(&format!("echo {name} ")) && command.ends_with(" linux"),
            "{host}"
        );
        assert_eq!(
            out["stdout"].as_str().unwrap().trim(),
            command.trim_start_matches("echo "),
            "{host}"
        );
    }

    let r = run(&[
        "run",
        "-i",
        sited.to_str().unwrap(),
        "-e",
        "threads",
        "--format",
        "jsonl",
        "cli",
        "echo lab-{name}",
        "echo {vars.site}",
    ]);
    assert_eq!(r.code, 1, "r2 has no vars.site: {}", r.stderr);
    let lines = json_lines(&r.stdout);
    let by = |name: &str| {
        lines
            .iter()
            .find(|h| h["host"] == name)
            .unwrap_or_else(|| panic!("no {name}: {}", r.stdout))
    };
    let r1 = by("r1");
    assert_eq!(r1["status"], "ok", "{r1}");
    assert_eq!(
        r1["outputs"][0]["stdout"].as_str().unwrap().trim(),
        "lab-r1"
    );
    assert_eq!(r1["outputs"][1]["stdout"].as_str().unwrap().trim(), "lon");
    let r2 = by("r2");
    assert_eq!(r2["error_kind"], "invalid_target", "{r2}");
    let msg = r2["message"].as_str().unwrap();
    assert!(msg.contains("`r2` has no variable `site`"), "{msg}");
    let r = run(&[
        "run",
        "-i",
        fleet.to_str().unwrap(),
        "-e",
        "async",
        "--format",
        "jsonl",
        "cli",
        "echo lab-{name}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for host in &json_lines(&r.stdout)[..2] {
        let name = host["host"].as_str().unwrap();
        assert_eq!(
            host["outputs"][0]["stdout"].as_str().unwrap().trim(),
            format!("lab-{name}"),
            "{host}"
        );
    }
}
