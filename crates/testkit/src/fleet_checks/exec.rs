//! `exec` on every platform: the exact text each device printed.

use fanout_core::{ErrorKind, Platform, Status, Target};
use fanout_sim::DeviceSpec;

use super::fixtures::{
    all_reported, device, exec_task, expected_exec, first_stdout, mask_digits, outcome, ssh_job,
    start,
};
use crate::checks::{MakeExecutor, run_job};

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
