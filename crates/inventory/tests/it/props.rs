//! The parsers never panic: any input gives an inventory or located
//! errors, every location inside the file. 256 cases per property by
//! default; `PROPTEST_CASES=100000` for a longer local run.

use std::path::Path;

use fanout_inventory::{Format, InventoryError, LoadOptions};
use proptest::prelude::*;

/// Parses `text` as if read from `name`, with `format` (or detected).
fn parse(text: &str, name: &str, format: Option<Format>) -> Result<usize, InventoryError> {
    let opts = LoadOptions {
        format,
        defaults: None,
        ssh_config: None,
    };
    let env = |v: &str| (v == "LAB_PW").then(|| "pw".to_string());
    fanout_inventory::parse_with(text, Path::new(name), &opts, &env).map(|inv| inv.targets.len())
}

/// The widths of the lines of `text`, split at `\n` (JSON, INI) or at
/// every YAML line break (`\r\n`, `\r`, `\n`).
fn widths(text: &str, yaml: bool) -> Vec<usize> {
    let text = if yaml {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_string()
    };
    text.split('\n').map(|l| l.chars().count()).collect()
}

/// Every problem is located inside `text`: a line of the file (or the one
/// after its last newline) and a column of that line (or just past it).
fn assert_located(text: &str, e: &InventoryError) {
    let problems = e.problems();
    assert!(
        !problems.is_empty() || matches!(e, InventoryError::Format { .. }),
        "{e}"
    );
    let splits = [widths(text, false), widths(text, true)];
    for p in problems {
        let inside = splits.iter().any(|lines| {
            p.line >= 1 && p.line <= lines.len() && p.col >= 1 && p.col <= lines[p.line - 1] + 2
        });
        assert!(
            inside,
            "{}:{} is outside the file ({:?} lines): {e}",
            p.line,
            p.col,
            splits[1].len()
        );
        assert!(!p.message.is_empty());
    }
}

/// Found by the 100,000-case run: a lone `\r` is a line break to YAML, so
/// the error after it is on line 2 (of a file without `\n`).
#[test]
fn a_lone_carriage_return_is_a_yaml_line_break() {
    let e = parse("\r\0", "lab/inv.yaml", None).unwrap_err();
    assert_eq!(e.locations(), [(2, 1)], "{e}");
    assert_located("\r\0", &e);
}

fn check_all_formats(text: &str) {
    for (name, format) in [
        ("lab/inv.yaml", None),
        ("lab/inv.yaml", Some(Format::Fanout)),
        ("lab/inv.yaml", Some(Format::Ansible)),
        ("lab/hosts.ini", Some(Format::Ansible)),
        ("lab/devices.json", Some(Format::Netbox)),
        ("lab/hosts.yaml", Some(Format::Nornir)),
    ] {
        if let Err(e) = parse(text, name, format) {
            assert_located(text, &e);
        }
    }
}

/// Characters that matter to YAML, INI and JSON, and a few words.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("- ".to_string()),
        Just(": ".to_string()),
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "-",
            "&a",
            "*a",
            "<<",
            "!!str",
            "|",
            ">",
            "'",
            "\"",
            "#",
            "%",
            "@",
            "`",
            "\t",
            "=",
            "\\",
            "?",
            "~",
            "null",
            "true",
            "1e30",
            "0x1f",
            "${X}",
            "$${",
            "${",
            "{{",
            "}}",
            "[1:3]",
            "hosts",
            "groups",
            "defaults",
            "all",
            "vars",
            "children",
            "hostname",
            "port",
            "password_env",
            "platform",
            "results",
            "primary_ip",
            "address",
            "name",
            "é",
            "\u{feff}",
        ])
        .prop_map(str::to_string),
        "[a-z0-9_.]{1,8}",
    ];
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

/// A key of a host: valid, misspelt, or of another format.
fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "hostname",
        "port",
        "username",
        "password",
        "password_env",
        "secret",
        "secret_env",
        "key_file",
        "platform",
        "groups",
        "vars",
        "timeouts",
        "host_keys",
        "transport",
        "ssh_config_file",
        "transport_options",
        "connection_options",
        "data",
        "hostnme",
        "pasword",
        "device_type",
        "auth_strict_key",
        "ansible_host",
        "enable_password",
        "timeout_ops",
    ])
}

/// A value: valid for some keys, wrong for others.
fn value() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "127.0.0.1",
        "22",
        "0",
        "70000",
        "-1",
        "abc",
        "ios",
        "cisco_ios_telnet",
        "iosx",
        "5s",
        "1e30",
        "[core]",
        "[nope]",
        "{site: lon}",
        "{connect: 5s}",
        "{connect: -1}",
        "strict",
        "sometimes",
        "telnet",
        "pigeon",
        "true",
        "~",
        "\"${LAB_PW}\"",
        "\"${UNSET}\"",
        "\"${\"",
        "[a, [b]]",
        "{asyncssh: {known_hosts: null}}",
        "{netmiko: {extras: {secret: x}}}",
        "{netmiko: 3}",
        "\"\"",
    ])
}

/// A fanout inventory (sections) with random keys and values.
fn sections() -> impl Strategy<Value = String> {
    let host = prop::collection::vec((key(), value()), 0..6);
    let group = prop::collection::vec((key(), value()), 0..4);
    (
        prop::collection::vec(group, 0..3),
        prop::collection::vec(host, 0..5),
        prop::collection::vec((key(), value()), 0..3),
    )
        .prop_map(|(groups, hosts, defaults)| {
            let map = |kv: &[(&str, &str)]| {
                let inner: Vec<String> = kv.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", inner.join(", "))
            };
            let mut s = format!("defaults: {}\ngroups:\n", map(&defaults));
            for (i, g) in groups.iter().enumerate() {
                s.push_str(&format!("  {}: {}\n", ["core", "edge", "lon"][i], map(g)));
            }
            s.push_str("hosts:\n");
            for (i, h) in hosts.iter().enumerate() {
                s.push_str(&format!("  r{i}: {}\n", map(h)));
            }
            s
        })
}

/// The same hosts as a device list in block style.
fn devices() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::collection::vec((key(), value()), 1..6), 0..5).prop_map(|devices| {
        let mut s = String::new();
        for d in devices {
            for (i, (k, v)) in d.iter().enumerate() {
                s.push_str(if i == 0 { "- " } else { "  " });
                s.push_str(&format!("{k}: {v}\n"));
            }
        }
        s
    })
}

/// Ansible INI lines, right and wrong.
fn ini() -> impl Strategy<Value = String> {
    let line = prop::sample::select(vec![
        "[routers]",
        "[routers:vars]",
        "[routers:children]",
        "[all:vars]",
        "[x:oops]",
        "[bad",
        "r1",
        "r[1:3] ansible_host=127.0.0.1",
        "r[3:1]",
        "r[a:c:0]",
        "r1 ansible_port=99999",
        "r1 ansible_port=22",
        "r2 ansible_host=\"127.0.0.2",
        "r3 site='a b' # comment",
        "ansible_user=admin",
        "=x",
        "core",
        "ansible_password=\"{{ lookup('env', 'LAB_PW') }}\"",
        "ansible_password={{ x }}",
        "ansible_network_os=cisco.ios.ios",
        "ansible_connection=netconf",
        "r4 novalue",
        "",
    ]);
    prop::collection::vec(line, 0..12).prop_map(|v| v.join("\n"))
}

proptest! {
    #[test]
    fn any_bytes_give_an_inventory_or_located_errors(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_all_formats(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn yaml_like_text_gives_an_inventory_or_located_errors(text in yamlish()) {
        check_all_formats(&text);
    }

    #[test]
    fn inventories_with_random_mistakes_report_them_inside_the_file(text in prop_oneof![sections(), devices()]) {
        for name in ["lab/inv.yaml", "lab/hosts.yaml"] {
            if let Err(e) = parse(&text, name, None) {
                assert_located(&text, &e);
            }
        }
    }

    #[test]
    fn ansible_ini_with_random_mistakes_reports_them_inside_the_file(text in ini()) {
        if let Err(e) = parse(&text, "lab/hosts.ini", None) {
            assert_located(&text, &e);
        }
    }
}
