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

#[test]
fn ssh_config_algorithms_known_hosts_and_connect_timeout_reach_the_sim_on_every_executor() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("fleet.yaml");
    let kh = tmp.path().join("lab_known_hosts");
    let (child, text) = crate::sim::serve(
        &[
            "-n",
            "2",
            "--faults",
            "legacy_algorithms=r2",
            "--known-hosts-out",
            kh.to_str().unwrap(),
        ],
        &served,
    );
    // The inventory without its known_hosts: only the ssh_config's
    // UserKnownHostsFile vouches for the devices (HOME is empty).
    let inv = tmp.path().join("inv.yaml");
    let own: String = text
        .lines()
        .filter(|l| !l.starts_with("known_hosts:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&inv, own).unwrap();
    let config = tmp.path().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  UserKnownHostsFile \"{}\"\n  KexAlgorithms -diffie-hellman-group1-sha1\n  ConnectTimeout 30\n",
            kh.display()
        ),
    )
    .unwrap();
    let (inv, config) = (inv.to_str().unwrap(), config.to_str().unwrap());

    let r = run_in(
        tmp.path(),
        &["inventory", "show", "-i", inv, "--ssh-config", config, "r2"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = |field: &str| {
        r.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{field} ")))
            .unwrap_or_else(|| panic!("no {field} in {}", r.stdout))
            .to_string()
    };
    assert!(
        line("connect_timeout").contains("30s")
            && line("connect_timeout").contains(&format!("ssh_config {config}:4")),
        "{}",
        r.stdout
    );
    assert!(
        line("kex_algorithms").contains(&format!("ssh_config {config}:3")),
        "{}",
        r.stdout
    );

    for executor in ["seq", "threads", "process", "async"] {
        let r = run_in(
            tmp.path(),
            &[
                "run",
                "-i",
                inv,
                "--ssh-config",
                config,
                "-e",
                executor,
                "--host-keys",
                "strict",
                "--format",
                "json",
                "exec",
                "show version",
            ],
        );
        assert_eq!(r.code, 0, "{executor}: {}{}", r.stdout, r.stderr);
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let host = |name: &str| {
            doc["hosts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["host"] == name)
                .unwrap_or_else(|| panic!("{executor}: no {name} in {doc}"))
                .clone()
        };
        assert!(
            host("r1").get("legacy_algorithms").is_none(),
            "{executor}: a modern device lists none: {doc}"
        );
        let legacy = host("r2")["legacy_algorithms"].clone();
        let names: Vec<&str> = legacy
            .as_array()
            .unwrap_or_else(|| panic!("{executor}: r2 lists its legacy algorithms: {doc}"))
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(
            names.contains(&"diffie-hellman-group14-sha1") && names.contains(&"hmac-sha1"),
            "{executor}: r2 needed SHA-1 kex (not group1, removed by the ssh_config) and hmac-sha1: {names:?}"
        );
        assert!(
            !names.contains(&"diffie-hellman-group1-sha1"),
            "{executor}: {names:?}"
        );
        assert_eq!(doc["summary"]["legacy_hosts"], 1, "{executor}: {doc}");
    }
    let r = crate::sim::stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
