//! Rules an executor refuses by design (e.g. the queue cannot enforce
//! `--per-group` or `--connect-rate` across workers). Listed in
//! [`executor_conformance!`](crate::executor_conformance)`($make, refuses:
//! [..])`, such a rule's test checks the refusal instead: `run` returns an
//! up-front [`ExecError::Setup`] naming the option, before any outcome and
//! before any host ran.

use std::time::Duration;

use fanout_core::{ExecError, Job, Rate, Task};

use crate::checks::{MakeExecutor, run_job, targets};
use crate::probe::Probe;

/// The rules an executor may refuse, with the option each stands for.
pub const REFUSABLE: &[(&str, &str)] = &[
    ("per_group", "--per-group"),
    ("per_jump", "--per-jump"),
    ("connect_rate", "--connect-rate"),
    ("per_jump_rate", "--per-jump-rate"),
    ("connect_rate_auto", "--connect-rate auto"),
];

/// The job that exercises `rule` (the one its usual check runs), with hosts
/// that stamp the probe when they run.
fn job_using(rule: &str, probe: &Probe) -> Job {
    let mut job = Job::new(Task::Local {
        argv: probe.argv(Duration::from_millis(20)),
    })
    .with_concurrency(4);
    match rule {
        "per_group" => {
            job.limits.per_group.insert("core".into(), 1);
        }
        "per_jump" => job.limits.per_jump = Some(1),
        "connect_rate" => job.limits.connect_rate = Rate::per_second(10.0),
        "per_jump_rate" => job.limits.per_jump_rate = Rate::per_second(10.0),
        "connect_rate_auto" => job.limits.connect_rate_auto = true,
        other => unreachable!("checked against REFUSABLE: {other}"),
    }
    job
}

/// `rule` (a name of [`REFUSABLE`]) is refused up front: `Err(Setup)` whose
/// message names the option, no outcome, no host started.
pub fn refused_up_front(make: MakeExecutor<'_>, rule: &str) {
    let Some(&(_, option)) = REFUSABLE.iter().find(|(name, _)| *name == rule) else {
        panic!(
            "`{rule}` is not a rule an executor may refuse; refusable: {:?}",
            REFUSABLE.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
    };
    let exec = make();
    let probe = Probe::new();
    let t = targets(4);
    let d = run_job(exec.as_ref(), &job_using(rule, &probe), &t, None, None);
    match &d.result {
        Err(e @ ExecError::Setup { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(option),
                "the refusal of {option} must name the option, got: {msg}"
            );
        }
        other => panic!("{option} must be refused with ExecError::Setup, got {other:?}"),
    }
    assert!(
        d.outcomes.is_empty(),
        "{option} is refused up front: no outcome may be delivered, got {}",
        d.outcomes.len()
    );
    let started = std::fs::read_dir(probe.path()).map_or(0, |d| d.count());
    assert_eq!(
        started, 0,
        "{option} is refused up front: no host may start, {started} probe files were written"
    );
}

/// `rule`'s usual check, or its refusal check when `refused` lists it.
pub fn check_or_refused(
    make: MakeExecutor<'_>,
    rule: &str,
    refused: &[&str],
    check: fn(MakeExecutor<'_>),
) {
    for r in refused {
        assert!(
            REFUSABLE.iter().any(|(name, _)| name == r),
            "`refuses: [{r}]` is not a rule an executor may refuse; refusable: {:?}",
            REFUSABLE.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
    }
    if refused.contains(&rule) {
        refused_up_front(make, rule);
    } else {
        check(make);
    }
}
