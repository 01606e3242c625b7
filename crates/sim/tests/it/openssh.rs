//! The fleet against the real OpenSSH client (`ssh`, installed by .ci/run):
//! key and password logins, exec, an interactive enable/config session, and
//! what a client sees of every fault knob.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fanout_sim::Fleet;

use crate::support::{Lab, have_ssh, lab, lab_in, run_with_limit, text};

#[test]
fn openssh_exec_with_key_and_with_password() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder().devices(2));
    let out = lab
        .with_key("r1")
        .args(["cisco@127.0.0.1", "show version"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "key exec failed: {stderr}");
    assert!(stdout.contains("Cisco IOS"), "{stdout}");
    assert!(
        !stdout.contains("r1#"),
        "exec output carries no prompt: {stdout}"
    );

    for method in ["password", "keyboard-interactive"] {
        let out = lab
            .with_password("r2", "cisco", method)
            .args(["cisco@127.0.0.1", "show version"])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{method} exec failed: {stderr}");
        assert!(stdout.contains("Cisco IOS"), "{stdout}");
    }
    let out = lab
        .with_password("r2", "wrong", "password")
        .args(["cisco@127.0.0.1", "show version"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("Permission denied"),
        "{}",
        text(&out).1
    );
    assert!(lab.fleet.stats().auth_failures >= 1);
}

#[test]
fn openssh_interactive_enable_config_hostname() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder().devices(1));
    let mut child = lab
        .with_key("r1")
        .args(["-tt", "cisco@127.0.0.1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        "enable",
        "cisco",
        "configure terminal",
        "hostname X",
        "end",
        "show running-config | include hostname",
        "exit",
    ] {
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(stdout.contains("r1>"), "user prompt: {stdout}\n{stderr}");
    assert!(stdout.contains("Password:"), "{stdout}");
    assert!(stdout.contains("r1#"), "enable prompt: {stdout}");
    assert!(stdout.contains("r1(config)#"), "config prompt: {stdout}");
    assert!(
        stdout.contains("X(config)#"),
        "hostname changes the prompt at once: {stdout}"
    );
    assert!(stdout.contains("X#"), "end returns to X#: {stdout}");
    assert!(
        !stdout.contains("cisco\r"),
        "the secret is never echoed: {stdout}"
    );
    // The new hostname is running config: a new session sees it.
    let out = lab
        .with_key("r1")
        .args(["cisco@127.0.0.1", "show running-config"])
        .output()
        .unwrap();
    assert!(text(&out).0.contains("hostname X"), "{}", text(&out).0);
}

#[test]
fn faults_refuse_auth_fail_wrong_key_legacy() {
    if !have_ssh() {
        return;
    }
    let spec = "refuse=r1,auth_fail=r2,wrong_host_key=r3,legacy_algorithms=r4"
        .parse()
        .unwrap();
    let lab = lab(Fleet::builder().devices(4).faults(spec));
    let exec = |name: &str| {
        text(
            &lab.with_key(name)
                .args(["cisco@127.0.0.1", "show clock"])
                .output()
                .unwrap(),
        )
    };

    assert!(
        exec("r1").1.contains("Connection refused"),
        "{:?}",
        exec("r1")
    );
    // The refusing device keeps its port: nobody else (another fleet of a
    // parallel test) can listen there and answer in its place.
    let r1 = lab.fleet.devices().iter().find(|d| d.name == "r1").unwrap();
    let taken = std::net::TcpListener::bind((r1.address, r1.port));
    assert_eq!(
        taken.map(|_| ()).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::AddrInUse)
    );
    assert!(
        exec("r2").1.contains("Permission denied"),
        "{:?}",
        exec("r2")
    );
    let (_, err) = exec("r3");
    assert!(
        err.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || err.contains("Host key verification failed"),
        "{err}"
    );
    let (_, err) = exec("r4");
    assert!(
        err.contains("no matching key exchange method found"),
        "{err}"
    );
    assert!(
        err.contains("diffie-hellman-group14-sha1"),
        "the client sees what the device offers: {err}"
    );
    let out = lab
        .with_key("r4")
        .args([
            "-o",
            "KexAlgorithms=+diffie-hellman-group14-sha1",
            "-o",
            "Ciphers=+aes128-cbc",
            "-o",
            "MACs=+hmac-sha1",
        ])
        .args(["cisco@127.0.0.1", "show clock"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "legacy device works once old algorithms are allowed: {}",
        text(&out).1
    );
}

#[test]
fn faults_that_hang_or_slow_or_drop() {
    if !have_ssh() {
        return;
    }
    let spec = "hang_on_connect=r1,hang_on_command=r2,drop_mid_output=r3,slow_banner=r4"
        .parse()
        .unwrap();
    let lab = lab(Fleet::builder()
        .devices(4)
        .faults(spec)
        .slow_banner_delay(Duration::from_millis(1200)));

    let mut cmd = lab.with_key("r1");
    cmd.args(["-o", "ConnectTimeout=1", "cisco@127.0.0.1", "show clock"]);
    let (out, killed) = run_with_limit(cmd, Duration::from_secs(10));
    assert!(!killed && !out.status.success());
    assert!(text(&out).1.contains("banner exchange"), "{}", text(&out).1);

    let mut cmd = lab.with_key("r2");
    cmd.args(["cisco@127.0.0.1", "show clock"]);
    let (out, killed) = run_with_limit(cmd, Duration::from_millis(1500));
    assert!(killed, "a hung command never answers: {:?}", text(&out));
    assert!(text(&out).0.is_empty());

    let out = lab
        .with_key("r3")
        .args(["cisco@127.0.0.1", "show running-config"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "a dropped connection is an error: {stdout}"
    );
    assert!(
        stdout.contains("hostname") || !stdout.is_empty(),
        "part of the output arrives: {stdout:?} {stderr}"
    );
    assert!(
        !stdout.trim_end().ends_with("end"),
        "but not all of it: {stdout}"
    );

    let start = Instant::now();
    let out = lab
        .with_key("r4")
        .args(["cisco@127.0.0.1", "show clock"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(
        start.elapsed() >= Duration::from_millis(1200),
        "slow banner took {:?}",
        start.elapsed()
    );
}

#[test]
fn latency_delays_each_command() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(1)
        .latency(Duration::from_millis(400), Duration::ZERO));
    let start = Instant::now();
    let out = lab
        .with_key("r1")
        .args(["cisco@127.0.0.1", "show clock"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn inventory_and_known_hosts_are_written() {
    let lab = lab(Fleet::builder().devices(3).base_port(0));
    let inv = std::fs::read_to_string(lab.fleet.inventory_path()).unwrap();
    assert!(inv.contains("known_hosts: \"fleet_known_hosts\""), "{inv}");
    let kh = std::fs::read_to_string(lab.fleet.known_hosts_path()).unwrap();
    assert_eq!(kh.lines().count(), 3);
    for d in lab.fleet.devices() {
        assert!(
            kh.contains(&format!("[127.0.0.1]:{} ssh-ed25519 ", d.port)),
            "{kh}"
        );
        assert!(inv.contains(&format!("port: {}", d.port)), "{inv}");
    }
    let parsed = fanout_inventory_check(lab.fleet.inventory_path());
    assert_eq!(parsed, 3);
    // Same seed, same keys.
    let again = lab_in(Fleet::builder().devices(3));
    let kh2 = std::fs::read_to_string(again.0.known_hosts_path()).unwrap();
    let keys = |s: &str| {
        s.lines()
            .map(|l| l.split_once(' ').unwrap().1.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&kh), keys(&kh2));
}

/// Hosts in an inventory file, counted without depending on fanout-inventory.
fn fanout_inventory_check(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains("hostname:"))
        .count()
}

#[test]
fn non_loopback_addresses_are_refused() {
    let err = Fleet::builder()
        .address("192.0.2.1".parse().unwrap())
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[test]
fn endless_output_never_ends() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(1)
        .faults("endless_output=r1".parse().unwrap()));
    let mut cmd = lab.with_key("r1");
    // stdin is /dev/null: OpenSSH sends EOF at once, which must not stop
    // the stream.
    cmd.args(["cisco@127.0.0.1", "show clock"]);
    let (out, killed) = run_with_limit(cmd, Duration::from_millis(1500));
    let (stdout, stderr) = text(&out);
    assert!(killed, "endless output ended: {stdout:?} {stderr}");
    let lines = stdout.matches(fanout_sim::Fault::ENDLESS_LINE).count();
    assert!(lines > 100, "output keeps coming ({lines} lines): {stderr}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while lab.fleet.stats().active > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        lab.fleet.stats().active,
        0,
        "the device ends the stream once the client is gone"
    );
}

/// The `~/.ssh/config` of the source material (`+ssh-rsa`,
/// `+diffie-hellman-group-exchange-sha1`) against a legacy device: group
/// exchange with SHA-1, an RSA host key checked against known_hosts.
#[test]
fn legacy_device_group_exchange_sha1_and_rsa_host_key() {
    if !have_ssh() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(2)
        .seed(11)
        .faults("legacy_algorithms=r2".parse().unwrap()));
    let kh = std::fs::read_to_string(lab.fleet.known_hosts_path()).unwrap();
    let port = |n: &str| lab.port(n);
    let lines_of = |n: &str| -> Vec<&str> {
        kh.lines()
            .filter(|l| l.starts_with(&format!("[127.0.0.1]:{} ", port(n))))
            .collect()
    };
    assert_eq!(lines_of("r1").len(), 1, "{kh}");
    let r2 = lines_of("r2");
    assert_eq!(r2.len(), 2, "ed25519 and rsa: {kh}");
    assert!(
        r2[0].contains(" ssh-ed25519 ") && r2[1].contains(" ssh-rsa "),
        "{kh}"
    );

    let legacy = |lab: &Lab| {
        let mut cmd = lab.with_key("r2");
        cmd.args([
            "-v",
            "-o",
            "KexAlgorithms=diffie-hellman-group-exchange-sha1",
            "-o",
            "HostKeyAlgorithms=ssh-rsa",
            "-o",
            "Ciphers=aes128-cbc",
            "-o",
            "MACs=hmac-sha1",
        ])
        .args(["cisco@127.0.0.1", "show version"]);
        cmd
    };
    let out = legacy(&lab).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "legacy login failed: {stderr}");
    assert!(stdout.contains("Cisco IOS"), "{stdout}");
    assert!(
        stderr.contains("kex: algorithm: diffie-hellman-group-exchange-sha1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Server host key: ssh-rsa SHA256:"),
        "{stderr}"
    );
    assert!(stderr.contains("matches the RSA host key"), "{stderr}");

    // The RSA line is what verified it: without it strict checking fails.
    let only_ed25519: String = kh
        .lines()
        .filter(|l| !l.contains(" ssh-rsa "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(lab.fleet.known_hosts_path(), only_ed25519).unwrap();
    let out = legacy(&lab).output().unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("Host key verification failed"),
        "{}",
        text(&out).1
    );

    // The same seed gives the same keys (ports aside).
    let again = lab_in(
        Fleet::builder()
            .devices(2)
            .seed(11)
            .faults("legacy_algorithms=r2".parse().unwrap()),
    );
    let keys = |s: &str| {
        s.lines()
            .map(|l| l.split_once(' ').unwrap().1.to_string())
            .collect::<Vec<_>>()
    };
    let kh2 = std::fs::read_to_string(again.0.known_hosts_path()).unwrap();
    assert_eq!(keys(&kh), keys(&kh2));
}
