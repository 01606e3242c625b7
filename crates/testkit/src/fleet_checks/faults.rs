//! Every fault knob of the simulator, on exec and cli tasks: the error
//! kind, status and phase it must end in, the output kept, and retries.

use std::collections::BTreeSet;
use std::time::Duration;

use fanout_core::{CliMode, ErrorKind, Phase, Platform, Status};
use fanout_sim::{Fault, FaultSpec, Fleet};

use super::fixtures::{
    PASSWORD, SECRET, all_reported, cli_task, device, exec_task, expected_exec, first_stdout,
    last_output_seen, mask_digits, outcome, ssh_job, start,
};
use crate::checks::{MakeExecutor, run_job};

/// Which outcome a device with these faults must produce for `exec`,
/// strongest fault first.
fn expected_for(faults: &BTreeSet<Fault>) -> (Status, Option<ErrorKind>) {
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
    // Every library offers the SHA-1 algorithms old devices need, last
    // (ssh2: libssh2 built with them, .cargo/config.toml).
    let legacy = outcome(&by, "legacy");
    assert!(
        legacy.status == Status::Ok && first_stdout(legacy).contains("Cisco IOS Software"),
        "legacy: a device speaking only SHA-1 kex and hmac-sha1 must be reached: {legacy:?}"
    );
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
