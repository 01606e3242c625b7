//! `fanout run --queue` with `fanout worker --nats` processes against the
//! simulator, a real nats-server, a SIGKILLed worker and a server restart.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fanout_sim::Fleet;

use crate::support::{fanout, finish, json_lines};

#[path = "../../crates/queue/tests/it/nats_server.rs"]
#[allow(dead_code)]
mod nats_server;

use nats_server::NatsServer;

/// `fanout worker --nats` processes, SIGKILLed and reaped on drop.
struct Workers(Vec<Child>);

impl Workers {
    fn start(url: &str, inventory: &Path, n: usize, concurrency: usize) -> Self {
        Self(
            (0..n)
                .map(|_| {
                    fanout()
                        .args(["worker", "--nats", url, "-i"])
                        .arg(inventory)
                        .args(["-c", &concurrency.to_string(), "--ack-wait", "3s"])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("start fanout worker")
                })
                .collect(),
        )
    }

    fn kill(&mut self, i: usize) {
        let _ = self.0[i].kill();
        let _ = self.0[i].wait();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for i in 0..self.0.len() {
            self.kill(i);
        }
    }
}

/// Hosts by name from `--format jsonl`, each asserted to appear once, and
/// the summary.
fn by_host(stdout: &str) -> (BTreeMap<String, serde_json::Value>, serde_json::Value) {
    let mut lines = json_lines(stdout);
    let summary = lines.pop().expect("a summary line")["summary"].clone();
    let mut hosts = BTreeMap::new();
    for l in lines {
        let name = l["host"].as_str().unwrap().to_string();
        assert!(
            hosts.insert(name.clone(), l).is_none(),
            "{name} twice: {stdout}"
        );
    }
    (hosts, summary)
}

#[test]
fn queue_run_reports_every_host_once_in_every_format() {
    let server = NatsServer::start();
    let fleet = Fleet::builder().devices(8).start().unwrap();
    let inv = fleet.inventory_path().to_str().unwrap().to_string();
    let _workers = Workers::start(&server.url(), fleet.inventory_path(), 2, 3);
    let run = |format: &str| {
        finish(
            fanout()
                .args([
                    "run",
                    "--queue",
                    &server.url(),
                    "-i",
                    &inv,
                    "--format",
                    format,
                ])
                .args(["exec", "show version"])
                .output()
                .unwrap(),
        )
    };
    let r = run("jsonl");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let (hosts, summary) = by_host(&r.stdout);
    assert_eq!(hosts.len(), 8, "{}", r.stdout);
    for (name, h) in &hosts {
        assert_eq!(h["status"], "ok", "{name}: {h}");
        assert!(
            h["outputs"][0]["stdout"]
                .as_str()
                .unwrap()
                .contains("Version"),
            "{h}"
        );
        assert!(h["worker"].as_str().unwrap().starts_with("pid:"), "{h}");
    }
    assert_eq!(
        (summary["executor"].as_str(), summary["ok"].as_u64()),
        (Some("queue"), Some(8))
    );

    let r = run("json");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["hosts"].as_array().unwrap().len(), 8, "{}", r.stdout);
    assert_eq!(doc["summary"]["ok"], 8);

    let r = run("table");
    assert_eq!(r.code, 0, "{}", r.stderr);
    for d in fleet.devices() {
        assert!(
            r.stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(&d.name)),
            "{} missing: {}",
            d.name,
            r.stdout
        );
    }
}

#[test]
fn queue_run_survives_a_worker_sigkill_and_a_server_restart() {
    let mut server = NatsServer::start();
    let fleet = Fleet::builder()
        .devices(30)
        .latency(Duration::from_millis(400), Duration::ZERO)
        .start()
        .unwrap();
    let inv = fleet.inventory_path().to_str().unwrap().to_string();
    for task in [&["cli", "show version"][..], &["exec", "show version"]] {
        let mut workers = Workers::start(&server.url(), fleet.inventory_path(), 3, 2);
        let submitter = fanout()
            .args([
                "run",
                "--queue",
                &server.url(),
                "-i",
                &inv,
                "--format",
                "jsonl",
            ])
            .args(task)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Kill worker 0 while it has hosts in flight: once 6 sessions are
        // open at the devices, each of the 3 workers (-c 2) holds two,
        // however slow the machine was to start them.
        let until = Instant::now() + Duration::from_secs(60);
        while fleet.stats().active < 6 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        workers.kill(0);
        std::thread::sleep(Duration::from_millis(500));
        server.restart(Duration::from_millis(500));
        let r = finish(submitter.wait_with_output().unwrap());
        let (hosts, _) = by_host(&r.stdout);
        assert_eq!(hosts.len(), 30, "{task:?}: {}\n{}", r.stdout, r.stderr);
        let crashed: Vec<_> = hosts
            .values()
            .filter(|h| h["status"] != "ok")
            .inspect(|h| assert_eq!(h["error_kind"], "worker_crashed", "{task:?}: {h}"))
            .collect();
        if task[0] == "cli" {
            // Read-only: the killed worker's hosts were run again.
            assert!(crashed.is_empty(), "{crashed:?}");
            assert_eq!(r.code, 0, "{}", r.stderr);
        } else {
            // exec may have changed the device: its hosts in flight on the
            // killed worker (it had two) are reported, not re-run; so are
            // hosts whose result or ack the server restart cut off on the
            // other workers (at most the 6 in flight in all).
            assert!((1..=6).contains(&crashed.len()), "{crashed:?}");
            assert_eq!(r.code, 1, "{}", r.stderr);
        }
    }
}

#[test]
fn worker_options_need_nats_and_run_options_need_queue() {
    let r = crate::support::run(&["worker", "-i", "x.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--nats"), "{}", r.stderr);
    let r = crate::support::run(&["run", "--synthetic", "2", "--site", "lon", "sleep", "1ms"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("--queue"), "{}", r.stderr);
    let r = crate::support::run(&[
        "run",
        "--synthetic",
        "2",
        "--queue",
        "nats://127.0.0.1:1",
        "-e",
        "async",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
