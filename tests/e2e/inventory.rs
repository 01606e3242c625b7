//! `fanout inventory check|list`.

use crate::support::{Run, fanout, finish, inventory, read_then_close, run};

/// The example inventories, all checked the same way.
const EXAMPLES: [&str; 3] = [
    "seed-devices.yaml",
    "lab.example.yaml",
    "synthetic.example.yaml",
];

/// `fanout ARGS` with the lab inventory's secrets in the environment.
fn run_with_secrets(args: &[&str], password: &str, enable: &str) -> Run {
    finish(
        fanout()
            .args(args)
            .env("LAB_PW", password)
            .env("LAB_ENABLE", enable)
            .output()
            .unwrap(),
    )
}

#[test]
fn every_example_inventory_checks_clean() {
    for name in EXAMPLES {
        let inv = inventory(name);
        let r = run_with_secrets(
            &["inventory", "check", "-i", inv.to_str().unwrap()],
            "x",
            "y",
        );
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert!(r.stdout.contains(": ok,"), "{}", r.stdout);
    }
}

#[test]
fn example_inventories_use_loopback_only() {
    for name in EXAMPLES {
        let inv = inventory(name);
        let r = run_with_secrets(
            &[
                "inventory",
                "list",
                "-i",
                inv.to_str().unwrap(),
                "--format",
                "json",
            ],
            "x",
            "y",
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let hosts: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        for h in hosts.as_array().unwrap() {
            let addr = h["hostname"].as_str().unwrap();
            assert!(addr.starts_with("127."), "{name}: {addr} is not loopback");
        }
    }
}

#[test]
fn unresolved_secret_is_exit_2_with_location_and_fix() {
    let inv = inventory("lab.example.yaml");
    let r = run(&["inventory", "check", "-i", inv.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("lab.example.yaml:"), "{}", r.stderr);
    assert!(r.stderr.contains("LAB_PW"), "{}", r.stderr);
}

#[test]
fn list_never_prints_secrets() {
    let inv = inventory("lab.example.yaml");
    for format in ["table", "json"] {
        let r = run_with_secrets(
            &[
                "inventory",
                "list",
                "-i",
                inv.to_str().unwrap(),
                "--format",
                format,
            ],
            "pw-Zq81",
            "en-Zq82",
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            !r.stdout.contains("Zq8") && !r.stderr.contains("Zq8"),
            "secret leaked:\n{}",
            r.stdout
        );
        assert!(r.stdout.contains("core1"), "{}", r.stdout);
    }
}

#[test]
fn list_applies_filters() {
    let inv = inventory("lab.example.yaml");
    let r = run_with_secrets(
        &[
            "inventory",
            "list",
            "-i",
            inv.to_str().unwrap(),
            "-l",
            "group:london",
        ],
        "x",
        "y",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("core1") && r.stdout.contains("edge1"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("edge2") && r.stdout.ends_with("3 hosts\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn bad_inventories_exit_2_with_file_line_col() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown_key.yaml",
            "hosts:\n  r1:\n    hostname: 127.0.0.1\n    pasword: x\n",
            ":4:5",
            "password",
        ),
        (
            "bad_port.yaml",
            "- host: 127.0.0.1\n  port: 70000\n",
            ":2:9",
            "port",
        ),
        (
            "no_address.yaml",
            "hosts:\n  r1:\n    port: 22\n",
            ":2:3",
            "hostname",
        ),
        (
            "unknown_group.yaml",
            "hosts:\n  r1: {hostname: 127.0.0.1, groups: [cor]}\ngroups:\n  core: {}\n",
            ":2:",
            "core",
        ),
        ("empty.yaml", "", ":1:1", "the inventory is empty"),
    ];
    for (file, text, location, hint) in cases {
        let path = tmp.path().join(file);
        std::fs::write(&path, text).unwrap();
        let r = run(&["inventory", "check", "-i", path.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{file}: {}", r.stderr);
        let expected = format!("{file}{location}");
        assert!(
            r.stderr.contains(&expected),
            "{file}: expected {expected} in:\n{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(hint),
            "{file}: expected `{hint}` in:\n{}",
            r.stderr
        );
    }
}

/// Issue 19: a key file that does not exist is reported (located), but the
/// inventory still loads; `run` prints the warning once, on stderr.
#[test]
fn a_missing_key_file_is_a_located_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("inv.yaml");
    std::fs::write(
        &path,
        "defaults: {key_file: keys/ops_ed25519}\nhosts:\n  r1: {hostname: 127.0.0.1}\n  r2: {hostname: 127.0.0.2}\n",
    )
    .unwrap();
    let expected = format!(
        "{}:1:22: warning: key file `keys/ops_ed25519` does not exist",
        path.display()
    );
    let r = run(&["inventory", "check", "-i", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(": ok, 2 hosts"), "{}", r.stdout);
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    let r = run(&["run", "-i", path.to_str().unwrap(), "local", "--", "true"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.matches(&expected).count(), 1, "{}", r.stderr);
}

#[test]
fn list_shows_the_transport() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("inv.yaml");
    std::fs::write(
        &path,
        "- {host: 127.0.0.1, device_type: cisco_ios_telnet}\n- {host: 127.0.0.2, device_type: cisco_ios_ssh}\n",
    )
    .unwrap();
    let r = run(&[
        "inventory",
        "list",
        "-i",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hosts: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(hosts[0]["transport"], "telnet");
    assert_eq!(hosts[0]["port"], 23);
    assert_eq!(hosts[1]["transport"], "ssh");
    assert_eq!(hosts[1]["port"], 22);
}

fn fixture(path: &str) -> std::path::PathBuf {
    crate::support::repo()
        .join("crates/inventory/tests/fixtures")
        .join(path)
}

/// Every format loads through the CLI, detected or named.
#[test]
fn other_formats_check_and_list() {
    for (path, format, hosts) in [
        ("formats/nornir", "nornir", 3),
        ("formats/ansible.yaml", "ansible", 5),
        ("formats/hosts.ini", "ansible", 4),
        ("formats/netbox.json", "netbox", 2),
    ] {
        let p = fixture(path);
        let p = p.to_str().unwrap();
        let r = run_with_secrets(&["inventory", "check", "-i", p], "x", "y");
        assert_eq!(r.code, 0, "{path}: {}", r.stderr);
        assert!(
            r.stdout.contains(&format!("({format}): ok, {hosts} host")),
            "{path}: {}",
            r.stdout
        );
        let r = run_with_secrets(
            &[
                "inventory",
                "list",
                "-i",
                p,
                "--inventory-format",
                format,
                "--format",
                "json",
            ],
            "x",
            "y",
        );
        assert_eq!(r.code, 0, "{path}: {}", r.stderr);
        let list: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(list.as_array().unwrap().len(), hosts, "{path}");
    }
    let wrong = run(&[
        "inventory",
        "check",
        "-i",
        fixture("formats/hosts.ini").to_str().unwrap(),
        "--inventory-format",
        "netbox",
    ]);
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains("hosts.ini:1:1: not a NetBox device export"),
        "{}",
        wrong.stderr
    );
    let unknown = run(&["inventory", "check", "-i", "x", "--inventory-format", "csv"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("use fanout, nornir, ansible or netbox"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn convert_writes_references_not_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nornir");
    let r = run_with_secrets(
        &[
            "inventory",
            "convert",
            "-i",
            fixture("formats/hosts.ini").to_str().unwrap(),
            "--to",
            "nornir",
            "-o",
            out.to_str().unwrap(),
        ],
        "resolved-pw",
        "resolved-en",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("(ansible): 4 hosts in 3 groups ->"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("note: secrets:"), "{}", r.stdout);
    let hosts = std::fs::read_to_string(out.join("hosts.yaml")).unwrap();
    let defaults = std::fs::read_to_string(out.join("defaults.yaml")).unwrap();
    assert!(!hosts.contains("resolved") && !defaults.contains("resolved"));
    assert!(defaults.contains("password_env: LAB_PW"), "{defaults}");
    let r = run_with_secrets(
        &["inventory", "check", "-i", out.to_str().unwrap()],
        "x",
        "y",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("(nornir): ok, 4 hosts"), "{}", r.stdout);
}

#[test]
fn list_into_a_closed_pipe_exits_0_without_a_panic() {
    // Far more than a pipe buffer (64 KiB), so writes fail once `head` is gone.
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("big.yaml");
    let hosts: String = (0..4000)
        .map(|i| {
            format!(
                "- {{host: 127.0.{}.{}, name: device-{i:05}}}\n",
                i / 250,
                i % 250 + 1
            )
        })
        .collect();
    std::fs::write(&inv, hosts).unwrap();
    for format in ["table", "json"] {
        let (r, _) = read_then_close(
            &[
                "inventory",
                "list",
                "-i",
                inv.to_str().unwrap(),
                "--format",
                format,
            ],
            1,
        );
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{format}: {}", r.stderr);
    }
}
