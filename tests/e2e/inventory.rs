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
