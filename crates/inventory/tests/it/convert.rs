//! `inventory convert`: round trips give the same hosts, and secrets stay
//! references.

use std::path::{Path, PathBuf};

use fanout_core::Target;
use fanout_inventory::{Format, LoadOptions, convert};

use super::y;

const ENV: [(&str, &str); 4] = [
    ("LAB_PW", "lab-pw-value"),
    ("LAB_TOKEN", "lab-token-value"),
    ("LAB_ENABLE", "lab-en-value"),
    ("HOME", "/home/ops"),
];

fn env(name: &str) -> Option<String> {
    ENV.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn load(path: &Path) -> Vec<Target> {
    fanout_inventory::load_with(path, &LoadOptions::default(), &env)
        .unwrap_or_else(|e| panic!("{}:\n{e}", path.display()))
        .targets
}

fn to(src: &Path, format: Format, out: &Path) -> String {
    let done = convert(src, &LoadOptions::default(), format, out).unwrap_or_else(|e| panic!("{e}"));
    let mut text = String::new();
    for file in &done.written {
        text.push_str(&std::fs::read_to_string(file).unwrap());
    }
    for value in ["lab-pw-value", "lab-en-value", "lab-token-value"] {
        assert!(
            !text.contains(value),
            "a resolved secret was written:\n{text}"
        );
    }
    text
}

/// Hosts with their groups sorted (Ansible orders a host's groups its own way).
fn sorted_groups(mut targets: Vec<Target>) -> Vec<Target> {
    for t in &mut targets {
        t.groups.sort();
    }
    targets
}

const RICH: &str = "
    known_hosts: lab_known_hosts
    defaults:
      username: admin
      password: \"${LAB_PW}\"
      secret_env: LAB_ENABLE
      key_file: keys/ops_ed25519
      timeouts: {connect: 5s, command: 1m30s}
      vars: {domain: lab.example}
    groups:
      core: {platform: nxos, groups: [london], vars: {role: core}, host_keys: accept-new}
      london: {vars: {site: lon}, timeouts: {host: 250ms}}
      edge:
        platform: cisco_ios_telnet
        connection_options:
          netmiko: {port: 2323, extras: {secret: \"plain-edge-secret\"}}
    hosts:
      r1: {hostname: 127.0.0.1, port: 2201, groups: [core], ssh_config_file: true}
      r2: {hostname: 127.0.0.2, groups: [edge], password: \"pre$${literal}${LAB_PW}\"}
      r3: {hostname: 127.0.0.3, groups: [london], agent: true, token_env: LAB_TOKEN, ssh_config_file: lab_ssh_config, vars: {rack: \"4\"}}
";

fn rich(dir: &Path) -> PathBuf {
    let path = dir.join("src/inv.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, y(RICH)).unwrap();
    path
}

#[test]
fn fanout_to_nornir_to_fanout_gives_the_same_targets() {
    let tmp = tempfile::tempdir().unwrap();
    let src = rich(tmp.path());
    let original = load(&src);
    assert_eq!(original.len(), 3);
    let nornir_dir = tmp.path().join("out/nornir");
    let text = to(&src, Format::Nornir, &nornir_dir);
    assert!(text.contains("password: \"${LAB_PW}\""), "{text}");
    assert!(text.contains("secret_env: LAB_ENABLE"), "{text}");
    assert!(
        text.contains("plain-edge-secret"),
        "plain in the source, plain in the output"
    );
    let via_nornir = load(&nornir_dir);
    assert_eq!(via_nornir, original);
    let back = tmp.path().join("out/back.yaml");
    to(&nornir_dir, Format::Fanout, &back);
    assert_eq!(load(&back), original);
}

#[test]
fn fanout_to_ansible_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let src = rich(tmp.path());
    let original = load(&src);
    let ansible = tmp.path().join("out.yaml");
    let text = to(&src, Format::Ansible, &ansible);
    assert!(
        text.contains("ansible_password: \"{{ lookup('env', 'LAB_PW') }}\""),
        "{text}"
    );
    assert!(
        text.contains("ansible_become_password: \"{{ lookup('env', 'LAB_ENABLE') }}\""),
        "{text}"
    );
    let via = fanout_inventory::load_with(&ansible, &LoadOptions::default(), &env).unwrap();
    assert_eq!(via.format, Format::Ansible);
    // No two groups of a host set the same field, so Ansible's group order
    // gives the same settings.
    assert_eq!(
        sorted_groups(via.targets.clone()),
        sorted_groups(original.clone())
    );
    let back = tmp.path().join("back.yaml");
    to(&ansible, Format::Fanout, &back);
    assert_eq!(sorted_groups(load(&back)), sorted_groups(original));
    // The Ansible model's own order survives fanout: the same groups, in order.
    assert_eq!(load(&back), via.targets);
}

#[test]
fn other_formats_convert_to_the_same_targets() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    for (i, src) in [
        fixtures.join("formats/ansible.yaml"),
        fixtures.join("formats/hosts.ini"),
        fixtures.join("formats/nornir"),
        fixtures.join("formats/netbox.json"),
        fixtures.join("seeds/002-netmiko-devices.yaml"),
        fixtures.join("seeds/001-scrapli-asynctelnet-devices.yaml"),
    ]
    .iter()
    .enumerate()
    {
        let original = load(src);
        for format in [Format::Fanout, Format::Nornir, Format::Ansible] {
            let out = tmp.path().join(format!("{i}-{format}"));
            let out = if format == Format::Nornir {
                out
            } else {
                out.with_extension("yaml")
            };
            to(src, format, &out);
            let again = load(&out);
            if format == Format::Ansible {
                assert_eq!(
                    sorted_groups(again),
                    sorted_groups(original.clone()),
                    "{} -> {format}",
                    src.display()
                );
            } else {
                assert_eq!(again, original, "{} -> {format}", src.display());
            }
        }
    }
}

#[test]
fn convert_refuses_invalid_sources_and_netbox_output() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "- {host: 127.0.0.1, port: 0}\n").unwrap();
    let e = convert(
        &bad,
        &LoadOptions::default(),
        Format::Nornir,
        &tmp.path().join("n"),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("bad.yaml:1:27: port 0 is out of range"),
        "{e}"
    );
    // Unset variables are fine: secrets are not resolved.
    let src = rich(tmp.path());
    let done = convert(
        &src,
        &LoadOptions::default(),
        Format::Fanout,
        &tmp.path().join("o.yaml"),
    )
    .unwrap();
    assert_eq!((done.from, done.hosts, done.groups), (Format::Fanout, 3, 3));
    assert!(
        done.notes.iter().any(|n| n.contains("kept as references")),
        "{:?}",
        done.notes
    );
    let e = convert(
        &src,
        &LoadOptions::default(),
        Format::Netbox,
        &tmp.path().join("x.json"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("NetBox is read only"), "{e}");
}
