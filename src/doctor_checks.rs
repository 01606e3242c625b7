//! The findings of `fanout doctor`, each a pure function of what was
//! measured (limits, /proc figures, the inventory), so that each pass and
//! fail case is tested here with numbers; `doctor_cmd.rs` measures.

use fanout_engine::limits::{Demand, check_fds, check_tasks, fds_needed, tasks_needed};

/// How a finding stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// Nothing to do.
    Ok,
    /// The run may work, but look at this.
    Warn,
    /// The run will not work as asked.
    Fail,
}

impl Level {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

/// One line of `fanout doctor`: what was checked, found, and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) level: Level,
    pub(crate) check: &'static str,
    pub(crate) found: String,
    /// Empty when there is nothing to do.
    pub(crate) todo: String,
}

impl Finding {
    pub(crate) fn new(level: Level, check: &'static str, found: impl Into<String>) -> Self {
        Self {
            level,
            check,
            found: found.into(),
            todo: String::new(),
        }
    }

    pub(crate) fn todo(mut self, todo: impl Into<String>) -> Self {
        self.todo = todo.into();
        self
    }
}

/// `1 host`, `2 hosts`.
pub(crate) fn hosts_n(n: u64) -> String {
    format!("{n} host{}", if n == 1 { "" } else { "s" })
}

fn shown(v: u64) -> String {
    if v == u64::MAX {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// Open files: the executor's own estimate ([`Demand`]) against the soft
/// and hard RLIMIT_NOFILE, as every executor checks it before a run (a
/// soft limit below the need is raised toward the hard one at start).
pub(crate) fn open_files(demand: &Demand, open: u64, soft: u64, hard: u64) -> Finding {
    const CHECK: &str = "open files";
    if demand.fds_per_unit == 0 {
        return Finding::new(
            Level::Ok,
            CHECK,
            format!(
                "this task holds no files per host; ulimit -n is {}",
                shown(soft)
            ),
        );
    }
    let need = fds_needed(demand, open);
    let what = format!(
        "-c {} {} need about {need} open files ({}, {open} open now)",
        demand.units,
        demand.units_are,
        demand.files_each()
    );
    if need <= soft {
        Finding::new(
            Level::Ok,
            CHECK,
            format!(
                "{what}; ulimit -n is {} (hard {})",
                shown(soft),
                shown(hard)
            ),
        )
    } else if need <= hard {
        Finding::new(
            Level::Ok,
            CHECK,
            format!(
                "{what}; ulimit -n is {}, below that, but fanout raises it toward the hard limit {} at start",
                shown(soft),
                shown(hard)
            ),
        )
    } else {
        // What the run would say once the soft limit is raised to the hard one.
        let err = check_fds(demand, open, hard, hard).unwrap_err();
        Finding::new(
            Level::Fail,
            CHECK,
            format!("{what}, but the hard limit (ulimit -Hn) is {hard}"),
        )
        .todo(
            err.split_once("; ")
                .map_or(err.as_str(), |(_, fix)| fix)
                .to_string(),
        )
    }
}

/// The system's thread and process caps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SystemTasks {
    /// Threads of every process now (/proc/loadavg).
    pub(crate) now: u64,
    /// /proc/sys/kernel/threads-max.
    pub(crate) threads_max: u64,
    /// /proc/sys/kernel/pid_max (every thread takes an id).
    pub(crate) pid_max: u64,
}

/// Threads and processes: RLIMIT_NPROC for this user (the executors' own
/// check), then kernel.threads-max and kernel.pid_max for the system.
pub(crate) fn tasks(
    demand: &Demand,
    running: u64,
    nproc_soft: u64,
    enforced: bool,
    system: SystemTasks,
) -> Finding {
    const CHECK: &str = "threads";
    let extra = demand
        .tasks_fixed
        .saturating_add(demand.units.saturating_mul(demand.tasks_per_unit));
    if extra == 0 {
        return Finding::new(
            Level::Ok,
            CHECK,
            format!(
                "{} need no thread or process per host (ulimit -u {}, kernel.threads-max {})",
                demand.units_are,
                shown(nproc_soft),
                system.threads_max
            ),
        );
    }
    let need = tasks_needed(demand, running);
    if enforced
        && nproc_soft != u64::MAX
        && let Err(e) = check_tasks(demand, running, nproc_soft)
    {
        let (found, todo) = e.split_once("; ").unwrap_or((e.as_str(), ""));
        return Finding::new(Level::Fail, CHECK, found).todo(todo);
    }
    let sys_need = system.now.saturating_add(extra);
    let cap = system.threads_max.min(system.pid_max);
    let (cap_name, cap_key) = if system.threads_max <= system.pid_max {
        ("kernel.threads-max", "kernel.threads-max")
    } else {
        ("kernel.pid_max", "kernel.pid_max")
    };
    let user = if !enforced {
        "ulimit -u is not enforced for root".to_string()
    } else {
        format!(
            "this user needs about {need} of ulimit -u {}",
            shown(nproc_soft)
        )
    };
    let found = format!(
        "-c {} {} start about {extra} threads and processes ({} each); {user}; the system would run about {sys_need} of {cap_name} {cap}",
        demand.units, demand.units_are, demand.tasks_per_unit
    );
    if sys_need > cap {
        let fit = cap.saturating_sub(system.now.saturating_add(demand.tasks_fixed))
            / demand.tasks_per_unit.max(1);
        Finding::new(Level::Fail, CHECK, found).todo(format!(
            "lower -c to {fit}, use -e async (hosts as tasks, not threads), or raise `sysctl -w {cap_key}={sys_need}` (as root)"
        ))
    } else if sys_need > cap / 10 * 8 {
        Finding::new(Level::Warn, CHECK, found).todo(
            "within 20% of the system's cap: other programs starting threads may push hosts over it; lower -c or use -e async",
        )
    } else {
        Finding::new(Level::Ok, CHECK, found)
    }
}

/// Peak PSS of `fanout run -e seq` (one host in flight), 7.4 MiB: the
/// headline table of BENCHMARKS.md, measured by `target/release/fanout
/// compare --repeat 3 --format markdown` (100 simulated IOS devices, `cli
/// 'show version'`, -c 100), 2026-12-01.
pub(crate) const BASE_KIB: u64 = 7_578;
/// Per host in flight on -e threads and -e rayon: (21.5 MiB at -c 100 -
/// 7.4 MiB) / 100, same table and command.
pub(crate) const THREAD_HOST_KIB: u64 = 144;
/// Per host in flight on -e async: 282 MiB (the highest of three runs) of
/// peak RSS for 10,000 concurrent SSH sessions / 10,000, rounded up
/// (BENCHMARKS.md, "10,000 SSH sessions in flight", 2026-12-04, with russh
/// patched). At -c 100 the same table as above gave (16.4 MiB - 7.4 MiB) /
/// 100 = 92 KiB before the patch: the runtime's own threads spread over
/// few hosts.
pub(crate) const ASYNC_HOST_KIB: u64 = 29;
/// Per worker of -e process: (174.2 MiB PSS of 90 workers - 7.4 MiB) / 90,
/// same table and command (their summed RSS was 1.00 GiB: shared pages
/// counted once per process; PSS is what they take from MemAvailable).
pub(crate) const PROCESS_WORKER_KIB: u64 = 1_898;

/// Memory: the measured per-host cost of the executor times the hosts in
/// flight, plus the base, against MemAvailable.
pub(crate) fn memory(executor: &str, units: u64, per_unit_kib: u64, available_kib: u64) -> Finding {
    const CHECK: &str = "memory";
    let need = BASE_KIB.saturating_add(units.saturating_mul(per_unit_kib));
    let mib = |kib: u64| {
        if kib < 1024 {
            format!("{kib} KiB")
        } else {
            format!("{:.1} MiB", kib as f64 / 1024.0)
        }
    };
    let found = format!(
        "-e {executor} with {units} in flight needs about {} ({} + {} each, measured in BENCHMARKS.md); MemAvailable is {}",
        mib(need),
        mib(BASE_KIB),
        mib(per_unit_kib),
        mib(available_kib)
    );
    let fit = available_kib.saturating_sub(BASE_KIB) / per_unit_kib.max(1);
    if need > available_kib {
        Finding::new(Level::Fail, CHECK, found).todo(format!(
            "lower -c to about {fit}, or use -e async ({} per host)",
            mib(ASYNC_HOST_KIB)
        ))
    } else if need > available_kib / 2 {
        Finding::new(Level::Warn, CHECK, found).todo(format!(
            "over half of the free memory: lower -c to about {} to leave room for outputs and other programs",
            fit / 2
        ))
    } else {
        Finding::new(Level::Ok, CHECK, found)
    }
}

/// Local ports: connections to one address:port within 60 s (the
/// TIME_WAIT of the side that closes) each hold a port of
/// ip_local_port_range.
pub(crate) fn ports(
    range: (u64, u64),
    busiest: Option<(&str, u64)>,
    rate_per_min: Option<f64>,
) -> Finding {
    const CHECK: &str = "local ports";
    let size = range.1.saturating_sub(range.0) + 1;
    let Some((dest, hosts)) = busiest else {
        return Finding::new(
            Level::Ok,
            CHECK,
            format!(
                "ip_local_port_range {}-{} ({size} ports per destination); no inventory to count hosts per address",
                range.0, range.1
            ),
        )
        .todo("pass -i INVENTORY to check it");
    };
    let per_min = match rate_per_min {
        Some(r) => (hosts as f64).min(r * 60.0).ceil() as u64,
        None => hosts,
    };
    let pace = match rate_per_min {
        Some(r) => format!("at --connect-rate {r}/s"),
        None => "if all start within a minute (no --connect-rate)".into(),
    };
    let found = format!(
        "the busiest destination, {dest}, serves {}: {per_min} connections a minute {pace}, each port held 60 s in TIME_WAIT; ip_local_port_range {}-{} has {size}",
        hosts_n(hosts),
        range.0,
        range.1
    );
    let rate = (size as f64 * 0.9 / 60.0).floor();
    if per_min > size {
        Finding::new(Level::Fail, CHECK, found).todo(format!(
            "pass --connect-rate {rate}/s to fanout run (and here), or widen the range: `sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"`"
        ))
    } else if per_min > size / 2 {
        Finding::new(Level::Warn, CHECK, found).todo(format!(
            "retries or a rerun within a minute may run out of ports: pass --connect-rate {rate}/s or widen net.ipv4.ip_local_port_range"
        ))
    } else {
        Finding::new(Level::Ok, CHECK, found)
    }
}

/// `names` listed as `a, b, c, ... (N in all)`.
pub(crate) fn first_names(names: &[String], shown: usize) -> String {
    let mut out = names[..names.len().min(shown)].join(", ");
    if names.len() > shown {
        out.push_str(&format!(", ... ({} in all)", names.len()));
    }
    out
}

/// known_hosts coverage: hosts without a key on record fail under
/// `strict` (the default) and trust the first key under `accept-new`.
pub(crate) fn known_hosts(policy: &str, hosts: usize, missing: &[String], files: &str) -> Finding {
    const CHECK: &str = "known_hosts";
    if policy == "off" {
        return Finding::new(
            Level::Warn,
            CHECK,
            "--host-keys off: no host key is checked",
        )
        .todo("use --host-keys strict (default) or accept-new outside trusted labs");
    }
    if missing.is_empty() {
        return Finding::new(
            Level::Ok,
            CHECK,
            format!(
                "all {} have a key on record in {files}",
                hosts_n(hosts as u64)
            ),
        );
    }
    let found = format!(
        "{} of {} have no key on record in {files}: {}",
        missing.len(),
        hosts_n(hosts as u64),
        first_names(missing, 5)
    );
    if policy == "strict" {
        Finding::new(Level::Fail, CHECK, found).todo(
            "they fail host_key under --host-keys strict: add their keys (ssh-keyscan -p PORT HOST >> FILE, then check the fingerprints), pass --known-hosts FILE, or run once with --host-keys accept-new on a network you trust",
        )
    } else {
        Finding::new(Level::Warn, CHECK, found)
            .todo("accept-new will trust whatever key they offer first and append it")
    }
}

/// One first hop and what connecting to it gave.
#[derive(Clone, Debug)]
pub(crate) struct HopProbe {
    /// `host:port` as the ssh_config gave it.
    pub(crate) hop: String,
    /// Hosts reached through it.
    pub(crate) hosts: usize,
    /// Connect time in ms, or the error.
    pub(crate) result: Result<u128, String>,
}

/// Jump hosts: every distinct first hop must accept a TCP connection.
pub(crate) fn jump_hosts(probes: &[HopProbe], timeout_ms: u128) -> Finding {
    const CHECK: &str = "jump hosts";
    if probes.is_empty() {
        return Finding::new(Level::Ok, CHECK, "no host goes through a jump host");
    }
    let down: Vec<String> = probes
        .iter()
        .filter_map(|p| {
            p.result
                .as_ref()
                .err()
                .map(|e| format!("{} ({}): {e}", p.hop, hosts_n(p.hosts as u64)))
        })
        .collect();
    if down.is_empty() {
        let slowest = probes
            .iter()
            .filter_map(|p| p.result.as_ref().ok())
            .max()
            .copied()
            .unwrap_or(0);
        return Finding::new(
            Level::Ok,
            CHECK,
            format!(
                "{} first hop{} accept TCP connections (slowest {slowest} ms)",
                probes.len(),
                if probes.len() == 1 { "" } else { "s" }
            ),
        );
    }
    Finding::new(
        Level::Fail,
        CHECK,
        format!(
            "{} of {} first hops refuse or do not answer within {timeout_ms} ms: {}",
            down.len(),
            probes.len(),
            first_names(&down, 3)
        ),
    )
    .todo("check the ProxyJump address and port in the ssh_config, and that the bastion is up and lets you in")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(units: u64, fds: u64, tasks: u64) -> Demand {
        Demand {
            units,
            units_are: "pool threads running cli hosts".into(),
            fds_per_unit: fds,
            fds_are: "open files per host".into(),
            tasks_per_unit: tasks,
            tasks_fixed: 0,
        }
    }

    const SYS: SystemTasks = SystemTasks {
        now: 500,
        threads_max: 100_000,
        pid_max: 4_194_304,
    };

    #[test]
    fn open_files_pass_raise_and_fail() {
        let ok = open_files(&demand(100, 2, 1), 10, 1024, 1024);
        assert_eq!(ok.level, Level::Ok, "{ok:?}");
        assert!(ok.found.contains("need about 242 open files"), "{ok:?}");
        let raised = open_files(&demand(1000, 2, 1), 10, 1024, 4096);
        assert_eq!(raised.level, Level::Ok);
        assert!(
            raised
                .found
                .contains("raises it toward the hard limit 4096")
        );
        let fail = open_files(&demand(1000, 2, 1), 10, 1024, 1024);
        assert_eq!(fail.level, Level::Fail);
        // (1024 - 10 - 32) / 2, as the executors say.
        assert!(fail.todo.contains("lower -c to 491"), "{fail:?}");
        assert!(fail.todo.contains("administrator"), "{fail:?}");
        assert_eq!(open_files(&demand(10, 0, 0), 3, 64, 64).level, Level::Ok);
    }

    #[test]
    fn tasks_pass_user_limit_and_system_cap() {
        let ok = tasks(&demand(100, 2, 2), 50, 1000, true, SYS);
        assert_eq!(ok.level, Level::Ok, "{ok:?}");
        let user = tasks(&demand(1000, 2, 2), 50, 1000, true, SYS);
        assert_eq!(user.level, Level::Fail, "{user:?}");
        assert!(user.todo.contains("ulimit -u 2050"), "{user:?}");
        // Root: RLIMIT_NPROC is not enforced, the system cap still is.
        assert_eq!(
            tasks(&demand(1000, 2, 2), 50, 1000, false, SYS).level,
            Level::Ok
        );
        let sys = tasks(&demand(60_000, 2, 2), 50, u64::MAX, false, SYS);
        assert_eq!(sys.level, Level::Fail, "{sys:?}");
        assert!(sys.todo.contains("lower -c to 49750"), "{sys:?}");
        assert!(sys.todo.contains("kernel.threads-max=120500"), "{sys:?}");
        let warn = tasks(&demand(45_000, 2, 2), 50, u64::MAX, false, SYS);
        assert_eq!(warn.level, Level::Warn, "{warn:?}");
        assert_eq!(
            tasks(&demand(10_000, 2, 0), 50, 10, true, SYS).level,
            Level::Ok
        );
    }

    #[test]
    fn memory_from_measured_costs() {
        let ok = memory("async", 1000, ASYNC_HOST_KIB, 4 << 20);
        assert_eq!(ok.level, Level::Ok, "{ok:?}");
        assert!(ok.found.contains("about 35.7 MiB"), "{ok:?}");
        let warn = memory("process", 1000, PROCESS_WORKER_KIB, 3 << 20);
        assert_eq!(warn.level, Level::Warn, "{warn:?}");
        let fail = memory("process", 10_000, PROCESS_WORKER_KIB, 4 << 20);
        assert_eq!(fail.level, Level::Fail, "{fail:?}");
        assert!(fail.todo.contains("lower -c to about 2205"), "{fail:?}");
    }

    #[test]
    fn ports_against_time_wait() {
        let range = (32768, 60999);
        assert_eq!(ports(range, None, None).level, Level::Ok);
        assert_eq!(
            ports(range, Some(("10.0.0.1:22", 1)), None).level,
            Level::Ok
        );
        let fail = ports(range, Some(("bastion:22", 30_000)), None);
        assert_eq!(fail.level, Level::Fail, "{fail:?}");
        assert!(fail.todo.contains("--connect-rate 423/s"), "{fail:?}");
        let paced = ports(range, Some(("bastion:22", 30_000)), Some(100.0));
        assert_eq!(paced.level, Level::Ok, "6000 a minute fit: {paced:?}");
        let warn = ports(range, Some(("bastion:22", 20_000)), None);
        assert_eq!(warn.level, Level::Warn, "{warn:?}");
    }

    #[test]
    fn known_hosts_by_policy() {
        let missing = vec!["r2".to_string(), "r4".to_string()];
        assert_eq!(known_hosts("strict", 5, &[], "kh").level, Level::Ok);
        let fail = known_hosts("strict", 5, &missing, "kh");
        assert_eq!(fail.level, Level::Fail);
        assert!(
            fail.found
                .contains("2 of 5 hosts have no key on record in kh: r2, r4"),
            "{fail:?}"
        );
        assert_eq!(
            known_hosts("accept-new", 5, &missing, "kh").level,
            Level::Warn
        );
        assert_eq!(known_hosts("off", 5, &missing, "kh").level, Level::Warn);
        let many: Vec<String> = (1..=8).map(|i| format!("r{i}")).collect();
        assert!(first_names(&many, 5).ends_with("r5, ... (8 in all)"));
    }

    #[test]
    fn jump_hosts_up_and_down() {
        assert_eq!(jump_hosts(&[], 2000).level, Level::Ok);
        let up = HopProbe {
            hop: "127.0.0.1:2222".into(),
            hosts: 3,
            result: Ok(1),
        };
        assert_eq!(jump_hosts(std::slice::from_ref(&up), 2000).level, Level::Ok);
        let down = HopProbe {
            hop: "127.0.0.1:1".into(),
            hosts: 2,
            result: Err("connection refused".into()),
        };
        let f = jump_hosts(&[up, down], 2000);
        assert_eq!(f.level, Level::Fail);
        assert!(f.found.contains("1 of 2 first hops"), "{f:?}");
        assert!(
            f.found
                .contains("127.0.0.1:1 (2 hosts): connection refused"),
            "{f:?}"
        );
    }
}
