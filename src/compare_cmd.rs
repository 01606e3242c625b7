//! `fanout compare`: the same task on every executor, each as a fresh
//! `fanout run` child process of this same binary (and any `--external`
//! program on the same fleet), measured by `fanout-compare` and shown side
//! by side with a recommendation. One point of it is `compare_point.rs`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use fanout_compare::plot::{self, Metric};
use fanout_compare::render;
use fanout_compare::{Comparison, Skipped};

use crate::cli::{
    CompareArgs, CompareFormat, ExecutorName, HostKeysArg, PlotMetricArg, SweepParam, TaskCmd,
};
use crate::compare_external::{self, ExternalSpec};
use crate::compare_point::compare_point;
use crate::compare_task::{format_duration, task_title};

/// Every executor of the design (docs/ARCHITECTURE.md), in table order. Those this build does not
/// have (not in `ExecutorName`) are reported as skipped.
pub(crate) const ALL_EXECUTORS: [&str; 5] = ["seq", "process", "threads", "rayon", "async"];

/// Executors that run only when -e names them (after those above):
/// `async-ct` is `async` on a current-thread runtime.
const EXTRA_EXECUTORS: [&str; 1] = ["async-ct"];

/// Devices of the default simulated fleet.
pub(crate) const DEFAULT_SIM_DEVICES: usize = 100;

const EXIT_INTERRUPTED: u8 = 130;

/// Where the hosts come from, for one point of a sweep.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    Inventory(PathBuf),
    Synthetic(usize),
    Sim(usize),
}

/// Children to interrupt on Ctrl-C (a pid, and whether it leads a process
/// group to interrupt whole), and whether it happened.
#[derive(Default)]
pub(crate) struct Interrupt {
    pids: Mutex<Vec<(u32, bool)>>,
    fired: AtomicBool,
}

fn interrupt(pid: u32, group: bool) {
    if group {
        fanout_compare::interrupt_group(pid);
    } else {
        fanout_compare::interrupt_process(pid);
    }
}

impl Interrupt {
    /// Adds a child to interrupt; one registered after Ctrl-C (it was
    /// being started when the signal came) is interrupted at once.
    pub(crate) fn register(&self, pid: u32) {
        self.add(pid, false);
    }

    /// Adds a child that leads its own process group (an `--external`
    /// program): Ctrl-C interrupts the whole group.
    pub(crate) fn register_group(&self, pid: u32) {
        self.add(pid, true);
    }

    fn add(&self, pid: u32, group: bool) {
        if let Ok(mut pids) = self.pids.lock() {
            pids.push((pid, group));
            if self.fired() {
                interrupt(pid, group);
            }
        }
    }

    pub(crate) fn unregister(&self, pid: u32) {
        if let Ok(mut pids) = self.pids.lock() {
            pids.retain(|p| p.0 != pid);
        }
    }

    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        if let Ok(pids) = self.pids.lock() {
            for (pid, group) in pids.iter() {
                interrupt(*pid, *group);
            }
        }
    }

    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

fn executor_names_in_build() -> Vec<String> {
    ExecutorName::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
        .collect()
}

/// The executors to run (in table order) and those skipped up front.
fn select_executors(requested: &[String]) -> Result<(Vec<String>, Vec<Skipped>)> {
    let in_build = executor_names_in_build();
    let known = || ALL_EXECUTORS.iter().chain(&EXTRA_EXECUTORS).copied();
    for name in requested {
        if !known().any(|k| k == name) {
            bail!(
                "-e: unknown executor `{name}`; choose from {}",
                known().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let wanted: Vec<&str> = if requested.is_empty() {
        ALL_EXECUTORS.to_vec()
    } else {
        known()
            .filter(|n| requested.iter().any(|r| r == n))
            .collect()
    };
    let (run, missing): (Vec<&str>, Vec<&str>) = wanted
        .into_iter()
        .partition(|n| in_build.iter().any(|b| b == n));
    let skipped = missing
        .into_iter()
        .map(|n| Skipped {
            executor: n.to_string(),
            reason: "not available in this build".to_string(),
        })
        .collect();
    Ok((run.into_iter().map(String::from).collect(), skipped))
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Everything that stays the same across the points of a sweep.
pub(crate) struct Setup {
    pub(crate) exe: PathBuf,
    pub(crate) task: TaskCmd,
    pub(crate) executors: Vec<String>,
    /// `--external` programs, rows after the executors.
    pub(crate) externals: Vec<ExternalSpec>,
    pub(crate) skipped: Vec<Skipped>,
    pub(crate) repeat: usize,
    pub(crate) filters: Vec<String>,
    /// How to read `-i` (the probe host loads it too).
    pub(crate) read: crate::cli::InventoryFormatArgs,
    pub(crate) pass_through: Vec<String>,
    pub(crate) latency: Duration,
    pub(crate) profile: String,
    /// More arguments for `fanout sim serve` (`--faults`, `--seed`, ...).
    pub(crate) sim_args: Vec<String>,
    /// `--bastion`: the simulated fleet gets a jump host, and every run
    /// goes through it.
    pub(crate) bastion: bool,
    pub(crate) quiet: bool,
    pub(crate) interrupt: Arc<Interrupt>,
    /// `--max-run` (`Duration::MAX`: none).
    pub(crate) max_run: Duration,
    pub(crate) recommend_anyway: bool,
    /// Each point is a concurrency of `--sweep concurrency=...`.
    pub(crate) concurrency_sweep: bool,
    /// `--explain`: each comparison gets its reasoning in words.
    pub(crate) explain: bool,
    /// `--serve`: each child run becomes a section of the live view.
    pub(crate) live: Option<crate::live::CompareLive>,
    /// `--timeline DIR`.
    pub(crate) timeline: Option<PathBuf>,
}

pub(crate) fn run(mut args: CompareArgs) -> Result<ExitCode> {
    // A chart that cannot be written must fail now, not after the runs.
    if let Some(path) = &args.plot {
        crate::out_path::check_output_file("--plot", path, &["svg"])?;
    }
    if let Some(dir) = &args.timeline {
        crate::compare_timeline::check_dir(dir)?;
    }
    let (executors, skipped) = select_executors(&args.executors)?;
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    if args.concurrency == 0 {
        bail!("-c must be at least 1");
    }
    let task = args.task.take().unwrap_or(TaskCmd::Cli {
        enable: false,
        config: false,
        error_patterns: Vec::new(),
        expect_args: Vec::new(),
        answer_args: Vec::new(),
        expects: Vec::new(),
        commands: vec!["show version".to_string()],
    });
    let needs_network = matches!(
        task,
        TaskCmd::Exec { .. } | TaskCmd::Cli { .. } | TaskCmd::Http { .. }
    );
    if args.synthetic.is_some() && needs_network {
        bail!(
            "--synthetic hosts have no SSH server, so `{}` cannot run on them; use --sim N (a simulated fleet) or -i INVENTORY, or a sleep/cpu/local task",
            task_title(&task)
        );
    }
    if !args.filters.is_empty() && args.inventory.is_none() {
        bail!("-l selects hosts of an inventory: use it with -i INVENTORY");
    }
    let base = match (&args.inventory, args.synthetic, args.sim) {
        (Some(path), _, _) => Source::Inventory(path.clone()),
        (None, Some(n), _) => Source::Synthetic(n),
        (None, None, n) => Source::Sim(n.unwrap_or(DEFAULT_SIM_DEVICES)),
    };
    if matches!(base, Source::Synthetic(0) | Source::Sim(0)) {
        bail!("need at least 1 host");
    }
    let externals = compare_external::check(&args.externals, &base, &args.filters)?;

    // Sweep points: (value, source, concurrency).
    let points: Vec<(Option<u64>, Source, usize)> = match &args.sweep {
        None => vec![(None, base, args.concurrency)],
        Some((SweepParam::Hosts, values)) => {
            let make: fn(usize) -> Source = match base {
                Source::Inventory(_) => bail!(
                    "--sweep hosts needs generated hosts: use --sim N or --synthetic N instead of -i (or sweep concurrency)"
                ),
                Source::Synthetic(_) => Source::Synthetic,
                Source::Sim(_) => Source::Sim,
            };
            values
                .iter()
                .map(|v| Ok((Some(*v), make(usize::try_from(*v)?), args.concurrency)))
                .collect::<Result<_>>()?
        }
        Some((SweepParam::Concurrency, values)) => values
            .iter()
            .map(|v| Ok((Some(*v), base.clone(), usize::try_from(*v)?)))
            .collect::<Result<_>>()?,
    };

    // How to read `-i` (a simulated fleet's inventory is fanout's own).
    let mut pass_through = if args.inventory.is_some() {
        args.read.run_args()
    } else {
        Vec::new()
    };
    for (phase, value) in &args.timeouts {
        let value = value.map_or_else(|| "none".to_string(), format_duration);
        pass_through.extend(["--timeout".to_string(), format!("{phase}={value}")]);
    }
    if let Some(rate) = args.connect_rate {
        pass_through.extend(["--connect-rate".to_string(), rate.to_string()]);
    }
    if let Some(rate) = args.per_jump_rate {
        pass_through.extend(["--per-jump-rate".to_string(), rate.to_string()]);
    }
    if let Some(n) = args.retries {
        pass_through.extend(["--retries".to_string(), n.to_string()]);
    }
    if let Some(policy) = args.host_keys {
        let name = match policy {
            HostKeysArg::Strict => "strict",
            HostKeysArg::AcceptNew => "accept-new",
            HostKeysArg::Off => "off",
        };
        pass_through.extend(["--host-keys".to_string(), name.to_string()]);
    }

    let interrupt = Arc::new(Interrupt::default());
    {
        let interrupt = Arc::clone(&interrupt);
        ctrlc::set_handler(move || {
            let _ = writeln!(
                std::io::stderr(),
                "fanout compare: interrupted; stopping the runs and the fleet"
            );
            interrupt.fire();
        })
        .context("installing the Ctrl-C handler")?;
    }

    let live = crate::live::CompareLive::start(
        &args.serve,
        format!(
            "fanout compare -e {}: {}",
            executors.join(","),
            task_title(&task)
        ),
    )?;
    let mut setup = Setup {
        exe: std::env::current_exe().context("finding this program to start its children")?,
        task,
        executors,
        externals,
        skipped,
        repeat: args.repeat,
        filters: args.filters.clone(),
        read: args.read.clone(),
        pass_through,
        latency: args.latency,
        profile: args.profile.clone(),
        sim_args: sim_args(&args),
        bastion: args.bastion || args.bastion_max_startups.is_some(),
        quiet: args.quiet,
        interrupt: Arc::clone(&interrupt),
        live,
        max_run: args.max_run,
        recommend_anyway: args.recommend_anyway,
        concurrency_sweep: matches!(args.sweep, Some((SweepParam::Concurrency, _))),
        explain: args.explain,
        timeline: args.timeline.clone(),
    };
    let sweep_name = args.sweep.as_ref().map(|(p, _)| match p {
        SweepParam::Hosts => "hosts",
        SweepParam::Concurrency => "concurrency",
    });

    let mut comparisons = Vec::new();
    // One host's cost: probed at the first point, the same at every other.
    let mut cost = None;
    for (value, source, concurrency) in points {
        if interrupt.fired() {
            break;
        }
        let mut c = compare_point(&setup, &source, concurrency, &mut cost)?;
        c.sweep = sweep_name.zip(value).map(|(p, v)| (p.to_string(), v));
        comparisons.push(c);
    }

    // A closed stdout (`| head`) still gets the chart written, then exit 0.
    let stdout_closed = match print_results(&args, sweep_name, &comparisons) {
        Ok(()) => false,
        Err(e) if crate::out::is_stdout_closed(&e) => true,
        Err(e) => return Err(e),
    };
    if let Some(path) = &args.plot {
        let metric = match args.plot_metric {
            PlotMetricArg::Wall => Metric::Wall,
            PlotMetricArg::HostsPerS => Metric::HostsPerSecond,
        };
        match (sweep_name, comparisons.as_slice()) {
            (Some(param), points) if !points.is_empty() => {
                plot::sweep_chart(path, param, points, metric)?;
            }
            (None, [one]) => plot::bar_chart(path, one, metric)?,
            _ => bail!("nothing was measured, so there is nothing to plot"),
        }
        crate::note!("fanout compare: wrote the chart to {}", path.display());
    }
    if stdout_closed {
        return Ok(ExitCode::SUCCESS);
    }
    // Ctrl-C while the live view lingers does not make the comparison "interrupted".
    let interrupted = interrupt.fired();
    if let Some(live) = setup.live.take() {
        live.finish(&args.serve, &|| interrupt.fired());
    }
    if !interrupted && comparisons.iter().all(|c| c.results.is_empty()) {
        bail!(
            "no executor could run `{}` (the `skipped` lines say why); try another task or executors (-e)",
            task_title(&setup.task)
        );
    }
    Ok(if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if comparisons.iter().any(Comparison::any_failures) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_results(args: &CompareArgs, sweep: Option<&str>, points: &[Comparison]) -> Result<()> {
    let mut out = String::new();
    match (args.format, sweep) {
        (CompareFormat::Json, None) => {
            if let Some(c) = points.first() {
                out = serde_json::to_string_pretty(&render::comparison_json(c))?;
            }
            out.push('\n');
        }
        (CompareFormat::Json, Some(param)) => {
            out = serde_json::to_string_pretty(&render::sweep_json(param, points))?;
            out.push('\n');
        }
        (CompareFormat::Table | CompareFormat::Markdown, _) => {
            let md = args.format == CompareFormat::Markdown;
            for (i, c) in points.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&if md {
                    render::comparison_markdown(c)
                } else {
                    render::comparison_table(c)
                });
            }
            if let Some(param) = sweep.filter(|_| points.len() > 1) {
                out.push('\n');
                out.push_str(&format!(
                    "{}median wall time per executor and {param}:{}\n",
                    if md { "**" } else { "" },
                    if md { "**\n" } else { "" }
                ));
                out.push_str(&render::sweep_matrix(param, points, md));
            }
        }
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(crate::out::stdout_error)
}

/// `--faults`, `--slow-banner-delay`, `--seed` and the MaxStartups, for
/// `fanout sim serve`.
fn sim_args(args: &CompareArgs) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(spec) = &args.faults {
        out.extend(["--faults".to_string(), spec.clone()]);
    }
    if let Some(delay) = args.slow_banner_delay {
        out.extend(["--slow-banner-delay".to_string(), format_duration(delay)]);
    }
    if let Some(seed) = args.seed {
        out.extend(["--seed".to_string(), seed.to_string()]);
    }
    if let Some(m) = args.max_startups {
        out.extend(["--max-startups".to_string(), m.to_string()]);
    }
    match args.bastion_max_startups {
        Some(m) => out.extend(["--bastion-max-startups".to_string(), m.to_string()]),
        // A real sshd's default.
        None if args.bastion => {
            out.extend([
                "--bastion-max-startups".to_string(),
                "10:30:100".to_string(),
            ]);
        }
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_come_from_the_build() {
        let in_build = executor_names_in_build();
        assert!(in_build.contains(&"seq".to_string()));
        let (run, skipped) = select_executors(&[]).unwrap();
        assert_eq!(run.len() + skipped.len(), ALL_EXECUTORS.len());
        // Every executor of the build runs, in the design's table order.
        let mut expected: Vec<&str> = ALL_EXECUTORS
            .iter()
            .copied()
            .filter(|n| in_build.iter().any(|b| b == n))
            .collect();
        assert_eq!(run, expected);
        expected.extend(skipped.iter().map(|s| s.executor.as_str()));
        expected.sort_unstable();
        let mut all = ALL_EXECUTORS.to_vec();
        all.sort_unstable();
        assert_eq!(expected, all, "every executor runs or is skipped");
        let (run, _) = select_executors(&["seq".to_string()]).unwrap();
        assert_eq!(run, vec!["seq".to_string()]);
        // async-ct runs when asked for, after async.
        let (run, _) = select_executors(&["async-ct".to_string(), "async".to_string()]).unwrap();
        assert_eq!(run, ["async", "async-ct"]);
        let err = select_executors(&["fibers".to_string()]).unwrap_err();
        assert!(
            err.to_string().contains("unknown executor `fibers`"),
            "{err}"
        );
    }
}
