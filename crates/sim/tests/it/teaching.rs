//! Devices for the teaching kit: a consistent cabling behind `show cdp
//! neighbors` / `show lldp neighbors`, ARP tables that agree with the
//! interfaces, memory commands, a per-device session limit and a login
//! cost.

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fanout_core::Platform;
use fanout_sim::console::Console;
use fanout_sim::{Fleet, SessionLimitMode};

use crate::support::{have_ssh, lab, text};

fn exec(console: &mut Console, command: &str) -> String {
    let reply = console.exec(command);
    let out = String::from_utf8(reply.output).unwrap();
    assert_eq!(reply.exit_status, 0, "{command}: {out}");
    out
}

/// `(local port, neighbour, neighbour port)` from `show cdp neighbors detail`.
fn cdp_detail(out: &str) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    let mut device = None;
    for line in out.lines() {
        if let Some(id) = line.strip_prefix("Device ID: ") {
            device = Some(id.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("Interface: ") {
            let (local, remote) = rest.split_once(",  Port ID (outgoing port): ").unwrap();
            v.push((
                local.to_string(),
                device.take().expect("a Device ID before each Interface"),
                remote.trim().to_string(),
            ));
        }
    }
    v
}

/// The source material's cabling check: 100 devices, 700 cables; every
/// cable is listed on both ends with matching interfaces, and nothing else.
#[test]
fn cabling_check_over_100_devices_and_700_cables() {
    let fleet = Fleet::builder()
        .devices(100)
        .cables(700)
        .seed(3)
        .start()
        .unwrap();
    let cables = fleet.cabling();
    assert_eq!(cables.len(), 700);
    let mut expected = BTreeSet::new();
    for c in &cables {
        assert_ne!(c.a.0, c.b.0, "no cable loops back: {c:?}");
        expected.insert((c.a.0.clone(), c.a.1.clone(), c.b.0.clone(), c.b.1.clone()));
        expected.insert((c.b.0.clone(), c.b.1.clone(), c.a.0.clone(), c.a.1.clone()));
    }
    let mut seen = BTreeSet::new();
    for d in fleet.devices() {
        let mut console = fleet.console(&d.name).unwrap();
        let detail = exec(&mut console, "show cdp neighbors detail");
        let links = cdp_detail(&detail);
        let brief = exec(&mut console, "sh cdp nei");
        assert!(
            brief.contains(&format!("Total cdp entries displayed : {}", links.len())),
            "{brief}"
        );
        for (local, remote, remote_port) in links {
            assert!(
                seen.insert((d.name.clone(), local.clone(), remote.clone(), remote_port)),
                "{} lists {local} twice",
                d.name
            );
        }
        // Every cabled port exists and is up on the device.
        let brief = exec(&mut console, "show ip interface brief");
        for c in cables.iter().filter(|c| c.a.0 == d.name) {
            assert!(
                brief.contains(&c.a.1),
                "{} has no {}: {brief}",
                d.name,
                c.a.1
            );
        }
    }
    assert_eq!(seen, expected, "both ends of every cable, nothing else");
    assert_eq!(
        fleet.cabling(),
        Fleet::builder()
            .devices(100)
            .cables(700)
            .seed(3)
            .start()
            .unwrap()
            .cabling(),
        "the same seed wires the same way"
    );
}

#[test]
fn neighbours_follow_shutdown_and_hostname_on_both_ends() {
    let fleet = Fleet::builder().devices(4).seed(5).start().unwrap();
    let cable = fleet.cabling()[0].clone();
    let (a, a_port) = cable.a.clone();
    let (b, b_port) = cable.b.clone();
    let neighbours = |name: &str| {
        cdp_detail(&exec(
            &mut fleet.console(name).unwrap(),
            "show cdp neighbors detail",
        ))
    };
    assert!(neighbours(&a).contains(&(a_port.clone(), b.clone(), b_port.clone())));

    // Rename b: a sees the new name.
    let mut cb = fleet.console(&b).unwrap();
    cb.input(b"enable\ncisco\nconfigure terminal\nhostname core-7\n");
    assert!(neighbours(&a).contains(&(a_port.clone(), "core-7".into(), b_port.clone())));

    // Shut b's port: neither end lists the cable any more.
    cb.input(format!("interface {b_port}\nshutdown\nend\n").as_bytes());
    assert!(
        !neighbours(&a).iter().any(|n| n.0 == a_port),
        "{:?}",
        neighbours(&a)
    );
    assert!(!neighbours(&b).iter().any(|n| n.0 == b_port));
    cb.input(format!("configure terminal\ninterface {b_port}\nno shutdown\nend\n").as_bytes());
    assert!(neighbours(&b).contains(&(b_port.clone(), a.clone(), a_port.clone())));
}

#[test]
fn arp_agrees_with_interfaces_and_cables() {
    let fleet = Fleet::builder().devices(3).seed(9).start().unwrap();
    let cable = fleet.cabling()[0].clone();
    let (a, a_port) = cable.a.clone();
    let (b, b_port) = cable.b.clone();
    let arp = |name: &str| exec(&mut fleet.console(name).unwrap(), "show ip arp");
    let entry = |table: &str, iface: &str, own: bool| -> Option<String> {
        table
            .lines()
            .filter(|l| l.starts_with("Internet") && l.trim_end().ends_with(iface))
            .find(|l| (l.split_whitespace().nth(2) == Some("-")) == own)
            .map(|l| l.split_whitespace().nth(3).unwrap().to_string())
    };
    let ta = arp(&a);
    assert!(ta.starts_with("Protocol  Address"), "{ta}");
    // Own addresses of the up, addressed interfaces; no loopback, no shut port.
    for (ip, iface) in [
        ("192.0.2.1 ", "Ethernet0/0"),
        ("192.0.2.65 ", "Ethernet0/1"),
        ("198.51.100.1 ", "Ethernet0/3"),
    ] {
        assert!(
            ta.lines()
                .any(|l| l.contains(ip) && l.contains(iface) && l.contains(" - ")),
            "{ip} on {iface}: {ta}"
        );
    }
    assert!(
        !ta.contains("Loopback0") && !ta.contains("Ethernet0/2"),
        "{ta}"
    );
    // The neighbour on a's cabled port has b's port address.
    let tb = arp(&b);
    let b_mac = entry(&tb, &b_port, true).expect("b's own entry");
    assert_eq!(entry(&ta, &a_port, false), Some(b_mac), "{ta}\n{tb}");
    // Configuration changes show at once.
    let mut ca = fleet.console(&a).unwrap();
    ca.input(
        b"enable\ncisco\nconf t\ninterface Ethernet0/3\nip address 10.9.9.9 255.255.255.0\nend\n",
    );
    let ta = arp(&a);
    assert!(ta.contains("10.9.9.9") && ta.contains("10.9.9.10"), "{ta}");
    assert!(!ta.contains("198.51.100.1 "), "{ta}");
}

#[test]
fn every_platform_answers_its_neighbour_and_memory_commands() {
    for (platform, ok, missing) in [
        (
            Platform::Ios,
            &[
                "show ip arp",
                "show arp",
                "show cdp neighbors",
                "show cdp neighbors detail",
                "show memory statistics",
                "show processes memory",
            ][..],
            &["show lldp neighbors"][..],
        ),
        (
            Platform::Iosxe,
            &[
                "show ip arp",
                "show cdp neighbors",
                "show memory statistics",
                "show processes memory",
            ][..],
            &[][..],
        ),
        (
            Platform::Nxos,
            &[
                "show ip arp",
                "show cdp neighbors",
                "show cdp neighbors detail",
                "show processes memory",
            ][..],
            &["show memory statistics"][..],
        ),
        (
            Platform::Eos,
            &["show ip arp", "show lldp neighbors"][..],
            &["show cdp neighbors", "show processes memory"][..],
        ),
        (
            Platform::Iosxr,
            &["show arp", "show cdp neighbors"][..],
            &[][..],
        ),
        (
            Platform::Junos,
            &["show arp", "show arp no-resolve", "show lldp neighbors"][..],
            &["show cdp neighbors"][..],
        ),
    ] {
        let fleet = Fleet::builder()
            .devices(3)
            .platform(platform)
            .start()
            .unwrap();
        let mut c = fleet.console("r1").unwrap();
        for cmd in ok {
            let out = exec(&mut c, cmd);
            assert!(out.lines().count() >= 2, "{platform} {cmd}: {out}");
        }
        for cmd in missing {
            assert_eq!(c.exec(cmd).exit_status, 1, "{platform} has no `{cmd}`");
        }
        // Two neighbours on a ring, on every platform that shows them.
        let shown = match platform {
            Platform::Eos | Platform::Junos => exec(&mut c, "show lldp neighbors"),
            _ => exec(&mut c, "show cdp neighbors"),
        };
        let names = fleet
            .devices()
            .iter()
            .filter(|d| {
                shown
                    .lines()
                    .any(|l| l.split_whitespace().any(|w| w == d.name))
            })
            .count();
        assert_eq!(names, 2, "{platform}: {shown}");
    }
}

#[test]
fn memory_figures_agree_between_commands_and_differ_per_device() {
    let fleet = Fleet::builder().devices(2).start().unwrap();
    let used = |name: &str| {
        let mut c = fleet.console(name).unwrap();
        let stats = exec(&mut c, "show memory statistics");
        let procs = exec(&mut c, "show processes memory");
        let from_stats: u64 = stats
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .nth(3)
            .unwrap()
            .parse()
            .unwrap();
        let pool = procs.lines().next().unwrap();
        assert!(
            pool.contains(&format!("Used: {from_stats:>10}")),
            "{stats}\n{procs}"
        );
        assert!(
            procs.trim_end().ends_with(&format!("{from_stats} Total")),
            "{procs}"
        );
        from_stats
    };
    assert_ne!(used("r1"), used("r2"));
    assert_eq!(used("r1"), used("r1"));
}

#[test]
fn show_commands_over_the_openssh_exec_channel() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder().devices(3));
    for cmd in ["show ip arp", "show cdp neighbors", "show processes memory"] {
        let out = lab
            .with_key("r1")
            .args(["cisco@127.0.0.1", cmd])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{cmd}: {stderr}");
        let mut c = lab.fleet.console("r1").unwrap();
        let direct = String::from_utf8(c.exec(cmd).output).unwrap();
        assert_eq!(stdout, direct, "{cmd} over SSH = the console's answer");
    }
}

/// `ssh ... show clock` on a device with a 3 s command latency: holds a
/// session that long.
fn slow_exec(lab: &crate::support::Lab) -> Child {
    lab.with_key("r1")
        .args(["cisco@127.0.0.1", "show clock"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn max_sessions_refuse_with_openssh() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(1)
        .latency(Duration::from_secs(3), Duration::ZERO)
        .max_sessions(2, SessionLimitMode::Refuse));
    let held = [slow_exec(&lab), slow_exec(&lab)];
    wait_for("two sessions", Duration::from_secs(10), || {
        lab.fleet.stats().commands >= 2
    });
    let out = lab
        .with_key("r1")
        .args(["cisco@127.0.0.1", "show clock"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("too many sessions: all 2 of r1 are in use"),
        "{stderr}"
    );
    assert_eq!(lab.fleet.stats().sessions_refused, 1);
    assert_eq!(
        lab.fleet.peak_sessions(),
        [("r1".to_string(), 2)],
        "the refused one was never served"
    );
    for child in held {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "held sessions finish: {}",
            text(&out).1
        );
    }
    wait_for("sessions to close", Duration::from_secs(10), || {
        lab.fleet.stats().active == 0
    });
    let out = lab
        .with_key("r1")
        .args(["cisco@127.0.0.1", "show version"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "a slot is free again: {}",
        text(&out).1
    );
    assert_eq!(lab.fleet.stats().sessions_refused, 1);
}

#[test]
fn max_sessions_queue_waits_for_a_free_session() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(1)
        .latency(Duration::from_secs(2), Duration::ZERO)
        .max_sessions(1, SessionLimitMode::Queue));
    let first = slow_exec(&lab);
    wait_for("the first session", Duration::from_secs(10), || {
        lab.fleet.stats().commands >= 1
    });
    let started = Instant::now();
    let second = slow_exec(&lab);
    wait_for("the second to queue", Duration::from_secs(10), || {
        lab.fleet.stats().sessions_queued == 1
    });
    assert_eq!(
        lab.fleet.stats().logins,
        1,
        "the queued one has not logged in"
    );
    assert!(first.wait_with_output().unwrap().status.success());
    let out = second.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "queued, then served: {}",
        text(&out).1
    );
    // It waited for the first one's command, then ran its own (2 s each).
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(lab.fleet.stats().sessions_refused, 0);
    assert_eq!(
        lab.fleet.peak_sessions(),
        [("r1".to_string(), 1)],
        "two sessions, one at a time"
    );
}

#[test]
fn auth_delay_is_the_cost_of_a_login() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(1)
        .auth_delay(Duration::from_millis(800)));
    let started = Instant::now();
    let out = lab
        .with_key("r1")
        .args(["cisco@127.0.0.1", "show clock"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let out = lab
        .with_password("r1", "wrong", "password")
        .args(["cisco@127.0.0.1", "show clock"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "a rejected login costs as much"
    );
}
