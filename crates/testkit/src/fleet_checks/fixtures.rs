//! What every fleet check uses: device specs with the fleet defaults, a
//! started fleet, jobs with short timeouts, and helpers that read outcomes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fanout_core::{CliMode, HostKeyPolicy, HostOutcome, Job, Platform, Target, Task};
use fanout_sim::console::{Console, ConsoleOptions, DeviceConfig};
use fanout_sim::{DeviceSpec, Fleet};

use crate::checks::Delivered;

/// Connect, auth and command timeout of the fleet checks (where a check
/// does not set its own): far above what a debug-build handshake takes on
/// a loaded 2-core machine, so only the faults ever reach it.
pub(super) const SHORT: Duration = Duration::from_secs(5);

/// Credentials that must never appear in an outcome.
pub(super) const PASSWORD: &str = "pw-Xq7-never-printed";
pub(super) const SECRET: &str = "en-Zr4-never-printed";

/// A device spec with the fleet defaults (cisco/cisco, enable secret cisco).
pub(super) fn device(name: &str, platform: Platform) -> DeviceSpec {
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

pub(super) fn start(specs: Vec<DeviceSpec>) -> Fleet {
    Fleet::builder()
        .specs(specs)
        .start()
        .unwrap_or_else(|e| panic!("the simulated fleet did not start: {e}"))
}

/// A job against `fleet` with its known_hosts, strict host keys and short timeouts.
pub(super) fn ssh_job(task: Task, fleet: &Fleet, concurrency: usize) -> Job {
    let mut job = fleet_job(task, fleet).with_concurrency(concurrency);
    job.host_keys = HostKeyPolicy::Strict;
    job
}

pub(super) fn exec_task(command: &str) -> Task {
    Task::Exec {
        command: command.into(),
    }
}

pub(super) fn cli_task(commands: &[&str], mode: CliMode) -> Task {
    Task::Cli {
        commands: commands.iter().map(|c| c.to_string()).collect(),
        mode,
    }
}

/// Every target reported exactly once, and the summary agrees.
pub(super) fn all_reported(d: &Delivered, targets: &[Target]) -> BTreeMap<String, HostOutcome> {
    let by = d.by_host();
    let missing: Vec<&str> = targets
        .iter()
        .map(|t| t.name.as_str())
        .filter(|n| !by.contains_key(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "hosts never reported (contract rule 2): {missing:?}; the run returned {:?}",
        d.result
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
pub(super) fn expected_exec(name: &str, platform: Platform, command: &str) -> (String, u32) {
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

pub(super) fn mask_digits(text: &str) -> String {
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

pub(super) fn outcome<'a>(by: &'a BTreeMap<String, HostOutcome>, name: &str) -> &'a HostOutcome {
    by.get(name)
        .unwrap_or_else(|| panic!("no outcome for {name}"))
}

pub(super) fn first_stdout(o: &HostOutcome) -> &str {
    o.outputs.first().map_or("", |out| out.stdout.as_str())
}

/// What an outcome says the device printed last: the outputs' stdout, and
/// the quoted text after `last output:` (or `last output seen:`) in the
/// message, unescaped. Nothing else of the message counts: it names the
/// awaited command on its own.
pub(super) fn last_output_seen(o: &HostOutcome) -> String {
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

/// A fleet of `devices` default devices logging in `admin` with `password`
/// (enable secret `en`), with the fault spec `faults` (`""`: none), for
/// tests of one transport on its own.
pub fn small_fleet(devices: usize, password: &str, faults: &str) -> Fleet {
    let mut builder = Fleet::builder()
        .devices(devices)
        .credentials("admin", password, Some("en"));
    if !faults.is_empty() {
        builder = builder.faults(faults.parse().expect("a valid fault spec"));
    }
    builder.start().expect("the simulated fleet starts")
}

/// A job of `task` that trusts `fleet`'s host keys, with 5 s connect, auth
/// and command timeouts.
pub fn fleet_job(task: Task, fleet: &Fleet) -> Job {
    let mut job = Job::new(task);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    job.timeouts.connect = Some(SHORT);
    job.timeouts.auth = Some(SHORT);
    job.timeouts.command = Some(SHORT);
    job
}
