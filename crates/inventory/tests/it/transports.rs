//! Transports (ssh, telnet), ssh_config files, scrapli `transport_options`
//! and the located warnings of things that load but are not used.

use std::path::PathBuf;

use fanout_core::{HostKeyPolicy, Platform, Transport};

use super::{FILE, parse, y};

#[test]
fn netmiko_suffixes_select_the_transport_for_every_platform_alias() {
    for (name, platform) in Platform::NAMES {
        for (suffix, transport, port) in [
            ("_ssh", Transport::Ssh, 22),
            ("_telnet", Transport::Telnet, 23),
        ] {
            let yaml = format!("- {{host: 127.0.0.1, device_type: {name}{suffix}}}\n");
            let inv = parse(&yaml);
            let t = &inv.targets[0];
            assert_eq!(t.platform, Some(platform), "{name}{suffix}");
            // linux_ssh is itself a platform name: ssh either way.
            if format!("{name}{suffix}") != "linux_ssh_telnet" {
                assert_eq!((t.transport, t.port), (transport, port), "{name}{suffix}");
            }
        }
    }
}

#[test]
fn transport_names_and_default_ports() {
    let inv = parse(&y("
        - {host: 127.0.0.1, transport: telnet}
        - {host: 127.0.0.2, transport: asynctelnet, port: 2323}
        - {host: 127.0.0.3, transport: system}
        - {host: 127.0.0.4, transport: ssh2}
        - {host: 127.0.0.5, transport: paramiko}
        - {host: 127.0.0.6, transport: asyncssh}
        - {host: 127.0.0.7, transport: SSH}
        - {host: 127.0.0.8}
    "));
    let got: Vec<(Transport, u16)> = inv.targets.iter().map(|t| (t.transport, t.port)).collect();
    assert_eq!(
        got,
        [
            (Transport::Telnet, 23),
            (Transport::Telnet, 2323),
            (Transport::Ssh, 22),
            (Transport::Ssh, 22),
            (Transport::Ssh, 22),
            (Transport::Ssh, 22),
            (Transport::Ssh, 22),
            (Transport::Ssh, 22),
        ]
    );
}

#[test]
fn transport_is_inherited_and_the_host_wins() {
    let inv = parse(&y("
        defaults: {transport: telnet}
        groups:
          ssh_boxes: {device_type: cisco_ios_ssh}
        hosts:
          t1: {hostname: 127.0.0.1}
          s1: {hostname: 127.0.0.2, groups: [ssh_boxes]}
          s2: {hostname: 127.0.0.3, groups: [ssh_boxes], transport: telnet, port: 2323}
    "));
    let got: Vec<(&str, Transport, u16)> = inv
        .targets
        .iter()
        .map(|t| (t.name.as_str(), t.transport, t.port))
        .collect();
    assert_eq!(
        got,
        [
            ("t1", Transport::Telnet, 23),
            ("s1", Transport::Ssh, 22),
            ("s2", Transport::Telnet, 2323),
        ]
    );
}

#[test]
fn ssh_config_file_paths_are_relative_to_the_inventory() {
    let inv = super::parse_env(
        &y("
            - {host: 127.0.0.1, ssh_config_file: lab_ssh_config}
            - {host: 127.0.0.2, ssh_config_file: true}
            - {host: 127.0.0.3, ssh_config_file: false}
            - {host: 127.0.0.4, ssh_config_file: /etc/ssh/ssh_config}
            - {host: 127.0.0.5, ssh_config_file: \"true\"}
        "),
        &[("HOME", "/home/ops")],
    )
    .unwrap();
    let got: Vec<Option<PathBuf>> = inv
        .targets
        .iter()
        .map(|t| t.ssh_config_file.clone())
        .collect();
    assert_eq!(
        got,
        [
            Some("lab/lab_ssh_config".into()),
            Some("/home/ops/.ssh/config".into()),
            None,
            Some("/etc/ssh/ssh_config".into()),
            // Quoted: a file named `true`.
            Some("lab/true".into()),
        ]
    );
}

#[test]
fn transport_options_that_map_are_taken_the_rest_are_located_warnings() {
    let inv = parse(&y("
        - host: 127.0.0.1
          transport: asyncssh
          transport_options:
            asyncssh:
              known_hosts: null
              config: [lab_ssh_config, other_config]
              client_keys: keys/id_ed25519
              kex_algs: [diffie-hellman-group1-sha1]
              encryption_algs: [aes128-cbc]
              tcp_keepalive: true
        - host: 127.0.0.2
          transport: system
          auth_strict_key: true
          ssh_config_file: mine
          transport_options:
            open_cmd: [-o, KexAlgorithms=+diffie-hellman-group1-sha1]
            asyncssh: {known_hosts: null, config: theirs}
    "));
    let a = &inv.targets[0];
    assert_eq!(a.host_keys, Some(HostKeyPolicy::Off), "known_hosts: null");
    assert_eq!(a.ssh_config_file, Some("lab/lab_ssh_config".into()));
    assert_eq!(a.credentials.key_file, Some("lab/keys/id_ed25519".into()));
    // The host's own keys win over its transport_options.
    let b = &inv.targets[1];
    assert_eq!(b.host_keys, Some(HostKeyPolicy::Strict));
    assert_eq!(b.ssh_config_file, Some("lab/mine".into()));

    let shown: Vec<String> = inv.warnings.iter().map(ToString::to_string).collect();
    let at = |line: usize, col: usize, needle: &str| {
        let prefix = format!("{FILE}:{line}:{col}: warning: ");
        assert!(
            shown
                .iter()
                .any(|w| w.starts_with(&prefix) && w.contains(needle)),
            "no `{prefix}...{needle}` in {shown:#?}"
        );
    };
    at(
        6,
        32,
        "`transport_options.asyncssh.config`: only the first file is used",
    );
    at(7, 20, "key file `keys/id_ed25519` does not exist");
    at(
        8,
        7,
        "`transport_options.asyncssh.kex_algs` is ignored: fanout's SSH clients offer",
    );
    at(
        9,
        7,
        "`transport_options.asyncssh.encryption_algs` is ignored",
    );
    at(
        10,
        7,
        "`transport_options.asyncssh.tcp_keepalive` is not used by fanout",
    );
    at(
        16,
        5,
        "`transport_options.open_cmd` is ignored: it holds options of the `ssh` command",
    );
    // Since ssh_config files are read (issue 14), missing ones are warned about too.
    at(6, 16, "ssh_config file lab/lab_ssh_config does not exist");
    at(14, 20, "ssh_config file lab/mine does not exist");
    assert_eq!(shown.len(), 8, "{shown:#?}");
}

#[test]
fn repeated_warnings_are_counted_not_repeated() {
    let mut yaml = String::new();
    for i in 1..=5 {
        yaml.push_str(&format!(
            "- {{host: 127.0.0.{i}, transport_options: {{open_cmd: [-o, X=y]}}}}\n"
        ));
    }
    let inv = parse(&yaml);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    let w = &inv.warnings[0];
    assert_eq!((w.line, w.col, w.more), (1, 41, 4));
    assert!(w.to_string().ends_with("(and 4 more places)"), "{w}");
}

#[test]
fn a_missing_key_file_is_a_warning_an_existing_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/present"), "key").unwrap();
    let path = dir.path().join("inv.yaml");
    std::fs::write(
        &path,
        y("
            defaults: {key_file: keys/ops_ed25519}
            hosts:
              r1: {hostname: 127.0.0.1}
              r2: {hostname: 127.0.0.2}
              r3: {hostname: 127.0.0.3, key_file: keys/present}
        "),
    )
    .unwrap();
    let inv = fanout_inventory::load(&path).unwrap();
    assert_eq!(inv.targets.len(), 3);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    let w = inv.warnings[0].to_string();
    assert!(
        w.starts_with(&format!(
            "{}:1:22: warning: key file `keys/ops_ed25519` does not exist",
            path.display()
        )),
        "{w}"
    );
    assert!(w.contains("create it or fix the path"), "{w}");
}
