//! `fanout compare`'s estimates, before anything runs: what one host costs
//! (the task's own duration for `sleep`, otherwise a probe: `fanout run -e
//! seq` on the first host alone), then what each executor's runs will take
//! and which of them fit in `--max-run`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use anyhow::{Result, bail};
use fanout_compare::{
    Estimate, HostCost, MeasuredChild, RunMeasurement, RunProblem, Skipped, estimate,
    interrupt_process, max_run_hint, render::fmt_time,
};

use crate::cli::{HostSource, TaskCmd};
use crate::compare_cmd::{Setup, Source};
use crate::compare_task::{task_argv, task_title};

/// The probe's host: `fanout run` arguments selecting it alone, its name,
/// and how many hosts the source selects in all.
pub(crate) struct ProbeHost {
    args: Vec<OsString>,
    name: String,
    /// Hosts the source selects (after `-l`).
    pub(crate) selected: usize,
}

impl ProbeHost {
    /// The probe run reads this ssh_config too (`compare --bastion`: the
    /// probe goes through the jump host, as every run does).
    pub(crate) fn through(&mut self, ssh_config: &std::path::Path) {
        self.args.push("--ssh-config".into());
        self.args.push(ssh_config.into());
    }
}

/// A `-l name:` pattern matching exactly `name` (glob characters escaped
/// as one-character classes); `None` when no pattern can (a comma splits
/// filter terms; spaces around terms are trimmed).
fn exact_name_filter(name: &str) -> Option<String> {
    if name.is_empty() || name.contains(',') || name.trim() != name {
        return None;
    }
    let mut pattern = String::from("name:");
    for c in name.chars() {
        match c {
            '*' | '?' | '[' => {
                pattern.push('[');
                pattern.push(c);
                pattern.push(']');
            }
            c => pattern.push(c),
        }
    }
    Some(pattern)
}

/// The first host of `source` (an inventory, or the fleet's `inventory`),
/// as a probe host.
pub(crate) fn first_host(
    source: &Source,
    inventory: Option<&Path>,
    filters: &[String],
    read: &crate::cli::InventoryFormatArgs,
) -> Result<Option<ProbeHost>> {
    let (path, filters, read) = match (source, inventory) {
        (Source::Synthetic(n), _) => {
            return Ok(Some(ProbeHost {
                args: vec!["--synthetic".into(), "1".into()],
                name: "host0001".into(),
                selected: *n,
            }));
        }
        // A simulated fleet's inventory is fanout's own format.
        (_, Some(fleet)) => (fleet.to_path_buf(), Vec::new(), Default::default()),
        (Source::Inventory(path), None) => (path.clone(), filters.to_vec(), read.clone()),
        (Source::Sim(_), None) => return Ok(None),
    };
    let hosts = crate::run_cmd::load_hosts(&HostSource {
        inventory: Some(path.clone()),
        synthetic: None,
        filters,
        read,
    })?;
    let Some(first) = hosts.targets.first() else {
        return Ok(None);
    };
    Ok(exact_name_filter(&first.name).map(|filter| ProbeHost {
        args: vec!["-i".into(), path.into(), "-l".into(), filter.into()],
        name: first.name.clone(),
        selected: hosts.targets.len(),
    }))
}

/// What one host of the task costs: `sleep` from its duration, anything
/// else from a probe run on `probe` (`None` when the probe could not run;
/// an error when one host alone outlasts `--max-run`).
pub(crate) fn host_cost(setup: &Setup, probe: Option<&ProbeHost>) -> Result<Option<HostCost>> {
    if let TaskCmd::Sleep { duration } = setup.task {
        // A range: the longest, so the estimate never undershoots.
        return Ok(Some(HostCost {
            wall: duration.max(),
            cpu_bound: false,
        }));
    }
    let Some(probe) = probe else {
        crate::note!("fanout compare: no estimate: no host to probe; every executor runs");
        return Ok(None);
    };
    let mut cmd = Command::new(&setup.exe);
    cmd.arg("run")
        .args(&probe.args)
        .args(["-e", "seq", "--format", "jsonl"])
        .args(&setup.pass_through)
        .args(task_argv(&setup.task));
    let child = MeasuredChild::spawn(&mut cmd)?;
    let pid = child.pid();
    setup.interrupt.register(pid);
    // A watchdog stops a probe that outlasts --max-run on its own.
    let (done, wait) = mpsc::channel::<()>();
    let expired = Arc::new(AtomicBool::new(false));
    let watchdog = (setup.max_run != Duration::MAX).then(|| {
        let (limit, expired) = (setup.max_run, Arc::clone(&expired));
        std::thread::spawn(move || {
            if wait.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
                expired.store(true, Ordering::SeqCst);
                interrupt_process(pid);
            }
        })
    });
    let measured = child.wait();
    drop(done);
    if let Some(w) = watchdog {
        let _ = w.join();
    }
    setup.interrupt.unregister(pid);
    let measured = measured?;
    if setup.interrupt.fired() {
        return Ok(None);
    }
    if expired.load(Ordering::SeqCst) {
        bail!(
            "one host of `{}` ({}) ran longer than --max-run {} on its own (a probe with -e seq), so every executor's run would too; pass a larger --max-run, or --max-run none",
            task_title(&setup.task),
            probe.name,
            fmt_time(setup.max_run)
        );
    }
    let m = match RunMeasurement::from_child("seq", measured, None) {
        Ok(m) => m,
        Err(RunProblem::Refused(why) | RunProblem::Broken(why)) => {
            crate::note!(
                "fanout compare: no estimate (the probe run on {} did not finish: {why}); every executor runs",
                probe.name
            );
            return Ok(None);
        }
    };
    let wall = m.log.latencies.first().copied().unwrap_or(m.wall);
    let cpu_bound = match setup.task {
        TaskCmd::Cpu { .. } => true,
        // A local program may compute or wait: did the probe keep a core busy?
        TaskCmd::Local { .. } => {
            m.cpu.total().as_secs_f64() >= 0.5 * m.process_wall.as_secs_f64().max(1e-9)
        }
        _ => false,
    };
    if !setup.quiet {
        // A failing probe host (a faulty simulated device, a dead router)
        // measures its failure, which may be far faster or slower.
        let failed = match m.log.errors.keys().next() {
            Some(kind) if m.log.counts.ok == 0 => {
                format!("; it failed ({kind}), so the estimates are those of a failing host")
            }
            _ => String::new(),
        };
        crate::note!(
            "fanout compare: probe: one host ({}) took {} (-e seq){}{failed}",
            probe.name,
            fmt_time(wall),
            if cpu_bound { ", CPU-bound" } else { "" }
        );
    }
    Ok(Some(HostCost { wall, cpu_bound }))
}

/// Each executor's estimate at one point, and those whose runs (all
/// `repeat` of them) would take longer than `--max-run`, with the reason.
pub(crate) fn plan(
    setup: &Setup,
    hosts: usize,
    concurrency: impl Fn(&str) -> usize,
    cost: HostCost,
) -> (Vec<Estimate>, Vec<Skipped>) {
    let estimates: Vec<Estimate> = setup
        .executors
        .iter()
        .map(|e| estimate(e, concurrency(e), hosts, crate::compare_cmd::cores(), cost))
        .collect();
    let repeat = u32::try_from(setup.repeat).unwrap_or(u32::MAX);
    let mut skipped = Vec::new();
    for est in &estimates {
        let total = est.run.saturating_mul(repeat);
        if total > setup.max_run {
            let runs = if setup.repeat == 1 {
                String::new()
            } else {
                format!(" x {} runs", setup.repeat)
            };
            skipped.push(Skipped {
                executor: est.executor.clone(),
                reason: format!(
                    "estimated {}{runs} ({}), over --max-run {}; --max-run {} includes it",
                    fmt_time(est.run),
                    est.basis,
                    fmt_time(setup.max_run),
                    max_run_hint(total)
                ),
            });
        }
    }
    if !setup.quiet {
        let list: Vec<String> = estimates
            .iter()
            .map(|e| format!("{} {}", e.executor, fmt_time(e.run)))
            .collect();
        crate::note!("fanout compare: estimated per run: {}", list.join(", "));
        for s in &skipped {
            crate::note!("fanout compare: skipping {}: {}", s.executor, s.reason);
        }
    }
    (estimates, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_filters_match_one_name_exactly() {
        assert_eq!(exact_name_filter("r1").as_deref(), Some("name:r1"));
        assert_eq!(
            exact_name_filter("core*[1]?").as_deref(),
            Some("name:core[*][[]1][?]")
        );
        let filter = fanout_inventory::Filter::parse("name:core[*][[]1][?]").unwrap();
        let mut t = fanout_core::Target::new("core*[1]?", "127.0.0.1");
        assert!(filter.matches(&t));
        t.name = "core-x[1]y".into();
        assert!(!filter.matches(&t));
        assert_eq!(exact_name_filter("a,b"), None);
        assert_eq!(exact_name_filter(" a"), None);
    }
}
