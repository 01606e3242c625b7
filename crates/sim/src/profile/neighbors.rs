//! What a device knows about its neighbours: `show cdp neighbors [detail]`
//! (IOS, IOS-XE, NX-OS, IOS-XR), `show lldp neighbors` (EOS, JunOS) from
//! the fleet's cabling, and the ARP table (`show ip arp`, IOS-XR / JunOS
//! `show arp`) from the device's own interfaces. The neighbour list comes
//! in ([`Neighbor`]); these functions only format it.

use std::net::Ipv4Addr;

use fanout_core::Platform;

use super::interfaces::{port_number, short_iface};
use crate::console::DeviceConfig;

/// A hardware address, printed the platform's way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mac(u64);

impl Mac {
    /// The address of device `device`'s physical port `port` (`None`: the
    /// chassis), in the KVM range `52:54:00`, unique per device and port.
    pub(crate) fn of(device: u32, port: Option<usize>) -> Mac {
        let low = port.map_or(0, |k| (k as u64 + 1).min(0xfe));
        Mac(0x5254_0000_0000 | (u64::from(device & 0xffff) << 8) | low)
    }

    /// The address of an unnamed host on the far side of an interface that
    /// has no cable in the fleet (VMware range `00:50:56`).
    fn host(device: u32, slot: u64) -> Mac {
        Mac(0x0050_5600_0000 | (u64::from(device & 0xffff) << 8) | (slot & 0xff))
    }

    fn bytes(self) -> [u8; 6] {
        let b = self.0.to_be_bytes();
        [b[2], b[3], b[4], b[5], b[6], b[7]]
    }

    /// `5254.0001.0203` (Cisco, Arista).
    pub(crate) fn dotted(self) -> String {
        let b = self.bytes();
        format!(
            "{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }

    /// `52:54:00:01:02:03` (JunOS).
    pub(crate) fn colons(self) -> String {
        self.bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// One cable whose two ends are up, as the local device sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Neighbor {
    /// The local interface (full name).
    pub(crate) local_port: String,
    /// The neighbour's hostname now.
    pub(crate) device_id: String,
    /// The neighbour's platform.
    pub(crate) platform: Platform,
    /// The neighbour's interface (full name).
    pub(crate) remote_port: String,
    /// The neighbour's address on that interface, if it has one.
    pub(crate) remote_address: Option<Ipv4Addr>,
    /// The neighbour's port address.
    pub(crate) remote_mac: Mac,
    /// The neighbour's chassis address (LLDP chassis id).
    pub(crate) chassis_mac: Mac,
    /// Seconds until the entry would expire.
    pub(crate) holdtime: u16,
}

/// How a platform names itself in CDP (`Platform:`), its capabilities, and
/// the first line of its `show version`.
fn advertised(p: Platform) -> (&'static str, &'static str, &'static str) {
    match p {
        Platform::Ios => (
            "Linux Unix",
            "R B",
            "Cisco IOS Software, Linux Software (I86BI_LINUX-ADVENTERPRISEK9-M), Version 15.4(2)T4, DEVELOPMENT TEST SOFTWARE",
        ),
        Platform::Iosxe => (
            "cisco CSR1000V",
            "R I",
            "Cisco IOS Software [Amsterdam], Virtual XE Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.3.4a, RELEASE SOFTWARE (fc3)",
        ),
        Platform::Nxos => (
            "N9K-C9300v",
            "R S I s",
            "Cisco Nexus Operating System (NX-OS) Software, Version 7.3(0)D1(1)",
        ),
        Platform::Eos => (
            "Arista vEOS-lab",
            "R S",
            "Arista Networks EOS version 4.28.3M running on an Arista vEOS-lab",
        ),
        Platform::Iosxr => (
            "cisco IOS-XRv 9000",
            "R",
            "Cisco IOS XR Software, Version 7.3.2",
        ),
        Platform::Junos => ("Juniper vmx", "R", "Junos: 21.4R1.12"),
        Platform::Linux => ("Linux", "H", "Linux 6.8.0-48-generic"),
    }
}

/// IOS's CDP interface abbreviation: `Eth 0/0`, `Gig 1`, `Gig 0/0/0/1`.
fn cdp_iface(name: &str) -> String {
    match name.find(|c: char| c.is_ascii_digit()) {
        Some(at) if at > 0 && !name[..at].contains('-') => {
            let kind = &name[..at];
            format!("{} {}", kind.get(..3).unwrap_or(kind), &name[at..])
        }
        _ => name.to_string(),
    }
}

fn capability_words(caps: &str) -> String {
    caps.split(' ')
        .map(|c| match c {
            "R" => "Router",
            "B" => "Source-Route-Bridge",
            "S" => "Switch",
            "I" => "IGMP",
            "s" => "Supports-STP-Dispute",
            "H" => "Host",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `show cdp neighbors`.
pub(crate) fn cdp(p: Platform, neighbors: &[Neighbor]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match p {
        Platform::Nxos => {
            out.extend(
                [
                    "Capability Codes: R - Router, T - Trans-Bridge, B - Source-Route-Bridge",
                    "                  S - Switch, H - Host, I - IGMP, r - Repeater,",
                    "                  V - VoIP-Phone, D - Remotely-Managed-Device,",
                    "                  s - Supports-STP-Dispute",
                    "",
                    "Device-ID          Local Intrfce  Hldtme Capability  Platform      Port ID",
                ]
                .map(String::from),
            );
            for n in neighbors {
                let (plat, caps, _) = advertised(n.platform);
                let id = if n.device_id.len() > 18 {
                    out.push(n.device_id.clone());
                    String::new()
                } else {
                    n.device_id.clone()
                };
                out.push(format!(
                    "{id:<18} {:<14} {:<6} {caps:<11} {:<13} {}",
                    short_iface(p, &n.local_port),
                    n.holdtime,
                    plat.get(..13).unwrap_or(plat),
                    n.remote_port
                ));
            }
            out.push(String::new());
            out.push(format!("Total entries displayed: {}", neighbors.len()));
        }
        Platform::Iosxr => {
            out.extend(
                [
                    "Capability Codes: R - Router, T - Trans Bridge, B - Source Route Bridge",
                    "                  S - Switch, H - Host, I - IGMP, r - Repeater",
                    "",
                    "Device ID       Local Intrfce    Holdtme Capability Platform  Port ID",
                ]
                .map(String::from),
            );
            for n in neighbors {
                let (plat, caps, _) = advertised(n.platform);
                let id = if n.device_id.len() > 15 {
                    out.push(n.device_id.clone());
                    String::new()
                } else {
                    n.device_id.clone()
                };
                out.push(format!(
                    "{id:<15} {:<16} {:<7} {caps:<10} {:<9} {}",
                    short_iface(p, &n.local_port),
                    n.holdtime,
                    plat.get(..9).unwrap_or(plat),
                    short_iface(p, &n.remote_port)
                ));
            }
        }
        _ => {
            out.extend(
                [
                    "Capability Codes: R - Router, T - Trans Bridge, B - Source Route Bridge",
                    "                  S - Switch, H - Host, I - IGMP, r - Repeater, P - Phone, ",
                    "                  D - Remote, C - CVTA, M - Two-port Mac Relay ",
                    "",
                    "Device ID        Local Intrfce     Holdtme    Capability  Platform  Port ID",
                ]
                .map(String::from),
            );
            for n in neighbors {
                let (plat, caps, _) = advertised(n.platform);
                let id = if n.device_id.len() > 16 {
                    out.push(n.device_id.clone());
                    String::new()
                } else {
                    n.device_id.clone()
                };
                out.push(format!(
                    "{id:<16} {:<17} {:<10} {caps:>10}  {:<9} {}",
                    cdp_iface(&n.local_port),
                    n.holdtime,
                    plat.get(..9).unwrap_or(plat),
                    cdp_iface(&n.remote_port)
                ));
            }
            out.push(String::new());
            out.push(format!("Total cdp entries displayed : {}", neighbors.len()));
        }
    }
    out
}

/// `show cdp neighbors detail`.
pub(crate) fn cdp_detail(p: Platform, neighbors: &[Neighbor]) -> Vec<String> {
    let mut out = Vec::new();
    for n in neighbors {
        let (plat, caps, version) = advertised(n.platform);
        let words = capability_words(caps);
        if p == Platform::Nxos {
            out.push("-".repeat(40));
            out.push(format!("Device ID:{}", n.device_id));
            out.push(format!("System Name: {}", n.device_id));
            out.push(String::new());
            out.push("Interface address(es):".into());
            if let Some(a) = n.remote_address {
                out.push(format!("    IPv4 Address: {a}"));
            }
            out.push(format!("Platform: {plat}, Capabilities: {words}"));
            out.push(format!(
                "Interface: {}, Port ID (outgoing port): {}",
                n.local_port, n.remote_port
            ));
            out.push(format!("Holdtime: {} sec", n.holdtime));
            out.push(String::new());
            out.push("Version:".into());
            out.push(version.into());
            out.push(String::new());
            out.push("Advertisement Version: 2".into());
            out.push("Duplex: full".into());
            out.push(String::new());
        } else {
            out.push("-".repeat(25));
            out.push(format!("Device ID: {}", n.device_id));
            out.push("Entry address(es): ".into());
            if let Some(a) = n.remote_address {
                out.push(format!("  IP address: {a}"));
            }
            out.push(format!("Platform: {plat},  Capabilities: {words} "));
            out.push(format!(
                "Interface: {},  Port ID (outgoing port): {}",
                n.local_port, n.remote_port
            ));
            out.push(format!("Holdtime : {} sec", n.holdtime));
            out.push(String::new());
            out.push("Version :".into());
            out.push(version.into());
            out.push(String::new());
            out.push("advertisement version: 2".into());
            out.push("Duplex: full".into());
            out.push(String::new());
        }
    }
    if p == Platform::Nxos {
        out.push(format!("Total entries displayed: {}", neighbors.len()));
    } else if p != Platform::Iosxr {
        out.push(format!("Total cdp entries displayed : {}", neighbors.len()));
    }
    out
}

/// `show lldp neighbors` (EOS, JunOS).
pub(crate) fn lldp(p: Platform, neighbors: &[Neighbor]) -> Vec<String> {
    let mut out = Vec::new();
    if p == Platform::Junos {
        out.push(
            "Local Interface    Parent Interface    Chassis Id          Port info          System Name"
                .into(),
        );
        for n in neighbors {
            out.push(format!(
                "{:<18} {:<19} {:<19} {:<18} {}",
                n.local_port,
                "-",
                n.chassis_mac.colons(),
                n.remote_port,
                n.device_id
            ));
        }
        return out;
    }
    out.extend([
        "Last table change time   : 0:12:04 ago".to_string(),
        format!("Number of table inserts  : {}", neighbors.len()),
        "Number of table deletes  : 0".into(),
        "Number of table drops    : 0".into(),
        "Number of table age-outs : 0".into(),
        String::new(),
        "Port          Neighbor Device ID       Neighbor Port ID    TTL".into(),
        "---------- ------------------------ ---------------------- ---".into(),
    ]);
    for n in neighbors {
        out.push(format!(
            "{:<10} {:<24} {:<22} {}",
            short_iface(p, &n.local_port),
            n.device_id,
            n.remote_port,
            n.holdtime
        ));
    }
    out
}

/// The host on the far side of `addr/len`: the next address, or the one
/// before when `addr` is the last host of its subnet.
fn peer_address(addr: Ipv4Addr, len: u8) -> Option<Ipv4Addr> {
    if len >= 32 {
        return None;
    }
    let a = u32::from(addr);
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    let (net, bcast) = (a & mask, a | !mask);
    let next = a.wrapping_add(1);
    let prev = a.wrapping_sub(1);
    if len == 31 {
        return Some(Ipv4Addr::from(a ^ 1));
    }
    if next < bcast {
        Some(Ipv4Addr::from(next))
    } else if prev > net {
        Some(Ipv4Addr::from(prev))
    } else {
        None
    }
}

/// One ARP entry: address, age in seconds (`None`: the device's own),
/// hardware address, interface.
struct ArpEntry {
    address: Ipv4Addr,
    age: Option<u32>,
    mac: Mac,
    iface: String,
}

fn arp_entries(
    p: Platform,
    cfg: &DeviceConfig,
    index: u32,
    neighbors: &[Neighbor],
) -> Vec<ArpEntry> {
    let mut v = Vec::new();
    let ports = cfg.interfaces.len() + cfg.ports + 8;
    for (slot, i) in cfg.interfaces.iter().enumerate() {
        let Some((addr, len)) = i.address else {
            continue;
        };
        let lower = i.name.to_ascii_lowercase();
        if i.shutdown || lower.starts_with("lo") || (p == Platform::Nxos && lower == "mgmt0") {
            continue;
        }
        let port = port_number(p, &i.name, ports);
        let own = Mac::of(index, Some(port.unwrap_or(0xfd)));
        v.push(ArpEntry {
            address: addr,
            age: None,
            mac: own,
            iface: i.name.clone(),
        });
        if let Some(peer) = peer_address(addr, len) {
            let mac = neighbors
                .iter()
                .find(|n| n.local_port == i.name)
                .map_or(Mac::host(index, slot as u64), |n| n.remote_mac);
            let age = ((index as usize * 37 + slot * 91) % 14_400) as u32;
            v.push(ArpEntry {
                address: peer,
                age: Some(age),
                mac,
                iface: i.name.clone(),
            });
        }
    }
    v
}

/// `show ip arp` (IOS-XR and JunOS: `show arp`): the device's own addresses
/// on interfaces that are up, and one neighbour in each of their subnets
/// (the cabled device's port address when a cable is there).
pub(crate) fn arp(
    p: Platform,
    cfg: &DeviceConfig,
    index: u32,
    neighbors: &[Neighbor],
) -> Vec<String> {
    let entries = arp_entries(p, cfg, index, neighbors);
    let hms = |s: u32| format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    let mut out = Vec::new();
    match p {
        Platform::Nxos => {
            out.extend(
                [
                    "",
                    "Flags: * - Adjacencies learnt on non-active FHRP router",
                    "       + - Adjacencies synced via CFSoE",
                    "       # - Adjacencies Throttled for Glean",
                    "       CP - Added via L2RIB, Control plane Adjacencies",
                    "       PS - Added via L2RIB, Peer Sync",
                    "       RO - Re-Originated Peer Sync Entry",
                    "       D - Static Adjacencies attached to down interface",
                    "",
                    "IP ARP Table for context default",
                ]
                .map(String::from),
            );
            let learned: Vec<&ArpEntry> = entries.iter().filter(|e| e.age.is_some()).collect();
            out.push(format!("Total number of entries: {}", learned.len()));
            out.push("Address         Age       MAC Address     Interface       Flags".into());
            for e in learned {
                out.push(format!(
                    "{:<15} {:<9} {:<15} {:<15}",
                    e.address.to_string(),
                    hms(e.age.unwrap_or(0)),
                    e.mac.dotted(),
                    short_iface(p, &e.iface)
                ));
            }
        }
        Platform::Eos => {
            out.push("Address         Age (sec)  Hardware Addr   Interface".into());
            for e in entries.iter().filter(|e| e.age.is_some()) {
                let s = e.age.unwrap_or(0);
                out.push(format!(
                    "{:<15} {:>9}  {}  {}, not learned",
                    e.address.to_string(),
                    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
                    e.mac.dotted(),
                    e.iface
                ));
            }
        }
        Platform::Iosxr => {
            let rule = "-".repeat(79);
            out.extend([rule.clone(), "0/0/CPU0".into(), rule]);
            out.push(
                "Address         Age        Hardware Addr   State      Type  Interface".into(),
            );
            for e in &entries {
                let (age, state) = match e.age {
                    Some(s) => (hms(s), "Dynamic"),
                    None => ("-".into(), "Interface"),
                };
                out.push(format!(
                    "{:<15} {age:<10} {:<15} {state:<10} ARPA  {}",
                    e.address.to_string(),
                    e.mac.dotted(),
                    e.iface
                ));
            }
        }
        Platform::Junos => {
            out.push(
                "MAC Address       Address         Name                      Interface               Flags"
                    .into(),
            );
            let learned: Vec<&ArpEntry> = entries.iter().filter(|e| e.age.is_some()).collect();
            for e in &learned {
                let a = e.address.to_string();
                out.push(format!(
                    "{} {a:<15} {a:<25} {:<23} none",
                    e.mac.colons(),
                    format!("{}.0", e.iface)
                ));
            }
            out.push(format!("Total entries: {}", learned.len()));
        }
        _ => {
            out.push(
                "Protocol  Address          Age (min)  Hardware Addr   Type   Interface".into(),
            );
            for e in &entries {
                let age = e.age.map_or("-".to_string(), |s| (s / 60).to_string());
                out.push(format!(
                    "Internet  {:<16} {age:>8}   {}  ARPA   {}",
                    e.address.to_string(),
                    e.mac.dotted(),
                    e.iface
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_peers() {
        assert_eq!(Mac::of(258, Some(0)).dotted(), "5254.0001.0201");
        assert_eq!(Mac::of(258, None).colons(), "52:54:00:01:02:00");
        assert_ne!(Mac::of(1, Some(0)), Mac::of(2, Some(0)));
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(peer_address(ip("192.0.2.1"), 26), Some(ip("192.0.2.2")));
        assert_eq!(peer_address(ip("192.0.2.62"), 26), Some(ip("192.0.2.61")));
        assert_eq!(peer_address(ip("10.0.0.1"), 31), Some(ip("10.0.0.0")));
        assert_eq!(peer_address(ip("10.0.0.1"), 32), None);
        assert_eq!(cdp_iface("Ethernet0/1"), "Eth 0/1");
        assert_eq!(cdp_iface("GigabitEthernet0/0/0/1"), "Gig 0/0/0/1");
        assert_eq!(cdp_iface("ge-0/0/1"), "ge-0/0/1");
    }
}
