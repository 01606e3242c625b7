//! The other inventory formats: Nornir directories, Ansible YAML and INI,
//! NetBox exports; their detection, and their errors' locations.

use std::path::{Path, PathBuf};

use fanout_core::{HostKeyPolicy, Platform, Target, Transport};
use fanout_inventory::{Format, Inventory, InventoryError, LoadOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

const ENV: [(&str, &str); 2] = [("LAB_PW", "lab-pw"), ("LAB_ENABLE", "lab-en")];

fn env(name: &str) -> Option<String> {
    ENV.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn load(path: &Path, format: Option<Format>) -> Inventory {
    let opts = LoadOptions {
        format,
        defaults: None,
        ssh_config: None,
    };
    fanout_inventory::load_with(path, &opts, &env)
        .unwrap_or_else(|e| panic!("{}:\n{e}", path.display()))
}

fn target<'a>(inv: &'a Inventory, name: &str) -> &'a Target {
    inv.targets
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no `{name}` in {:?}",
                inv.targets.iter().map(|t| &t.name).collect::<Vec<_>>()
            )
        })
}

fn secret(t: &Target) -> Option<&str> {
    t.secret.as_ref().map(|s| s.expose())
}

fn password(t: &Target) -> Option<&str> {
    t.credentials.password.as_ref().map(|s| s.expose())
}

/// Text written to `dir/name`, returning its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn load_err(path: &Path, format: Option<Format>) -> InventoryError {
    let opts = LoadOptions {
        format,
        defaults: None,
        ssh_config: None,
    };
    match fanout_inventory::load_with(path, &opts, &env) {
        Ok(inv) => panic!("expected an error, got {:#?}", inv.targets),
        Err(e) => e,
    }
}

#[test]
fn nornir_directory() {
    let dir = fixture("nornir");
    let inv = load(&dir, None);
    assert_eq!(inv.format, Format::Nornir);
    assert_eq!(inv.groups, ["core", "edge", "london"]);
    let r1 = target(&inv, "r1");
    assert_eq!((r1.address.as_str(), r1.port), ("127.0.0.1", 2201));
    assert_eq!(r1.platform, Some(Platform::Ios), "from group core");
    assert_eq!(r1.groups, ["core", "london"]);
    assert_eq!(r1.username.as_deref(), Some("admin"), "from defaults.yaml");
    assert_eq!(password(r1), Some("lab-pw"));
    assert_eq!(
        secret(r1),
        Some("core-enable"),
        "napalm optional_args of core"
    );
    assert_eq!(r1.vars["site"], "lon");
    assert_eq!(r1.vars["role"], "core");
    assert_eq!(r1.vars["city"], "London");
    assert_eq!(r1.vars["domain"], "lab.example");
    assert!(!r1.vars.contains_key("interfaces"), "a list: left out");
    // netmiko's connection options win over the host's own fields.
    let r2 = target(&inv, "r2");
    assert_eq!((r2.port, r2.platform), (2202, Some(Platform::Eos)));
    assert_eq!(r2.username.as_deref(), Some("edge-admin"));
    assert_eq!(secret(r2), Some("edge-enable"));
    let sw1 = target(&inv, "sw1");
    assert_eq!((sw1.transport, sw1.port), (Transport::Telnet, 23));
    assert_eq!(sw1.host_keys, Some(HostKeyPolicy::Off));
    // The list in data, and netmiko's fast_cli, are warnings in their files.
    let shown: Vec<String> = inv.warnings.iter().map(ToString::to_string).collect();
    let hosts = dir.join("hosts.yaml").display().to_string();
    assert!(
        shown.iter().any(|w| w.starts_with(&format!(
            "{hosts}:8:17: warning: `data.interfaces` is a list"
        ))),
        "{shown:#?}"
    );
    assert!(
        shown.iter().any(|w| w.starts_with(&format!(
            "{hosts}:19:9: warning: `connection_options.netmiko.extras.fast_cli`"
        ))),
        "{shown:#?}"
    );
    // The hosts file alone is detected too.
    let alone = load(&dir.join("hosts.yaml"), None);
    assert_eq!(alone.format, Format::Nornir);
    assert_eq!(alone.targets, inv.targets);
}

#[test]
fn nornir_errors_name_the_file_they_are_in() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("inv");
    write(
        &dir,
        "hosts.yaml",
        "r1: {hostname: 127.0.0.1, groups: [core]}\n",
    );
    let groups = write(&dir, "groups.yaml", "core:\n  platfrom: ios\n");
    let e = load_err(&dir, None);
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "{}:2:3: unknown key `platfrom` in group `core`; did you mean `platform`?",
            groups.display()
        )),
        "{text}"
    );
    write(&dir, "defaults.yaml", "username: [a\n");
    let text = load_err(&dir, None).to_string();
    assert!(text.contains("defaults.yaml:1:"), "{text}");
    let hosts_only = tmp.path().join("empty");
    std::fs::create_dir(&hosts_only).unwrap();
    let text = load_err(&hosts_only, Some(Format::Nornir)).to_string();
    assert!(text.contains("this one has no hosts.yaml"), "{text}");
    let text = load_err(&hosts_only, None).to_string();
    assert!(text.contains("has no hosts.yaml"), "{text}");
}

fn check_ansible(inv: &Inventory) {
    assert_eq!(inv.format, Format::Ansible);
    let r1 = target(inv, "r1");
    assert_eq!((r1.address.as_str(), r1.port), ("127.0.0.1", 2201));
    assert_eq!(
        r1.platform,
        Some(Platform::Nxos),
        "core (deeper) wins over routers"
    );
    assert_eq!(r1.username.as_deref(), Some("admin"), "all:vars");
    assert_eq!(password(r1), Some("lab-pw"), "lookup('env', 'LAB_PW')");
    assert_eq!(secret(r1), Some("lab-en"));
    assert_eq!(r1.transport, Transport::Ssh);
    assert!(
        r1.groups
            .starts_with(&["core".to_string(), "routers".to_string()]),
        "{:?}",
        r1.groups
    );
    for name in ["r2", "r3"] {
        let r = target(inv, name);
        assert_eq!(
            (r.address.as_str(), r.port),
            (name, 2202),
            "no ansible_host: the name is the address"
        );
        assert_eq!(r.platform, Some(Platform::Ios));
    }
    let jump = target(inv, "jump1");
    assert_eq!(
        (jump.address.as_str(), jump.platform),
        ("127.0.0.9", Some(Platform::Linux))
    );
    assert!(
        jump.groups.is_empty() || jump.groups == ["ungrouped"],
        "{:?}",
        jump.groups
    );
}

#[test]
fn ansible_yaml() {
    let inv = load(&fixture("ansible.yaml"), None);
    check_ansible(&inv);
    let sw = target(&inv, "127.0.0.20");
    assert_eq!(sw.platform, Some(Platform::Eos), "arista.eos.eos");
    assert_eq!(target(&inv, "r1").vars["tier"], "core");
    assert_eq!(target(&inv, "r1").vars["ansible_become"], "true");
    let shown: Vec<String> = inv.warnings.iter().map(ToString::to_string).collect();
    assert!(
        shown
            .iter()
            .any(|w| w.contains(":32:24: warning: variable `ntp_servers` is a list")),
        "{shown:#?}"
    );
}

#[test]
fn ansible_ini() {
    let inv = load(&fixture("hosts.ini"), None);
    check_ansible(&inv);
    let r2 = target(&inv, "r2");
    assert_eq!(r2.vars["site"], "London North");
    assert!(
        r2.groups.contains(&"network".to_string()),
        "{:?}",
        r2.groups
    );
    assert_eq!(inv.targets.len(), 4);
}

#[test]
fn ansible_errors_keep_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let ini = write(
        tmp.path(),
        "bad.ini",
        "[routers]\nr1 ansible_host=127.0.0.1 ansible_port=99999\nr2 ansible_host=\"127.0.0.2\n[routers:oops]\n",
    );
    let e = load_err(&ini, None);
    assert_eq!(e.locations(), [(2, 40), (3, 17), (4, 1)], "{e}");
    let text = e.to_string();
    assert!(text.contains("port 99999 is out of range"), "{text}");
    assert!(text.contains("this quote is not closed"), "{text}");
    assert!(text.contains("unknown section kind `:oops`"), "{text}");

    let yaml = write(
        tmp.path(),
        "bad.yaml",
        "all:\n  hosts:\n    r1:\n      ansible_host: 127.0.0.1\n      ansible_password: \"{{ vault_pw }}\"\n      fanout_host_keys: sometimes\n",
    );
    let e = load_err(&yaml, None);
    assert_eq!(e.locations(), [(5, 25), (6, 25)], "{e}");
    assert!(
        e.to_string()
            .contains("only `{{ lookup('env', 'VAR') }}` is read"),
        "{e}"
    );
}

#[test]
fn ansible_host_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    let ini = write(
        tmp.path(),
        "r.ini",
        "[r]\nr[01:03]x ansible_host=127.0.0.1\nsw[a:c] ansible_host=127.0.0.2\nl[1:9:4]\n",
    );
    let inv = load(&ini, None);
    let names: Vec<&str> = inv.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "r01x", "r02x", "r03x", "swa", "swb", "swc", "l1", "l5", "l9"
        ]
    );
    let bad = write(tmp.path(), "bad.ini", "[r]\nr[3:1]\n");
    let e = load_err(&bad, None);
    assert_eq!(e.locations(), [(2, 1)], "{e}");
    assert!(
        e.to_string().contains("the range ends before it starts"),
        "{e}"
    );
}

#[test]
fn netbox_export_with_sibling_defaults() {
    let inv = load(&fixture("netbox.json"), None);
    assert_eq!(inv.format, Format::Netbox);
    assert_eq!(inv.targets.len(), 2, "the patch panel has no primary IP");
    let r1 = target(&inv, "r1");
    assert_eq!(
        (r1.address.as_str(), r1.port),
        ("127.0.0.1", 22),
        "prefix stripped"
    );
    assert_eq!(r1.platform, Some(Platform::Iosxe));
    assert_eq!(r1.groups, ["site_lon", "core", "edge"]);
    assert_eq!(
        (
            r1.vars["site"].as_str(),
            r1.vars["role"].as_str(),
            r1.vars["status"].as_str()
        ),
        ("lon", "core", "active")
    );
    assert_eq!(
        r1.username.as_deref(),
        Some("admin"),
        "defaults.yaml beside the export"
    );
    assert_eq!(password(r1), Some("lab-pw"));
    let sw1 = target(&inv, "sw1");
    assert_eq!(
        (sw1.address.as_str(), sw1.platform),
        ("127.0.0.2", Some(Platform::Eos))
    );
    assert_eq!(
        sw1.groups,
        ["site_par", "access"],
        "device_role of NetBox < 3.6"
    );
    let w = inv
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].contains(":36:15: warning: a device without primary_ip"),
        "{w:#?}"
    );
}

#[test]
fn netbox_bare_list_and_explicit_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let list = write(
        tmp.path(),
        "devices.json",
        r#"[{"name": "r1", "primary_ip": {"address": "127.0.0.1/32"}, "platform": {"slug": "cisco-nx-os"}},
 {"name": "r2", "primary_ip": "127.0.0.2/32", "platform": {"slug": "vyos"}}]"#,
    );
    let creds = write(
        tmp.path(),
        "creds.yaml",
        "username: ops\nsecret_env: LAB_ENABLE\nport: 2222\n",
    );
    let opts = LoadOptions {
        format: None,
        defaults: Some(creds),
        ssh_config: None,
    };
    let inv = fanout_inventory::load_with(&list, &opts, &env).unwrap();
    assert_eq!(inv.format, Format::Netbox);
    let r1 = target(&inv, "r1");
    assert_eq!((r1.platform, r1.port), (Some(Platform::Nxos), 2222));
    assert_eq!(
        (r1.username.as_deref(), secret(r1)),
        (Some("ops"), Some("lab-en"))
    );
    assert_eq!(target(&inv, "r2").platform, None);
    assert!(
        inv.warnings[0]
            .to_string()
            .contains("platform `vyos` is not one fanout knows"),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn netbox_errors_keep_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let syntax = write(
        tmp.path(),
        "s.json",
        "{\"results\": [\n  {\"name\": \"r1\",, \"primary_ip\": null}\n]}\n",
    );
    let e = load_err(&syntax, None);
    assert_eq!(e.locations().len(), 1, "{e}");
    assert_eq!(e.locations()[0].0, 2, "{e}");
    assert!(e.to_string().contains("not a NetBox device export"), "{e}");
    let dupes = write(
        tmp.path(),
        "d.json",
        "{\"results\": [\n  {\"name\": \"r1\", \"primary_ip\": {\"address\": \"127.0.0.1/32\"}},\n  {\"name\": \"r1\", \"primary_ip\": {\"address\": \"127.0.0.2/32\"}}\n]}\n",
    );
    let e = load_err(&dupes, None);
    assert_eq!(e.locations(), [(3, 12)], "{e}");
    assert!(
        e.to_string()
            .contains("duplicate device name `r1` (first at"),
        "{e}"
    );
}

#[test]
fn formats_are_detected_or_given() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, Format); 6] = [
        ("a.yaml", "- host: 127.0.0.1\n", Format::Fanout),
        (
            "b.yaml",
            "hosts: {r1: {hostname: 127.0.0.1}}\n",
            Format::Fanout,
        ),
        (
            "c.yaml",
            "all:\n  hosts: {r1: {ansible_host: 127.0.0.1}}\n",
            Format::Ansible,
        ),
        ("d.yml", "routers:\n  hosts: {r1: }\n", Format::Ansible),
        (
            "hosts",
            "[routers]\nr1 ansible_host=127.0.0.1\n",
            Format::Ansible,
        ),
        (
            "e.json",
            "{\"count\": 1, \"results\": [{\"name\": \"r1\", \"primary_ip\": {\"address\": \"127.0.0.1/8\"}}]}\n",
            Format::Netbox,
        ),
    ];
    for (name, text, format) in cases {
        let path = write(tmp.path(), name, text);
        let inv = load(&path, None);
        assert_eq!(inv.format, format, "{name}");
        assert_eq!(inv.targets.len(), 1, "{name}");
        let given = load(&path, Some(format));
        assert_eq!(given.targets, inv.targets, "{name}");
    }
    // A JSON list of netmiko dicts is fanout's (JSON is YAML).
    let json_devices = write(
        tmp.path(),
        "f.json",
        "[{\"ip\": \"127.0.0.1\", \"device_type\": \"cisco_ios\"}]\n",
    );
    assert_eq!(load(&json_devices, None).format, Format::Fanout);
    // Forcing a format that does not fit gives that format's errors.
    let e = load_err(
        &write(tmp.path(), "g.yaml", "- host: 127.0.0.1\n"),
        Some(Format::Netbox),
    );
    assert!(e.to_string().contains("not a NetBox device export"), "{e}");
    assert_eq!("NetBox".parse::<Format>(), Ok(Format::Netbox));
    assert!(
        "csv"
            .parse::<Format>()
            .unwrap_err()
            .contains("use fanout, nornir, ansible or netbox")
    );
}
