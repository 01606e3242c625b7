//! Show commands: `show clock`, `show version`, `show ip interface brief`,
//! `show interfaces description` (and their JunOS / Linux equivalents), and
//! `ping`.

use std::net::Ipv4Addr;

use fanout_core::Platform;

use super::RenderCtx;
use super::clock::{uptime_words, utc};
use super::interfaces::{all_ifaces, short_iface};
use crate::console::{DeviceConfig, Interface};

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

/// `show clock` (JunOS: `show system uptime`).
pub(crate) fn show_clock(p: Platform, cfg: &DeviceConfig, r: &RenderCtx<'_>) -> Vec<String> {
    let now = utc(r.now);
    match p {
        Platform::Ios | Platform::Iosxe => vec![format!("*{}", now.cisco())],
        Platform::Eos => vec![
            now.ctime(),
            "Timezone: UTC".into(),
            "Clock source: local".into(),
        ],
        Platform::Junos => {
            let up = r.uptime(cfg).as_secs();
            let ago = format!("{}d {:02}:{:02}", up / 86_400, up / 3600 % 24, up / 60 % 60);
            let changed = utc(cfg.last_change.unwrap_or(cfg.booted));
            vec![
                format!("Current time: {}", now.iso()),
                "Time Source:  LOCAL CLOCK ".into(),
                format!("System booted: {} ({ago} ago)", utc(cfg.booted).iso()),
                format!("Last configured: {} by {}", changed.iso(), r.user),
                format!(
                    "{:>2}:{:02}{}  up {} days, {:2}:{:02}, 1 user, load averages: 0.08, 0.03, 0.01",
                    (now.hour + 11) % 12 + 1,
                    now.minute,
                    if now.hour < 12 { "AM" } else { "PM" },
                    up / 86_400,
                    up / 3600 % 24,
                    up / 60 % 60
                ),
            ]
        }
        _ => vec![now.cisco()],
    }
}

const IOS_VERSION: &str = "\
Cisco IOS Software, Linux Software (I86BI_LINUX-ADVENTERPRISEK9-M), Version 15.4(2)T4, DEVELOPMENT TEST SOFTWARE
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2015 by Cisco Systems, Inc.
Compiled Tue 06-Oct-15 19:17 by prod_rel_team

ROM: Bootstrap program is Linux

{host} uptime is {uptime}
System returned to ROM by reload at 0
System image file is \"unix:i86bi-linux-l3-adventerprisek9-15.4.2T4.bin\"
Last reload reason: Unknown reason

{crypto}
Linux Unix (i686) processor with 364696K/6147K bytes of memory.
Processor board ID 67109072
{ifs} Ethernet interfaces
1024K bytes of NVRAM.

Configuration register is 0x0";

const CRYPTO: &str = "

This product contains cryptographic features and is subject to United
States and local country laws governing import, export, transfer and
use. Delivery of Cisco cryptographic products does not imply
third-party authority to import, export, distribute or use encryption.
Importers, exporters, distributors and users are responsible for
compliance with U.S. and local country laws. By using this product you
agree to comply with applicable laws and regulations. If you are unable
to comply with U.S. and local laws, return this product immediately.

A summary of U.S. laws governing Cisco cryptographic products may be found at:
http://www.cisco.com/wwl/export/crypto/tool/stqrg.html

If you require further assistance please contact us by sending email to
export@cisco.com.
";

const XE_VERSION: &str = "\
Cisco IOS XE Software, Version 17.03.04a
Cisco IOS Software [Amsterdam], Virtual XE Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.3.4a, RELEASE SOFTWARE (fc3)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2021 by Cisco Systems, Inc.
Compiled Tue 20-Jul-21 04:59 by mcpre


Cisco IOS-XE software, Copyright (c) 2005-2021 by cisco Systems, Inc.
All rights reserved.  Certain components of Cisco IOS-XE software are
licensed under the GNU General Public License (\"GPL\") Version 2.0.  The
software code licensed under GPL Version 2.0 is free software that comes
with ABSOLUTELY NO WARRANTY.  You can redistribute and/or modify such
GPL code under the terms of GPL Version 2.0.  For more details, see the
documentation or \"License Notice\" file accompanying the IOS-XE software,
or the applicable URL provided on the flyer accompanying the IOS-XE
software.


ROM: IOS-XE ROMMON

{host} uptime is {uptime}
Uptime for this control processor is {uptime}
System returned to ROM by reload
System image file is \"bootflash:packages.conf\"
Last reload reason: reload

{crypto}
License Level: ax
License Type: N/A(Smart License Enabled)
Next reload license Level: ax

The current throughput level is 1000 kbps 


Smart Licensing Status: UNREGISTERED/No Licenses in Use

cisco CSR1000V (VXE) processor (revision VXE) with 2071829K/3075K bytes of memory.
Processor board ID 9SAGBHTUEE9
Router operating mode: Autonomous
{ifs} Gigabit Ethernet interfaces
32768K bytes of non-volatile configuration memory.
3978476K bytes of physical memory.
6188032K bytes of virtual hard disk at bootflash:.

Configuration register is 0x2102";

const NX_VERSION: &str = "\
Cisco Nexus Operating System (NX-OS) Software
TAC support: http://www.cisco.com/tac
Documents: http://www.cisco.com/en/US/products/ps9372/tsd_products_support_series_home.html
Copyright (c) 2002-2016, Cisco Systems, Inc. All rights reserved.
The copyrights to certain works contained herein are owned by
other third parties and are used and distributed under license.
Some parts of this software are covered under the GNU Public
License. A copy of the license is available at
http://www.gnu.org/licenses/gpl.html.

NX-OSv is a demo version of the Nexus Operating System

Software
  BIOS: version 2.12.0
  loader:    version N/A
  kickstart: version 7.3(0)D1(1)
  system:    version 7.3(0)D1(1)
  BIOS compile time:       01/01/2016
  kickstart image file is: bootflash:///titanium-d1-kickstart.7.3.0.D1.1.bin
  kickstart compile time:  1/11/2016 16:00:00 [02/11/2016 10:30:12]
  system image file is:    bootflash:///titanium-d1.7.3.0.D1.1.bin
  system compile time:     1/11/2016 16:00:00 [02/11/2016 12:31:44]


Hardware
  cisco NX-Osv Chassis (\"NX-Osv Supervisor Module\")
  Intel(R) Core(TM) i5-7260U C with 3064740 kB of memory.
  Processor Board ID TM000940CCB

  Device name: {host}
  bootflash:    3184776 kB

Kernel uptime is {nxuptime}

Last reset
  Reason: Unknown
  System version: 7.3(0)D1(1)
  Service:

plugin
  Core Plugin, Ethernet Plugin";

const EOS_VERSION: &str = "\
Arista vEOS-lab
Hardware version:
Serial number: 5C2A1B3D4E5F
Hardware MAC address: 5254.0012.3456
System MAC address: 5254.0012.3456

Software image version: 4.28.3M
Architecture: x86_64
Internal build version: 4.28.3M-28837868.4283M
Internal build ID: 0b1a5a3c-9f5e-4c1d-8f25-6f2b3c4d5e6f
Image format version: 1.0
Image optimization: None

Uptime: {uptime}
Total memory: 3982084 kB
Free memory: 2719368 kB
";

const XR_VERSION: &str = "\
Cisco IOS XR Software, Version 7.3.2
Copyright (c) 2013-2021 by Cisco Systems, Inc.

Build Information:
 Built By     : ingunawa
 Built On     : Wed Oct 13 20:00:55 PDT 2021
 Built Host   : iox-ucs-017
 Workspace    : /auto/srcarchive17/prod/7.3.2/xrv9k/ws
 Version      : 7.3.2
 Location     : /opt/cisco/XR/packages/
 Label        : 7.3.2

cisco IOS-XRv 9000 () processor
System uptime is {xruptime}";

const JUNOS_VERSION: &str = "\
Hostname: {host}
Model: vmx
Junos: 21.4R1.12
JUNOS OS Kernel 64-bit  [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS libs [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS runtime [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS time zone information [20211110.0f2b2f1_builder_stable_12_214]
JUNOS network stack and utilities [20211124.121007_builder_junos_214_r1]
JUNOS libs [20211124.121007_builder_junos_214_r1]
JUNOS OS libs compat32 [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS 32-bit compatibility [20211110.0f2b2f1_builder_stable_12_214]
JUNOS libs compat32 [20211124.121007_builder_junos_214_r1]
JUNOS runtime [20211124.121007_builder_junos_214_r1]
JUNOS Packet Forwarding Engine Simulation Package [20211124.121007_builder_junos_214_r1]
JUNOS sflow mx [20211124.121007_builder_junos_214_r1]
JUNOS py extensions [20211124.121007_builder_junos_214_r1]
JUNOS py base [20211124.121007_builder_junos_214_r1]
JUNOS OS vmguest [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS crypto [20211110.0f2b2f1_builder_stable_12_214]
JUNOS mx libs [20211124.121007_builder_junos_214_r1]
JUNOS Routing Engine Software Suite [20211124.121007_builder_junos_214_r1]
JUNOS Web Management Platform Package [20211124.121007_builder_junos_214_r1]";

/// `show version` (Linux: `uname -a` is in the `linux` module).
pub(crate) fn show_version(p: Platform, cfg: &DeviceConfig, r: &RenderCtx<'_>) -> Vec<String> {
    let up = r.uptime(cfg);
    let s = up.as_secs();
    let template = match p {
        Platform::Ios => IOS_VERSION,
        Platform::Iosxe => XE_VERSION,
        Platform::Nxos => NX_VERSION,
        Platform::Eos => EOS_VERSION,
        Platform::Iosxr => XR_VERSION,
        _ => JUNOS_VERSION,
    };
    let physical = cfg
        .interfaces
        .iter()
        .filter(|i| !i.name.to_ascii_lowercase().starts_with("lo"))
        .count();
    let text = template
        .replace("{crypto}", CRYPTO)
        .replace("{host}", &cfg.hostname)
        .replace("{ifs}", &physical.to_string())
        .replace(
            "{uptime}",
            &uptime_words(up, ", ", if p == Platform::Eos { " and " } else { ", " }),
        )
        .replace("{xruptime}", &uptime_words(up, " ", " "))
        .replace(
            "{nxuptime}",
            &format!(
                "{} day(s), {} hour(s), {} minute(s), {} second(s)",
                s / 86_400,
                s / 3600 % 24,
                s / 60 % 60,
                s % 60
            ),
        );
    lines(&text)
}

/// `show ip interface brief` (JunOS `show interfaces terse`, Linux `ip -br address`).
pub(crate) fn ip_brief(p: Platform, cfg: &DeviceConfig, extra: usize) -> Vec<String> {
    let ifs = all_ifaces(p, cfg, extra);
    let addr = |i: &Interface| {
        i.address
            .map_or("unassigned".to_string(), |(a, _)| a.to_string())
    };
    let prefix = |i: &Interface| i.address.map(|(a, l)| format!("{a}/{l}"));
    let mut out: Vec<String> = Vec::new();
    match p {
        Platform::Nxos => {
            out.push("IP Interface Status for VRF \"default\"(1)".into());
            out.push("Interface            IP Address      Interface Status".into());
            for i in ifs
                .iter()
                .filter(|i| i.address.is_some() && i.name != "mgmt0")
            {
                let st = if i.shutdown {
                    "protocol-down/link-down/admin-down"
                } else {
                    "protocol-up/link-up/admin-up"
                };
                out.push(format!(
                    "{:<20} {:<15} {st:<35}",
                    short_iface(p, &i.name),
                    addr(i)
                ));
            }
        }
        Platform::Eos => {
            out.push(format!("{:>79}", "Address"));
            out.push("Interface         IP Address            Status       Protocol           MTU    Owner  ".into());
            out.push("----------------- --------------------- ------------ -------------- ---------- -------".into());
            for i in &ifs {
                let ip = prefix(i).unwrap_or_else(|| "unassigned".into());
                let (st, pr) = if i.shutdown {
                    ("adminDown", "down")
                } else {
                    ("up", "up")
                };
                let mtu = if i.name.starts_with("Loopback") {
                    65535
                } else {
                    1500
                };
                out.push(format!(
                    "{:<17} {ip:<21} {st:<12} {pr:<14} {mtu:>10} {:<7}",
                    i.name, ""
                ));
            }
        }
        Platform::Iosxr => {
            out.push(
                "Interface                      IP-Address      Status          Protocol Vrf-Name"
                    .into(),
            );
            for i in &ifs {
                let (st, pr) = if i.shutdown {
                    ("Shutdown", "Down")
                } else {
                    ("Up", "Up")
                };
                out.push(format!(
                    "{:<31}{:<16}{st:<16}{pr:<9}{:<8}",
                    i.name,
                    addr(i),
                    "default"
                ));
            }
        }
        Platform::Junos => {
            out.push(
                "Interface               Admin Link Proto    Local                 Remote".into(),
            );
            for i in &ifs {
                let admin = if i.shutdown { "down" } else { "up" };
                out.push(format!("{:<24}{admin:<6}up", i.name));
                if let Some(a) = prefix(i) {
                    let remote = if i.name == "lo0" { "--> 0/0" } else { "" };
                    out.push(format!(
                        "{:<24}{admin:<6}up   inet     {a:<22}{remote}",
                        format!("{}.0", i.name)
                    ));
                }
            }
        }
        Platform::Linux => {
            for i in &ifs {
                let st = if i.name == "lo" {
                    "UNKNOWN"
                } else if i.shutdown {
                    "DOWN"
                } else {
                    "UP"
                };
                out.push(format!(
                    "{:<17}{st:<15}{} ",
                    i.name,
                    prefix(i).unwrap_or_default()
                ));
            }
        }
        _ => {
            out.push("Interface                  IP-Address      OK? Method Status                Protocol".into());
            for i in &ifs {
                let method = match (i.address, i.manual) {
                    (None, _) => "unset",
                    (Some(_), true) => "manual",
                    (Some(_), false) => "NVRAM",
                };
                let (st, pr) = if i.shutdown {
                    ("administratively down", "down")
                } else {
                    ("up", "up")
                };
                out.push(format!(
                    "{:<27}{:<16}YES {method:<7}{st:<22}{pr:<8}",
                    i.name,
                    addr(i)
                ));
            }
        }
    }
    out
}

/// `show interfaces description`.
pub(crate) fn int_desc(p: Platform, cfg: &DeviceConfig, extra: usize) -> Vec<String> {
    let ifs = all_ifaces(p, cfg, extra);
    let mut out = Vec::new();
    if p == Platform::Nxos {
        let rule = "-".repeat(79);
        out.extend([
            rule.clone(),
            "Interface                Description".into(),
            rule,
        ]);
        for i in &ifs {
            let d = i.description.as_deref().unwrap_or("--");
            out.push(format!("{:<24} {d}", short_iface(p, &i.name)));
        }
        return out;
    }
    let (wide, head) = match p {
        Platform::Eos => (
            19,
            "Interface                      Status         Protocol           Description",
        ),
        _ => (
            9,
            "Interface                      Status         Protocol Description",
        ),
    };
    out.push(head.into());
    for i in &ifs {
        let (st, pr) = if i.shutdown {
            ("admin down", "down")
        } else {
            ("up", "up")
        };
        let name = if p == Platform::Iosxr {
            i.name.clone()
        } else {
            short_iface(p, &i.name)
        };
        let d = i.description.as_deref().unwrap_or("");
        out.push(
            format!("{name:<31}{st:<15}{pr:<wide$}{d}")
                .trim_end()
                .to_string(),
        );
    }
    out
}

/// `ping <target>`: five successful echoes, or the platform's error.
pub(crate) fn ping(p: Platform, args: &str) -> Result<Vec<String>, Vec<String>> {
    let target = args.split_whitespace().next().unwrap_or("");
    let Ok(ip) = target.parse::<Ipv4Addr>() else {
        return Err(vec![
            "% Unrecognized host or address, or protocol not running.".into(),
            String::new(),
        ]);
    };
    Ok(match p {
        Platform::Nxos | Platform::Eos => {
            let mut v = vec![format!("PING {ip} ({ip}): 56 data bytes")];
            v.extend((0..5).map(|i| {
                format!(
                    "64 bytes from {ip}: icmp_seq={i} ttl=254 time=1.{} ms",
                    2 + i
                )
            }));
            v.extend([
                String::new(),
                format!("--- {ip} ping statistics ---"),
                "5 packets transmitted, 5 packets received, 0.00% packet loss".into(),
                "round-trip min/avg/max = 1.2/1.4/1.6 ms".into(),
            ]);
            v
        }
        _ => vec![
            "Type escape sequence to abort.".into(),
            format!("Sending 5, 100-byte ICMP Echos to {ip}, timeout is 2 seconds:"),
            "!!!!!".into(),
            "Success rate is 100 percent (5/5), round-trip min/avg/max = 1/1/2 ms".into(),
        ],
    })
}
