//! One point of `fanout compare` (the whole comparison without `--sweep`):
//! the fleet started, one host's cost estimated, every executor and
//! `--external` program run `--repeat` times round-robin and measured, and
//! the verdict.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use fanout_compare::render::fmt_time;
use fanout_compare::{
    ChildMeasurement, Comparison, ExecutorResult, FleetProcess, HostCost, MeasuredChild, Rules,
    RunMeasurement, RunProblem, Skipped, Workload, conclude, explain, interleaved,
};

use crate::compare_cmd::{Setup, Source, cores};
use crate::compare_estimate;
use crate::compare_external::{self, FleetFiles};
use crate::compare_task::{format_duration, hint, task_argv, task_title};

/// How long a fleet may take to write its inventory.
const FLEET_START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `fanout run` arguments that pick the hosts.
fn source_args(source: &Source, inventory: Option<&Path>, filters: &[String]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = Vec::new();
    match (source, inventory) {
        (Source::Synthetic(n), _) => {
            argv.push("--synthetic".into());
            argv.push(n.to_string().into());
        }
        (_, Some(path)) => {
            argv.push("-i".into());
            argv.push(path.into());
        }
        (Source::Inventory(path), None) => {
            argv.push("-i".into());
            argv.push(path.into());
        }
        (Source::Sim(_), None) => unreachable!("a simulated fleet always has an inventory"),
    }
    for f in filters {
        argv.push("-l".into());
        argv.push(f.into());
    }
    argv
}

/// Starts the simulated fleet of a `--sim` point.
fn start_fleet(setup: &Setup, source: &Source) -> Result<Option<FleetProcess>> {
    let Source::Sim(n) = source else {
        return Ok(None);
    };
    let mut serve: Vec<OsString> = [
        "sim",
        "serve",
        "-n",
        &n.to_string(),
        "--profile",
        &setup.profile,
        "--latency",
        &format_duration(setup.latency),
    ]
    .iter()
    .map(OsString::from)
    .collect();
    serve.extend(setup.sim_args.iter().map(OsString::from));
    // An http task needs each device's HTTPS API (`http_port`, the CA).
    if matches!(setup.task, crate::cli::TaskCmd::Http { .. }) {
        serve.push("--http".into());
    }
    let dir = FleetProcess::temp_dir()?;
    if setup.bastion {
        // The jump host's login is the client key; its ssh_config is
        // completed below once the fleet is up.
        serve.extend([
            "--bastions".into(),
            "1".into(),
            "--client-key-out".into(),
            dir.path().join("client_key").into_os_string(),
            "--ssh-config-out".into(),
            dir.path().join("sim_ssh_config").into_os_string(),
        ]);
    }
    let fleet = FleetProcess::start_in(dir, &setup.exe, &serve, FLEET_START_TIMEOUT)
        .context("starting the simulated fleet (`fanout sim serve`)")?;
    if setup.bastion {
        write_jump_config(fleet.dir())?;
    }
    if let Some(pid) = fleet.pid() {
        setup.interrupt.register(pid);
    }
    if !setup.quiet {
        crate::note!(
            "fanout compare: simulated fleet of {n} {} devices ({} command latency) up in {:.2} s, pid {}, inventory {}",
            setup.profile,
            fanout_core::format_duration(setup.latency),
            fleet.start_time().as_secs_f64(),
            fleet.pid().unwrap_or(0),
            fleet.inventory_path().display()
        );
    }
    Ok(Some(fleet))
}

/// The ssh_config every `--bastion` run reads: the devices (all on
/// 127.0.0.1) through b1, then the simulator's own config (b1's address,
/// user and key, each device's port and known_hosts).
fn write_jump_config(dir: &Path) -> Result<()> {
    let sim = dir.join("sim_ssh_config");
    let text = std::fs::read_to_string(&sim).with_context(|| {
        format!(
            "reading the simulated bastion's ssh_config {}",
            sim.display()
        )
    })?;
    let path = jump_config(dir);
    std::fs::write(&path, format!("Host 127.0.0.1\n  ProxyJump b1\n\n{text}"))
        .with_context(|| format!("writing {}", path.display()))
}

fn jump_config(dir: &Path) -> std::path::PathBuf {
    dir.join("jump_ssh_config")
}

/// Waits for a started child, registered for Ctrl-C meanwhile (its whole
/// process group when `group`).
fn measure(setup: &Setup, child: MeasuredChild, group: bool) -> Result<ChildMeasurement> {
    let pid = child.pid();
    if group {
        setup.interrupt.register_group(pid);
    } else {
        setup.interrupt.register(pid);
    }
    let measured = child.wait();
    setup.interrupt.unregister(pid);
    Ok(measured?)
}

/// `5/5 ok` or, for a program that printed no host lines, `no host lines`.
fn hosts_note(m: &RunMeasurement) -> String {
    if m.external.is_some() && m.log.hosts() == 0 {
        "no host lines".to_string()
    } else {
        format!("{}/{} ok", m.log.counts.ok, m.log.hosts())
    }
}

/// Runs every executor and external program `repeat` times (round-robin)
/// on one host source, except executors whose estimated runs exceed
/// `--max-run` (externals are not estimated). `cost` is one host's cost,
/// probed at the first point (`Some(None)`: not available).
pub(crate) fn compare_point(
    setup: &Setup,
    source: &Source,
    concurrency: usize,
    cost: &mut Option<Option<HostCost>>,
) -> Result<Comparison> {
    let fleet = start_fleet(setup, source)?;
    let fleet_inventory = fleet.as_ref().map(FleetProcess::inventory_path);
    let source_desc = match source {
        Source::Sim(n) => format!(
            "simulated fleet: {n} {} devices, {} command latency",
            setup.profile,
            fanout_core::format_duration(setup.latency)
        ),
        Source::Synthetic(n) => format!("--synthetic {n}"),
        Source::Inventory(path) => path.display().to_string(),
    };
    let mut src_args = source_args(source, fleet_inventory, &setup.filters);
    if setup.bastion
        && let Some(fleet) = &fleet
    {
        src_args.push("--ssh-config".into());
        src_args.push(jump_config(fleet.dir()).into_os_string());
    }
    let files: Option<FleetFiles> = if setup.externals.is_empty() {
        None
    } else {
        compare_external::files(source, fleet_inventory)?
    };
    let task = task_argv(&setup.task);
    // seq runs 1 whatever -c says; rayon is one thread per core.
    let run_concurrency = |name: &str| match name {
        "seq" => 1,
        "rayon" => cores(),
        _ => concurrency,
    };

    // Rows: the executors, then the external programs.
    let executors = setup.executors.len();
    let rows = executors + setup.externals.len();
    let mut runs: Vec<Vec<RunMeasurement>> = vec![Vec::new(); rows];
    let mut skipped = setup.skipped.clone();
    let mut dropped = vec![false; rows];

    let mut probe =
        compare_estimate::first_host(source, fleet_inventory, &setup.filters, &setup.read)?;
    if setup.bastion
        && let (Some(p), Some(fleet)) = (probe.as_mut(), &fleet)
    {
        p.through(&jump_config(fleet.dir()));
    }
    let planned_hosts = match source {
        Source::Synthetic(n) | Source::Sim(n) => *n,
        Source::Inventory(_) => probe.as_ref().map_or(0, |p| p.selected),
    };
    if cost.is_none() {
        *cost = Some(compare_estimate::host_cost(setup, probe.as_ref())?);
    }
    let mut estimates = Vec::new();
    if let Some(Some(host)) = *cost {
        let (all, over) = compare_estimate::plan(setup, planned_hosts, run_concurrency, host);
        estimates = all;
        for s in over {
            if let Some(e) = setup.executors.iter().position(|n| *n == s.executor) {
                dropped[e] = true;
            }
            skipped.push(s);
        }
    }
    let mut timelines = setup
        .timeline
        .as_deref()
        .map(|dir| crate::compare_timeline::Timelines::new(dir, executors));
    let order = interleaved(rows, setup.repeat);
    let total = order.len();
    for (step, (round, e)) in order.into_iter().enumerate() {
        if setup.interrupt.fired() {
            break;
        }
        if dropped[e] {
            continue;
        }
        let fleet_before = fleet.as_ref().and_then(FleetProcess::cpu_time);
        let (name, measured) = if e < executors {
            let name = &setup.executors[e];
            let mut cmd = Command::new(&setup.exe);
            cmd.arg("run").args(&src_args).args(["-e", name]);
            if name != "seq" {
                cmd.args(["-c", &run_concurrency(name).to_string()]);
            }
            if timelines.is_some() {
                // Rows in inventory order, whatever the completion order.
                cmd.args(["--order", "inventory"]);
            }
            cmd.args(["--format", "jsonl"])
                .args(&setup.pass_through)
                .args(setup.live.as_ref().map_or_else(Vec::new, |live| {
                    live.child_args(&format!("[{}/{total}] {name} run {}", step + 1, round + 1))
                }))
                .args(&task);
            (
                name,
                measure(setup, MeasuredChild::spawn(&mut cmd)?, false)?,
            )
        } else {
            let spec = &setup.externals[e - executors];
            let line = compare_external::command_line(spec, files.as_ref(), concurrency)?;
            let child = compare_external::spawn(&line, files.as_ref(), concurrency)?;
            (&spec.name, measure(setup, child, true)?)
        };
        let fleet_cpu = match (
            fleet_before,
            fleet.as_ref().and_then(FleetProcess::cpu_time),
        ) {
            (Some(a), Some(b)) => Some(b.total().saturating_sub(a.total())),
            _ => None,
        };
        if setup.interrupt.fired() {
            break;
        }
        if e < executors
            && let Some(t) = timelines.as_mut()
        {
            t.record(e, &measured.stdout);
        }
        let result = if e < executors {
            RunMeasurement::from_child(name, measured, fleet_cpu)
        } else {
            let spec = &setup.externals[e - executors];
            Ok(RunMeasurement::from_external(
                name,
                &spec.command,
                measured,
                fleet_cpu,
            ))
        };
        match result {
            Ok(m) => {
                if !setup.quiet {
                    let exit = m
                        .external
                        .as_ref()
                        .map_or_else(String::new, |x| format!(", exit {}", x.exit_status));
                    crate::note!(
                        "fanout compare: [{}/{total}] {name} run {}: {} wall, {}, {} client CPU{exit}",
                        step + 1,
                        round + 1,
                        fmt_time(m.wall),
                        hosts_note(&m),
                        fmt_time(m.cpu.total())
                    );
                }
                runs[e].push(m);
            }
            Err(problem) => {
                let reason = match problem {
                    RunProblem::Refused(why) => why,
                    RunProblem::Broken(why) => format!("run {} broke: {why}", round + 1),
                };
                if !setup.quiet {
                    crate::note!(
                        "fanout compare: [{}/{total}] {name} skipped: {reason}",
                        step + 1
                    );
                }
                skipped.push(Skipped {
                    executor: name.clone(),
                    reason,
                });
                // Its earlier runs (if any) are kept out of the table too:
                // a result must rest on every run asked for.
                runs[e].clear();
                dropped[e] = true;
            }
        }
    }
    let fleet_cpu = runs
        .iter()
        .flatten()
        .filter_map(|r| r.fleet_cpu)
        .reduce(|a, b| a + b);
    if let Some(mut fleet) = fleet {
        if let Some(pid) = fleet.pid() {
            setup.interrupt.unregister(pid);
        }
        fleet.stop();
    }
    if let Some(t) = timelines {
        t.write(&setup.executors, &task_title(&setup.task))?;
    }
    let results: Vec<ExecutorResult> = runs
        .iter()
        .filter_map(|r| ExecutorResult::aggregate(r))
        .collect();
    let hosts = match source {
        Source::Inventory(_) if planned_hosts == 0 => results
            .iter()
            .filter(|r| !r.is_external())
            .map(|r| r.hosts)
            .max()
            .unwrap_or(0),
        _ => planned_hosts,
    };
    let workload = Workload {
        hosts,
        cores: cores(),
        hint: hint(&setup.task),
    };
    let verdict = conclude(
        &results,
        &workload,
        Rules {
            at_concurrency: setup.concurrency_sweep.then_some(concurrency),
            recommend_anyway: setup.recommend_anyway,
        },
    );
    let mut comparison = Comparison {
        task: task_title(&setup.task),
        hosts,
        source: source_desc,
        cores: cores(),
        repeat: setup.repeat,
        sweep: None,
        results,
        skipped,
        fleet_cpu,
        estimates,
        verdict,
        explanation: None,
    };
    if setup.explain {
        comparison.explanation = Some(explain(&comparison, &workload));
    }
    Ok(comparison)
}
