//! 100,000 hosts of every format load, correctly (a correctness test: the
//! timing is measured with `cargo run --release --example load_time`).

use fanout_core::Platform;
use fanout_inventory::{Format, LoadOptions};

use super::generate;

const N: usize = 100_000;

#[test]
fn a_hundred_thousand_hosts_of_every_format_load() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, format) in [
        ("fanout", Format::Fanout),
        ("nornir", Format::Nornir),
        ("ansible-yaml", Format::Ansible),
        ("ansible-ini", Format::Ansible),
        ("netbox", Format::Netbox),
    ] {
        let path = generate::write(name, N, tmp.path());
        let env = |v: &str| (v == "LAB_PW").then(|| "pw".to_string());
        let inv = fanout_inventory::load_with(&path, &LoadOptions::default(), &env)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(inv.format, format, "{name}");
        assert_eq!(inv.targets.len(), N, "{name}");
        let mut names: Vec<&str> = inv.targets.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), N, "{name}: unique names");
        let t = inv.targets.iter().find(|t| t.name == "r12345").unwrap();
        assert_eq!(t.address, generate::address(12345), "{name}");
        assert_eq!(t.platform, Some(Platform::Ios), "{name}");
        assert_eq!(t.username.as_deref(), Some("admin"), "{name}");
        assert_eq!(
            t.credentials.password.as_ref().map(|s| s.expose()),
            Some("pw"),
            "{name}"
        );
        if name != "netbox" {
            assert_eq!(t.port, 2200 + 345, "{name}");
            assert_eq!(t.vars["rack"], (12345 % 40).to_string(), "{name}");
        }
        assert!(inv.warnings.is_empty(), "{name}: {:?}", inv.warnings);
    }
}
