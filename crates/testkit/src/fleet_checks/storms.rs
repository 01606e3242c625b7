//! Connection storms: `--connect-rate auto` against a device that drops
//! every new connection while another is not logged in yet (sshd's
//! `MaxStartups 1`), listed as many hosts started at once.

use fanout_core::{Platform, Status, Target};

use super::fixtures::{all_reported, device, exec_task, ssh_job, start};
use crate::checks::{MakeExecutor, run_job};

/// Hosts on the one storming device.
const HOSTS: usize = 8;

/// With `--connect-rate auto` every host of a storm ends ok: a connection
/// the device drops during the handshake slows that device's start rate
/// and is retried (without `--retries`), so each drop the device counted
/// is exactly one more attempt, and no host fails.
pub fn connect_rate_auto_rides_out_a_storm(make: MakeExecutor<'_>) {
    let exec = make();
    let mut spec = device("storm", Platform::Ios);
    spec.max_startups = Some("1".parse().expect("MaxStartups 1"));
    let fleet = start(vec![spec]);
    let one = fleet.targets().remove(0);
    let targets: Vec<Target> = (0..HOSTS)
        .map(|i| {
            let mut t = one.clone();
            t.name = format!("storm-{i:02}");
            t
        })
        .collect();
    let mut job = ssh_job(exec_task("show version"), &fleet, HOSTS);
    job.limits.connect_rate_auto = true;
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    let by = all_reported(&d, &targets);
    let failed: Vec<String> = by
        .values()
        .filter(|o| o.status != Status::Ok)
        .map(|o| {
            format!(
                "{} {} after {} attempts: {}",
                o.host,
                o.status,
                o.attempts,
                o.message.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "--connect-rate auto must ride out a device that drops connections (MaxStartups 1), but:\n  {}",
        failed.join("\n  ")
    );
    let dropped = fleet.stats().startups_dropped;
    let attempts: usize = by.values().map(|o| o.attempts as usize).sum();
    assert_eq!(
        attempts,
        HOSTS + dropped,
        "every connection the device dropped ({dropped}) must be exactly one more attempt of {HOSTS} hosts"
    );
}
