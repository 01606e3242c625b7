//! Telnet targets (`transport: telnet`, the simulator's `--telnet` fleet)
//! on every executor: the login dialog of each platform, then the same
//! cli dialog as over SSH (enable, configuration mode), every fault knob
//! that means something over telnet ending in the error kind and phase it
//! ends in over SSH, the password never in an outcome, and cancellation.

use std::time::{Duration, Instant};

use fanout_core::{CliMode, ErrorKind, HostKeyPolicy, Job, Phase, Platform, Status, Task};
use fanout_sim::{DeviceSpec, Fault, Fleet};

use super::fixtures::{
    PASSWORD, SECRET, all_reported, cli_task, device, last_output_seen, outcome,
};
use crate::checks::{MakeExecutor, run_job};

/// Connect and command timeout of these checks (auth: [`LOGIN`]).
const SHORT: Duration = Duration::from_secs(5);
/// The auth timeout (the login dialog) where a check waits for it to run out.
const LOGIN: Duration = Duration::from_secs(2);

fn telnet_fleet(specs: Vec<DeviceSpec>) -> Fleet {
    Fleet::builder()
        .specs(specs)
        .telnet(true)
        .start()
        .unwrap_or_else(|e| panic!("the simulated telnet fleet did not start: {e}"))
}

/// A device logging in with the checks' own password and enable secret.
fn secret_device(name: &str, platform: Platform) -> DeviceSpec {
    let mut d = device(name, platform);
    d.password = PASSWORD.into();
    d.secret = Some(SECRET.into());
    d
}

fn telnet_job(task: Task, concurrency: usize) -> Job {
    // No known_hosts: telnet has no host keys, and strict checking must
    // not stop a telnet host.
    let mut job = Job::new(task).with_concurrency(concurrency);
    job.host_keys = HostKeyPolicy::Strict;
    job.timeouts.connect = Some(SHORT);
    job.timeouts.auth = Some(SHORT);
    job.timeouts.command = Some(SHORT);
    job
}

fn assert_no_secret(o: &fanout_core::HostOutcome) {
    let debug = format!("{o:?}");
    for secret in [PASSWORD, SECRET] {
        assert!(
            !debug.contains(secret),
            "{}: a credential in the outcome: {debug}",
            o.host
        );
    }
}

/// `cli --enable 'show version'` (`uname -a` on Linux) over telnet on every platform's login
/// dialog (`Username:` on IOS, `HOST login:` on NX-OS/EOS/Linux, `login:`
/// on Junos), outputs as over SSH; then configuration mode renames an IOS
/// device, which `show running-config` shows. The password and the enable
/// secret appear in no outcome.
pub fn telnet_cli_every_platform(make: MakeExecutor<'_>) {
    let exec = make();
    let platforms = [
        ("tn-ios", Platform::Ios),
        ("tn-nxos", Platform::Nxos),
        ("tn-eos", Platform::Eos),
        ("tn-junos", Platform::Junos),
        ("tn-linux", Platform::Linux),
    ];
    let fleet = telnet_fleet(
        platforms
            .iter()
            .map(|(name, p)| secret_device(name, *p))
            .collect(),
    );
    let mut targets = fleet.targets();
    for t in &mut targets {
        let command = if t.name == "tn-linux" {
            "uname -a"
        } else {
            "show version"
        };
        t.vars.insert("cmd".into(), command.into());
    }
    assert!(
        targets
            .iter()
            .all(|t| t.transport == fanout_core::Transport::Telnet),
        "the telnet fleet's targets say transport telnet"
    );
    let job = telnet_job(cli_task(&["{vars.cmd}"], CliMode::Enable), 3);
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for (name, platform) in platforms {
        let o = outcome(&by, name);
        assert_eq!(o.status, Status::Ok, "{name} over telnet: {o:?}");
        assert_eq!(o.outputs.len(), 1, "{name}: {o:?}");
        let out = &o.outputs[0].stdout;
        assert!(
            !out.trim().is_empty() && !out.contains("show version") && !out.contains("uname"),
            "{name}: the output without the echo: {out:?}"
        );
        if platform == Platform::Ios {
            assert!(out.contains("Cisco IOS Software"), "{name}: {out}");
        }
        assert!(
            o.timings.auth > Duration::ZERO && o.timings.command > Duration::ZERO,
            "{name}: the login counts as auth, the dialog as command: {:?}",
            o.timings
        );
        assert_no_secret(o);
    }

    let ios: Vec<_> = targets
        .iter()
        .filter(|t| t.name == "tn-ios")
        .cloned()
        .collect();
    let rename = telnet_job(cli_task(&["hostname tn-lab"], CliMode::Config), 1);
    let d = run_job(exec.as_ref(), &rename, &ios, None, None);
    let o = outcome(&all_reported(&d, &ios), "tn-ios").clone();
    assert_eq!(o.status, Status::Ok, "config mode over telnet: {o:?}");
    let show = telnet_job(
        cli_task(&["show running-config | include hostname"], CliMode::Enable),
        1,
    );
    let d = run_job(exec.as_ref(), &show, &ios, None, None);
    let by = all_reported(&d, &ios);
    let o = outcome(&by, "tn-ios");
    assert!(
        o.outputs
            .first()
            .is_some_and(|out| out.stdout.contains("hostname tn-lab")),
        "the configuration change must show: {o:?}"
    );
    assert_no_secret(o);
}

/// The fault knobs over telnet: `refuse` → failed/connect ("check ... that
/// telnet is enabled"), `auth_fail` and a wrong password → failed/auth,
/// `hang_on_connect` (no login prompt) → timeout in phase auth naming the
/// login prompt, `slow_banner` → ok, `hang_on_command` → timeout in phase
/// command with the last output, `drop_mid_output` → failed/channel,
/// `endless_output` → prompt_not_found, as over SSH.
pub fn telnet_faults(make: MakeExecutor<'_>) {
    let exec = make();
    let with = |name: &str, fault: Option<Fault>| {
        let mut d = secret_device(name, Platform::Ios);
        d.faults.extend(fault);
        d
    };
    let fleet = telnet_fleet(vec![
        with("refuse-1", Some(Fault::Refuse)),
        with("authfail-1", Some(Fault::AuthFail)),
        with("wrongpw-1", None),
        with("hangconn-1", Some(Fault::HangOnConnect)),
        with("slow-1", Some(Fault::SlowBanner)),
        with("hangcmd-1", Some(Fault::HangOnCommand)),
        with("drop-1", Some(Fault::DropMidOutput)),
        with("endless-1", Some(Fault::EndlessOutput)),
    ]);
    let mut targets = fleet.targets();
    for t in &mut targets {
        if t.name == "wrongpw-1" {
            t.credentials.password = Some(fanout_core::Secret::new("not-the-password"));
        }
    }
    let mut job = telnet_job(cli_task(&["show version"], CliMode::User), 8);
    job.timeouts.auth = Some(LOGIN);
    job.timeouts.command = Some(Duration::from_millis(800));
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    let expect = [
        ("refuse-1", Status::Failed, ErrorKind::Connect, None),
        ("authfail-1", Status::Failed, ErrorKind::Auth, None),
        ("wrongpw-1", Status::Failed, ErrorKind::Auth, None),
        (
            "hangconn-1",
            Status::Timeout,
            ErrorKind::Timeout,
            Some(Phase::Auth),
        ),
        (
            "hangcmd-1",
            Status::Timeout,
            ErrorKind::Timeout,
            Some(Phase::Command),
        ),
        ("drop-1", Status::Failed, ErrorKind::Channel, None),
        ("endless-1", Status::Failed, ErrorKind::PromptNotFound, None),
    ];
    for (name, status, kind, phase) in expect {
        let o = outcome(&by, name);
        assert_eq!(
            (o.status, o.error_kind),
            (status, Some(kind)),
            "{name} over telnet: {o:?}"
        );
        if phase.is_some() {
            assert_eq!(o.phase, phase, "{name}: the phase: {o:?}");
        }
        assert_no_secret(o);
    }
    let message = |name: &str| outcome(&by, name).message.clone().unwrap_or_default();
    assert!(
        message("refuse-1").contains("telnet is enabled"),
        "{}",
        message("refuse-1")
    );
    for name in ["authfail-1", "wrongpw-1"] {
        let m = message(name);
        assert!(
            m.contains("telnet login as cisco at 127.0.0.1:") && m.contains("Login invalid"),
            "{name}: the device's refusal quoted: {m}"
        );
    }
    let m = message("hangconn-1");
    assert!(
        m.starts_with("auth timed out after 2s") && m.contains("login prompt"),
        "no login prompt: {m}"
    );
    let o = outcome(&by, "slow-1");
    assert_eq!(o.status, Status::Ok, "a slow login banner is fine: {o:?}");
    let seen = last_output_seen(outcome(&by, "hangcmd-1"));
    assert!(
        seen.contains("terminal length 0") || seen.contains("hangcmd-1"),
        "hang_on_command: the last output seen: {seen:?}"
    );
}

/// Cancelling a run whose telnet devices hang — one at the login, one on
/// the command, timeouts far away — reports both `cancelled` promptly.
pub fn telnet_cancellation(make: MakeExecutor<'_>) {
    let exec = make();
    let mut at_login = secret_device("tn-hang-login", Platform::Ios);
    at_login.faults.insert(Fault::HangOnConnect);
    let mut at_command = secret_device("tn-hang-cmd", Platform::Ios);
    at_command.faults.insert(Fault::HangOnCommand);
    let fleet = telnet_fleet(vec![at_login, at_command]);
    let targets = fleet.targets();
    let mut job = telnet_job(cli_task(&["show version"], CliMode::User), 2);
    job.timeouts.auth = Some(Duration::from_secs(120));
    job.timeouts.command = Some(Duration::from_secs(120));
    let cancel_at = Duration::from_millis(1500);
    let started = Instant::now();
    let d = run_job(exec.as_ref(), &job, &targets, Some(cancel_at), None);
    let elapsed = started.elapsed();
    let by = all_reported(&d, &targets);
    for t in &targets {
        let o = outcome(&by, &t.name);
        assert_eq!(
            (o.status, o.error_kind),
            (Status::Cancelled, Some(ErrorKind::Cancelled)),
            "{}: {o:?}",
            t.name
        );
    }
    let late = elapsed.saturating_sub(cancel_at);
    assert!(
        late < Duration::from_secs(3),
        "the run stopped {late:?} after the cancel"
    );
}
