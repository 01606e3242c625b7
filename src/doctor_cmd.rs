//! `fanout doctor`: before a big run, measure what the run will need
//! against this machine's limits and the inventory's state, one line per
//! finding (the findings themselves: `doctor_checks.rs`).

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, ValueEnum};
use fanout_core::{Executor, HostKeyPolicy, Job, Rate, Target, Task, TaskKind};
use fanout_engine::limits::Demand;
use serde_json::json;

use crate::cli::{ExecutorName, HostKeysArg, InventoryFormatArgs, ProcessModeArg, TaskCmd};
use crate::doctor_checks::{self as checks, Finding, HopProbe, Level, SystemTasks};

/// `fanout doctor` options: those of the `fanout run` you plan.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// The inventory of the planned run (without it, only the machine's
    /// limits are checked, for -c hosts).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub(crate) inventory: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) read: InventoryFormatArgs,

    /// The executor of the planned run (auto: async, as `fanout run`
    /// chooses for exec and cli).
    #[arg(short = 'e', long = "executor", value_enum, default_value_t = ExecutorName::Auto)]
    pub(crate) executor: ExecutorName,

    /// Hosts in flight of the planned run [default: as `fanout run`].
    #[arg(short = 'c', long, value_name = "N")]
    pub(crate) concurrency: Option<usize>,

    /// With -e process: per-host or pool, as `fanout run`.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = ProcessModeArg::Pool)]
    pub(crate) process_mode: ProcessModeArg,

    /// known_hosts files the run will pass (repeatable); then the
    /// inventory's `known_hosts:`, then ~/.ssh/known_hosts, as `fanout run`.
    #[arg(long, value_name = "FILE")]
    pub(crate) known_hosts: Vec<PathBuf>,

    /// Host-key policy of the planned run: hosts without a key fail under
    /// strict (FAIL here), are trusted on first use under accept-new (warn).
    #[arg(long, value_enum, default_value_t = HostKeysArg::Strict)]
    pub(crate) host_keys: HostKeysArg,

    /// The run's --connect-rate (N/s, N/m): paces connections to one
    /// address, so fewer local ports are in TIME_WAIT at once (`auto`
    /// paces only endpoints that drop connections: counted as unpaced).
    #[arg(long, value_name = "RATE|auto")]
    pub(crate) connect_rate: Option<crate::cli::ConnectRateArg>,

    /// How long to wait for each jump host's TCP connect.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = crate::cli::parse_duration)]
    pub(crate) jump_timeout: Duration,

    /// Output: one line per finding, or a JSON document.
    #[arg(long, value_enum, default_value_t = DoctorFormat::Text)]
    pub(crate) format: DoctorFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DoctorFormat {
    /// `LEVEL CHECK: found; what to do`, one line each.
    Text,
    /// {"findings": [{"level", "check", "found", "todo"}], "fail": N, "warn": N}.
    Json,
}

/// `fanout doctor --help`.
pub(crate) const LONG_HELP: &str = "Before a big run: check this machine's limits and the inventory, one line per finding: ok, warn or FAIL, what was found, and what to do. Give it the -i, -e, -c (and --ssh-config, --known-hosts, --host-keys, --connect-rate) of the run you plan; it assumes an SSH task (exec or cli) and connects to nothing but the jump hosts the inventory names.

Findings:
  open files   the executor's own estimate of descriptors for -c hosts (the check every executor makes before a run) vs ulimit -n, soft and hard (fanout raises the soft one itself)
  threads      threads and processes the executor starts vs ulimit -u (not enforced for root), kernel.threads-max and kernel.pid_max
  memory       -c times the per-host cost measured in BENCHMARKS.md for the executor (async 29 KiB, threads 144 KiB, a process worker 1.9 MiB, plus 7.4 MiB) vs MemAvailable
  inventory    it loads (a load error is the one FAIL, with file:line:col)
  ssh_config   which files are read and how many hosts they set something for (errors with file:line)
  local ports  the most hosts behind one address:port (a device, or the bastion every host goes through) vs net.ipv4.ip_local_port_range: each connection holds a local port 60 s in TIME_WAIT
  known_hosts  hosts with no key on record (under strict they fail host_key)
  reach        hosts every executor refuses before connecting (telnet, jump hosts, ProxyCommand)
  jump hosts   a TCP connect (--jump-timeout) to each distinct first ProxyJump hop

Exit status: 0 when nothing FAILs, 1 otherwise (2: a usage error).

Example: fanout doctor -i fleet.yaml -e threads -c 500";

/// The task the doctor plans for: an SSH task (exec and cli cost the same).
const KIND: TaskKind = TaskKind::Cli;

pub(crate) fn run(args: &DoctorArgs) -> Result<ExitCode> {
    let mut findings = Vec::new();
    let executor = match args.executor {
        ExecutorName::Auto => {
            crate::run_cmd::auto_executor(&TaskCmd::Exec {
                command: Vec::new(),
            })
            .0
        }
        e => e,
    };
    // An inventory that does not load is a FAIL of its own; the machine
    // is still checked.
    let targets = args
        .inventory
        .as_ref()
        .and_then(|path| load(path, args, &mut findings));
    machine(
        args,
        executor,
        targets.as_ref().map(|t| t.0.as_slice()),
        &mut findings,
    )?;
    if let Some((targets, known)) = &targets {
        findings.push(ports(
            targets,
            args.connect_rate
                .and_then(crate::cli::ConnectRateArg::fixed),
        ));
        findings.push(known_hosts(args, targets, known.clone())?);
        findings.push(reach(targets));
        findings.push(jump_hosts(targets, args.jump_timeout));
    }
    report(args, &findings)
}

/// Loads the inventory (as `fanout run` would), adding the inventory and
/// ssh_config findings; `None` when it does not load.
fn load(
    path: &std::path::Path,
    args: &DoctorArgs,
    findings: &mut Vec<Finding>,
) -> Option<(Vec<Target>, Option<PathBuf>)> {
    let env = |name: &str| std::env::var(name).ok();
    let started = Instant::now();
    let inv = match fanout_inventory::load_with(path, &args.read.options(), &env) {
        Ok(inv) => inv,
        Err(e) => {
            let (check, todo) = if matches!(e, fanout_inventory::InventoryError::SshConfig { .. }) {
                (
                    "ssh_config",
                    "fix that line of the ssh_config; the host checks need it",
                )
            } else {
                (
                    "inventory",
                    "fix it (`fanout inventory check -i FILE` lists every problem); the host checks need it",
                )
            };
            findings.push(Finding::new(Level::Fail, check, format!("{e:#}")).todo(todo));
            return None;
        }
    };
    findings.push(Finding::new(
        if inv.warnings.is_empty() {
            Level::Ok
        } else {
            Level::Warn
        },
        "inventory",
        format!(
            "{} ({}): {} loaded in {} ms{}",
            path.display(),
            inv.format,
            checks::hosts_n(inv.targets.len() as u64),
            started.elapsed().as_millis(),
            match inv.warnings.first() {
                Some(w) => format!("; {} warning(s), first: {w}", inv.warnings.len()),
                None => String::new(),
            }
        ),
    ));
    findings.push(ssh_config(args, &inv));
    Some((inv.targets, inv.known_hosts))
}

fn ssh_config(args: &DoctorArgs, inv: &fanout_inventory::Inventory) -> Finding {
    const CHECK: &str = "ssh_config";
    let mut files: Vec<String> = args
        .read
        .ssh_config
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    for t in &inv.targets {
        if let Some(p) = &t.ssh_config_file {
            let p = p.display().to_string();
            if !files.contains(&p) {
                files.push(p);
            }
        }
    }
    if files.is_empty() {
        return Finding::new(
            Level::Ok,
            CHECK,
            "none read (no --ssh-config, no ssh_config_file:)",
        )
        .todo("if you reach hosts with `ssh` through ~/.ssh/config, pass --ssh-config ~/.ssh/config here and to fanout run");
    }
    let mut by_field: BTreeMap<&str, usize> = BTreeMap::new();
    let mut set = 0;
    for origins in inv.ssh_config_origins.values() {
        let applied: Vec<&str> = origins
            .iter()
            .filter(|o| o.from.starts_with("ssh_config"))
            .map(|o| o.field)
            .collect();
        set += usize::from(!applied.is_empty());
        for f in applied {
            *by_field.entry(f).or_default() += 1;
        }
    }
    let fields: Vec<String> = by_field.iter().map(|(f, n)| format!("{f} {n}")).collect();
    let found = format!(
        "{} read: it sets something for {set} of {}{}",
        files.join(", "),
        checks::hosts_n(inv.targets.len() as u64),
        if fields.is_empty() {
            String::new()
        } else {
            format!(" ({})", fields.join(", "))
        }
    );
    match inv.ssh_config_warnings.first() {
        Some(w) => Finding::new(
            Level::Warn,
            CHECK,
            format!("{found}; {} warning(s), first: {w}", inv.ssh_config_warnings.len()),
        ),
        None if set == 0 => Finding::new(Level::Warn, CHECK, found).todo(
            "its Host patterns match none of the inventory's addresses (they match the address, not the name): check them with `fanout inventory show -i FILE --ssh-config FILE HOST`",
        ),
        None => Finding::new(Level::Ok, CHECK, found),
    }
}

/// Open files, threads and memory for the executor at its concurrency.
fn machine(
    args: &DoctorArgs,
    executor: ExecutorName,
    targets: Option<&[Target]>,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let built = crate::run_cmd::build_executor(&crate::run_cmd::ExecutorChoice {
        executor,
        concurrency: args.concurrency,
        process_mode: args.process_mode,
        stack_size: None,
        runtime: fanout_exec_async::Runtime::MultiThread,
    })?;
    let mut job = Job::new(Task::Exec {
        command: "show version".into(),
    });
    job.limits.concurrency = args.concurrency.unwrap_or(crate::cli::DEFAULT_CONCURRENCY);
    let hosts = targets.map(<[Target]>::len);
    let units = units(executor, &*built, &job, hosts);
    let demand = demand(executor, units, targets.unwrap_or(&[]));
    let (soft, hard) = fanout_engine::limits::nofile_limit();
    let open = fanout_engine::limits::open_fds_now();
    findings.push(checks::open_files(&demand, open, soft, hard));
    let (nproc, _, enforced) = fanout_engine::limits::nproc_limit();
    let system = SystemTasks {
        now: read_proc("/proc/loadavg", |s| {
            s.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok()
        })
        .unwrap_or(0),
        threads_max: read_proc("/proc/sys/kernel/threads-max", |s| s.trim().parse().ok())
            .unwrap_or(u64::MAX),
        pid_max: read_proc("/proc/sys/kernel/pid_max", |s| s.trim().parse().ok())
            .unwrap_or(u64::MAX),
    };
    let running = fanout_engine::limits::user_tasks_now();
    let pool = matches!(executor, ExecutorName::Threads | ExecutorName::Rayon);
    findings.push(if pool && units > fanout_exec_threads::MAX_THREADS {
        // What the pools refuse before anything else.
        Finding::new(
            Level::Fail,
            "threads",
            format!(
                "-e {} with {units} threads: more than its {} at most",
                executor.as_str(),
                fanout_exec_threads::MAX_THREADS
            ),
        )
        .todo("lower -c, or use -e async for more hosts in flight")
    } else {
        checks::tasks(&demand, running, nproc, enforced, system)
    });
    let per_unit = match executor {
        ExecutorName::Seq => 0,
        ExecutorName::Threads | ExecutorName::Rayon => checks::THREAD_HOST_KIB,
        ExecutorName::Process => checks::PROCESS_WORKER_KIB,
        _ => checks::ASYNC_HOST_KIB,
    };
    let available = read_proc("/proc/meminfo", |s| {
        s.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    });
    findings.push(match available {
        Some(kib) => checks::memory(executor.as_str(), units as u64, per_unit, kib),
        None => Finding::new(
            Level::Warn,
            "memory",
            "MemAvailable unreadable (/proc/meminfo)",
        ),
    });
    Ok(())
}

/// Hosts (or workers) in flight at once, as the executor counts them.
fn units(executor: ExecutorName, built: &dyn Executor, job: &Job, hosts: Option<usize>) -> usize {
    let c = built.concurrency(job);
    match (executor, hosts) {
        // A rayon pool starts all its threads, whatever the hosts.
        (ExecutorName::Rayon, _) | (_, None) => c,
        (_, Some(h)) => c.min(h),
    }
}

/// The executor's own limits estimate for `units` in flight, reaching
/// `targets` (a worker process holds its hosts' files itself).
fn demand(executor: ExecutorName, units: usize, targets: &[Target]) -> Demand {
    match executor {
        ExecutorName::Seq => fanout_exec_threads::sequential_demand(units, KIND, targets),
        ExecutorName::Threads | ExecutorName::Rayon => {
            fanout_exec_threads::pool_demand(units, KIND, targets)
        }
        ExecutorName::Process => fanout_exec_process::limits_demand(units, KIND, targets),
        _ => fanout_exec_async::limits_demand(units, KIND, targets),
    }
}

fn read_proc(path: &str, parse: impl Fn(&str) -> Option<u64>) -> Option<u64> {
    parse(&std::fs::read_to_string(path).ok()?)
}

/// Where a host's TCP connection goes: its first jump host, or itself.
fn destination(t: &Target) -> String {
    match t.reach.jump.first() {
        Some(hop) => format!("{}:{}", hop.host, hop.port),
        None => format!("{}:{}", t.address, t.port),
    }
}

fn ports(targets: &[Target], rate: Option<Rate>) -> Finding {
    let range = read_proc("/proc/sys/net/ipv4/ip_local_port_range", |s| {
        s.split_whitespace().next()?.parse().ok()
    })
    .zip(read_proc("/proc/sys/net/ipv4/ip_local_port_range", |s| {
        s.split_whitespace().nth(1)?.parse().ok()
    }));
    let Some(range) = range else {
        return Finding::new(
            Level::Warn,
            "local ports",
            "/proc/sys/net/ipv4/ip_local_port_range unreadable",
        );
    };
    let mut per: BTreeMap<String, u64> = BTreeMap::new();
    for t in targets {
        *per.entry(destination(t)).or_default() += 1;
    }
    let busiest = per.iter().max_by_key(|(_, n)| **n);
    checks::ports(
        range,
        busiest.map(|(d, n)| (d.as_str(), *n)),
        rate.map(Rate::as_per_second),
    )
}

fn known_hosts(
    args: &DoctorArgs,
    targets: &[Target],
    inventory: Option<PathBuf>,
) -> Result<Finding> {
    let policy = match args.host_keys {
        HostKeysArg::Strict => HostKeyPolicy::Strict,
        HostKeysArg::AcceptNew => HostKeyPolicy::AcceptNew,
        HostKeysArg::Off => HostKeyPolicy::Off,
    };
    let name = match args.host_keys {
        HostKeysArg::Strict => "strict",
        HostKeysArg::AcceptNew => "accept-new",
        HostKeysArg::Off => "off",
    };
    let files: Vec<PathBuf> = args.known_hosts.iter().cloned().chain(inventory).collect();
    // Read even under `off`: a host may say `host_keys: strict`.
    let verifier = match fanout_hostkeys::HostKeyVerifier::new(HostKeyPolicy::Strict, &files) {
        Ok(v) => v,
        Err(e) => {
            return Ok(Finding::new(Level::Fail, "known_hosts", e.to_string())
                .todo("fix or remove that file; fanout run would stop on it"));
        }
    };
    let checked: Vec<&Target> = targets
        .iter()
        .filter(|t| t.host_keys.unwrap_or(policy) != HostKeyPolicy::Off)
        .collect();
    let missing: Vec<String> = checked
        .iter()
        .filter(|t| verifier.known_key_types(t).is_empty())
        .map(|t| t.name.clone())
        .collect();
    let shown: Vec<String> = verifier
        .files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let shown = if shown.is_empty() {
        "no known_hosts file".to_string()
    } else {
        shown.join(", ")
    };
    if policy == HostKeyPolicy::Off && checked.is_empty() {
        return Ok(checks::known_hosts("off", targets.len(), &missing, &shown));
    }
    Ok(checks::known_hosts(
        if policy == HostKeyPolicy::Off {
            "strict"
        } else {
            name
        },
        checked.len(),
        &missing,
        &shown,
    ))
}

/// How the hosts are reached, and what that means: telnet hosts run only
/// `cli` (an `exec` on them fails before connecting, `engine::preflight`)
/// and send their passwords in cleartext; hosts behind jump hosts pay one
/// more SSH login per hop.
fn reach(targets: &[Target]) -> Finding {
    let telnet: Vec<String> = targets
        .iter()
        .filter(|t| t.transport == fanout_core::Transport::Telnet)
        .map(|t| t.name.clone())
        .collect();
    let jumped = targets.iter().filter(|t| !t.reach.jump.is_empty()).count();
    let proxied = targets
        .iter()
        .filter(|t| t.reach.proxy_command.is_some())
        .count();
    let mut routes = vec![format!(
        "{} direct",
        targets.len() - telnet.len() - jumped - proxied
    )];
    if jumped > 0 {
        routes.push(format!(
            "{jumped} through jump hosts (one more SSH login per hop)"
        ));
    }
    if proxied > 0 {
        routes.push(format!("{proxied} through a ProxyCommand"));
    }
    if telnet.is_empty() {
        return Finding::new(
            Level::Ok,
            "reach",
            format!("{} hosts over SSH: {}", targets.len(), routes.join(", ")),
        );
    }
    Finding::new(
        Level::Warn,
        "reach",
        format!(
            "{} of {} hosts use telnet ({}): only `cli` runs on them (an exec task fails before \
             connecting) and their passwords cross the network in cleartext; move them to SSH \
             where you can. The others: {}",
            telnet.len(),
            targets.len(),
            checks::first_names(&telnet, 5),
            routes.join(", ")
        ),
    )
}

fn jump_hosts(targets: &[Target], timeout: Duration) -> Finding {
    let mut hops: BTreeMap<(String, u16), usize> = BTreeMap::new();
    for t in targets {
        if let Some(hop) = t.reach.jump.first() {
            *hops.entry((hop.host.clone(), hop.port)).or_default() += 1;
        }
    }
    // Every first hop at once (they are few: bastions), each on a thread.
    let probes: Vec<HopProbe> = std::thread::scope(|s| {
        let running: Vec<_> = hops
            .iter()
            .map(|((host, port), n)| {
                let handle = s.spawn(move || probe(host, *port, timeout));
                (host, *port, *n, handle)
            })
            .collect();
        running
            .into_iter()
            .map(|(host, port, hosts, handle)| HopProbe {
                hop: fanout_core::JumpHop {
                    host: host.clone(),
                    port,
                    ..fanout_core::JumpHop::default()
                }
                .to_string(),
                hosts,
                result: handle
                    .join()
                    .unwrap_or_else(|_| Err("the probe panicked".into())),
            })
            .collect()
    });
    checks::jump_hosts(&probes, timeout.as_millis())
}

/// A TCP connect to `host:port` (only what the inventory names), closed
/// at once: its time in ms, or why it failed.
fn probe(host: &str, port: u16, timeout: Duration) -> Result<u128, String> {
    let started = Instant::now();
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = format!("{host} resolves to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => return Ok(started.elapsed().as_millis()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("no answer from {addr} within {} ms", timeout.as_millis());
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

fn report(args: &DoctorArgs, findings: &[Finding]) -> Result<ExitCode> {
    let count = |l: Level| findings.iter().filter(|f| f.level == l).count();
    let (fail, warn) = (count(Level::Fail), count(Level::Warn));
    match args.format {
        DoctorFormat::Text => {
            for f in findings {
                let todo = if f.todo.is_empty() {
                    String::new()
                } else {
                    format!("; {}", f.todo)
                };
                crate::outln!("{:<4} {}: {}{todo}", f.level.as_str(), f.check, f.found)?;
            }
            crate::outln!(
                "{} checks: {} ok, {warn} warn, {fail} FAIL",
                findings.len(),
                findings.len() - fail - warn
            )?;
        }
        DoctorFormat::Json => {
            let list: Vec<_> = findings
                .iter()
                .map(|f| {
                    json!({
                        "level": f.level.as_str().to_ascii_lowercase(),
                        "check": f.check,
                        "found": f.found,
                        "todo": f.todo,
                    })
                })
                .collect();
            let doc = json!({"findings": list, "fail": fail, "warn": warn});
            crate::outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(if fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
