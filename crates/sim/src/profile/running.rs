//! `show running-config` for the Cisco-like platforms and EOS.

use fanout_core::Platform;

use super::RenderCtx;
use super::clock::utc;
use super::interfaces::{all_ifaces, len_mask};
use crate::console::{Block, DeviceConfig, Interface};

fn push_all(out: &mut Vec<String>, ls: &[&str]) {
    out.extend(ls.iter().map(|s| s.to_string()));
}

/// `show running-config` for the Cisco-like platforms and EOS.
pub(crate) fn running_config(p: Platform, cfg: &DeviceConfig, r: &RenderCtx<'_>) -> Vec<String> {
    let ifs = all_ifaces(p, cfg, r.extra);
    let now = utc(r.now);
    let changed = cfg.last_change.map(utc);
    let mut b: Vec<String> = Vec::new();
    let ind = match p {
        Platform::Nxos => "  ",
        Platform::Eos => "   ",
        _ => " ",
    };
    let addr_line = |i: &Interface| match (p, i.address) {
        (Platform::Nxos | Platform::Eos, Some((a, l))) => format!("ip address {a}/{l}"),
        (Platform::Iosxr, Some((a, l))) => format!("ipv4 address {a} {}", len_mask(l)),
        (_, Some((a, l))) => format!("ip address {a} {}", len_mask(l)),
        (Platform::Ios | Platform::Iosxe, None) => "no ip address".into(),
        _ => String::new(),
    };
    let mut interfaces = Vec::new();
    for i in &ifs {
        interfaces.push(format!("interface {}", i.name));
        if let Some(d) = &i.description {
            interfaces.push(format!("{ind}description {d}"));
        }
        interfaces.extend(i.lines.iter().map(|l| format!("{ind}{l}")));
        let a = addr_line(i);
        if !a.is_empty() {
            interfaces.push(format!("{ind}{a}"));
        }
        match (p, i.shutdown) {
            (_, true) => interfaces.push(format!("{ind}shutdown")),
            (Platform::Nxos, false) if !i.name.starts_with("loopback") => {
                interfaces.push(format!("{ind}no shutdown"))
            }
            _ => {}
        }
        interfaces.push(if p == Platform::Nxos {
            String::new()
        } else {
            "!".into()
        });
    }
    let blocks = |filter: &dyn Fn(&Block) -> bool, bang: bool| -> Vec<String> {
        let mut v = Vec::new();
        for blk in cfg.blocks.iter().filter(|b| filter(b)) {
            v.push(blk.header.clone());
            v.extend(blk.lines.iter().map(|l| format!("{ind}{l}")));
            if bang {
                v.push("!".into());
            }
        }
        v
    };
    let is_line = |b: &Block| b.header.starts_with("line ");
    let globals: Vec<String> = cfg.lines.clone();
    match p {
        Platform::Nxos => {
            b.push(String::new());
            b.push("!Command: show running-config".into());
            b.push(format!(
                "!Running configuration last done at: {}",
                changed.unwrap_or(now).ctime()
            ));
            b.push(format!("!Time: {}", now.ctime()));
            b.push(String::new());
            b.push("version 7.3(0)D1(1)".into());
            b.push(format!("hostname {}", cfg.hostname));
            b.push(format!("vdc {} id 1", cfg.hostname));
            push_all(
                &mut b,
                &[
                    "  limit-resource vlan minimum 16 maximum 4094",
                    "  limit-resource vrf minimum 2 maximum 4096",
                    "  limit-resource port-channel minimum 0 maximum 511",
                    "  limit-resource u4route-mem minimum 248 maximum 248",
                    "  limit-resource u6route-mem minimum 96 maximum 96",
                    "",
                    "feature ospf",
                    "feature lldp",
                    "",
                ],
            );
            b.extend(globals);
            b.push(format!(
                "username {} password 5 $5$sim$Wq3Jd1aYx0dPp8E2aD7Cz0  role network-admin",
                r.user
            ));
            push_all(
                &mut b,
                &[
                    "ip domain-lookup",
                    "copp profile strict",
                    "rmon event 1 log trap public description FATAL(1) owner PMON@FATAL",
                    "vlan 1",
                    "",
                    "vrf context management",
                    "  ip route 0.0.0.0/0 192.0.2.129",
                    "",
                ],
            );
            b.extend(interfaces);
            b.extend(blocks(&|_| true, false));
            push_all(
                &mut b,
                &[
                    "line console",
                    "line vty",
                    "boot kickstart bootflash:/titanium-d1-kickstart.7.3.0.D1.1.bin",
                    "boot system bootflash:/titanium-d1.7.3.0.D1.1.bin",
                ],
            );
            return b;
        }
        Platform::Eos => {
            push_all(
                &mut b,
                &[
                    "! Command: show running-config",
                    "! device: HOST (vEOS-lab, EOS-4.28.3M)",
                    "!",
                    "! boot system flash:/vEOS-lab.swi",
                    "!",
                    "no aaa root",
                    "!",
                ],
            );
            b[1] = b[1].replace("HOST", &cfg.hostname);
            b.push(format!(
                "username {} privilege 15 role network-admin secret sha512 $6$sim$Qp0m3nW2aEoYk1",
                r.user
            ));
            if r.has_secret {
                b.push("enable password sha512 $6$sim$Zf8cV1bN4mQ2xL7".into());
            }
            push_all(
                &mut b,
                &[
                    "!",
                    "transceiver qsfp default-mode 4x10G",
                    "!",
                    "service routing protocols model multi-agent",
                    "!",
                ],
            );
            b.push(format!("hostname {}", cfg.hostname));
            push_all(&mut b, &["!", "spanning-tree mode mstp", "!"]);
            b.extend(globals.into_iter().chain(["!".to_string()]));
            b.extend(interfaces);
            push_all(
                &mut b,
                &["ip routing", "!", "ip route 0.0.0.0/0 192.0.2.129", "!"],
            );
            b.extend(blocks(&|_| true, true));
            push_all(
                &mut b,
                &["management api http-commands", "   no shutdown", "!", "end"],
            );
            return b;
        }
        Platform::Iosxr => {
            b.push("Building configuration...".into());
            b.push("!! IOS XR Configuration 7.3.2".into());
            if let Some(c) = changed {
                b.push(format!(
                    "!! Last configuration change at {} by {}",
                    c.ctime(),
                    r.user
                ));
            }
            b.push("!".into());
            b.push(format!("hostname {}", cfg.hostname));
            b.push(format!("username {}", r.user));
            push_all(
                &mut b,
                &[
                    " group root-lr",
                    " group cisco-support",
                    " secret 10 $6$sim$K8r0Lw2uV9qZcN",
                    "!",
                    "call-home",
                    " service active",
                    " contact smart-licensing",
                    " profile CiscoTAC-1",
                    "  active",
                    "  destination transport-method email disable",
                    "  destination transport-method http",
                    " !",
                    "!",
                ],
            );
            b.extend(globals);
            b.extend(interfaces);
            b.extend(blocks(&|_| true, true));
            push_all(
                &mut b,
                &[
                    "router static",
                    " address-family ipv4 unicast",
                    "  0.0.0.0/0 192.0.2.129",
                    " !",
                    "!",
                    "ssh server v2",
                    "ssh server vrf default",
                    "end",
                ],
            );
            return b;
        }
        _ => {}
    }
    let xe = p == Platform::Iosxe;
    // IOS prints the HTTP server settings in one fixed place (after
    // `ip forward-protocol nd`), configured or not: take them out of the
    // global lines and print each once, as configured.
    let http = |what: &str| {
        if cfg.lines.iter().any(|l| l == what) {
            what.to_string()
        } else {
            format!("no {what}")
        }
    };
    let (http_server, https_server) = (http("ip http server"), http("ip http secure-server"));
    let globals: Vec<String> = globals
        .into_iter()
        .filter(|l| {
            let l = l.strip_prefix("no ").unwrap_or(l);
            l != "ip http server" && l != "ip http secure-server"
        })
        .collect();
    b.push("!".into());
    if let Some(c) = changed {
        b.push(format!(
            "! Last configuration change at {} UTC {} {} {} {} by {}",
            c.hms(),
            c.dow(),
            c.mon(),
            c.day,
            c.year,
            r.user
        ));
        b.push("!".into());
    }
    b.push(if xe { "version 17.3" } else { "version 15.4" }.into());
    push_all(
        &mut b,
        &[
            "service timestamps debug datetime msec",
            "service timestamps log datetime msec",
        ],
    );
    if xe {
        push_all(
            &mut b,
            &[
                "! Call-home is enabled by Smart-Licensing.",
                "service call-home",
                "platform qfp utilization monitor load 80",
                "platform punt-keepalive disable-kernel-core",
                "platform console virtual",
            ],
        );
    } else {
        b.push("no service password-encryption".into());
    }
    b.push("!".into());
    b.push(format!("hostname {}", cfg.hostname));
    push_all(
        &mut b,
        &["!", "boot-start-marker", "boot-end-marker", "!", "!"],
    );
    if r.has_secret {
        b.push("enable secret 5 $1$sImU$J1aQvAq4xXw0cY3N1bZ4w.".into());
    }
    push_all(&mut b, &["!", "no aaa new-model"]);
    if !xe {
        push_all(
            &mut b,
            &[
                "mmi polling-interval 60",
                "no mmi auto-configure",
                "no mmi pvc",
                "mmi snmp-timeout 180",
            ],
        );
    }
    push_all(
        &mut b,
        &[
            "!",
            "!",
            "!",
            "!",
            "!",
            "ip domain name example.com",
            "ip cef",
            "no ipv6 cef",
            "!",
            "multilink bundle-name authenticated",
            "!",
        ],
    );
    if xe {
        push_all(
            &mut b,
            &[
                "login on-success log",
                "subscriber templating",
                "license udi pid CSR1000V sn 9SAGBHTUEE9",
                "diagnostic bootup level minimal",
                "memory free low-watermark processor 71489",
                "!",
            ],
        );
    }
    b.push(format!(
        "username {} privilege 15 secret 5 $1$gH1x$5tUhAZ1w9ZzZbQ4oVZ8dK0",
        r.user
    ));
    push_all(
        &mut b,
        &["!", "redundancy", "!", "!", "ip ssh version 2", "!", "!"],
    );
    b.extend(interfaces);
    b.extend(blocks(&|b| !is_line(b), true));
    b.extend(globals);
    push_all(&mut b, &["ip forward-protocol nd", "!"]);
    b.push(http_server);
    b.push(https_server);
    push_all(&mut b, &["!", "!", "!", "control-plane", "!", "!"]);
    b.extend(blocks(&is_line, false));
    push_all(&mut b, &["!", "!", "end"]);
    let bytes: usize = b.iter().map(|l| l.len() + 1).sum();
    let mut out = vec![
        "Building configuration...".to_string(),
        String::new(),
        format!("Current configuration : {bytes} bytes"),
    ];
    out.extend(b);
    out
}
