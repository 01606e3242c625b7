//! `--ssh-config` / `ssh_config_file:`: resolved values shown with their
//! origin, jump hosts dialled first (the hop named in the error), exec over
//! telnet refused before connecting.

use crate::support::{fanout, finish, json_lines};

fn setup() -> (tempfile::TempDir, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("ssh_config");
    std::fs::write(
        &config,
        "Host behind-*\n  ProxyJump ops@127.0.0.1:9\n  User admin\n  HostName 127.0.0.1\nHost *\n  Port 2201\n  KexAlgorithms +diffie-hellman-group1-sha1\n",
    )
    .unwrap();
    let inv = tmp.path().join("inv.yaml");
    std::fs::write(
        &inv,
        "- {name: behind-1, host: behind-1, password: x, agent: true}\n\
         - {name: tn-1, host: 127.0.0.1, port: 9, transport: telnet, username: u, password: x}\n",
    )
    .unwrap();
    let (c, i) = (config.display().to_string(), inv.display().to_string());
    (tmp, c, i)
}

fn run_in(home: &std::path::Path, args: &[&str]) -> crate::support::Run {
    finish(fanout().env("HOME", home).args(args).output().unwrap())
}

#[test]
fn inventory_show_and_list_give_each_value_and_its_origin() {
    let (tmp, config, inv) = setup();
    let r = run_in(
        tmp.path(),
        &[
            "inventory",
            "show",
            "-i",
            &inv,
            "--ssh-config",
            &config,
            "behind-1",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = |field: &str| {
        r.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{field} ")))
            .unwrap_or_else(|| panic!("no {field} in {}", r.stdout))
            .to_string()
    };
    assert!(line("jump").contains("ops@127.0.0.1:9"), "{}", r.stdout);
    assert!(
        line("address").contains("127.0.0.1 ") && line("address").contains(":4"),
        "{}",
        r.stdout
    );
    assert!(
        line("jump").contains(&format!("ssh_config {config}:2")),
        "{}",
        r.stdout
    );
    assert!(
        line("user").contains("admin") && line("user").contains(":3"),
        "{}",
        r.stdout
    );
    assert!(
        line("port").contains("2201") && line("port").contains(":6"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("x "), "no password: {}", r.stdout);

    let r = run_in(
        tmp.path(),
        &[
            "inventory",
            "list",
            "-i",
            &inv,
            "--ssh-config",
            &config,
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hosts: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(hosts[0]["jump"][0], "ops@127.0.0.1:9", "{hosts}");
    assert_eq!(hosts[0]["kex_algorithms"], "+diffie-hellman-group1-sha1");
    assert_eq!(hosts[1]["port"], 9, "the inventory's port wins");
    assert!(
        hosts[1]["from_ssh_config"]["port"]
            .as_str()
            .unwrap()
            .starts_with("inventory (over")
    );

    // Without --ssh-config nothing is read.
    let r = run_in(tmp.path(), &["inventory", "show", "-i", &inv, "behind-1"]);
    assert!(r.stdout.contains("- (direct)"), "{}", r.stdout);

    let r = run_in(tmp.path(), &["inventory", "show", "-i", &inv, "nope"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no host `nope`"), "{}", r.stderr);
}

#[test]
fn jump_hosts_are_dialled_and_telnet_exec_fails_before_connecting_on_every_executor() {
    let (tmp, config, inv) = setup();
    for executor in ["seq", "threads", "process", "async"] {
        let r = run_in(
            tmp.path(),
            &[
                "run",
                "-i",
                &inv,
                "--ssh-config",
                &config,
                "-e",
                executor,
                "--host-keys",
                "off",
                "--format",
                "jsonl",
                "exec",
                "show clock",
            ],
        );
        assert_eq!(r.code, 1, "{executor}: {}", r.stderr);
        let lines = json_lines(&r.stdout);
        // The jump host is dialled first (nothing listens on port 9; the
        // hop may use the agent, as the host does).
        let o = lines.iter().find(|l| l["host"] == "behind-1").unwrap();
        assert_eq!(o["error_kind"], "connect", "{executor}: {o}");
        let msg = o["message"].as_str().unwrap();
        assert!(
            msg.contains(
                "jump host ops@127.0.0.1:9: could not connect to 127.0.0.1:9: connection refused"
            ),
            "{executor}: {o}"
        );
        let (host, says) = (
            "tn-1",
            "exec needs an SSH exec channel; telnet targets run cli",
        );
        {
            let o = lines.iter().find(|l| l["host"] == host).unwrap();
            assert_eq!(o["error_kind"], "invalid_target", "{executor}: {o}");
            assert!(
                o["message"].as_str().unwrap().contains(says),
                "{executor}: {o}"
            );
            assert_eq!(
                o["timings_ms"]["connect"].as_f64(),
                Some(0.0),
                "{executor}: never connected: {o}"
            );
        }
    }
}

#[test]
fn a_malformed_ssh_config_stops_the_run_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad");
    std::fs::write(&bad, "Host *\n  Port many\n").unwrap();
    let inv = tmp.path().join("inv.yaml");
    std::fs::write(&inv, "- {host: 127.0.0.1}\n").unwrap();
    let r = run_in(
        tmp.path(),
        &[
            "run",
            "-i",
            inv.to_str().unwrap(),
            "--ssh-config",
            bad.to_str().unwrap(),
            "exec",
            "x",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("{}:2: `Port many` is not a port", bad.display())),
        "{}",
        r.stderr
    );
}
