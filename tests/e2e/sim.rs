//! `fanout sim serve`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{fanout, finish, inventory};

/// Starts `fanout sim serve ARGS`, waits for its inventory, returns the
/// child and the inventory text.
pub(crate) fn serve(
    args: &[&str],
    inventory_out: &std::path::Path,
) -> (std::process::Child, String) {
    let mut child = fanout()
        .args(["sim", "serve"])
        .args(args)
        .arg("--inventory-out")
        .arg(inventory_out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !inventory_out.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = finish(child.wait_with_output().unwrap());
            panic!(
                "sim serve exited ({status}) before writing its inventory: {}",
                out.stderr
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the fleet never wrote its inventory"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(inventory_out).unwrap();
    (child, text)
}

pub(crate) fn stop(mut child: std::process::Child) -> crate::support::Run {
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("sim serve did not stop on Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    finish(child.wait_with_output().unwrap())
}

#[test]
fn serve_writes_a_checkable_inventory_and_stops_on_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, text) = serve(
        &["-n", "5", "--profile", "nxos", "--faults", "auth_fail=r2"],
        &inv,
    );
    assert!(text.contains("platform: nxos"), "{text}");
    assert!(text.contains("sim_faults: \"auth_fail\""), "{text}");
    let kh = std::fs::read_to_string(tmp.path().join("fleet_known_hosts")).unwrap();
    assert_eq!(kh.lines().count(), 5, "{kh}");
    let check = finish(
        fanout()
            .args(["inventory", "check", "-i"])
            .arg(&inv)
            .output()
            .unwrap(),
    );
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(check.stdout.contains("5 hosts"), "{}", check.stdout);
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("5 nxos devices listening on 127.0.0.1"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("stopped;"), "{}", r.stderr);
}

#[test]
fn serve_an_inventory_on_its_own_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("lab.yaml");
    // Each host keeps its own 127.x address (ports unlikely to be taken there).
    std::fs::write(
        &spec,
        "hosts:\n  edge1: {hostname: 127.0.0.21, port: 22021, platform: eos, username: ops, password: pw}\n  fw1: {hostname: 127.0.0.31, port: 22031, platform: junos, username: ops, password: pw, vars: {sim_latency: 5ms}}\n",
    )
    .unwrap();
    let out = tmp.path().join("served.yaml");
    let (child, text) = serve(&["-i", spec.to_str().unwrap()], &out);
    assert!(
        text.contains("\"edge1\": {hostname: \"127.0.0.21\""),
        "{text}"
    );
    assert!(
        text.contains("\"fw1\": {hostname: \"127.0.0.31\""),
        "{text}"
    );
    assert!(text.contains("username: \"ops\""), "{text}");
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn serve_refuses_non_loopback_inventories() {
    let inv = inventory("lab.example.yaml");
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "- {host: 192.0.2.10, username: u, password: p}\n").unwrap();
    let r = finish(
        fanout()
            .args(["sim", "serve", "-i"])
            .arg(&bad)
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("only listens on loopback"),
        "{}",
        r.stderr
    );
    // And a bad fault spec is a usage error naming the choices.
    let r = finish(
        fanout()
            .args(["sim", "serve", "--faults", "melt=5%"])
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("hang_on_command"), "{}", r.stderr);
    let _ = inv;
}

#[test]
fn fd_exhaustion_keeps_established_sessions_and_recovers() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let key = tmp.path().join("key");
    let (child, text) = serve(
        &[
            "-n",
            "1",
            "--fd-limit",
            "48",
            "--client-key-out",
            key.to_str().unwrap(),
        ],
        &inv,
    );
    let port: u16 = text
        .split("port: ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let known = tmp.path().join("fleet_known_hosts");
    let ssh = |extra: &[&str], command: Option<&str>| {
        let mut cmd = std::process::Command::new("ssh");
        cmd.args([
            "-F",
            "/dev/null",
            "-p",
            &port.to_string(),
            "-i",
            key.to_str().unwrap(),
        ])
        .args([
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
        ])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known.display()))
        .args(extra)
        .arg("cisco@127.0.0.1")
        .args(command);
        cmd
    };
    // An interactive session, established before the descriptors run out.
    let mut session = ssh(&["-tt"], None)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut to_device = session.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let from_device = session.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(from_device)
            .split(b'\n')
            .map_while(Result::ok)
        {
            let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
        }
    });
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100))
                && line.contains(needle)
            {
                return true;
            }
        }
        false
    };
    writeln!(to_device, "show clock").unwrap();
    assert!(wait_for("UTC"), "the session works before exhaustion");

    // Eat every descriptor the fleet has left with idle TCP connections.
    let hogs: Vec<TcpStream> = (0..80)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let refused = ssh(&["-o", "ConnectTimeout=2"], Some("show clock"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "a new login cannot be served while out of descriptors"
    );

    writeln!(to_device, "show version").unwrap();
    assert!(
        wait_for("Cisco IOS Software"),
        "the established session survives exhaustion"
    );

    drop(hogs);
    std::thread::sleep(Duration::from_millis(500));
    let ok = ssh(&["-o", "ConnectTimeout=2"], Some("show clock"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "the device accepts again once descriptors free up: {}",
        String::from_utf8_lossy(&ok.stderr)
    );

    drop(to_device);
    let _ = session.kill();
    let _ = session.wait();
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let survived: usize = r
        .stderr
        .split("accepting a connection failed ")
        .nth(1)
        .unwrap_or_else(|| panic!("no accept failures reported: {}", r.stderr))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(r.stderr.contains("the fleet kept serving"), "{}", r.stderr);
    assert!(survived > 0, "{}", r.stderr);
}

#[test]
fn exec_and_cli_run_over_ssh_on_every_executor() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, _) = serve(&["-n", "3", "--faults", "auth_fail=r3"], &inv);
    let inv = inv.to_str().unwrap();
    for executor in ["seq", "threads", "rayon", "process", "async"] {
        for task in [
            &["exec", "show", "version"][..],
            &["cli", "--enable", "show clock"],
        ] {
            let mut args = vec!["run", "-i", inv, "-e", executor, "--format", "jsonl"];
            args.extend_from_slice(task);
            let r = crate::support::run(&args);
            assert_eq!(r.code, 1, "r3 fails, so exit 1: {}", r.stderr);
            let lines = crate::support::json_lines(&r.stdout);
            assert_eq!(lines.len(), 4, "{}", r.stdout);
            for host in &lines[..3] {
                let expected = if host["host"] == "r3" { "failed" } else { "ok" };
                assert_eq!(host["status"], expected, "{executor} {task:?}: {host}");
            }
            let summary = &lines[3]["summary"];
            assert_eq!(summary["executor"], executor);
            assert_eq!(
                (summary["ok"].as_u64(), summary["failed"].as_u64()),
                (Some(2), Some(1))
            );
        }
    }
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn host_keys_off_is_warned_once_and_known_hosts_files_are_searched_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, _) = serve(&["-n", "2"], &inv);
    let inv = inv.to_str().unwrap();
    // An empty --known-hosts comes first; the inventory's known_hosts still
    // vouches for the devices under strict.
    let empty = tmp.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    let r = crate::support::run(&[
        "run",
        "-i",
        inv,
        "-e",
        "seq",
        "--known-hosts",
        empty,
        "exec",
        "show",
        "clock",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("OFF"), "{}", r.stderr);
    let r = crate::support::run(&[
        "run",
        "-i",
        inv,
        "-e",
        "threads",
        "--host-keys",
        "off",
        "exec",
        "show",
        "clock",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr
            .matches("host-key verification is OFF for 2 of 2 hosts")
            .count(),
        1,
        "{}",
        r.stderr
    );
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn serve_teaching_flags_cabling_session_limit_login_cost() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, _) = serve(
        &[
            "-n",
            "3",
            "--cables",
            "3",
            "--max-sessions",
            "1",
            "--max-sessions-mode",
            "queue",
            "--auth-delay",
            "50ms",
        ],
        &inv,
    );
    let r = crate::support::run(&[
        "run",
        "-i",
        inv.to_str().unwrap(),
        "-e",
        "async",
        "--format",
        "jsonl",
        "exec",
        "show",
        "cdp",
        "neighbors",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let lines = crate::support::json_lines(&r.stdout);
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    for host in &lines[..3] {
        let text = host.to_string();
        assert!(
            text.contains("Total cdp entries displayed : 2"),
            "a ring of 3: two neighbours each: {host}"
        );
    }
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("0 sessions refused"), "{}", r.stderr);

    // A mode without a limit, and a bad mode, are usage errors.
    for args in [
        &["--max-sessions-mode", "queue"][..],
        &["--max-sessions", "2", "--max-sessions-mode", "drop"],
    ] {
        let r = finish(fanout().args(["sim", "serve"]).args(args).output().unwrap());
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    let r = finish(
        fanout()
            .args([
                "sim",
                "serve",
                "--max-sessions",
                "2",
                "--max-sessions-mode",
                "drop",
            ])
            .output()
            .unwrap(),
    );
    assert!(r.stderr.contains("refuse or queue"), "{}", r.stderr);

    // Per host from an inventory: one session, refused beyond it. A bare
    // TCP connection takes the slot (a vty line is taken at accept time).
    // (An inventory names its ports: take a free one on 127.0.0.51.)
    let port = std::net::TcpListener::bind("127.0.0.51:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = tmp.path().join("lab.yaml");
    std::fs::write(
        &spec,
        format!(
            "hosts:\n  r1: {{hostname: 127.0.0.51, port: {port}, vars: {{sim_max_sessions: \"1\", sim_max_sessions_mode: refuse}}}}\n"
        ),
    )
    .unwrap();
    let served = tmp.path().join("served.yaml");
    let key = tmp.path().join("key");
    let (child, _) = serve(
        &[
            "-i",
            spec.to_str().unwrap(),
            "--client-key-out",
            key.to_str().unwrap(),
        ],
        &served,
    );
    let hog = std::net::TcpStream::connect(("127.0.0.51", port)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = std::process::Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-p",
            &port.to_string(),
            "-i",
            key.to_str().unwrap(),
        ])
        .args(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args(["cisco@127.0.0.51", "show clock"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("too many sessions"), "{stderr}");
    drop(hog);
    let r = stop(child);
    assert!(r.stderr.contains("1 sessions refused"), "{}", r.stderr);
}

#[test]
fn serve_max_startups_drops_and_counts() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, text) = serve(&["-n", "1", "--max-startups", "1"], &inv);
    let port: u16 = text
        .split("port: ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // One unauthenticated connection is all MaxStartups 1 allows: the next
    // is closed before the banner.
    let held = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut banner = [0u8; 8];
    (&held).read_exact(&mut banner).unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
    let mut dropped = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    dropped
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = dropped.read_to_end(&mut buf);
    assert!(buf.is_empty(), "no banner: {buf:?}");
    drop(held);
    let r = stop(child);
    assert!(
        r.stderr.contains("1 connections dropped by max-startups"),
        "{}",
        r.stderr
    );
    let r = finish(
        fanout()
            .args(["sim", "serve", "--max-startups", "10:130:100"])
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("START:RATE:FULL"), "{}", r.stderr);
}

#[test]
fn serve_telnet_writes_transport_telnet_and_logs_in() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, text) = serve(&["-n", "2", "--telnet"], &inv);
    assert_eq!(text.matches("transport: telnet").count(), 2, "{text}");
    assert!(!text.contains("known_hosts:"), "{text}");
    let port: u16 = text
        .split("port: ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Plain text is enough for the dialog: the device's option offers
    // (IAC WILL ECHO, IAC WILL SGA) need no answer.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut read_until = |s: &mut std::net::TcpStream, needle: &str| {
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&got).contains(needle) {
            let n = s.read(&mut buf).unwrap_or_else(|e| {
                panic!(
                    "{e} waiting for {needle:?}: {:?}",
                    String::from_utf8_lossy(&got)
                )
            });
            assert!(
                n > 0,
                "closed before {needle:?}: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got).into_owned();
        got.clear();
        text
    };
    read_until(&mut s, "Username: ");
    s.write_all(b"cisco\r\ncisco\r\n").unwrap();
    read_until(&mut s, "r1>");
    s.write_all(b"terminal length 0\r\n").unwrap();
    read_until(&mut s, "r1>");
    s.write_all(b"show version\r\n").unwrap();
    let out = read_until(&mut s, "r1>");
    assert!(out.contains("Cisco IOS Software"), "{out}");
    drop(s);
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("listening (telnet) on 127.0.0.1"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("1 logins"), "{}", r.stderr);
}

#[test]
fn serve_bastions_write_an_ssh_config_openssh_follows() {
    let have_ssh = std::process::Command::new("ssh")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_ssh {
        assert!(std::env::var_os("CI").is_none(), "CI must install ssh");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let cfg = tmp.path().join("ssh_config");
    let key = tmp.path().join("id_ed25519");
    let (child, text) = serve(
        &[
            "-n",
            "3",
            "--bastions",
            "2",
            "--client-key-out",
            key.to_str().unwrap(),
            "--ssh-config-out",
            cfg.to_str().unwrap(),
        ],
        &inv,
    );
    assert!(text.contains("through bastions b1 then b2"), "{text}");
    let config = std::fs::read_to_string(&cfg).unwrap();
    assert!(config.contains("ProxyJump b1,b2"), "{config}");
    assert!(config.contains("IdentityFile"), "{config}");
    let out = std::process::Command::new("ssh")
        .arg("-F")
        .arg(&cfg)
        .args(["-o", "BatchMode=yes", "r3", "show version"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("r3 uptime is"), "{stdout}");
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("bastion b2:"), "{}", r.stdout);
    assert!(
        r.stdout.contains("(reachable only through b1)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("bastion b1: ") && r.stderr.contains(" 1 channels forwarded"),
        "{}",
        r.stderr
    );
}

#[test]
fn serve_keeps_serving_when_its_stdout_is_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    // `fanout sim serve | head -0`: the reader is gone before the first
    // line, so every write to stdout fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = fanout()
        .args(["sim", "serve", "-n", "3", "--inventory-out"])
        .arg(&inv)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !inv.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "sim serve exited early"
        );
        assert!(start.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still serving after its listing failed to print"
    );
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(r.stderr.contains("stopped;"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("accept"),
        "no accept failures: {}",
        r.stderr
    );
}
