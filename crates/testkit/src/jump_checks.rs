//! Checks of targets that are not dialled directly, the same on every
//! executor: a chain of two simulated bastions (ProxyJump, each hop a
//! `direct-tcpip` forward through the one before) to every device; a wrong
//! password on a hop (auth, naming the hop); a forward the bastion refuses
//! (connect, with its reason); a hop whose host key is unknown under
//! strict (host_key, naming the hop); and ProxyCommand (a netcat-like
//! command carrying the connection, and one that fails with its stderr in
//! the message); `--per-jump` (at most N hosts through one bastion at
//! once).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fanout_core::{
    CliMode, ErrorKind, HostKeyPolicy, HostOutcome, Job, JumpHop, Secret, Status, Target, Task,
};
use fanout_sim::{BastionInfo, Fleet, MaxStartups};

use crate::checks::{MakeExecutor, run_job};

const SHORT: Duration = Duration::from_secs(10);
const PASSWORD: &str = "Pw-jump-7k";

fn bastion_fleet(devices: usize) -> Fleet {
    Fleet::builder()
        .devices(devices)
        .credentials("admin", PASSWORD, Some("en"))
        .bastions(2)
        .bastion_credentials("jumper", "Jump-pw-3x")
        .start()
        .unwrap_or_else(|e| panic!("the simulated fleet with bastions did not start: {e}"))
}

/// `b` as a hop of a chain (its name, address, port, login).
pub fn hop(b: &BastionInfo) -> JumpHop {
    JumpHop {
        name: Some(b.name.clone()),
        host: b.address.to_string(),
        port: b.port,
        user: Some(b.username.clone()),
        password: Some(Secret::new(b.password.clone())),
        ..JumpHop::default()
    }
}

fn cli_job(fleet: &Fleet) -> Job {
    let mut job = Job::new(Task::Cli {
        commands: vec!["show version".into()],
        mode: CliMode::Enable,
    })
    .with_concurrency(4);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    job.host_keys = HostKeyPolicy::Strict;
    job.timeouts.connect = Some(SHORT);
    job.timeouts.auth = Some(SHORT);
    job.timeouts.command = Some(SHORT);
    job
}

fn by_host(exec: MakeExecutor<'_>, job: &Job, targets: &[Target]) -> BTreeMap<String, HostOutcome> {
    let executor = exec();
    let d = run_job(executor.as_ref(), job, targets, None, None);
    let by = d.by_host();
    assert_eq!(
        by.len(),
        targets.len(),
        "every host exactly once: {:?}",
        by.keys()
    );
    by
}

fn failed_with(o: &HostOutcome, kind: ErrorKind, says: &[&str]) {
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(kind)),
        "{}: {o:?}",
        o.host
    );
    let msg = o.message.as_deref().unwrap_or("");
    for s in says {
        assert!(
            msg.contains(s),
            "{}: the message must say `{s}`: {msg}",
            o.host
        );
    }
}

/// `cli --enable 'show version'` on 3 devices through the chain b1 -> b2:
/// every device answers, and the bastions saw it (b2 forwarded one channel
/// per device, and was logged into once per device).
pub fn two_bastion_chain_reaches_every_device(make: MakeExecutor<'_>) {
    let fleet = bastion_fleet(3);
    let chain: Vec<JumpHop> = fleet.bastions().iter().map(hop).collect();
    let mut targets = fleet.targets();
    for t in &mut targets {
        t.reach.jump = chain.clone();
    }
    let by = by_host(make, &cli_job(&fleet), &targets);
    for t in &targets {
        let o = &by[&t.name];
        assert_eq!(o.status, Status::Ok, "{}: {o:?}", t.name);
        assert!(
            o.outputs[0].stdout.contains("Software"),
            "{}: show version through the bastions: {o:?}",
            t.name
        );
    }
    let stats = fleet.bastion_stats();
    assert_eq!(stats.len(), 2);
    for (name, s) in ["b1", "b2"].iter().zip(&stats) {
        assert_eq!(s.logins, 3, "{name}: one login per device: {s:?}");
        assert_eq!(s.channels, 3, "{name}: one forward per device: {s:?}");
        assert_eq!(s.auth_failures, 0, "{name}: {s:?}");
    }
    assert_eq!(stats[1].direct_refused, 0, "b2 reached through b1 only");
}

/// `--per-jump 3` at `-c 12`: 12 devices behind one bastion whose sshd
/// drops every new connection while 3 are unauthenticated (`MaxStartups
/// 3:100:3`), plus 2 devices dialled directly. Every host is ok (no
/// connection was dropped), the bastion never forwarded more than 3 hosts
/// at once (sampled every millisecond; its peak allows one hand-over,
/// a closing forward the bastion has not seen end yet), and hosts did run
/// side by side through it (the cap, not a serial executor, held them).
pub fn per_jump_caps_hosts_through_each_bastion(make: MakeExecutor<'_>) {
    const CAP: usize = 3;
    let fleet = Arc::new(
        Fleet::builder()
            .devices(14)
            .credentials("admin", PASSWORD, Some("en"))
            .latency(Duration::from_millis(120), Duration::from_millis(40))
            .bastions(1)
            .bastion_credentials("jumper", "Jump-pw-3x")
            .bastion_max_startups(MaxStartups {
                start: CAP,
                rate: 100,
                full: CAP,
            })
            .start()
            .unwrap_or_else(|e| panic!("the simulated fleet with a bastion did not start: {e}")),
    );
    let first = hop(&fleet.bastions()[0]);
    let mut targets = fleet.targets();
    for t in &mut targets[..12] {
        t.reach.jump = vec![first.clone()];
    }
    let mut job = cli_job(&fleet).with_concurrency(12);
    job.limits.per_jump = Some(CAP);
    let exec = make();
    let bound = exec.concurrency(&job).min(CAP);
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (fleet, done) = (fleet.clone(), done.clone());
        std::thread::spawn(move || {
            let (mut samples, mut above) = (0usize, 0usize);
            while !done.load(Ordering::SeqCst) {
                samples += 1;
                if fleet.bastion_stats()[0].forwarding > CAP {
                    above += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            (samples, above)
        })
    };
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    done.store(true, Ordering::SeqCst);
    let (samples, above) = sampler.join().expect("the sampler thread");
    let by = d.by_host();
    assert_eq!(by.len(), targets.len(), "every host exactly once");
    let s = fleet.bastion_stats()[0];
    for t in &targets {
        let o = &by[&t.name];
        assert_eq!(
            o.status,
            Status::Ok,
            "{}: with --per-jump {CAP} the bastion (MaxStartups {CAP}:100:{CAP}) drops no connection: {o:?}; bastion: {s:?}",
            t.name
        );
    }
    assert_eq!(s.startups_dropped, 0, "{s:?}");
    assert_eq!(s.channels, 12, "one forward per host behind it: {s:?}");
    assert!(
        above * 20 <= samples.max(20),
        "more than {CAP} forwards were open at the bastion in {above} of {samples} samples with --per-jump {CAP}: {s:?}"
    );
    assert!(
        s.peak_forwarding <= CAP + 1,
        "--per-jump {CAP}: the bastion forwarded {} hosts at once: {s:?}",
        s.peak_forwarding
    );
    assert!(
        s.peak_forwarding >= bound.min(2),
        "-c 12 --per-jump {CAP}: hosts should overlap at the bastion (executor bound {bound}): {s:?}"
    );
}

/// A wrong password on b2 fails every host `auth`, naming the hop; b1
/// still let them in.
pub fn wrong_hop_password_is_an_auth_error_naming_the_hop(make: MakeExecutor<'_>) {
    let fleet = bastion_fleet(2);
    let mut chain: Vec<JumpHop> = fleet.bastions().iter().map(hop).collect();
    chain[1].password = Some(Secret::new("not-the-password"));
    let mut targets = fleet.targets();
    for t in &mut targets {
        t.reach.jump = chain.clone();
    }
    let by = by_host(make, &cli_job(&fleet), &targets);
    for o in by.values() {
        failed_with(o, ErrorKind::Auth, &["jump host b2", "jumper"]);
        assert!(
            !o.message
                .as_deref()
                .unwrap_or("")
                .contains("not-the-password"),
            "no password in messages: {o:?}"
        );
    }
    let stats = fleet.bastion_stats();
    assert_eq!(stats[0].logins, 2, "b1 let them in: {stats:?}");
    assert_eq!(stats[1].logins, 0, "{stats:?}");
}

/// b1 alone forwards only to b2: a device behind b1 only is refused, which
/// is a `connect` error naming the hop and the bastion's reason.
pub fn refused_forward_is_a_connect_error_with_the_reason(make: MakeExecutor<'_>) {
    let fleet = bastion_fleet(1);
    let first = hop(&fleet.bastions()[0]);
    let mut targets = fleet.targets();
    for t in &mut targets {
        t.reach.jump = vec![first.clone()];
    }
    let by = by_host(make, &cli_job(&fleet), &targets);
    for o in by.values() {
        failed_with(
            o,
            ErrorKind::Connect,
            &[
                "jump host b1",
                "did not forward to",
                "administratively prohibited",
            ],
        );
    }
    assert_eq!(fleet.bastion_stats()[0].forwards_refused, 1);
}

/// Under strict, with a known_hosts that lists the devices but not the
/// bastions, every host fails `host_key` naming the first hop, before
/// logging in anywhere.
pub fn unknown_hop_host_key_under_strict_names_the_hop(make: MakeExecutor<'_>) {
    let fleet = bastion_fleet(2);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let known = std::fs::read_to_string(fleet.known_hosts_path()).expect("read known_hosts");
    let bastion_lines: Vec<&str> = fleet
        .bastions()
        .iter()
        .map(|b| b.known_hosts_line.trim())
        .collect();
    let devices_only: String = known
        .lines()
        .filter(|l| !bastion_lines.contains(&l.trim()))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        devices_only.len() < known.len(),
        "the bastions' lines were dropped"
    );
    let path = dir.path().join("known_hosts");
    std::fs::write(&path, devices_only).expect("write known_hosts");
    let chain: Vec<JumpHop> = fleet.bastions().iter().map(hop).collect();
    let mut targets = fleet.targets();
    for t in &mut targets {
        t.reach.jump = chain.clone();
    }
    let mut job = cli_job(&fleet);
    job.known_hosts = vec![path];
    let by = by_host(make, &job, &targets);
    for o in by.values() {
        failed_with(o, ErrorKind::HostKey, &["jump host b1"]);
    }
    let stats = fleet.bastion_stats();
    assert_eq!(
        stats[0].logins, 0,
        "no login on an unverified hop: {stats:?}"
    );
}

/// A hop is offered its own ssh_config algorithm lists, not the target's
/// nor the defaults: a `KexAlgorithms` on b1 that names no algorithm the
/// SSH library has fails every host behind it as `invalid_target`, naming
/// the hop, the list and where it was set, before any login on b1.
pub fn hop_algorithms_are_the_hops_own(make: MakeExecutor<'_>) {
    let fleet = bastion_fleet(2);
    let mut chain: Vec<JumpHop> = fleet.bastions().iter().map(hop).collect();
    chain[0].algorithms.insert(
        "kex_algorithms".into(),
        ("no-such-kex".into(), "ssh_config /lab/ssh_config:7".into()),
    );
    let mut targets = fleet.targets();
    for t in &mut targets {
        t.reach.jump = chain.clone();
    }
    let by = by_host(make, &cli_job(&fleet), &targets);
    for o in by.values() {
        failed_with(
            o,
            ErrorKind::InvalidTarget,
            &[
                "jump host b1",
                "KexAlgorithms `no-such-kex`",
                "/lab/ssh_config:7",
            ],
        );
    }
    let stats = fleet.bastion_stats();
    assert_eq!(
        stats[0].logins, 0,
        "b1 was offered no usable kex: {stats:?}"
    );
    assert_eq!(fleet.stats().logins, 0, "no device was reached: {stats:?}");
}

/// The proxy command that carries a connection to 127.0.0.1:`port`:
/// OpenBSD netcat when installed, else bash's /dev/tcp.
pub fn netcat_command(port: u16) -> String {
    let has_nc = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join("nc").is_file()));
    if has_nc {
        format!("nc 127.0.0.1 {port}")
    } else {
        format!("exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}; cat <&3 & exec cat >&3'")
    }
}

/// `ProxyCommand nc 127.0.0.1 PORT` reaches each device (the device saw
/// the logins); a proxy command that exits at once fails `connect` with
/// its exit status and its stderr in the message.
pub fn proxy_command_carries_the_connection(make: MakeExecutor<'_>) {
    let fleet = crate::fleet_checks::small_fleet(2, PASSWORD, "");
    let mut targets = fleet.targets();
    for t in &mut targets {
        t.reach.proxy_command = Some(netcat_command(t.port));
    }
    let mut broken = targets[0].clone();
    broken.name = "broken-proxy".into();
    broken.reach.proxy_command = Some("echo 'no route to the lab' >&2; exit 3".into());
    targets.push(broken);
    let by = by_host(make, &cli_job(&fleet), &targets);
    for t in &targets[..2] {
        let o = &by[&t.name];
        assert_eq!(o.status, Status::Ok, "{}: {o:?}", t.name);
        assert!(o.outputs[0].stdout.contains("Software"), "{o:?}");
    }
    failed_with(
        &by["broken-proxy"],
        ErrorKind::Connect,
        &[
            "ProxyCommand",
            "exited with status 3",
            "no route to the lab",
        ],
    );
    assert!(fleet.stats().logins >= 2, "the devices saw the logins");
}
