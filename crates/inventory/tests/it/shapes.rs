//! Both inventory shapes, spellings and inheritance.

use std::path::PathBuf;
use std::time::Duration;

use fanout_core::{HostKeyPolicy, Platform};

use super::{parse, parse_env, target, y};

#[test]
fn device_list_with_scrapli_and_netmiko_spellings() {
    let inv = parse(&y("
        - host: 127.0.0.1
          name: r1
          port: 2201
          auth_username: cisco
          auth_password: cisco-pw
          auth_secondary: cisco-en
          auth_strict_key: false
          timeout_socket: 5
          timeout_transport: 10
          timeout_ops: 30
          platform: cisco_iosxe
          transport: asyncssh
        - host: 127.0.0.3
          port: 2203
          username: admin
          password: admin-pw
          secret: admin-en
          device_type: cisco_ios
          timeout: 2.5
        - ip: 127.0.0.4
          conn_timeout: 7
          device_type: arista_eos
    "));
    assert_eq!(inv.targets.len(), 3);
    assert!(inv.groups.is_empty());
    assert_eq!(inv.known_hosts, None);

    let r1 = &inv.targets[0];
    assert_eq!(
        (r1.name.as_str(), r1.address.as_str(), r1.port),
        ("r1", "127.0.0.1", 2201)
    );
    assert_eq!(r1.username.as_deref(), Some("cisco"));
    assert_eq!(
        r1.credentials.password.as_ref().map(|s| s.expose()),
        Some("cisco-pw")
    );
    assert_eq!(r1.secret.as_ref().map(|s| s.expose()), Some("cisco-en"));
    assert_eq!(r1.platform, Some(Platform::Iosxe));
    assert_eq!(r1.host_keys, Some(HostKeyPolicy::Off));
    assert_eq!(r1.timeouts.connect, Some(Duration::from_secs(5)));
    assert_eq!(r1.timeouts.auth, Some(Duration::from_secs(10)));
    assert_eq!(r1.timeouts.command, Some(Duration::from_secs(30)));
    assert_eq!(r1.timeouts.host, None);

    // `host` is also the name when there is no `name:`; port defaults to 22.
    let r3 = &inv.targets[1];
    assert_eq!(
        (r3.name.as_str(), r3.address.as_str(), r3.port),
        ("127.0.0.3", "127.0.0.3", 2203)
    );
    assert_eq!(r3.username.as_deref(), Some("admin"));
    assert_eq!(r3.secret.as_ref().map(|s| s.expose()), Some("admin-en"));
    assert_eq!(r3.platform, Some(Platform::Ios));
    assert_eq!(r3.timeouts.connect, Some(Duration::from_millis(2500)));
    assert_eq!(r3.host_keys, None);

    let r4 = &inv.targets[2];
    assert_eq!(
        (r4.name.as_str(), r4.address.as_str(), r4.port),
        ("127.0.0.4", "127.0.0.4", 22)
    );
    assert_eq!(r4.timeouts.connect, Some(Duration::from_secs(7)));
    assert_eq!(r4.platform, Some(Platform::Eos));
}

#[test]
fn device_list_takes_the_per_host_fields_of_sections() {
    let inv = parse(&y("
        - host: r1.lab
          hostname: 127.0.0.5
          key_file: keys/r1
          key_passphrase: kp
          agent: true
          groups: [core, lon, core]
          vars: {site: lon, vlan: 010, ratio: 1.50, flag: yes, empty: }
          timeouts: {connect: 2s, auth: 3s, command: 1m, host: 90}
          host_keys: accept-new
        - host: 127.0.0.6
          groups: [edge, lon]
    "));
    let t = &inv.targets[0];
    assert_eq!(
        (t.name.as_str(), t.address.as_str()),
        ("r1.lab", "127.0.0.5")
    );
    assert_eq!(t.credentials.key_file, Some(PathBuf::from("lab/keys/r1")));
    assert_eq!(
        t.credentials.key_passphrase.as_ref().map(|s| s.expose()),
        Some("kp")
    );
    assert!(t.credentials.agent);
    assert_eq!(t.groups, ["core", "lon"]);
    // Scalars are kept as written.
    assert_eq!(t.vars["vlan"], "010");
    assert_eq!(t.vars["ratio"], "1.50");
    assert_eq!(t.vars["flag"], "yes");
    assert_eq!(t.vars["empty"], "");
    assert_eq!(t.timeouts.connect, Some(Duration::from_secs(2)));
    assert_eq!(t.timeouts.auth, Some(Duration::from_secs(3)));
    assert_eq!(t.timeouts.command, Some(Duration::from_secs(60)));
    assert_eq!(t.timeouts.host, Some(Duration::from_secs(90)));
    assert_eq!(t.host_keys, Some(HostKeyPolicy::AcceptNew));
    // A device list has no declared groups: the ones its devices use, in order.
    assert_eq!(inv.groups, ["core", "lon", "edge"]);
}

#[test]
fn sections_with_known_hosts_defaults_groups_and_hosts() {
    let inv = parse_env(
        &y("
            known_hosts: fleet_known_hosts
            defaults: {username: admin, password: \"${LAB_PW}\", platform: ios, port: 2222}
            groups:
              core: {platform: nxos, groups: [dc], vars: {site: lon}}
              dc: {username: dcadmin}
            hosts:
              r1: {hostname: 127.0.0.11, groups: [core], port: 2201}
              r2: {hostname: 127.0.0.12}
        "),
        &[("LAB_PW", "s3cret")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inv.known_hosts,
        Some(PathBuf::from("lab/fleet_known_hosts"))
    );
    assert_eq!(inv.groups, ["core", "dc"]);
    assert_eq!(inv.path, PathBuf::from(super::FILE));

    let r1 = target(&inv, "r1");
    assert_eq!((r1.address.as_str(), r1.port), ("127.0.0.11", 2201));
    assert_eq!(r1.platform, Some(Platform::Nxos));
    assert_eq!(r1.username.as_deref(), Some("dcadmin"));
    assert_eq!(r1.groups, ["core", "dc"]);
    assert_eq!(r1.vars["site"], "lon");
    assert_eq!(
        r1.credentials.password.as_ref().map(|s| s.expose()),
        Some("s3cret")
    );

    let r2 = target(&inv, "r2");
    assert_eq!((r2.port, r2.platform), (2222, Some(Platform::Ios)));
    assert_eq!(r2.username.as_deref(), Some("admin"));
    assert!(r2.groups.is_empty());
}

#[test]
fn top_level_ca_file_is_resolved_like_known_hosts_and_on_every_target() {
    let inv = parse(&y("
        known_hosts: fleet_known_hosts
        ca_file: fleet_ca.pem
        hosts:
          r1: {hostname: 127.0.0.1, vars: {http_port: 8443}}
          r2: {hostname: 127.0.0.2}
    "));
    let ca = Some(PathBuf::from("lab/fleet_ca.pem"));
    assert_eq!(inv.ca_file, ca);
    assert_eq!(target(&inv, "r1").ca_file, ca);
    assert_eq!(target(&inv, "r2").ca_file, ca);
    assert_eq!(target(&inv, "r1").vars["http_port"], "8443");

    let home = parse_env(
        &y("
            ca_file: ~/lab/ca.pem
            hosts: {r1: {hostname: 127.0.0.1}}
        "),
        &[("HOME", "/home/op")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(home.ca_file, Some(PathBuf::from("/home/op/lab/ca.pem")));
    let none = parse(&y("hosts: {r1: {hostname: 127.0.0.1}}"));
    assert_eq!(none.ca_file, None);
    assert_eq!(target(&none, "r1").ca_file, None);

    let err = parse_env(
        &y("
            ca_file: [a, b]
            hosts: {r1: {hostname: 127.0.0.1}}
        "),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`ca_file` must be the path of a PEM CA certificate"),
        "{err}"
    );
    assert!(err.contains(":1:"), "says where: {err}");
}

#[test]
fn port_defaults_to_22() {
    let inv = parse(&y("
        hosts:
          r1: {hostname: 127.0.0.1}
    "));
    assert_eq!(inv.targets[0].port, 22);
}

#[test]
fn inheritance_host_then_groups_in_order_then_defaults() {
    let inv = parse(&y("
        defaults:
          username: d-user
          port: 1001
          platform: linux
          key_file: /keys/default
          timeouts: {connect: 1s, auth: 1s, command: 1s, host: 1s}
          vars: {a: defaults, b: defaults, c: defaults, d: defaults}
        groups:
          g1:
            port: 1002
            timeouts: {auth: 2s}
            vars: {a: g1, b: g1}
          g2:
            port: 1003
            username: g2-user
            platform: eos
            timeouts: {auth: 3s, command: 3s}
            vars: {a: g2, b: g2, c: g2}
        hosts:
          h:
            hostname: 127.0.0.1
            groups: [g1, g2]
            timeouts: {host: 4s}
            vars: {a: host}
    "));
    let h = &inv.targets[0];
    assert_eq!(h.port, 1002, "g1 before g2");
    assert_eq!(h.username.as_deref(), Some("g2-user"), "g2 before defaults");
    assert_eq!(h.platform, Some(Platform::Eos));
    assert_eq!(h.credentials.key_file, Some(PathBuf::from("/keys/default")));
    assert_eq!(h.timeouts.connect, Some(Duration::from_secs(1)));
    assert_eq!(h.timeouts.auth, Some(Duration::from_secs(2)));
    assert_eq!(h.timeouts.command, Some(Duration::from_secs(3)));
    assert_eq!(h.timeouts.host, Some(Duration::from_secs(4)));
    let vars: Vec<(&str, &str)> = h
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        vars,
        [("a", "host"), ("b", "g1"), ("c", "g2"), ("d", "defaults")]
    );
    assert_eq!(h.groups, ["g1", "g2"]);
}

#[test]
fn nested_parent_groups_are_depth_first() {
    // Nornir order for groups [a, b]: a, a's parents (depth-first), b, b's parents.
    let inv = parse(&y("
        groups:
          a: {groups: [a1]}
          a1: {groups: [top], vars: {x: a1}}
          b: {groups: [top], port: 2002, vars: {x: b, y: b}}
          top: {port: 2001, platform: junos, vars: {x: top, y: top, z: top}}
        hosts:
          h: {hostname: 127.0.0.1, groups: [a, b]}
    "));
    let h = &inv.targets[0];
    assert_eq!(h.groups, ["a", "a1", "top", "b"]);
    assert_eq!(h.port, 2001, "top (via a) comes before b");
    assert_eq!(h.platform, Some(Platform::Junos));
    assert_eq!(h.vars["x"], "a1");
    assert_eq!(h.vars["y"], "top");
    assert_eq!(h.vars["z"], "top");
}

#[test]
fn hostname_may_come_from_a_group_or_defaults() {
    let inv = parse(&y("
        defaults: {hostname: 127.0.0.9}
        groups:
          jump: {hostname: 127.0.0.8}
        hosts:
          a: {groups: [jump], port: 2201}
          b: {port: 2202}
    "));
    assert_eq!(target(&inv, "a").address, "127.0.0.8");
    assert_eq!(target(&inv, "b").address, "127.0.0.9");
}

#[test]
fn nornir_data_is_vars_and_empty_sections_are_fine() {
    let inv = parse(&y("
        defaults:
        groups:
        hosts:
          r1:
            hostname: 127.0.0.1
            data: {role: spine}
            groups:
    "));
    assert_eq!(inv.targets[0].vars["role"], "spine");
    assert!(inv.groups.is_empty());
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let inv = parse(&y("
        defaults: &base {username: admin, port: 2200}
        hosts:
          r1:
            <<: *base
            hostname: 127.0.0.1
            port: 2201
          r2: {<<: *base, hostname: &addr 127.0.0.2}
          r3: {hostname: *addr, vars: {k: *addr}}
    "));
    let r1 = target(&inv, "r1");
    assert_eq!((r1.port, r1.username.as_deref()), (2201, Some("admin")));
    assert_eq!(target(&inv, "r2").port, 2200);
    assert_eq!(target(&inv, "r3").address, "127.0.0.2");
    assert_eq!(target(&inv, "r3").vars["k"], "127.0.0.2");
}

#[test]
fn auth_strict_key_true_is_strict_and_host_keys_spellings() {
    let inv = parse(&y("
        - {host: 127.0.0.1, auth_strict_key: true}
        - {host: 127.0.0.2, host_keys: off}
        - {host: 127.0.0.3, host_keys: strict}
        - {host: 127.0.0.4, host_keys: accept_new}
    "));
    let policies: Vec<_> = inv.targets.iter().map(|t| t.host_keys).collect();
    assert_eq!(
        policies,
        [
            Some(HostKeyPolicy::Strict),
            Some(HostKeyPolicy::Off),
            Some(HostKeyPolicy::Strict),
            Some(HostKeyPolicy::AcceptNew)
        ]
    );
}

#[test]
fn home_and_absolute_paths() {
    let yaml = y("
        known_hosts: ~/.ssh/lab_known_hosts
        hosts:
          r1: {hostname: 127.0.0.1, key_file: /etc/fanout/id_ed25519}
          r2: {hostname: 127.0.0.2, key_file: ~/.ssh/id_ed25519}
    ");
    let inv = parse_env(&yaml, &[("HOME", "/home/op")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inv.known_hosts,
        Some(PathBuf::from("/home/op/.ssh/lab_known_hosts"))
    );
    assert_eq!(
        target(&inv, "r1").credentials.key_file,
        Some(PathBuf::from("/etc/fanout/id_ed25519"))
    );
    assert_eq!(
        target(&inv, "r2").credentials.key_file,
        Some(PathBuf::from("/home/op/.ssh/id_ed25519"))
    );
}

#[test]
fn load_reads_a_file_and_reports_unreadable_ones() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("devices.yaml");
    std::fs::write(&path, "- {host: 127.0.0.1, key_file: id}\n").unwrap_or_else(|e| panic!("{e}"));
    let inv = fanout_inventory::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inv.targets[0].credentials.key_file,
        Some(dir.path().join("id"))
    );
    assert_eq!(inv.path, path);

    let missing = dir.path().join("nope.yaml");
    let Err(e) = fanout_inventory::load(&missing) else {
        panic!("a missing file must fail")
    };
    let text = e.to_string();
    assert!(text.starts_with(&missing.display().to_string()), "{text}");
    assert!(text.contains("cannot read"), "{text}");
    assert!(e.locations().is_empty());
}
