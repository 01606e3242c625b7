//! `fanout doctor`: each finding's pass and fail case, against this
//! machine's real limits (lowered on the child with prlimit), hand-written
//! inventories, known_hosts and ssh_configs, and 127.0.0.1 ports only.

use std::path::Path;

use crate::support::{Run, fanout, finish};

/// Two valid ed25519 public keys (wire format, base64).
const KEY_1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB";
const KEY_2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIAICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC";

/// `fanout doctor ARGS` with HOME in `home` (no ~/.ssh/known_hosts of the
/// user's), optionally under `prlimit --nofile=LIMITS`.
fn doctor(home: &Path, nofile: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = match nofile {
        Some(limits) => {
            let mut c = std::process::Command::new("prlimit");
            c.arg(format!("--nofile={limits}"))
                .arg(env!("CARGO_BIN_EXE_fanout"));
            c
        }
        None => fanout(),
    };
    cmd.current_dir(home)
        .env("HOME", home)
        .arg("doctor")
        .args(args);
    finish(cmd.output().expect("fanout doctor runs"))
}

/// The line of finding `check`, e.g. `FAIL open files: ...`.
fn line<'a>(run: &'a Run, check: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.split_once(": ").is_some_and(|(h, _)| h.ends_with(check)))
        .unwrap_or_else(|| panic!("no `{check}` finding in:\n{}{}", run.stdout, run.stderr))
}

fn level<'a>(run: &'a Run, check: &str) -> &'a str {
    line(run, check).split_whitespace().next().unwrap()
}

#[test]
fn open_files_ok_raised_and_failing_with_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let fits = doctor(
        home.path(),
        Some("4096:4096"),
        &["-e", "threads", "-c", "100"],
    );
    assert_eq!(level(&fits, "open files"), "ok", "{}", fits.stdout);
    assert_eq!(fits.code, 0, "{}{}", fits.stdout, fits.stderr);
    let raised = doctor(
        home.path(),
        Some("64:4096"),
        &["-e", "threads", "-c", "100"],
    );
    assert_eq!(level(&raised, "open files"), "ok");
    assert!(
        line(&raised, "open files").contains("raises it toward the hard limit 4096"),
        "{}",
        raised.stdout
    );
    let fails = doctor(home.path(), Some("64:64"), &["-e", "threads", "-c", "100"]);
    let l = line(&fails, "open files");
    assert!(l.starts_with("FAIL"), "{l}");
    // The executors' own estimate and advice.
    assert!(
        l.contains("-c 100 pool threads running cli hosts need about")
            && l.contains("lower -c to ")
            && l.contains("only an administrator can raise it"),
        "{l}"
    );
    assert_eq!(fails.code, 1);
}

#[test]
fn threads_and_memory_fit_a_small_pool_not_a_huge_one() {
    let home = tempfile::tempdir().unwrap();
    let small = doctor(home.path(), None, &["-e", "process", "-c", "4"]);
    assert_eq!(level(&small, "threads"), "ok", "{}", small.stdout);
    assert_eq!(level(&small, "memory"), "ok", "{}", small.stdout);
    assert!(
        line(&small, "memory").contains("7.4 MiB + 1.9 MiB each"),
        "{}",
        small.stdout
    );
    // 2,000,000 workers of 4 tasks each: more than kernel.pid_max can ever
    // be (4,194,304), and terabytes of memory.
    let huge = doctor(home.path(), None, &["-e", "process", "-c", "2000000"]);
    assert_eq!(huge.code, 1);
    let t = line(&huge, "threads");
    assert!(t.starts_with("FAIL") && t.contains("lower -c to "), "{t}");
    let m = line(&huge, "memory");
    assert!(m.starts_with("FAIL") && m.contains("use -e async"), "{m}");
    // The thread pools' own cap.
    let pool = doctor(home.path(), None, &["-e", "threads", "-c", "20000"]);
    let t = line(&pool, "threads");
    assert!(
        t.starts_with("FAIL") && t.contains("more than its 10000"),
        "{t}"
    );
    // async hosts are tasks, not threads.
    let tasks = doctor(home.path(), None, &["-e", "async", "-c", "10000"]);
    assert!(
        line(&tasks, "threads").starts_with("ok")
            && line(&tasks, "threads").contains("no thread or process per host"),
        "{}",
        tasks.stdout
    );
}

/// An inventory of `n` hosts `r1..` at 127.0.0.1 ports `base+i` (all on
/// `base` when `same_port`).
fn inventory(dir: &Path, n: usize, base: u16, same_port: bool) -> String {
    let mut text = String::new();
    for i in 0..n {
        let port = if same_port { base } else { base + i as u16 };
        text.push_str(&format!(
            "- {{name: r{}, host: 127.0.0.1, port: {port}, username: u, password: x}}\n",
            i + 1
        ));
    }
    let path = dir.join("inv.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn local_ports_against_hosts_per_minute_to_one_address() {
    let home = tempfile::tempdir().unwrap();
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let bounds: Vec<u64> = range
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let size = (bounds[1] - bounds[0] + 1) as usize;
    // One more host behind one address:port than there are local ports.
    let inv = inventory(home.path(), size + 1, 2222, true);
    let kh = home.path().join("kh");
    std::fs::write(&kh, format!("[127.0.0.1]:2222 ssh-ed25519 {KEY_1}\n")).unwrap();
    let kh = kh.display().to_string();
    let crowded = doctor(home.path(), None, &["-i", &inv, "--known-hosts", &kh]);
    let l = line(&crowded, "local ports");
    assert!(l.starts_with("FAIL"), "{l}");
    assert!(
        l.contains(&format!("127.0.0.1:2222, serves {} hosts", size + 1))
            && l.contains("--connect-rate ")
            && l.contains("ip_local_port_range"),
        "{l}"
    );
    assert_eq!(crowded.code, 1);
    // Paced at 10 a second, 600 a minute hold at most 600 ports.
    let paced = doctor(
        home.path(),
        None,
        &["-i", &inv, "--known-hosts", &kh, "--connect-rate", "10/s"],
    );
    assert_eq!(level(&paced, "local ports"), "ok", "{}", paced.stdout);
    assert_eq!(paced.code, 0, "{}", paced.stdout);
}

#[test]
fn known_hosts_missing_two_hosts_names_them() {
    let home = tempfile::tempdir().unwrap();
    let inv = inventory(home.path(), 4, 2201, false);
    let kh = home.path().join("kh");
    std::fs::write(
        &kh,
        format!("[127.0.0.1]:2201 ssh-ed25519 {KEY_1}\n[127.0.0.1]:2202 ssh-ed25519 {KEY_2}\n"),
    )
    .unwrap();
    let kh = kh.display().to_string();
    let run = doctor(home.path(), None, &["-i", &inv, "--known-hosts", &kh]);
    let l = line(&run, "known_hosts");
    assert!(
        l.starts_with("FAIL")
            && l.contains(&format!("2 of 4 hosts have no key on record in {kh}"))
            && l.contains(": r3, r4;"),
        "{l}"
    );
    assert!(l.contains("ssh-keyscan"), "{l}");
    assert_eq!(run.code, 1);
    let lenient = doctor(
        home.path(),
        None,
        &[
            "-i",
            &inv,
            "--known-hosts",
            &kh,
            "--host-keys",
            "accept-new",
        ],
    );
    assert_eq!(level(&lenient, "known_hosts"), "warn", "{}", lenient.stdout);
    assert_eq!(lenient.code, 0, "{}", lenient.stdout);
    std::fs::write(
        &kh,
        format!("[127.0.0.1]:2201,[127.0.0.1]:2202,[127.0.0.1]:2203,[127.0.0.1]:2204 ssh-ed25519 {KEY_1}\n"),
    )
    .unwrap();
    let covered = doctor(home.path(), None, &["-i", &inv, "--known-hosts", &kh]);
    assert_eq!(level(&covered, "known_hosts"), "ok", "{}", covered.stdout);
    assert_eq!(covered.code, 0, "{}", covered.stdout);
}

#[test]
fn ssh_config_applied_or_located_error() {
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("inv.yaml");
    std::fs::write(
        &inv,
        "- {name: r1, host: r1, password: x}\n- {name: s1, host: 127.0.0.1, port: 2201, password: x}\n",
    )
    .unwrap();
    let inv = inv.display().to_string();
    let cfg = home.path().join("ssh_config");
    std::fs::write(&cfg, "Host r*\n  HostName 127.0.0.1\n  Port 2202\n").unwrap();
    let cfg = cfg.display().to_string();
    let good = doctor(
        home.path(),
        None,
        &[
            "-i",
            &inv,
            "--ssh-config",
            &cfg,
            "--host-keys",
            "accept-new",
        ],
    );
    let l = line(&good, "ssh_config");
    assert!(
        l.starts_with("ok") && l.contains("sets something for 1 of 2 hosts (address 1, port 1)"),
        "{l}"
    );
    std::fs::write(home.path().join("ssh_config"), "Host r*\n  Port banana\n").unwrap();
    let bad = doctor(home.path(), None, &["-i", &inv, "--ssh-config", &cfg]);
    let l = line(&bad, "ssh_config");
    assert!(
        l.starts_with("FAIL") && l.contains(&format!("{cfg}:2: `Port banana` is not a port")),
        "{l}"
    );
    assert_eq!(bad.code, 1);
    // The machine is still checked.
    assert_eq!(level(&bad, "open files"), "ok", "{}", bad.stdout);
}

#[test]
fn jump_hosts_reachable_or_not_on_loopback() {
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("inv.yaml");
    std::fs::write(
        &inv,
        "- {name: r1, host: r1, password: x}\n- {name: r2, host: r2, password: x}\n",
    )
    .unwrap();
    let inv = inv.display().to_string();
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listening.local_addr().unwrap().port();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = home.path().join("ssh_config");
    let write = |port: u16| {
        std::fs::write(
            &cfg,
            format!(
                "Host r*\n  HostName 127.0.0.1\n  Port 2201\n  ProxyJump jump@127.0.0.1:{port}\n"
            ),
        )
        .unwrap();
    };
    let cfg_s = cfg.display().to_string();
    let args = [
        "-i",
        inv.as_str(),
        "--ssh-config",
        cfg_s.as_str(),
        "--host-keys",
        "off",
    ];
    write(open);
    let up = doctor(home.path(), None, &args);
    let l = line(&up, "jump hosts");
    assert!(
        l.starts_with("ok") && l.contains("1 first hop accept TCP connections"),
        "{l}"
    );
    // Every executor follows jump chains: the route is named.
    assert!(
        line(&up, "reach").starts_with("ok")
            && line(&up, "reach").contains("2 through jump hosts (one more SSH login per hop)"),
        "{}",
        up.stdout
    );
    write(closed);
    let down = doctor(home.path(), None, &args);
    let l = line(&down, "jump hosts");
    assert!(
        l.starts_with("FAIL")
            && l.contains(&format!("127.0.0.1:{closed} (2 hosts): "))
            && l.contains("check the ProxyJump address"),
        "{l}"
    );
    assert_eq!(down.code, 1);
    drop(listening);
}

#[test]
fn json_output_counts_fails() {
    let home = tempfile::tempdir().unwrap();
    let run = doctor(
        home.path(),
        Some("64:64"),
        &["-e", "threads", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["fail"], 1, "{doc}");
    let fds = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "open files")
        .unwrap();
    assert_eq!(fds["level"], "fail");
    assert!(
        fds["todo"].as_str().unwrap().contains("lower -c to"),
        "{fds}"
    );
}

#[test]
fn telnet_hosts_are_a_warning_with_their_names() {
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("inv.yaml");
    std::fs::write(
        &inv,
        "- {name: r1, host: 127.0.0.1, port: 2201, password: x}\n\
         - {name: old1, host: 127.0.0.1, port: 2323, transport: telnet, password: x}\n",
    )
    .unwrap();
    let inv = inv.display().to_string();
    let r = doctor(home.path(), None, &["-i", &inv, "--host-keys", "off"]);
    let l = line(&r, "reach");
    assert!(
        l.starts_with("warn")
            && l.contains("1 of 2 hosts use telnet (old1): only `cli` runs on them")
            && l.contains("The others: 1 direct"),
        "{}",
        r.stdout
    );
}
