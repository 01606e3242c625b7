//! Checks against a simulated SSH fleet ([`fanout_sim::Fleet`]): real
//! handshakes, authentication, exec and interactive CLI sessions, every
//! fault knob, host-key policies, limits and cancellation, measured from
//! the devices' side where it matters.
//!
//! Every executor must produce the outcomes of the error-kind table in
//! `plan/HELPERS.md` for the same faults (every executor runs every task
//! kind: none is skipped). Each check starts its own small fleet with short timeouts and stays
//! within a few seconds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, CliMode, ErrorKind, Flow, HostKeyPolicy, HostOutcome, Job, Phase, Platform,
    Secret, Status, Target, Task,
};
use fanout_sim::console::{Console, ConsoleOptions, DeviceConfig};
use fanout_sim::{DeviceSpec, Fault, FaultSpec, Fleet};

use crate::checks::{Delivered, MakeExecutor, run_job};

/// Connect, auth and command timeout of the fleet checks (where a check
/// does not set its own): far above what a debug-build handshake takes on
/// a loaded 2-core machine, so only the faults ever reach it.
const SHORT: Duration = Duration::from_secs(5);

/// Credentials that must never appear in an outcome.
const PASSWORD: &str = "pw-Xq7-never-printed";
const SECRET: &str = "en-Zr4-never-printed";

/// A device spec with the fleet defaults (cisco/cisco, enable secret cisco).
fn device(name: &str, platform: Platform) -> DeviceSpec {
    DeviceSpec {
        name: name.into(),
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        port: 0,
        platform,
        username: "cisco".into(),
        password: "cisco".into(),
        secret: Some("cisco".into()),
        faults: Default::default(),
        latency: Duration::ZERO,
        jitter: Duration::ZERO,
        banner_delay: Duration::ZERO,
        slow_banner_delay: Duration::from_millis(400),
        extra_lines: 0,
        ..DeviceSpec::default()
    }
}

fn start(specs: Vec<DeviceSpec>) -> Fleet {
    Fleet::builder()
        .specs(specs)
        .start()
        .unwrap_or_else(|e| panic!("the simulated fleet did not start: {e}"))
}

/// A job against `fleet` with its known_hosts, strict host keys and short timeouts.
fn ssh_job(task: Task, fleet: &Fleet, concurrency: usize) -> Job {
    let mut job = Job::new(task).with_concurrency(concurrency);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    job.host_keys = HostKeyPolicy::Strict;
    job.timeouts.connect = Some(SHORT);
    job.timeouts.auth = Some(SHORT);
    job.timeouts.command = Some(SHORT);
    job
}

fn exec_task(command: &str) -> Task {
    Task::Exec {
        command: command.into(),
    }
}

fn cli_task(commands: &[&str], mode: CliMode) -> Task {
    Task::Cli {
        commands: commands.iter().map(|c| c.to_string()).collect(),
        mode,
    }
}

/// Every target reported exactly once, and the summary agrees.
fn all_reported(d: &Delivered, targets: &[Target]) -> BTreeMap<String, HostOutcome> {
    let by = d.by_host();
    let missing: Vec<&str> = targets
        .iter()
        .map(|t| t.name.as_str())
        .filter(|n| !by.contains_key(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "hosts never reported (contract rule 2): {missing:?}"
    );
    assert_eq!(
        by.len(),
        targets.len(),
        "outcomes for unknown hosts (contract rule 2): {:?}",
        by.keys()
    );
    assert_eq!(
        d.summary().hosts,
        targets.len(),
        "summary.hosts must count every outcome (rule 9)"
    );
    by
}

/// What a device's exec channel prints for `command` (the simulator's own
/// console, run locally), digits masked: uptimes and clocks move.
fn expected_exec(name: &str, platform: Platform, command: &str) -> (String, u32) {
    let config = Arc::new(std::sync::Mutex::new(DeviceConfig::new(name)));
    let mut console = Console::new(
        platform,
        config,
        "cisco",
        Some("cisco"),
        ConsoleOptions::default(),
    );
    let reply = console.exec(command);
    (
        mask_digits(&String::from_utf8_lossy(&reply.output)),
        reply.exit_status,
    )
}

fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

fn outcome<'a>(by: &'a BTreeMap<String, HostOutcome>, name: &str) -> &'a HostOutcome {
    by.get(name)
        .unwrap_or_else(|| panic!("no outcome for {name}"))
}

fn first_stdout(o: &HostOutcome) -> &str {
    o.outputs.first().map_or("", |out| out.stdout.as_str())
}

/// `exec show version` on one device of every platform: the exact text
/// the device printed (compared with the simulator's own console), exit
/// status 0; on the Linux profile the command does not exist, so the host
/// fails `command_failed` with exit status 127 and the output kept.
pub fn exec_every_platform(make: MakeExecutor<'_>) {
    let exec = make();
    let specs: Vec<DeviceSpec> = Platform::ALL
        .iter()
        .map(|p| device(&format!("{p}-1"), *p))
        .collect();
    let fleet = start(specs);
    let targets = fleet.targets();
    let job = ssh_job(exec_task("show version"), &fleet, targets.len());
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for p in Platform::ALL {
        let name = format!("{p}-1");
        let o = outcome(&by, &name);
        let (want, status) = expected_exec(&name, p, "show version");
        assert_eq!(o.outputs.len(), 1, "{name}: one output per exec: {o:?}");
        let out = &o.outputs[0];
        assert_eq!(out.command, "show version", "{name}: {o:?}");
        assert_eq!(
            mask_digits(&out.stdout),
            want,
            "{name}: exec output differs from what the device printed"
        );
        assert_eq!(out.exit_status, Some(status as i32), "{name}: {o:?}");
        if status == 0 {
            assert_eq!(
                (o.status, o.error_kind),
                (Status::Ok, None),
                "{name}: {o:?}"
            );
            assert_eq!(o.attempts, 1, "{name}: {o:?}");
        } else {
            assert_eq!(
                (o.status, o.error_kind),
                (Status::Failed, Some(ErrorKind::CommandFailed)),
                "{name}: a non-zero exit status must be failed/command_failed: {o:?}"
            );
            assert!(
                o.message
                    .as_deref()
                    .unwrap_or("")
                    .contains(&format!("status {status}")),
                "{name}: the message must give the exit status: {o:?}"
            );
        }
    }
    let linux = fleet.targets().into_iter().find(|t| t.name == "linux-1");
    let linux: Vec<Target> = linux.into_iter().collect();
    let d = run_job(
        exec.as_ref(),
        &ssh_job(exec_task("uname -n"), &fleet, 1),
        &linux,
        None,
        None,
    );
    let by = all_reported(&d, &linux);
    let o = outcome(&by, "linux-1");
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(first_stdout(o), "linux-1\n", "{o:?}");
}

/// The interactive CLI in user, enable and config mode: the output of each
/// command without echo or prompt, a hostname changed in config mode
/// visible to a later session, and a command the device rejects
/// (`% Invalid input`) ending the host `command_failed`.
pub fn cli_user_enable_config(make: MakeExecutor<'_>) {
    let exec = make();
    let platforms = [
        Platform::Ios,
        Platform::Iosxe,
        Platform::Nxos,
        Platform::Eos,
        Platform::Junos,
        Platform::Iosxr,
    ];
    let mut specs: Vec<DeviceSpec> = platforms
        .iter()
        .map(|p| device(&format!("{p}-1"), *p))
        .collect();
    specs.push(device("linux-1", Platform::Linux));
    let fleet = start(specs);
    let (linux, targets): (Vec<Target>, Vec<Target>) = fleet
        .targets()
        .into_iter()
        .partition(|t| t.platform == Some(Platform::Linux));

    // The Linux profile: a shell with a `$` prompt.
    let job = ssh_job(cli_task(&["uname -n"], CliMode::User), &fleet, 1);
    let d = run_job(exec.as_ref(), &job, &linux, None, None);
    let by = all_reported(&d, &linux);
    let o = outcome(&by, "linux-1");
    assert_eq!(o.status, Status::Ok, "linux-1: cli uname -n: {o:?}");
    assert_eq!(o.outputs.len(), 1, "linux-1: one output per command: {o:?}");
    assert_eq!(
        first_stdout(o).trim(),
        "linux-1",
        "linux-1: the output without echo or prompt: {o:?}"
    );

    // User mode, every network platform.
    let job = ssh_job(
        cli_task(&["show version"], CliMode::User),
        &fleet,
        targets.len(),
    );
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for p in platforms {
        let name = format!("{p}-1");
        let o = outcome(&by, &name);
        assert_eq!(o.status, Status::Ok, "{name}: cli show version: {o:?}");
        assert_eq!(o.outputs.len(), 1, "{name}: one output per command: {o:?}");
        assert_eq!(o.outputs[0].command, "show version", "{name}: {o:?}");
        let (want, _) = expected_exec(&name, p, "show version");
        let want_first = want.lines().map(str::trim).find(|l| !l.is_empty());
        let got = mask_digits(&o.outputs[0].stdout);
        let got_first = got.lines().map(str::trim).find(|l| !l.is_empty());
        assert_eq!(
            got_first, want_first,
            "{name}: the output must start with the command's output, without its echo"
        );
        let last = got.lines().map(str::trim).rfind(|l| !l.is_empty());
        assert!(
            !last.is_some_and(|l| l.contains(&name) && (l.ends_with('>') || l.ends_with('#'))),
            "{name}: the trailing prompt must be removed: {:?}",
            o.outputs[0].stdout
        );
    }

    // Enable and config mode on IOS and EOS.
    let ios_eos: Vec<Target> = targets
        .iter()
        .filter(|t| matches!(t.platform, Some(Platform::Ios | Platform::Eos)))
        .cloned()
        .collect();
    let show_hostname = ssh_job(
        cli_task(&["show running-config | include hostname"], CliMode::Enable),
        &fleet,
        2,
    );
    let d = run_job(exec.as_ref(), &show_hostname, &ios_eos, None, None);
    let by = all_reported(&d, &ios_eos);
    for t in &ios_eos {
        let o = outcome(&by, &t.name);
        assert_eq!(o.status, Status::Ok, "{}: enable mode: {o:?}", t.name);
        assert_eq!(
            first_stdout(o).trim(),
            format!("hostname {}", t.name),
            "{}: {o:?}",
            t.name
        );
    }
    let rename = ssh_job(
        cli_task(&["hostname edge-renamed"], CliMode::Config),
        &fleet,
        2,
    );
    let d = run_job(exec.as_ref(), &rename, &ios_eos, None, None);
    let by = all_reported(&d, &ios_eos);
    for t in &ios_eos {
        let o = outcome(&by, &t.name);
        assert_eq!(o.status, Status::Ok, "{}: config mode: {o:?}", t.name);
    }
    let d = run_job(exec.as_ref(), &show_hostname, &ios_eos, None, None);
    let by = all_reported(&d, &ios_eos);
    for t in &ios_eos {
        let o = outcome(&by, &t.name);
        assert_eq!(
            first_stdout(o).trim(),
            "hostname edge-renamed",
            "{}: the hostname set in config mode must be in the running config: {o:?}",
            t.name
        );
    }

    // A command the device rejects.
    let ios: Vec<Target> = ios_eos
        .iter()
        .filter(|t| t.platform == Some(Platform::Ios))
        .cloned()
        .collect();
    let bogus = ssh_job(
        cli_task(
            &["show version", "show fanout-no-such-thing"],
            CliMode::User,
        ),
        &fleet,
        1,
    );
    let d = run_job(exec.as_ref(), &bogus, &ios, None, None);
    let by = all_reported(&d, &ios);
    let o = outcome(&by, "ios-1");
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::CommandFailed)),
        "a command the device rejects must fail the host command_failed: {o:?}"
    );
    assert_eq!(o.attempts, 1, "a failed command is never retried: {o:?}");
    assert!(
        o.outputs
            .iter()
            .any(|out| out.command == "show fanout-no-such-thing" && out.stdout.contains('%')),
        "the device's error text must be kept in the failing command's output: {o:?}"
    );
}

/// Which outcome a device with these faults must produce for `exec` (the
/// table of `plan/HELPERS.md`), strongest fault first.
fn expected_for(faults: &std::collections::BTreeSet<Fault>) -> (Status, Option<ErrorKind>) {
    let has = |f| faults.contains(&f);
    if has(Fault::Refuse) {
        (Status::Failed, Some(ErrorKind::Connect))
    } else if has(Fault::HangOnConnect) {
        (Status::Timeout, Some(ErrorKind::Timeout))
    } else if has(Fault::WrongHostKey) {
        (Status::Failed, Some(ErrorKind::HostKey))
    } else if has(Fault::AuthFail) {
        (Status::Failed, Some(ErrorKind::Auth))
    } else if has(Fault::HangOnCommand) {
        (Status::Timeout, Some(ErrorKind::Timeout))
    } else if has(Fault::DropMidOutput) {
        (Status::Failed, Some(ErrorKind::Channel))
    } else {
        (Status::Ok, None)
    }
}

/// Every fault knob on an exec task maps to its error kind, status and
/// phase; partial output survives a dropped connection; a slow banner is
/// fine within the connect timeout and a connect timeout beyond it.
pub fn faults_map_to_error_kinds(make: MakeExecutor<'_>) {
    let exec = make();
    let with = |name: &str, fault: Option<Fault>| {
        let mut d = device(name, Platform::Ios);
        d.password = PASSWORD.into();
        d.secret = Some(SECRET.into());
        d.faults.extend(fault);
        d
    };
    let fleet = start(vec![
        with("refuse", Some(Fault::Refuse)),
        with("hang-connect", Some(Fault::HangOnConnect)),
        with("slow-banner", Some(Fault::SlowBanner)),
        with("slow-banner-short", Some(Fault::SlowBanner)),
        with("auth-fail", Some(Fault::AuthFail)),
        with("wrong-key", Some(Fault::WrongHostKey)),
        with("hang-command", Some(Fault::HangOnCommand)),
        with("drop-output", Some(Fault::DropMidOutput)),
        with("legacy", Some(Fault::LegacyAlgorithms)),
        with("clean", None),
    ]);
    let mut targets = fleet.targets();
    for t in &mut targets {
        if t.name == "slow-banner-short" {
            // The banner comes after 400 ms: beyond this host's own timeout.
            t.timeouts.connect = Some(Duration::from_millis(150));
        }
        if t.name == "hang-connect" {
            t.timeouts.connect = Some(Duration::from_secs(1));
        }
    }
    // Generous for the hosts that must connect: the legacy device's classic
    // Diffie-Hellman costs ~0.7 s of CPU on each side in a debug build, and
    // the box is shared.
    let mut job = ssh_job(exec_task("show version"), &fleet, targets.len());
    job.timeouts.connect = Some(Duration::from_secs(6));
    job.timeouts.command = Some(Duration::from_millis(1000));
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    let expect = |name: &str, status: Status, kind: Option<ErrorKind>, phase: Option<Phase>| {
        let o = outcome(&by, name);
        assert_eq!(
            (o.status, o.error_kind),
            (status, kind),
            "{name}: wrong outcome for this fault: {o:?}"
        );
        if phase.is_some() {
            assert_eq!(o.phase, phase, "{name}: wrong phase: {o:?}");
        }
        if status != Status::Ok {
            assert!(
                o.message.as_deref().is_some_and(|m| !m.is_empty()),
                "{name}: a failure needs a message: {o:?}"
            );
        }
        o
    };
    expect("refuse", Status::Failed, Some(ErrorKind::Connect), None);
    expect(
        "hang-connect",
        Status::Timeout,
        Some(ErrorKind::Timeout),
        Some(Phase::Connect),
    );
    expect("slow-banner", Status::Ok, None, None);
    expect(
        "slow-banner-short",
        Status::Timeout,
        Some(ErrorKind::Timeout),
        Some(Phase::Connect),
    );
    expect("auth-fail", Status::Failed, Some(ErrorKind::Auth), None);
    expect("wrong-key", Status::Failed, Some(ErrorKind::HostKey), None);
    let hung = expect(
        "hang-command",
        Status::Timeout,
        Some(ErrorKind::Timeout),
        Some(Phase::Command),
    );
    // The device prints nothing before it hangs: the outcome must at least
    // say which command hung (in the message, or as the kept output's command).
    assert!(
        hung.message
            .as_deref()
            .is_some_and(|m| m.contains("show version"))
            || hung.outputs.iter().any(|out| out.command == "show version"),
        "hang-command: the outcome must name the command that hung: {hung:?}"
    );
    let dropped = expect(
        "drop-output",
        Status::Failed,
        Some(ErrorKind::Channel),
        None,
    );
    let (full, _) = expected_exec("drop-output", Platform::Ios, "show version");
    let partial = mask_digits(first_stdout(dropped));
    assert!(
        !partial.is_empty() && full.starts_with(&partial) && partial.len() < full.len(),
        "drop-output: the partial output before the drop must be kept: {dropped:?}"
    );
    let legacy = outcome(&by, "legacy");
    match legacy.status {
        Status::Ok => assert!(
            first_stdout(legacy).contains("Cisco IOS Software"),
            "{legacy:?}"
        ),
        _ => {
            assert_eq!(
                legacy.error_kind,
                Some(ErrorKind::Protocol),
                "legacy: ok, or failed/protocol: {legacy:?}"
            );
            let message = legacy.message.as_deref().unwrap_or("");
            assert!(
                ["diffie-hellman-group14-sha1", "aes128-cbc", "hmac-sha1"]
                    .iter()
                    .any(|alg| message.contains(alg)),
                "legacy: the message must name the algorithms the device offered: {message}"
            );
        }
    }
    expect("clean", Status::Ok, None, None);
    for o in by.values() {
        let text = format!("{o:?} {}", o.message.as_deref().unwrap_or(""));
        assert!(
            !text.contains(PASSWORD) && !text.contains(SECRET),
            "a secret leaked into an outcome: {text}"
        );
    }
}

/// The interactive CLI against a device that never answers a command
/// (timeout in phase command, naming the last output seen) and one that
/// drops the connection mid-output (channel, what it sent kept).
pub fn cli_faults(make: MakeExecutor<'_>) {
    let exec = make();
    let mut hang = device("hang-1", Platform::Ios);
    hang.faults.insert(Fault::HangOnCommand);
    let mut drop = device("drop-1", Platform::Ios);
    drop.faults.insert(Fault::DropMidOutput);
    let fleet = start(vec![hang, drop]);
    let targets = fleet.targets();
    let mut job = ssh_job(cli_task(&["show version"], CliMode::User), &fleet, 2);
    job.timeouts.command = Some(Duration::from_millis(800));
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    let o = outcome(&by, "hang-1");
    assert_eq!(
        (o.status, o.phase),
        (Status::Timeout, Some(Phase::Command)),
        "hang_on_command: timeout in phase command: {o:?}"
    );
    // The device printed its prompt (`hang-1>`) and echoed what was typed
    // (`terminal length 0` first), then went silent: that echo is the last
    // output seen, quoted in the message or kept in the outputs.
    let seen = last_output_seen(o);
    assert!(
        seen.contains("terminal length 0") || seen.contains("hang-1"),
        "hang_on_command: the last output seen (the echo of `terminal length 0`) must be quoted after `last output:` in the message or kept in the outputs; got {seen:?}: {o:?}"
    );
    let o = outcome(&by, "drop-1");
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::Channel)),
        "drop_mid_output: failed/channel: {o:?}"
    );
    // The device drops mid-reply from the first command on (the dialog's
    // own `terminal length 0`): it echoed the command and sent half of its
    // reply (the start of the `drop-1>` prompt) before dropping; what it
    // sent must be kept, in the outputs or quoted in the message.
    let seen = last_output_seen(o);
    let partial_reply = seen
        .lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && "drop-1>".starts_with(l));
    assert!(
        partial_reply,
        "drop_mid_output: the partial output (the start of the reply before the drop) must be kept (outputs or quoted after `last output:`); got {seen:?}: {o:?}"
    );
}

/// What an outcome says the device printed last: the outputs' stdout, and
/// the quoted text after `last output:` (or `last output seen:`) in the
/// message, unescaped. Nothing else of the message counts: it names the
/// awaited command on its own.
fn last_output_seen(o: &HostOutcome) -> String {
    let mut seen: String = o.outputs.iter().map(|out| out.stdout.as_str()).collect();
    let message = o.message.as_deref().unwrap_or("");
    for marker in ["last output: ", "last output seen: "] {
        let Some(at) = message.find(marker) else {
            continue;
        };
        let rest = &message[at + marker.len()..];
        let Some(open) = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '`' | '\''))
        else {
            continue;
        };
        let mut quoted = String::new();
        let mut chars = rest[open.len_utf8()..].chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => quoted.push('\n'),
                    Some('r') => quoted.push('\r'),
                    Some('t') => quoted.push('\t'),
                    Some(other) => quoted.push(other),
                    None => break,
                },
                c if c == open => break,
                c => quoted.push(c),
            }
        }
        seen.push('\n');
        seen.push_str(&quoted);
    }
    seen
}

/// Strict host keys with an empty known_hosts refuse every device
/// (`host_key`, saying what to do); `accept-new` succeeds and appends the
/// keys; a later strict run with that file succeeds.
pub fn host_keys_strict_and_accept_new(make: MakeExecutor<'_>) {
    let exec = make();
    let fleet = start(vec![
        device("k1", Platform::Ios),
        device("k2", Platform::Eos),
    ]);
    let targets = fleet.targets();
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let known = dir.path().join("known_hosts");
    std::fs::write(&known, "").expect("write an empty known_hosts");
    let mut job = ssh_job(exec_task("show version"), &fleet, 2);
    job.known_hosts = vec![known.clone()];

    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(
            (o.status, o.error_kind),
            (Status::Failed, Some(ErrorKind::HostKey)),
            "{}: strict with an unknown key must fail host_key: {o:?}",
            t.name
        );
        let message = o.message.as_deref().unwrap_or("");
        assert!(
            message.contains(&t.port.to_string()),
            "{}: the message must name the host and port: {message}",
            t.name
        );
    }
    assert_eq!(
        std::fs::read_to_string(&known).unwrap_or_default(),
        "",
        "strict must never write known_hosts"
    );

    job.host_keys = HostKeyPolicy::AcceptNew;
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    let written = std::fs::read_to_string(&known).unwrap_or_default();
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(o.status, Status::Ok, "{}: accept-new: {o:?}", t.name);
        assert!(
            written.contains(&format!("[{}]:{} ", t.address, t.port)),
            "accept-new must append {}'s key in OpenSSH format; file:\n{written}",
            t.name
        );
    }

    job.host_keys = HostKeyPolicy::Strict;
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(
            o.status,
            Status::Ok,
            "{}: strict with the keys accept-new wrote: {o:?}",
            t.name
        );
    }
    assert_eq!(
        std::fs::read_to_string(&known).unwrap_or_default(),
        written,
        "known keys must not be appended again"
    );
}

/// Authentication with the fleet's client key file only (no password).
pub fn key_file_auth(make: MakeExecutor<'_>) {
    let exec = make();
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let key = dir.path().join("client_key");
    let fleet = Fleet::builder()
        .specs(vec![
            device("key1", Platform::Ios),
            device("key2", Platform::Nxos),
        ])
        .client_key_out(&key)
        .start()
        .unwrap_or_else(|e| panic!("the simulated fleet did not start: {e}"));
    assert_eq!(fleet.client_key_path(), Some(key.as_path()));
    let mut targets = fleet.targets();
    for t in &mut targets {
        assert_eq!(t.credentials.key_file.as_deref(), Some(key.as_path()));
        t.credentials.password = None;
    }
    let before = fleet.stats();
    let job = ssh_job(exec_task("show version"), &fleet, 2);
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(o.status, Status::Ok, "{}: key-file auth: {o:?}", t.name);
    }
    let after = fleet.stats();
    assert_eq!(
        after.logins - before.logins,
        2,
        "each host logs in once: {after:?}"
    );

    // The same key, encrypted with a passphrase (by ssh-keygen, as a user
    // would): loaded with the target's key_passphrase.
    let encrypted = dir.path().join("client_key_encrypted");
    std::fs::copy(&key, &encrypted).expect("copy the client key");
    let passphrase = "kp-Vb9-never-printed";
    let encrypted_ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-p", "-P", "", "-N", passphrase, "-f"])
        .arg(&encrypted)
        .stdin(std::process::Stdio::null())
        .output();
    match encrypted_ok {
        Ok(out) if out.status.success() => {
            for t in &mut targets {
                t.credentials.key_file = Some(encrypted.clone());
                t.credentials.key_passphrase = Some(Secret::new(passphrase));
            }
            let d = run_job(exec.as_ref(), &job, &targets, None, None);
            let by = all_reported(&d, &targets);
            for t in &targets {
                let o = outcome(&by, &t.name);
                assert_eq!(
                    o.status,
                    Status::Ok,
                    "{}: auth with an encrypted key file and its passphrase: {o:?}",
                    t.name
                );
                let text = format!("{o:?} {}", o.message.as_deref().unwrap_or(""));
                assert!(
                    !text.contains(passphrase),
                    "the key passphrase leaked: {text}"
                );
            }
        }
        Ok(out) => panic!(
            "ssh-keygen could not encrypt the test key: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("ssh-keygen not available ({e}): encrypted-key check skipped"),
    }
}

/// Never more sessions open at the devices than `-c`.
///
/// Measured by the fleet (connections open at the devices), sampled every
/// millisecond while the run goes: the fleet counts a connection until its
/// server task has finished, a few microseconds after the client saw it
/// close, so its all-time maximum can show `-c + 1` at a hand-over even for
/// a correct executor. What must never happen is time spent above `-c`.
pub fn ssh_concurrency_never_exceeded(make: MakeExecutor<'_>) {
    let exec = make();
    let specs: Vec<DeviceSpec> = (1..=9)
        .map(|i| {
            let mut d = device(&format!("c{i}"), Platform::Ios);
            d.latency = Duration::from_millis(150);
            d.jitter = Duration::from_millis(100);
            d
        })
        .collect();
    let fleet = Arc::new(start(specs));
    let targets = fleet.targets();
    let job = ssh_job(exec_task("show version"), &fleet, 3);
    let bound = exec.concurrency(&job);
    assert!(
        (1..=3).contains(&bound),
        "executor claims concurrency {bound} for -c 3"
    );
    fleet.reset_max_active();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (fleet, done) = (fleet.clone(), done.clone());
        std::thread::spawn(move || {
            let (mut samples, mut above) = (0usize, 0usize);
            while !done.load(Ordering::SeqCst) {
                samples += 1;
                if fleet.stats().active > bound {
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
    let by = all_reported(&d, &targets);
    for o in by.values() {
        assert_eq!(o.status, Status::Ok, "{o:?}");
    }
    let max = fleet.stats().max_active;
    assert!(max >= 1, "the fleet counted no session");
    // A few samples may land in a hand-over; an executor over its bound
    // stays there for whole commands (150 ms each).
    assert!(
        above * 20 <= samples.max(20),
        "more than {bound} sessions were open at the devices in {above} of {samples} samples (most at once: {max}) with -c 3 (rule 5)"
    );
}

/// Cancelling a run mid-SSH: hosts done before stay ok, in-flight and
/// not-started hosts are reported `cancelled`, `run` returns promptly, and
/// the devices see every session closed.
pub fn ssh_cancellation_mid_run(make: MakeExecutor<'_>) {
    let exec = make();
    let specs: Vec<DeviceSpec> = (1..=10)
        .map(|i| {
            let mut d = device(&format!("x{i:02}"), Platform::Ios);
            if i > 2 {
                d.latency = Duration::from_secs(5);
            }
            d
        })
        .collect();
    let fleet = start(specs);
    let targets = fleet.targets();
    let mut job = ssh_job(exec_task("show version"), &fleet, 6);
    job.timeouts.command = Some(Duration::from_secs(10));
    // Cancelled once both fast hosts are in (not on a timer: debug-build
    // handshakes on a loaded machine take what they take); a safety timer
    // cancels anyway if they never come.
    let cancel = CancelToken::new();
    let safety = {
        let token = cancel.clone();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            if rx.recv_timeout(Duration::from_secs(30)).is_err() {
                token.cancel();
            }
        });
        (tx, handle)
    };
    let mut outcomes: Vec<(Instant, HostOutcome)> = Vec::new();
    let mut cancelled_at: Option<Instant> = None;
    let started = Instant::now();
    let result = {
        let mut sink = |o: HostOutcome| {
            outcomes.push((Instant::now(), o));
            let fast_ok = outcomes
                .iter()
                .filter(|(_, o)| (o.host == "x01" || o.host == "x02") && o.status == Status::Ok)
                .count();
            if fast_ok == 2 && cancelled_at.is_none() {
                cancelled_at = Some(Instant::now());
                cancel.cancel();
            }
            Flow::Continue
        };
        exec.run(&job, &targets, &mut sink, &cancel)
    };
    let returned = Instant::now();
    let _ = safety.0.send(());
    let _ = safety.1.join();
    let d = Delivered {
        outcomes,
        result,
        started,
        elapsed: returned - started,
    };
    let by = all_reported(&d, &targets);
    let cancelled_at =
        cancelled_at.unwrap_or_else(|| panic!("the two fast hosts never both reported ok: {by:?}"));
    let stopping = returned - cancelled_at;
    assert!(
        stopping < Duration::from_millis(1500),
        "cancellation took {stopping:?} to stop the run (from the cancel to run's return)"
    );
    for (name, o) in &by {
        let fast = name == "x01" || name == "x02";
        let want = if fast { Status::Ok } else { Status::Cancelled };
        assert_eq!(o.status, want, "{name}: {o:?}");
        if !fast {
            assert_eq!(o.error_kind, Some(ErrorKind::Cancelled), "{o:?}");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while fleet.stats().active > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        fleet.stats().active,
        0,
        "sessions of cancelled hosts must be closed"
    );
}

/// 20 devices with faults spread by percentage: every host reported
/// exactly once, each with the outcome its device's faults call for;
/// refused connections retried (`--retries 1`), nothing else retried.
pub fn mixed_faults_every_host_once(make: MakeExecutor<'_>) {
    let exec = make();
    let faults: FaultSpec =
        "auth_fail=15%,refuse=10%,drop_mid_output=10%,hang_on_command=10%,wrong_host_key=10%"
            .parse()
            .expect("a valid fault spec");
    let fleet = Fleet::builder()
        .devices(20)
        .faults(faults)
        .seed(7)
        .start()
        .unwrap_or_else(|e| panic!("the simulated fleet did not start: {e}"));
    let targets = fleet.targets();
    let mut job = ssh_job(exec_task("show version"), &fleet, 8);
    job.timeouts.command = Some(Duration::from_millis(800));
    job.retry.retries = 1;
    job.retry.backoff = Duration::from_millis(10);
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    let mut faulty = 0;
    for info in fleet.devices() {
        let o = outcome(&by, &info.name);
        let want = expected_for(&info.faults);
        faulty += usize::from(!info.faults.is_empty());
        assert_eq!(
            (o.status, o.error_kind),
            want,
            "{} with faults {:?}: {o:?}",
            info.name,
            info.faults
        );
        let attempts = if info.faults.contains(&Fault::Refuse) {
            2
        } else {
            1
        };
        assert_eq!(
            o.attempts, attempts,
            "{} with faults {:?}: only connect errors and timeouts before the command are retried: {o:?}",
            info.name, info.faults
        );
    }
    assert!(faulty >= 6, "the fault spec hit only {faulty} devices");
}
