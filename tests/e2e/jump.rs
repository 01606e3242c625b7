//! Jump hosts end to end: `fanout run --ssh-config` through a chain of two
//! simulated bastions on every executor, and through a real OpenSSH sshd
//! used as the jump host (skipped with a line when `/usr/sbin/sshd` is
//! missing, unless `FANOUT_SSHD=1`, as CI sets, makes that a failure).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::sim::{serve, stop};
use crate::support::{Run, fanout, finish, json_lines};

/// `run -i INV --ssh-config CFG -e EXECUTOR cli --enable 'show version'`,
/// every host ok; the outcomes.
fn run_cli(inv: &Path, cfg: &Path, executor: &str, home: &Path) -> Vec<serde_json::Value> {
    let r = run_through(
        home,
        inv,
        cfg,
        &[
            "-e",
            executor,
            "--format",
            "jsonl",
            "cli",
            "--enable",
            "show version",
        ],
    );
    assert_eq!(r.code, 0, "{executor}: {}\n{}", r.stdout, r.stderr);
    let lines = json_lines(&r.stdout);
    let hosts: Vec<_> = lines
        .into_iter()
        .filter(|l| l.get("host").is_some())
        .collect();
    for o in &hosts {
        assert_eq!(o["status"], "ok", "{executor}: {o}");
    }
    hosts
}

/// `sim serve -n N --bastions HOPS` (plus `extra`) with its client key,
/// and an ssh_config sending every 127.0.0.1 host through the chain:
/// the fleet, its inventory and that ssh_config.
fn fleet_behind_bastions(
    tmp: &Path,
    n: &str,
    hops: &str,
    extra: &[&str],
) -> (Child, std::path::PathBuf, std::path::PathBuf) {
    let inv = tmp.join("fleet.yaml");
    let sim_cfg = tmp.join("sim_ssh_config");
    let key = tmp.join("jump_key");
    let mut args = vec![
        "-n",
        n,
        "--bastions",
        hops,
        "--client-key-out",
        key.to_str().unwrap(),
        "--ssh-config-out",
        sim_cfg.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (child, _) = serve(&args, &inv);
    // The inventory lists the devices by address: send every 127.0.0.1
    // host through b1 (then b2 ...), each resolved by the sim's own entries.
    let chain: Vec<String> = (1..=hops.parse::<u32>().unwrap())
        .map(|i| format!("b{i}"))
        .collect();
    let cfg = tmp.join("ssh_config");
    let sim = std::fs::read_to_string(&sim_cfg).unwrap();
    std::fs::write(
        &cfg,
        format!("Host 127.0.0.1\n  ProxyJump {}\n\n{sim}", chain.join(",")),
    )
    .unwrap();
    (child, inv, cfg)
}

/// `fanout run -i INV --ssh-config CFG ARGS...` with HOME in `tmp`.
fn run_through(tmp: &Path, inv: &Path, cfg: &Path, args: &[&str]) -> Run {
    finish(
        fanout()
            .env("HOME", tmp)
            .arg("run")
            .arg("-i")
            .arg(inv)
            .arg("--ssh-config")
            .arg(cfg)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// The counters a stopped `sim serve` printed for bastion `name`.
fn bastion_counters(stopped: &Run, name: &str) -> String {
    stopped
        .stderr
        .lines()
        .find(|l| l.contains(&format!("bastion {name}: ")))
        .unwrap_or_else(|| panic!("no {name} counters: {}", stopped.stderr))
        .to_string()
}

#[test]
fn run_through_two_sim_bastions_on_every_executor() {
    let tmp = tempfile::tempdir().unwrap();
    let (child, inv, cfg) = fleet_behind_bastions(tmp.path(), "2", "2", &[]);
    let executors = ["seq", "threads", "process", "async"];
    for executor in executors {
        let hosts = run_cli(&inv, &cfg, executor, tmp.path());
        assert_eq!(hosts.len(), 2, "{executor}: {hosts:?}");
    }
    let forwarded = format!(" {} channels forwarded", 2 * executors.len());
    let b2 = bastion_counters(&stop(child), "b2");
    assert!(b2.contains(&forwarded), "every host through b2: {b2}");
}

/// `--per-jump 2` at `-c 8` through one sim bastion whose sshd drops every
/// new connection while 2 are unauthenticated (`--bastion-max-startups
/// 2:100:2`): every host ok, none dropped, and the bastion's own count of
/// forwards open at once stays at the cap (one more allowed for a
/// hand-over: a forward closing while the next host logs in). `--per-jump
/// 0` is refused, saying what to pass.
#[test]
fn per_jump_keeps_hosts_under_a_bastions_max_startups() {
    let tmp = tempfile::tempdir().unwrap();
    let (child, inv, cfg) = fleet_behind_bastions(
        tmp.path(),
        "8",
        "1",
        &["--latency", "100ms", "--bastion-max-startups", "2:100:2"],
    );
    let run_with = |limits: &[&str]| {
        let mut args = vec!["-e", "threads", "-c", "8"];
        args.extend_from_slice(limits);
        args.extend(["--format", "jsonl", "cli", "--enable", "show version"]);
        run_through(tmp.path(), &inv, &cfg, &args)
    };
    let run = |per_jump: &str| run_with(&["--per-jump", per_jump]);
    let zero = run("0");
    assert_ne!(zero.code, 0, "{}", zero.stdout);
    assert!(
        zero.stderr.contains("--per-jump must be at least 1"),
        "{}",
        zero.stderr
    );
    let zero_rate = run_with(&["--per-jump-rate", "0/s"]);
    assert_ne!(zero_rate.code, 0, "{}", zero_rate.stdout);
    assert!(
        zero_rate.stderr.contains("--per-jump-rate"),
        "{}",
        zero_rate.stderr
    );
    let all_ok = |r: &Run| {
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        let hosts: Vec<_> = json_lines(&r.stdout)
            .into_iter()
            .filter(|l| l.get("host").is_some())
            .collect();
        assert_eq!(hosts.len(), 8, "{hosts:?}");
        for o in &hosts {
            assert_eq!(o["status"], "ok", "{o}");
        }
    };
    all_ok(&run("2"));
    // Paced as well: 8 starts through b1 at 10/s are 7 intervals of 100 ms.
    let started = Instant::now();
    all_ok(&run_with(&["--per-jump", "2", "--per-jump-rate", "10/s"]));
    assert!(
        started.elapsed() >= Duration::from_millis(560),
        "8 hosts through one jump host at --per-jump-rate 10/s took {:?}",
        started.elapsed()
    );
    let b1 = bastion_counters(&stop(child), "b1");
    assert!(b1.contains(" 16 channels forwarded ("), "{b1}");
    assert!(
        b1.contains(" 0 connections dropped by max-startups"),
        "{b1}"
    );
    let peak: usize = b1
        .split(" channels forwarded (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak in: {b1}"));
    assert!(
        (1..=3).contains(&peak),
        "--per-jump 2: {peak} at once: {b1}"
    );
}

/// `--connect-rate auto` at `-c 8` through a sim bastion whose sshd drops
/// every new connection while 2 are unauthenticated, on every executor:
/// every host ok, and each connection the bastion dropped is exactly one
/// more attempt (retried without `--retries`; the bastion's rate was cut).
#[test]
fn connect_rate_auto_rides_out_a_bastions_max_startups() {
    let tmp = tempfile::tempdir().unwrap();
    let (child, inv, cfg) = fleet_behind_bastions(
        tmp.path(),
        "8",
        "1",
        &["--latency", "50ms", "--bastion-max-startups", "2:100:2"],
    );
    let mut attempts = 0;
    for executor in ["seq", "threads", "rayon", "process", "async"] {
        let r = run_through(
            tmp.path(),
            &inv,
            &cfg,
            &[
                "-e",
                executor,
                "-c",
                "8",
                "--connect-rate",
                "auto",
                "--format",
                "jsonl",
                "exec",
                "show version",
            ],
        );
        assert_eq!(r.code, 0, "{executor}: {}\n{}", r.stdout, r.stderr);
        let hosts: Vec<_> = json_lines(&r.stdout)
            .into_iter()
            .filter(|l| l.get("host").is_some())
            .collect();
        assert_eq!(hosts.len(), 8, "{executor}: {hosts:?}");
        for o in &hosts {
            assert_eq!(o["status"], "ok", "{executor}: {o}");
            attempts += o["attempts"].as_u64().unwrap();
        }
    }
    let b1 = bastion_counters(&stop(child), "b1");
    let dropped: u64 = b1
        .split(" connections dropped by max-startups")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no drop count in: {b1}"));
    assert_eq!(
        attempts,
        5 * 8 + dropped,
        "every dropped connection is one more attempt: {b1}"
    );
}

/// A real OpenSSH sshd on 127.0.0.1, killed and reaped on drop.
struct Sshd {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `/usr/sbin/sshd -D -e -f CONFIG` in `dir`: a temporary host key,
/// `authorized` as the only authorized key, forwarding allowed. `None`
/// when sshd is not installed (then the caller skips, unless FANOUT_SSHD=1).
fn start_sshd(dir: &Path, authorized_pub: &str) -> Option<Sshd> {
    let sshd = Path::new("/usr/sbin/sshd");
    if !sshd.exists() {
        assert!(
            std::env::var("FANOUT_SSHD").as_deref() != Ok("1"),
            "FANOUT_SSHD=1 but /usr/sbin/sshd is missing: apt-get install -y openssh-server"
        );
        println!("skip: /usr/sbin/sshd not installed (apt-get install openssh-server)");
        return None;
    }
    let host_key = dir.join("sshd_host_key");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&host_key)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen");
    let authorized = dir.join("authorized_keys");
    std::fs::write(&authorized, authorized_pub).unwrap();
    // /run/sshd is sshd's privilege-separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
             StrictModes no\nAllowTcpForwarding yes\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n\
             LogLevel VERBOSE\n",
            host_key.display(),
            dir.join("sshd.pid").display(),
            authorized.display()
        ),
    )
    .unwrap();
    let log = dir.join("sshd.log");
    let child = Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut sshd = Sshd { child, port, log };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = sshd.child.try_wait() {
            panic!(
                "sshd exited ({status}): {}",
                std::fs::read_to_string(&sshd.log).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sshd never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(sshd)
}

#[test]
fn run_through_a_real_openssh_sshd_jump_host_on_seq_and_async() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let key = tmp.path().join("client_key");
    let (child, _) = serve(
        &["-n", "2", "--client-key-out", key.to_str().unwrap()],
        &inv,
    );
    let public = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output();
    let Ok(public) = public.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()) else {
        stop(child);
        panic!("ssh-keygen is missing (openssh-client)");
    };
    let Some(sshd) = start_sshd(tmp.path(), &public) else {
        stop(child);
        return;
    };
    // sshd's host key joins the fleet's known_hosts (strict checking).
    let known = tmp.path().join("fleet_known_hosts");
    let host_pub = std::fs::read_to_string(tmp.path().join("sshd_host_key.pub")).unwrap();
    let mut lines = std::fs::read_to_string(&known).unwrap();
    lines.push_str(&format!("[127.0.0.1]:{} {host_pub}", sshd.port));
    std::fs::write(&known, lines).unwrap();
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let cfg = tmp.path().join("ssh_config");
    std::fs::write(
        &cfg,
        format!(
            "Host 127.0.0.1\n  ProxyJump openssh-jump\n\nHost openssh-jump\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n",
            sshd.port,
            user.trim(),
            key.display()
        ),
    )
    .unwrap();
    for executor in ["seq", "async"] {
        let hosts = run_cli(&inv, &cfg, executor, tmp.path());
        assert_eq!(hosts.len(), 2, "{executor}: {hosts:?}");
    }
    drop(stop(child));
    let log = std::fs::read_to_string(&sshd.log).unwrap();
    let logins = log.matches("Accepted publickey").count();
    assert_eq!(logins, 4, "one login on sshd per host and executor:\n{log}");
}
