//! `fanout run`: load hosts, build the job, run it on the chosen executor,
//! stream outcomes to the reporter (and the output folder).

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use fanout_core::{
    CancelToken, CliMode, CliOptions, Executor, Flow, HostKeyPolicy, HostOutcome, InOrder, Job,
    Limits, Observer, ResultOrder, RetryPolicy, RunObserver, Target, Task, Timeouts,
};
use fanout_exec_process::{ProcessExecutor, ProcessMode};
use fanout_exec_threads::{Rayon, Sequential, ThreadPool};
use fanout_report::{Format, OutDir, TableOptions, TimelineRecorder};

use crate::cli::{
    ConnectRateArg, ExecutorName, FormatArg, HostKeysArg, HostSource, ProcessModeArg, RunArgs,
    TaskCmd,
};
use crate::out;

/// Exit code when interrupted, as shells report SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

/// The run's stdout buffer (flushed whenever no outcome is waiting).
const STDOUT_BUFFER: usize = 64 * 1024;

pub(crate) fn run(mut args: RunArgs) -> Result<ExitCode> {
    if let Some(dir) = &args.out_dir {
        crate::out_path::check_output_dir("--out-dir", dir)?;
    }
    args.ops.check_paths()?;
    args.lessons.check_paths()?;
    let hosts = load_hosts(&args.hosts)?;
    if args.executor == ExecutorName::Auto {
        let (chosen, why) = auto_executor(&args.task);
        args.executor = chosen;
        if !args.ops.quiet {
            crate::note!(
                "fanout: -e auto chose {why}; pass -e seq, threads, rayon, process or async to choose"
            );
        }
    }
    check_group_caps(&args.per_group, &hosts)?;
    // Shared, not copied, by an executor whose hosts outlive a borrow
    // (`async`): see Executor::run_shared.
    let targets: Arc<[Target]> = hosts.targets.into();
    let mut job = build_job(&args, hosts.known_hosts)?;
    // -e and --runtime must agree, whichever executor runs.
    args.lessons.async_runtime(args.executor)?;
    let executor = make_executor(&args)?;
    if args.executor == ExecutorName::Seq
        && args.queue.queue.is_none()
        && let Some(c) = args.concurrency.filter(|c| *c != 1)
    {
        crate::note!(
            "fanout: warning: -e seq runs one host at a time, so -c {c} has no effect; use -e threads or -e async to run {c} hosts at once"
        );
    }
    job.validate()?;
    warn_if_host_keys_off(&job, &targets);
    // Before the --out-dir staging folder exists: a Ctrl-C from then on
    // ends with the folder in place.
    let cancel = CancelToken::new();
    install_ctrl_c(&cancel)?;
    let out_dir = args.out_dir.as_deref().map(OutDir::create).transpose()?;
    for stale in out_dir.iter().flat_map(OutDir::removed_stale) {
        crate::note!(
            "fanout: removed {}, the staging folder of an earlier run that was killed before it finished",
            stale.display()
        );
    }
    let live = crate::live::RunLive::start(
        &args.live,
        fanout_live::RunInfo {
            label: executor.name().to_string(),
            executor: executor.name().to_string(),
            concurrency: executor.concurrency(&job),
            hosts: targets.len(),
            task: job.task.to_string(),
        },
    )?;

    // Who hears of hosts while they run: the -v log, the progress bar.
    let mut observers: Vec<Arc<dyn RunObserver>> = Vec::new();
    if args.ops.verbose > 0 {
        crate::run_log::init(args.ops.verbose);
        observers.push(Arc::new(crate::run_log::RunLog::new(&targets)));
    }
    let progress = crate::progress::RunProgress::start(
        targets.len(),
        !args.ops.quiet && args.ops.verbose == 0,
    );
    if let Some(p) = &progress {
        observers.push(p.clone());
    }
    if !observers.is_empty() {
        job.observer = Observer::new(Arc::new(crate::run_log::Observers(observers)));
    }

    let format = match args.format {
        FormatArg::Table => Format::Table,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Json => Format::Json,
    };
    let mut results = crate::results::Results::new(&args.results, &targets, format)?;
    let stdout = io::stdout();
    let table = TableOptions {
        max_lines: (args.table_lines > 0).then_some(args.table_lines),
    };
    // Buffered: the sink flushes it whenever no outcome is waiting, so a
    // line streams as its host ends, and a burst of hosts (a million
    // finishing in a second) is a few large writes, not one per line.
    let unbuffered: Box<dyn Write> = match &progress {
        Some(p) => Box::new(p.writer(Box::new(stdout.lock()))),
        None => Box::new(stdout.lock()),
    };
    let stdout: Box<dyn Write> = Box::new(BufWriter::with_capacity(STDOUT_BUFFER, unbuffered));
    let mut reporter = crate::results::Results::reporter(&args.results, format, table, stdout);
    let mut out_dir = out_dir;
    // A closed stdout (`| head`) stops the run quietly; any other write
    // error (a full disk) stops it with an error. Either way, no new host
    // starts, and the output folder still gets every outcome.
    let mut stdout_closed = false;
    let mut write_error: Option<anyhow::Error> = None;
    let mut failed = crate::run_opts::FailedHosts::default();
    let mut timeline = args
        .lessons
        .timeline
        .as_ref()
        .map(|_| TimelineRecorder::new(targets.iter().map(|t| t.name.as_str())));
    let mut sink = crate::out::IdleSink(|event: Option<HostOutcome>| {
        let Some(outcome) = event else {
            // No outcome waiting: what the reporter holds goes out now.
            if !stdout_closed && write_error.is_none() {
                out::stdout_result(reporter.flush(), &mut stdout_closed, &mut write_error);
            }
            return if stdout_closed || write_error.is_some() {
                Flow::Stop
            } else {
                Flow::Continue
            };
        };
        failed.host(&outcome);
        if let Some(p) = &progress {
            p.outcome(&outcome);
        }
        if let Some(timeline) = timeline.as_mut() {
            timeline.record(&outcome);
        }
        let extras = results.host(&outcome);
        if !stdout_closed && write_error.is_none() {
            let written = reporter.host_with(&outcome, &extras);
            out::stdout_result(written, &mut stdout_closed, &mut write_error);
        }
        if write_error.is_none()
            && let Some(dir) = out_dir.as_mut()
            && let Err(e) = dir.host_with(&outcome, &extras)
        {
            write_error = Some(e.into());
        }
        if let Some(live) = &live {
            live.host(outcome);
        }
        if stdout_closed || write_error.is_some() {
            Flow::Stop
        } else {
            Flow::Continue
        }
    });
    let summary = match args.lessons.order() {
        ResultOrder::Completion => executor.run_shared(&job, targets.clone(), &mut sink, &cancel),
        ResultOrder::Inventory => {
            let mut in_order = InOrder::new(&targets, &mut sink);
            let summary = executor.run_shared(&job, targets.clone(), &mut in_order, &cancel);
            in_order.finish();
            summary
        }
    };
    if let Some(p) = &progress {
        p.finish();
    }
    let summary = summary?;
    if let Some(err) = write_error {
        return Err(err.context("results could not be written; the run was stopped"));
    }
    if !stdout_closed {
        let mut finish_error = None;
        out::stdout_result(
            reporter.finish(&summary),
            &mut stdout_closed,
            &mut finish_error,
        );
        if let Some(e) = finish_error {
            return Err(e);
        }
    }
    drop(reporter);
    results.finish(format)?;
    if let Some(path) = &args.ops.failed_out {
        let n = failed.write(path, &targets)?;
        crate::note!(
            "fanout: wrote {n} host name{} (not ok) to {}; rerun them with -l @{}",
            if n == 1 { "" } else { "s" },
            path.display(),
            path.display()
        );
    }
    if let (Some(path), Some(timeline)) = (&args.lessons.timeline, timeline) {
        let title = format!(
            "fanout run -e {} -c {}: {} on {} hosts",
            summary.executor, summary.concurrency, job.task, summary.hosts
        );
        fanout_report::write_timeline(path, &title, &timeline.hosts(), None)?;
        crate::note!("fanout: wrote the timeline to {}", path.display());
    }
    if let Some(dir) = out_dir {
        let path = dir.finish(&summary)?;
        crate::note!(
            "fanout: wrote {} host files and summary.json to {}",
            summary.hosts,
            path.display()
        );
    }
    // Ctrl-C while the live view lingers does not make the run "interrupted".
    let interrupted = cancel.is_cancelled();
    if let Some(live) = live {
        live.finish(&summary, &args.live, &cancel);
    }
    if stdout_closed {
        // The reader has what it wanted (`| head`): not a failure.
        return Ok(ExitCode::SUCCESS);
    }
    Ok(if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if summary.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The hosts of a run and what their source says about them.
pub(crate) struct Hosts {
    /// The selected targets, in inventory order.
    pub(crate) targets: Vec<Target>,
    /// The inventory's `known_hosts:` file.
    pub(crate) known_hosts: Option<PathBuf>,
    /// Every group of the source (`synthetic` for `--synthetic`).
    pub(crate) groups: Vec<String>,
    /// `FILE` or `--synthetic N`, for messages.
    pub(crate) origin: String,
    /// Host name -> what an ssh_config gave it, with `file:line`.
    pub(crate) ssh_config_origins:
        std::collections::BTreeMap<String, Vec<fanout_inventory::Origin>>,
}

/// Targets from `-i` or `--synthetic`, filtered by `-l`, with the
/// inventory's `known_hosts:` file, the groups of the source and what an
/// ssh_config gave each host.
pub(crate) fn load_hosts(source: &HostSource) -> Result<Hosts> {
    let mut ssh_config_origins = std::collections::BTreeMap::new();
    let (all, known_hosts, mut groups, origin) = match (&source.inventory, source.synthetic) {
        (Some(path), _) => {
            let env = |name: &str| std::env::var(name).ok();
            let inv = fanout_inventory::load_with(path, &source.read.options(), &env)?;
            print_warnings(&inv.warnings);
            for w in &inv.ssh_config_warnings {
                eprintln!("{w}");
            }
            ssh_config_origins = inv.ssh_config_origins;
            let origin = path.display().to_string();
            (inv.targets, inv.known_hosts, inv.groups, origin)
        }
        (None, Some(0)) => bail!("--synthetic needs at least 1 host"),
        (None, Some(n)) => (
            Target::synthetic(n),
            None,
            Vec::new(),
            format!("--synthetic {n}"),
        ),
        (None, None) => bail!("no hosts: pass -i INVENTORY or --synthetic N"),
    };
    // The groups hosts are in that the inventory does not list (by hash:
    // 100,000 hosts of many tags).
    let mut seen: std::collections::HashSet<&str> = groups.iter().map(String::as_str).collect();
    let more: Vec<String> = all
        .iter()
        .flat_map(|t| &t.groups)
        .filter(|g| seen.insert(g.as_str()))
        .cloned()
        .collect();
    groups.extend(more);
    // `-l @FILE`: the hosts a file names (one per line, as --failed-out
    // writes them), AND-ed with the other filters.
    let (lists, patterns): (Vec<&String>, Vec<&String>) =
        source.filters.iter().partition(|f| f.starts_with('@'));
    let lists: Vec<PathBuf> = lists.iter().map(|f| PathBuf::from(&f[1..])).collect();
    let filters = patterns
        .iter()
        .map(|f| fanout_inventory::Filter::parse(f).with_context(|| format!("in -l `{f}`")))
        .collect::<Result<Vec<_>>>()?;
    let total = all.len();
    let (selected, unknown) = if lists.is_empty() {
        // The targets move: no copy of 100,000 hosts.
        (fanout_inventory::select_from(all, &filters), Vec::new())
    } else {
        let mut selected = fanout_inventory::select(&all, &filters);
        let unknown = crate::run_opts::select_listed(&mut selected, &all, &lists)?;
        (selected, unknown)
    };
    if !unknown.is_empty() {
        const SHOWN: usize = 5;
        let mut names = unknown[..unknown.len().min(SHOWN)].join(", ");
        if unknown.len() > SHOWN {
            names.push_str(&format!(", ... ({} in all)", unknown.len()));
        }
        crate::note!(
            "fanout: warning: -l @FILE names hosts that {origin} does not have, skipped: {names}"
        );
    }
    if selected.is_empty() {
        bail!(
            "the filters {:?} matched none of the {} hosts of {origin}; check them with `fanout inventory list -i FILE -l FILTER`",
            source.filters,
            total
        );
    }
    Ok(Hosts {
        targets: selected,
        known_hosts,
        groups,
        origin,
        ssh_config_origins,
    })
}

/// A `--per-group` cap must name a group of the inventory: a typo would
/// otherwise cap nothing, silently.
fn check_group_caps(caps: &[(String, usize)], hosts: &Hosts) -> Result<()> {
    for (group, n) in caps {
        if hosts.groups.contains(group) {
            continue;
        }
        let known = if hosts.groups.is_empty() {
            "it has no groups".to_string()
        } else {
            const SHOWN: usize = 20;
            let mut list = hosts.groups[..hosts.groups.len().min(SHOWN)].join(", ");
            if hosts.groups.len() > SHOWN {
                list.push_str(&format!(", ... ({} groups in all)", hosts.groups.len()));
            }
            format!("its groups are: {list}")
        };
        bail!(
            "--per-group {group}={n}: {} has no group `{group}` ({known}); cap one of those instead",
            hosts.origin
        );
    }
    Ok(())
}

/// An inventory's warnings, once each, on stderr (stdout stays the results).
pub(crate) fn print_warnings(warnings: &[fanout_inventory::Warning]) {
    for w in warnings {
        eprintln!("{w}");
    }
}

fn build_job(args: &RunArgs, inventory_known_hosts: Option<PathBuf>) -> Result<Job> {
    let task = match &args.task {
        TaskCmd::Exec { command } => Task::Exec {
            command: command.join(" "),
        },
        TaskCmd::Cli {
            enable,
            config,
            commands,
            ..
        } => Task::Cli {
            commands: commands.clone(),
            mode: match (enable, config) {
                (_, true) => CliMode::Config,
                (true, false) => CliMode::Enable,
                (false, false) => CliMode::User,
            },
        },
        TaskCmd::Sleep { duration } => duration.task(args.lessons.seed),
        TaskCmd::Cpu { iterations } => Task::Cpu {
            iterations: *iterations,
        },
        TaskCmd::Local { argv } => Task::Local { argv: argv.clone() },
        TaskCmd::Http {
            method,
            body,
            headers,
            url,
            ..
        } => Task::Http {
            method: *method,
            url: url.clone(),
            headers: headers.clone(),
            body: body.as_deref().map(http_body).transpose()?,
        },
    };
    let mut timeouts = Timeouts::default();
    for (phase, value) in &args.timeouts {
        timeouts.set(*phase, *value);
    }
    let job = Job {
        task,
        limits: Limits {
            concurrency: args.concurrency(),
            per_group: args.per_group.iter().cloned().collect(),
            per_jump: args.per_jump,
            connect_rate: args.connect_rate.and_then(ConnectRateArg::fixed),
            per_jump_rate: args.per_jump_rate,
            connect_rate_auto: args.connect_rate == Some(ConnectRateArg::Auto),
            max_fail: args.ops.max_fail(),
        },
        timeouts,
        retry: RetryPolicy {
            retries: args.retries,
            backoff: args.retry_backoff,
            retry_commands: args.retry_commands,
            ..RetryPolicy::default()
        },
        host_keys: match args.host_keys {
            HostKeysArg::Strict => HostKeyPolicy::Strict,
            HostKeysArg::AcceptNew => HostKeyPolicy::AcceptNew,
            HostKeysArg::Off => HostKeyPolicy::Off,
        },
        known_hosts: args
            .known_hosts
            .iter()
            .cloned()
            .chain(inventory_known_hosts)
            .collect(),
        observer: fanout_core::Observer::default(),
        cli: match &args.task {
            TaskCmd::Cli {
                error_patterns,
                expects,
                ..
            } => CliOptions {
                error_patterns: error_patterns.clone(),
                expects: expects.clone(),
            },
            _ => CliOptions::default(),
        },
        http: fanout_core::HttpOptions {
            insecure: matches!(args.task, TaskCmd::Http { insecure: true, .. }),
        },
    };
    job.validate()?;
    if job.http.insecure {
        crate::note!("fanout: {}", fanout_core::INSECURE_WARNING);
    }
    Ok(job)
}

/// `--body`: the text, or `@FILE`'s content.
fn http_body(body: &str) -> Result<String> {
    match body.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| {
            format!("--body @{path}: cannot read the body file `{path}`; give an existing file, or the JSON text itself")
        }),
        None => Ok(body.to_string()),
    }
}

/// `--host-keys off` (or a host's `host_keys: off`) is said once per run, on
/// stderr, so it is never silently in effect.
fn warn_if_host_keys_off(job: &Job, targets: &[Target]) {
    if !job.task.kind().needs_network() {
        return;
    }
    let off = targets
        .iter()
        .filter(|t| t.host_keys.unwrap_or(job.host_keys) == HostKeyPolicy::Off)
        .count();
    if off > 0 {
        crate::note!(
            "fanout: warning: host-key verification is OFF for {off} of {} hosts: a device impersonating them would receive your credentials; use --host-keys strict (default) or accept-new outside trusted labs",
            targets.len()
        );
    }
}

/// What `-e auto` runs `task` on, and why (for the note on stderr).
pub(crate) fn auto_executor(task: &TaskCmd) -> (ExecutorName, &'static str) {
    match task {
        TaskCmd::Cpu { .. } => (
            ExecutorName::Process,
            "-e process (a pool of one worker per core) for a cpu task: every core computes, and a crash takes only its worker down",
        ),
        _ => (
            ExecutorName::Async,
            "-e async for a task that waits (network, timers, child processes): thousands of hosts in flight cost a few KiB each",
        ),
    }
}

/// The executor `-e` names, built with the run's executor options.
fn make_executor(args: &RunArgs) -> Result<Box<dyn Executor>> {
    if let Some(queue) = crate::worker_cmd::queue_executor(&args.queue)? {
        return Ok(queue);
    }
    build_executor(&ExecutorChoice {
        executor: args.executor,
        concurrency: args.concurrency,
        process_mode: args.process_mode,
        stack_size: args.stack_size,
        runtime: args.lessons.async_runtime(args.executor)?,
    })
}

/// The options that decide how an executor is built (`fanout run` and
/// `fanout doctor` build it the same way).
pub(crate) struct ExecutorChoice {
    pub(crate) executor: ExecutorName,
    pub(crate) concurrency: Option<usize>,
    pub(crate) process_mode: ProcessModeArg,
    pub(crate) stack_size: Option<usize>,
    pub(crate) runtime: fanout_exec_async::Runtime,
}

/// The executor `choice` names (never `-e auto`: resolve it first).
pub(crate) fn build_executor(args: &ExecutorChoice) -> Result<Box<dyn Executor>> {
    Ok(match args.executor {
        ExecutorName::Seq => Box::new(Sequential::new()),
        ExecutorName::Threads => {
            let mut pool = ThreadPool::builder();
            if let Some(bytes) = args.stack_size {
                pool = pool.stack_size(bytes);
            }
            Box::new(pool.build()?)
        }
        ExecutorName::Rayon => {
            let mut pool = Rayon::builder();
            if let Some(n) = args.concurrency {
                pool = pool.threads(n);
            }
            if let Some(bytes) = args.stack_size {
                pool = pool.stack_size(bytes);
            }
            Box::new(pool.build()?)
        }
        ExecutorName::Process => {
            let mode = match args.process_mode {
                ProcessModeArg::PerHost => ProcessMode::PerHost,
                ProcessModeArg::Pool => ProcessMode::Pool,
            };
            let mut process = ProcessExecutor::builder().mode(mode);
            if mode == ProcessMode::Pool && args.concurrency.is_none() {
                // A pool defaults to one worker per core (multiprocessing.Pool).
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                process = process.workers(cores);
            }
            Box::new(process.build())
        }
        ExecutorName::Async | ExecutorName::AsyncCt => Box::new(
            fanout_exec_async::AsyncExecutor::builder()
                .runtime(args.runtime)
                .build(),
        ),
        ExecutorName::Auto => unreachable!("-e auto is resolved before the executor is built"),
    })
}

/// First Ctrl-C cancels (no new hosts, in-flight ones stopped, partial
/// results printed, exit 130); a second one exits at once.
fn install_ctrl_c(cancel: &CancelToken) -> Result<()> {
    let cancel = cancel.clone();
    ctrlc::set_handler(move || {
        if cancel.is_cancelled() {
            let _ = writeln!(io::stderr(), "fanout: interrupted again, exiting now");
            // Local commands run in their own process groups: they would
            // not get the terminal's SIGINT, so take them down with us.
            fanout_engine::kill_all_local_commands();
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        let _ = writeln!(
            io::stderr(),
            "fanout: interrupted; stopping in-flight hosts and printing partial results (Ctrl-C again to quit now)"
        );
        cancel.cancel();
    })
    .context("installing the Ctrl-C handler")
}
