//! Interfaces: the platform's names and abbreviations, addresses and masks,
//! and the factory interfaces and blocks of a fresh device.

use std::net::Ipv4Addr;

use fanout_core::Platform;

use crate::console::{Block, DeviceConfig, Interface};

fn iface_types(p: Platform) -> &'static [&'static str] {
    match p {
        Platform::Nxos => &[
            "Ethernet",
            "loopback",
            "mgmt",
            "port-channel",
            "Vlan",
            "Tunnel",
        ],
        Platform::Eos => &[
            "Ethernet",
            "Loopback",
            "Management",
            "Port-Channel",
            "Vlan",
            "Tunnel",
        ],
        Platform::Iosxr => &[
            "GigabitEthernet",
            "TenGigE",
            "HundredGigE",
            "Loopback",
            "MgmtEth",
            "Bundle-Ether",
            "tunnel-ip",
        ],
        _ => &[
            "Ethernet",
            "FastEthernet",
            "GigabitEthernet",
            "TenGigabitEthernet",
            "Loopback",
            "Port-channel",
            "Serial",
            "Tunnel",
            "Vlan",
        ],
    }
}

/// Expands an abbreviated interface name (`Gi0/1`, `lo 0`) to its full form,
/// or `None` when it names no interface type of the platform.
pub(crate) fn normalize_iface(p: Platform, raw: &str) -> Option<String> {
    let raw: String = raw.split_whitespace().collect();
    if p == Platform::Junos || p == Platform::Linux {
        return (!raw.is_empty()).then_some(raw);
    }
    let split = raw.find(|c: char| c.is_ascii_digit())?;
    let (kind, num) = raw.split_at(split);
    if kind.is_empty()
        || !num
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.:".contains(c))
    {
        return None;
    }
    let lk = kind.to_ascii_lowercase();
    let full = iface_types(p)
        .iter()
        .find(|t| t.to_ascii_lowercase().starts_with(&lk))?;
    Some(format!("{full}{num}"))
}

/// The short form of an interface name (`Et0/0`, `Gi1`, NX-OS `Eth1/1`).
pub(crate) fn short_iface(p: Platform, name: &str) -> String {
    let split = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let (kind, num) = name.split_at(split);
    match (p, kind) {
        (_, "mgmt") => name.to_string(),
        (Platform::Nxos, "Ethernet") => format!("Eth{num}"),
        (Platform::Nxos, "loopback") => format!("Lo{num}"),
        _ => format!("{}{num}", kind.get(..2).unwrap_or(kind)),
    }
}

/// Prefix length of a contiguous netmask.
pub(crate) fn mask_len(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let n = m.leading_ones();
    (m.checked_shl(n).unwrap_or(0) == 0).then_some(n as u8)
}

/// The netmask of a prefix length.
pub(crate) fn len_mask(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0),
    )
}

/// Parses an interface address from `A.B.C.D/len` or `A.B.C.D M.M.M.M`.
/// The error is the device's message.
pub(crate) fn parse_address(args: &[String]) -> Result<(Ipv4Addr, u8), String> {
    let bad = || "% Invalid address".to_string();
    match args {
        [a, m] => {
            let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
            let mask: Ipv4Addr = m.parse().map_err(|_| bad())?;
            let len = mask_len(mask)
                .ok_or_else(|| format!("Bad mask 0x{:08X} for address {addr}", u32::from(mask)))?;
            Ok((addr, len))
        }
        [a] => {
            let (a, l) = a.split_once('/').ok_or_else(bad)?;
            let len: u8 = l.parse().ok().filter(|l| *l <= 32).ok_or_else(bad)?;
            Ok((a.parse().map_err(|_| bad())?, len))
        }
        _ => Err(bad()),
    }
}

fn iface(
    name: &str,
    addr: Option<[u8; 4]>,
    len: u8,
    description: Option<&str>,
    shutdown: bool,
) -> Interface {
    Interface {
        name: name.to_string(),
        description: description.map(str::to_string),
        address: addr.map(|a| (Ipv4Addr::from(a), len)),
        shutdown,
        manual: false,
        lines: Vec::new(),
    }
}

/// How many physical ports a fresh device of the platform has.
pub(crate) fn factory_ports(p: Platform) -> usize {
    match p {
        Platform::Ios | Platform::Nxos | Platform::Eos => 4,
        Platform::Iosxe | Platform::Iosxr | Platform::Junos => 3,
        Platform::Linux => 1,
    }
}

/// The name of physical port `k` (0-based), continuing the factory naming:
/// IOS `Ethernet0/0`..`Ethernet0/3`, `Ethernet1/0`..; IOS-XE
/// `GigabitEthernet1`..; NX-OS `Ethernet1/1`..; EOS `Ethernet1`..; IOS-XR
/// `GigabitEthernet0/0/0/0`..; JunOS `ge-0/0/0`..; Linux `eth0`...
pub(crate) fn physical_port(p: Platform, k: usize) -> String {
    match p {
        Platform::Ios => format!("Ethernet{}/{}", k / 4, k % 4),
        Platform::Iosxe => format!("GigabitEthernet{}", k + 1),
        Platform::Nxos => format!("Ethernet1/{}", k + 1),
        Platform::Eos => format!("Ethernet{}", k + 1),
        Platform::Iosxr => format!("GigabitEthernet0/0/0/{k}"),
        Platform::Junos => format!("ge-0/0/{k}"),
        Platform::Linux => format!("eth{k}"),
    }
}

/// The physical port the `n`-th cable of a device plugs into: the factory
/// ports that are up (the third one is shut), then new ones.
pub(crate) fn cable_port(p: Platform, n: usize) -> usize {
    if p == Platform::Linux || n < 2 {
        n
    } else {
        n + 1
    }
}

/// The physical port number of interface `name`, if it is one (searched
/// among the first `max` ports).
pub(crate) fn port_number(p: Platform, name: &str, max: usize) -> Option<usize> {
    (0..max).find(|&k| physical_port(p, k) == name)
}

/// Fills a fresh configuration with the platform's factory interfaces and
/// blocks (documentation addresses only), plus the physical ports the
/// fleet's cabling needs (`cfg.ports`).
pub(crate) fn seed(p: Platform, cfg: &mut DeviceConfig) {
    let physical: Vec<String> = (0..factory_ports(p)).map(|k| physical_port(p, k)).collect();
    let (lo, mgmt): (&str, Option<&str>) = match p {
        Platform::Ios | Platform::Iosxe => ("Loopback0", None),
        Platform::Nxos => ("loopback0", Some("mgmt0")),
        Platform::Eos => ("Loopback0", Some("Management1")),
        Platform::Iosxr => ("Loopback0", Some("MgmtEth0/RP0/CPU0/0")),
        Platform::Junos => ("lo0", Some("fxp0")),
        Platform::Linux => ("lo", None),
    };
    let mut ifs = Vec::new();
    if p == Platform::Linux {
        ifs.push(iface(lo, Some([127, 0, 0, 1]), 8, None, false));
        ifs.push(iface("eth0", Some([192, 0, 2, 10]), 24, None, false));
    } else {
        ifs.push(iface(
            lo,
            Some([203, 0, 113, 1]),
            32,
            Some("router id"),
            false,
        ));
        if let Some(m) = mgmt {
            ifs.push(iface(
                m,
                Some([192, 0, 2, 130]),
                25,
                Some("oob management"),
                false,
            ));
        }
        for (i, name) in physical.iter().enumerate() {
            let (addr, desc) = match i {
                0 => (Some([192, 0, 2, 1]), Some("uplink to core")),
                1 => (Some([192, 0, 2, 65]), Some("link to peer")),
                2 => (None, None),
                _ => (Some([198, 51, 100, 1]), Some("customer edge")),
            };
            let mut f = iface(name, addr, if i == 3 { 24 } else { 26 }, desc, i == 2);
            if p == Platform::Iosxe {
                f.lines.push("negotiation auto".to_string());
            }
            if matches!(p, Platform::Nxos | Platform::Eos) {
                f.lines.push("no switchport".to_string());
            }
            ifs.push(f);
        }
    }
    // Ports the fleet's cabling needs beyond the factory ones: up, unnumbered.
    for k in factory_ports(p)..cfg.ports {
        let mut f = iface(&physical_port(p, k), None, 0, None, false);
        if p == Platform::Iosxe {
            f.lines.push("negotiation auto".to_string());
        }
        if matches!(p, Platform::Nxos | Platform::Eos) {
            f.lines.push("no switchport".to_string());
        }
        ifs.push(f);
    }
    cfg.interfaces = ifs;
    let block = |h: &str, ls: &[&str]| Block {
        header: h.to_string(),
        lines: ls.iter().map(|s| s.to_string()).collect(),
    };
    cfg.blocks = match p {
        Platform::Ios | Platform::Iosxe => vec![
            block(
                "router ospf 1",
                &[
                    "router-id 203.0.113.1",
                    "network 192.0.2.0 0.0.0.127 area 0",
                ],
            ),
            block("line con 0", &["logging synchronous"]),
            block("line aux 0", &[]),
            block("line vty 0 4", &["login local", "transport input ssh"]),
        ],
        Platform::Iosxr => vec![block("router ospf 1", &["router-id 203.0.113.1", "area 0"])],
        Platform::Linux | Platform::Junos => Vec::new(),
        _ => vec![block("router ospf 1", &["router-id 203.0.113.1"])],
    };
}

/// The device's interfaces plus `extra` generated loopbacks (the output-size
/// knob).
pub(crate) fn all_ifaces(p: Platform, cfg: &DeviceConfig, extra: usize) -> Vec<Interface> {
    let mut v = cfg.interfaces.clone();
    v.extend((0..extra).map(|i| {
        let name = match p {
            Platform::Nxos => format!("loopback{}", 1000 + i),
            Platform::Junos => format!("ge-1/{}/{}", i / 48, i % 48),
            Platform::Linux => format!("dummy{i}"),
            _ => format!("Loopback{}", 1000 + i),
        };
        let a = [10, (i / 250 % 250 + 1) as u8, (i % 250 + 1) as u8, 1];
        iface(&name, Some(a), 32, None, false)
    }));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::junos::shell_words;

    #[test]
    fn interfaces_and_masks() {
        assert_eq!(
            normalize_iface(Platform::Ios, "Gi0/1").as_deref(),
            Some("GigabitEthernet0/1")
        );
        assert_eq!(
            normalize_iface(Platform::Ios, "lo 5").as_deref(),
            Some("Loopback5")
        );
        assert_eq!(
            normalize_iface(Platform::Eos, "et1").as_deref(),
            Some("Ethernet1")
        );
        assert_eq!(normalize_iface(Platform::Ios, "foo1"), None);
        assert_eq!(short_iface(Platform::Eos, "Ethernet1"), "Et1");
        assert_eq!(
            mask_len("255.255.255.192".parse().unwrap_or(Ipv4Addr::UNSPECIFIED)),
            Some(26)
        );
        assert_eq!(len_mask(26).to_string(), "255.255.255.192");
        assert_eq!(len_mask(0).to_string(), "0.0.0.0");
        assert_eq!(
            parse_address(&["10.99.9.9".into(), "255.25.255.255".into()]),
            Err("Bad mask 0xFF19FFFF for address 10.99.9.9".into())
        );
        assert_eq!(shell_words("set a \"b c\" d"), vec!["set", "a", "b c", "d"]);
    }

    #[test]
    fn physical_ports_continue_the_factory_names() {
        for p in Platform::ALL {
            let mut cfg = DeviceConfig::new("r1");
            seed(p, &mut cfg);
            for k in 0..factory_ports(p) {
                let name = physical_port(p, k);
                assert!(
                    cfg.interfaces.iter().any(|i| i.name == name),
                    "{p}: factory port {name}"
                );
                assert_eq!(port_number(p, &name, 10), Some(k));
            }
            let mut big = DeviceConfig::new("r1");
            big.ports = 20;
            seed(p, &mut big);
            assert_eq!(
                big.interfaces.len(),
                cfg.interfaces.len() + 20 - factory_ports(p),
                "{p}"
            );
            let last = big.interfaces.last().unwrap();
            assert_eq!(last.name, physical_port(p, 19));
            assert!(!last.shutdown && last.address.is_none());
        }
        assert_eq!(physical_port(Platform::Ios, 5), "Ethernet1/1");
        assert_eq!(cable_port(Platform::Ios, 2), 3, "the shut port stays free");
    }
}
