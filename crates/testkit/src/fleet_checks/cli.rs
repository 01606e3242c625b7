//! The interactive CLI in user, enable and config mode on every platform.

use fanout_core::{CliMode, ErrorKind, Platform, Status, Target};
use fanout_sim::DeviceSpec;

use super::fixtures::{
    all_reported, cli_task, device, expected_exec, first_stdout, mask_digits, outcome, ssh_job,
    start,
};
use crate::checks::{MakeExecutor, run_job};

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

/// A device error line without the `% ` prefix (IOS's `Bad mask
/// 0xFF19FF00 for address 10.99.9.9`, printed for an `ip address` with a
/// non-contiguous mask) ends a `cli --config` host `command_failed`, the
/// device's line in the message and in the failing command's output.
pub fn cli_error_without_percent(make: MakeExecutor<'_>) {
    let exec = make();
    let platforms = [Platform::Ios, Platform::Iosxe];
    let fleet = start(
        platforms
            .iter()
            .map(|p| device(&format!("{p}-1"), *p))
            .collect(),
    );
    let targets = fleet.targets();
    let command = "ip address 10.99.9.9 255.25.255.0";
    let job = ssh_job(
        cli_task(&["interface Loopback99", command], CliMode::Config),
        &fleet,
        targets.len(),
    );
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    for p in platforms {
        let name = format!("{p}-1");
        let o = outcome(&by, &name);
        assert_eq!(
            (o.status, o.error_kind),
            (Status::Failed, Some(ErrorKind::CommandFailed)),
            "{name}: `Bad mask` must fail the host command_failed: {o:?}"
        );
        let line = "Bad mask 0xFF19FF00 for address 10.99.9.9";
        assert!(
            o.message.as_deref().is_some_and(|m| m.contains(line)),
            "{name}: the message must quote the device's line: {o:?}"
        );
        assert!(
            o.outputs
                .iter()
                .any(|out| out.command == command && out.stdout.contains(line)),
            "{name}: the failing command's output must be kept: {o:?}"
        );
    }
}
