//! Bastions against the real OpenSSH client: `ssh -F <written ssh_config>
//! r1 'show version'` through one jump host and through a chain of two,
//! what a bastion refuses (other destinations, a shell, direct connections
//! to an inner bastion, MaxStartups), and its counters.

use std::process::{Command, Stdio};
use std::time::Duration;

use fanout_sim::Fleet;

use crate::support::{Lab, have_ssh, lab, run_with_limit, text};

/// `ssh -F <the fleet's ssh_config>` with key auth only.
fn ssh_f(lab: &Lab) -> Command {
    let mut cmd = Command::new("ssh");
    cmd.arg("-F")
        .arg(
            lab.fleet
                .ssh_config_path()
                .expect("an ssh_config is written"),
        )
        .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=5"])
        .stdin(Stdio::null());
    cmd
}

#[test]
fn openssh_proxyjump_through_one_bastion() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder().devices(3).bastions(1));
    let b = &lab.fleet.bastions()[0];
    assert_eq!((b.name.as_str(), b.username.as_str()), ("b1", "jump"));
    assert!(b.known_hosts_line.contains(" ssh-ed25519 AAAA"));
    let config = std::fs::read_to_string(lab.fleet.ssh_config_path().unwrap()).unwrap();
    assert!(config.contains("\nHost r2\n"), "{config}");
    assert!(config.contains("  ProxyJump b1\n"), "{config}");
    assert!(config.contains(&format!("  Port {}\n", b.port)), "{config}");
    let known = std::fs::read_to_string(lab.fleet.known_hosts_path()).unwrap();
    assert!(known.contains(&b.known_hosts_line), "{known}");

    let (out, killed) = run_with_limit(
        {
            let mut c = ssh_f(&lab);
            c.args(["r2", "show version"]);
            c
        },
        Duration::from_secs(30),
    );
    let (stdout, stderr) = text(&out);
    assert!(!killed && out.status.success(), "{stderr}");
    assert!(stdout.contains("Cisco IOS"), "{stdout}");
    assert!(stdout.contains("r2 uptime is"), "{stdout}");
    let s = lab.fleet.bastion_stats()[0];
    assert_eq!((s.channels, s.forwards_refused), (1, 0), "{s:?}");
    assert_eq!(s.peak_forwarding, 1, "one forward at a time: {s:?}");
    assert!(s.logins >= 1 && s.connections >= 1, "{s:?}");
    assert_eq!(lab.fleet.stats().logins, 1, "the device saw one login");

    // The inventory still lists the devices directly.
    let inv = std::fs::read_to_string(lab.fleet.inventory_path()).unwrap();
    assert!(inv.contains("through bastion b1"), "{inv}");
    assert!(!inv.contains("jump"), "no jump key yet: {inv}");
}

#[test]
fn bastion_refuses_other_destinations_and_shells() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder().devices(1).bastions(1));
    let b = lab.fleet.bastions()[0].clone();
    // A port that is not a device: refused with a message saying what is allowed.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other_port = other.local_addr().unwrap().port();
    let mut cmd = ssh_f(&lab);
    cmd.args(["-W", &format!("127.0.0.1:{other_port}"), "b1"]);
    let (out, killed) = run_with_limit(cmd, Duration::from_secs(30));
    let (_, stderr) = text(&out);
    assert!(!killed && !out.status.success());
    assert!(stderr.contains("administratively prohibited"), "{stderr}");
    assert!(
        stderr.contains("forwards only to the 1 devices of its fleet"),
        "{stderr}"
    );
    // No shell on a bastion.
    let mut cmd = ssh_f(&lab);
    cmd.args(["b1", "id"]);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(30));
    assert!(!out.status.success());
    assert!(text(&out).1.contains("opens no shell"), "{}", text(&out).1);
    // Password login works with the bastion's own password, not the devices'.
    assert_eq!(b.password, "jump");
    let s = lab.fleet.bastion_stats()[0];
    assert_eq!((s.channels, s.forwards_refused), (0, 1), "{s:?}");
}

#[test]
fn openssh_proxyjump_chain_of_two_bastions() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(2)
        .platform(fanout_core::Platform::Nxos)
        .bastions(2));
    let bs = lab.fleet.bastions().to_vec();
    assert_eq!(bs.len(), 2);
    assert_eq!(bs[1].via.as_deref(), Some("b1"));
    let config = std::fs::read_to_string(lab.fleet.ssh_config_path().unwrap()).unwrap();
    assert!(config.contains("  ProxyJump b1,b2\n"), "{config}");
    let b2 = config.split("\nHost b2\n").nth(1).unwrap();
    assert!(
        b2.split("\nHost ")
            .next()
            .unwrap()
            .contains("ProxyJump b1\n"),
        "{config}"
    );

    let mut cmd = ssh_f(&lab);
    cmd.args(["r1", "show version"]);
    let (out, killed) = run_with_limit(cmd, Duration::from_secs(30));
    let (stdout, stderr) = text(&out);
    assert!(!killed && out.status.success(), "{stderr}");
    assert!(stdout.contains("Device name: r1"), "{stdout}");
    let s = lab.fleet.bastion_stats();
    assert_eq!(s[0].channels, 1, "b1 forwarded to b2: {s:?}");
    assert_eq!(s[1].channels, 1, "b2 forwarded to the device: {s:?}");

    // b2 is only reachable through b1: a direct connection is closed.
    let mut cmd = Command::new("ssh");
    cmd.args([
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
    ])
    .args([
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
    ])
    .args(["-p", &bs[1].port.to_string(), "jump@127.0.0.1", "id"])
    .stdin(Stdio::null());
    let (out, killed) = run_with_limit(cmd, Duration::from_secs(30));
    assert!(!killed && !out.status.success(), "{}", text(&out).1);
    assert_eq!(lab.fleet.bastion_stats()[1].direct_refused, 1);
    // b1 forwards only to b2, not to a device.
    let dev = lab.fleet.devices()[0].port;
    let mut cmd = ssh_f(&lab);
    cmd.args(["-W", &format!("127.0.0.1:{dev}"), "b1"]);
    let (out, _) = run_with_limit(cmd, Duration::from_secs(30));
    let stderr = text(&out).1;
    assert!(!out.status.success());
    assert!(
        stderr.contains("forwards only to the next bastion, b2"),
        "{stderr}"
    );
}

#[test]
fn bastion_max_startups_drops_parallel_logins() {
    use std::io::Read;
    let lab = lab(Fleet::builder()
        .devices(1)
        .bastions(1)
        .bastion_max_startups("2".parse().unwrap()));
    let b = &lab.fleet.bastions()[0];
    // Two connections that never authenticate fill MaxStartups 2: the
    // third is dropped at once (EOF before any banner).
    let hold: Vec<_> = (0..2)
        .map(|_| {
            let mut s = std::net::TcpStream::connect((b.address, b.port)).unwrap();
            let mut banner = [0u8; 8];
            s.read_exact(&mut banner).unwrap();
            assert_eq!(&banner, b"SSH-2.0-");
            s
        })
        .collect();
    let mut third = std::net::TcpStream::connect((b.address, b.port)).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 8];
    let n = third.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "dropped before the banner");
    assert_eq!(lab.fleet.bastion_stats()[0].startups_dropped, 1);
    drop(hold);
}
