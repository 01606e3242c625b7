//! ssh_config resolution applied to hosts: the host's `ssh_config_file:`
//! or the run's `--ssh-config`, inventory values winning, jump chains,
//! ProxyCommand, where each value came from, located errors.

use std::path::{Path, PathBuf};

use fanout_core::{HostKeyPolicy, JumpHop};
use fanout_inventory::{Inventory, InventoryError, LoadOptions};

use super::y;

const CONFIG: &str = "
    Host bastion
      HostName 127.0.0.5
      Port 2222
      User jump
      IdentityFile ~/.ssh/jump_key
    Host core-* !core-9
      HostName 127.0.0.%n
      Port 2201
      User ops
      StrictHostKeyChecking accept-new
      UserKnownHostsFile lab_known_hosts %d/other
      KexAlgorithms +diffie-hellman-group1-sha1
      ProxyJump bastion,admin@127.0.0.6:2200
    Host legacy
      HostName 127.0.0.7
      ProxyCommand nc -X connect %h %p
    Host bastion
      MACs hmac-sha1
    Host *
      User fallback
      IdentityFile keys/%n
";

fn load(
    dir: &Path,
    inventory: &str,
    run_config: Option<PathBuf>,
) -> Result<Inventory, InventoryError> {
    std::fs::write(dir.join("ssh_config"), y(CONFIG)).unwrap();
    let path = dir.join("inv.yaml");
    std::fs::write(&path, y(inventory)).unwrap();
    let home = dir.display().to_string();
    let env = move |name: &str| (name == "HOME").then(|| home.clone());
    let opts = LoadOptions {
        ssh_config: run_config,
        ..LoadOptions::default()
    };
    fanout_inventory::load_with(&path, &opts, &env)
}

#[test]
fn ssh_config_values_apply_and_inventory_values_win() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let inv = load(
        d,
        "
        - {name: a, host: core-1, ssh_config_file: ssh_config}
        - {name: b, host: core-2, port: 22, username: me, host_keys: strict, key_file: mine, ssh_config_file: ssh_config}
        - {name: c, host: core-9, ssh_config_file: ssh_config}
        - {name: d, host: 127.0.0.9}
        ",
        None,
    )
    .unwrap();
    let a = &inv.targets[0];
    assert_eq!(
        (a.address.as_str(), a.port),
        ("127.0.0.core-1", 2201),
        "%n is the name given"
    );
    assert_eq!(a.username.as_deref(), Some("ops"));
    assert_eq!(a.host_keys, Some(HostKeyPolicy::AcceptNew));
    assert_eq!(a.credentials.key_file, Some(d.join("keys/core-1")));
    assert_eq!(
        a.reach.known_hosts,
        [d.join("lab_known_hosts"), d.join("other")]
    );
    assert_eq!(
        a.reach.kex_algorithms.as_deref(),
        Some("+diffie-hellman-group1-sha1")
    );
    assert_eq!(
        a.reach.jump,
        [
            JumpHop {
                name: Some("bastion".into()),
                host: "127.0.0.5".into(),
                port: 2222,
                user: Some("jump".into()),
                identity: Some(d.join(".ssh/jump_key")),
                // The hop's own lists, not the target's KexAlgorithms.
                algorithms: [(
                    "macs".to_string(),
                    (
                        "hmac-sha1".to_string(),
                        format!("ssh_config {}:18", d.join("ssh_config").display())
                    )
                )]
                .into(),
                ..JumpHop::default()
            },
            JumpHop {
                name: Some("127.0.0.6".into()),
                host: "127.0.0.6".into(),
                port: 2200,
                user: Some("admin".into()),
                identity: Some(d.join("keys/127.0.0.6")),
                ..JumpHop::default()
            },
        ]
    );
    let origins = &inv.ssh_config_origins["a"];
    let port = origins.iter().find(|o| o.field == "port").unwrap();
    assert_eq!(
        port.from,
        format!("ssh_config {}:8", d.join("ssh_config").display())
    );

    let b = &inv.targets[1];
    assert_eq!(b.port, 22, "the inventory's port wins");
    assert_eq!(b.username.as_deref(), Some("me"));
    assert_eq!(b.host_keys, Some(HostKeyPolicy::Strict));
    assert_eq!(b.credentials.key_file, Some(d.join("mine")));
    let port = inv.ssh_config_origins["b"]
        .iter()
        .find(|o| o.field == "port")
        .unwrap();
    assert!(
        port.from.starts_with("inventory (over ssh_config"),
        "{port:?}"
    );

    let c = &inv.targets[2];
    assert_eq!(c.address, "core-9", "negated pattern: no HostName");
    assert_eq!(c.username.as_deref(), Some("fallback"));
    assert!(c.reach.jump.is_empty());

    let d_host = &inv.targets[3];
    assert!(
        d_host.reach.is_empty() && d_host.username.is_none(),
        "no ssh_config unless asked"
    );
}

#[test]
fn the_run_config_applies_to_hosts_without_their_own() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let inv = load(
        d,
        "
        - {name: l, host: legacy}
        - {name: o, host: core-1, ssh_config_file: false}
        ",
        Some(d.join("ssh_config")),
    )
    .unwrap();
    let l = &inv.targets[0];
    assert_eq!(l.address, "127.0.0.7");
    assert_eq!(
        l.reach.proxy_command.as_deref(),
        Some("nc -X connect 127.0.0.7 22")
    );
    assert!(
        inv.ssh_config_origins["l"]
            .iter()
            .any(|o| o.field == "proxy_command")
    );
    // `ssh_config_file: false` is "none of its own": the run's applies.
    assert_eq!(inv.targets[1].port, 2201);
}

#[test]
fn a_malformed_ssh_config_is_located_in_both_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("bad_config"), "Host *\n  Port twenty\n").unwrap();
    let e = load(d, "- {host: r1, ssh_config_file: bad_config}\n", None).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("inv.yaml:1:"), "the inventory key: {text}");
    assert!(
        text.contains("bad_config:2: `Port twenty` is not a port"),
        "{text}"
    );

    let e = load(d, "- {host: r1}\n", Some(d.join("bad_config"))).unwrap_err();
    assert!(matches!(e, InventoryError::SshConfig { .. }), "{e}");
    assert!(e.to_string().contains("bad_config:2:"), "{e}");
    let e = load(d, "- {host: r1}\n", Some(d.join("missing"))).unwrap_err();
    assert!(e.to_string().contains("cannot read ssh_config"), "{e}");
    // A host's own file that does not exist is a warning, as in scrapli.
    let inv = load(d, "- {host: r1, ssh_config_file: missing}\n", None).unwrap();
    assert!(
        inv.warnings[0].to_string().contains("does not exist"),
        "{:?}",
        inv.warnings
    );
}

fn load_env(
    dir: &Path,
    inventory: &str,
    vars: &'static [(&'static str, &'static str)],
) -> Result<Inventory, InventoryError> {
    std::fs::write(dir.join("ssh_config"), y(CONFIG)).unwrap();
    let path = dir.join("inv.yaml");
    std::fs::write(&path, y(inventory)).unwrap();
    let env = move |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    fanout_inventory::load_with(&path, &LoadOptions::default(), &env)
}

#[test]
fn the_jump_key_gives_hops_with_their_own_login_and_wins_over_proxyjump() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let inv = load_env(
        d,
        "
        defaults:
          username: cisco
          jump:
            - {host: 127.0.0.1, port: 2201, username: jump, password_env: JUMP_PW}
            - {host: 127.0.0.1, port: 2202, key_file: keys/jump}
        hosts:
          r1: {hostname: 127.0.0.9}
          r2: {hostname: 127.0.0.9, jump: 'ops@10.0.0.5:2222,[::1]'}
          r3: {hostname: core-1, ssh_config_file: ssh_config, jump: none}
          r4: {hostname: 127.0.0.9, jump: 'b1,admin@b1:2299'}
          b1: {hostname: 127.0.0.3, port: 2203, username: bast, password_env: B1_PW, jump: none}
        ",
        &[("JUMP_PW", "hop-pw-1"), ("B1_PW", "b1-pw")],
    )
    .unwrap();
    let t = |name: &str| inv.targets.iter().find(|t| t.name == name).unwrap();
    let hops = &t("r1").reach.jump;
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert_eq!(
        (hops[0].port, hops[0].user.as_deref()),
        (2201, Some("jump"))
    );
    assert_eq!(
        hops[0].password.as_ref().map(|p| p.expose()),
        Some("hop-pw-1")
    );
    assert_eq!(hops[1].identity, Some(d.join("keys/jump")));
    assert!(
        !format!("{hops:?}").contains("hop-pw-1"),
        "no secret in Debug"
    );
    let hops = &t("r2").reach.jump;
    let shown: Vec<String> = hops.iter().map(|h| h.to_string()).collect();
    assert_eq!(shown, ["ops@10.0.0.5:2222", "[::1]:22"]);
    assert!(
        t("r3").reach.jump.is_empty(),
        "jump: none wins over ProxyJump"
    );
}

#[test]
fn a_bad_jump_value_is_a_located_error() {
    let tmp = tempfile::tempdir().unwrap();
    let e = load_env(
        tmp.path(),
        "
        - {host: 127.0.0.1, jump: [{host: 127.0.0.1, prot: 22}]}
        - {host: 127.0.0.2, jump: 'b1:notaport'}
        ",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("inv.yaml:1:") && e.contains("unknown key `prot` in a `jump:` hop"),
        "{e}"
    );
    assert!(
        e.contains("inv.yaml:2:") && e.contains("`notaport` is not a port"),
        "{e}"
    );
}

#[test]
fn connect_timeout_applies_unless_the_inventory_sets_one_and_lists_keep_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let config = d.join("timeout_config");
    std::fs::write(
        &config,
        "Host *\n  ConnectTimeout 7\n  MACs -hmac-sha1*\n  KexAlgorithms ^curve25519-sha256\n",
    )
    .unwrap();
    let inv = load(
        d,
        "
        - {name: a, host: 127.0.0.1}
        - {name: b, host: 127.0.0.2, timeouts: {connect: 2s}}
        ",
        Some(config.clone()),
    )
    .unwrap();
    let secs = std::time::Duration::from_secs;
    let (a, b) = (&inv.targets[0], &inv.targets[1]);
    assert_eq!(a.timeouts.connect, Some(secs(7)));
    assert_eq!(b.timeouts.connect, Some(secs(2)), "the inventory wins");
    let from = |host: &str, field: &str| {
        inv.ssh_config_origins[host]
            .iter()
            .find(|o| o.field == field)
            .unwrap_or_else(|| panic!("no {field} for {host}"))
            .clone()
    };
    let at = |line: usize| format!("ssh_config {}:{line}", config.display());
    assert_eq!(from("a", "connect_timeout").from, at(2));
    assert_eq!(from("a", "connect_timeout").value, "7s");
    assert!(
        from("b", "connect_timeout")
            .from
            .starts_with("inventory (over ssh_config"),
        "{:?}",
        from("b", "connect_timeout")
    );
    assert_eq!(a.reach.macs.as_deref(), Some("-hmac-sha1*"));
    assert_eq!(a.reach.sources["macs"], at(3));
    assert_eq!(a.reach.sources["kex_algorithms"], at(4));

    std::fs::write(&config, "Host *\n  ConnectTimeout soon\n").unwrap();
    let e = load(d, "- {host: r1}\n", Some(config.clone())).unwrap_err();
    assert!(
        e.to_string()
            .contains("timeout_config:2: `ConnectTimeout soon` is not a number of seconds"),
        "{e}"
    );
}
