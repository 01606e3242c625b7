//! The source material's inventories, addresses moved to loopback, load
//! unchanged with the right platform, transport and credentials.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fanout_core::{HostKeyPolicy, Platform, Target, Transport};
use fanout_inventory::Inventory;

fn fixture(name: &str) -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seeds")
        .join(name);
    fanout_inventory::load(&path).unwrap_or_else(|e| panic!("{name}:\n{e}"))
}

fn password(t: &Target) -> Option<&str> {
    t.credentials.password.as_ref().map(|s| s.expose())
}

fn secret(t: &Target) -> Option<&str> {
    t.secret.as_ref().map(|s| s.expose())
}

#[test]
fn netmiko_dicts_of_seed_002() {
    let inv = fixture("002-netmiko-devices.yaml");
    assert_eq!(inv.targets.len(), 5);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    for (i, t) in inv.targets.iter().enumerate() {
        let address = format!("127.0.0.{}", 110 + i);
        assert_eq!(
            (t.name.as_str(), t.address.as_str()),
            (&*address, &*address)
        );
        assert_eq!(t.port, 22);
        assert_eq!(t.platform, Some(Platform::Ios), "cisco_ios_ssh");
        assert_eq!(t.transport, Transport::Ssh);
        assert_eq!(t.username.as_deref(), Some("admin"));
        assert_eq!(password(t), Some("access123"));
        assert_eq!(secret(t), None);
    }
}

#[test]
fn asyncssh_devices_of_seed_001_take_enable_password_as_the_secret() {
    let inv = fixture("001-asyncssh-devices.yaml");
    assert_eq!(inv.targets.len(), 3);
    for (i, t) in inv.targets.iter().enumerate() {
        assert_eq!(t.address, format!("127.0.0.{}", i + 1));
        assert_eq!(t.username.as_deref(), Some("cisco"));
        assert_eq!(password(t), Some("cisco"));
        assert_eq!(secret(t), Some("cisco"));
        assert_eq!(
            (t.transport, t.port, t.platform),
            (Transport::Ssh, 22, None)
        );
    }
}

#[test]
fn netdev_devices_of_seed_001() {
    let inv = fixture("001-netdev-devices.yaml");
    assert_eq!(inv.targets.len(), 2);
    for t in &inv.targets {
        assert_eq!(t.platform, Some(Platform::Ios));
        assert_eq!(secret(t), Some("cisco"));
        assert_eq!(password(t), Some("cisco"));
    }
}

#[test]
fn scrapli_asyncssh_devices_of_seed_001() {
    let inv = fixture("001-scrapli-asyncssh-devices.yaml");
    assert_eq!(inv.targets.len(), 4);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let addresses: Vec<&str> = inv.targets.iter().map(|t| t.address.as_str()).collect();
    assert_eq!(
        addresses,
        ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.11"]
    );
    for t in &inv.targets {
        assert_eq!(t.platform, Some(Platform::Iosxe));
        assert_eq!(t.transport, Transport::Ssh, "asyncssh is SSH");
        assert_eq!(t.port, 22);
        assert_eq!(
            t.host_keys,
            Some(HostKeyPolicy::Off),
            "auth_strict_key: false"
        );
        assert_eq!(t.timeouts.connect, Some(Duration::from_secs(5)));
        assert_eq!(t.timeouts.auth, Some(Duration::from_secs(10)));
        assert_eq!(secret(t), Some("cisco"));
    }
    assert_eq!(
        password(&inv.targets[2]),
        Some("ciscoe"),
        "the wrong password"
    );
}

#[test]
fn scrapli_asynctelnet_devices_of_seed_001_select_telnet_on_port_23() {
    let inv = fixture("001-scrapli-asynctelnet-devices.yaml");
    assert_eq!(inv.targets.len(), 2);
    for t in &inv.targets {
        assert_eq!(t.transport, Transport::Telnet);
        assert_eq!(t.port, 23, "{}: given, or telnet's default", t.name);
        assert_eq!(t.username.as_deref(), Some("cisco"));
        assert_eq!(secret(t), Some("cisco"));
    }
}

#[test]
fn scrapli_nxos_of_seed_000_uses_the_users_ssh_config() {
    let inv = fixture("000-scrapli-nxos.yaml");
    let expected = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".ssh/config"));
    for t in &inv.targets {
        assert_eq!(t.platform, Some(Platform::Nxos));
        assert_eq!(t.transport, Transport::Ssh);
        if let Some(expected) = &expected {
            assert_eq!(t.ssh_config_file.as_ref(), Some(expected));
        }
    }
}
