//! The OS limits a run must fit in — open files (RLIMIT_NOFILE) and
//! processes plus threads of this user (RLIMIT_NPROC) — checked before any
//! host starts, so a too-large `-c` is a clear error up front instead of
//! hosts failing one by one with "too many open files". Each executor
//! describes its [`Demand`] (pool threads, worker processes); the check and
//! its advice are the same for all ([`check_limits`]). A host that runs
//! out of descriptors anyway (other programs, a limit lowered mid-run) gets
//! the one message about it ([`descriptor_shortage`]), whichever path
//! (a socket, a local command's pipes, a worker process) met it.

use fanout_core::TaskKind;

/// Descriptors kept free besides those already open and those the units
/// hold (spawning, output files, known_hosts, the runtime).
const FD_SPARE: u64 = 32;

/// What a run asks of this process's limits: `units` of its concurrency
/// (pool threads running a host each, or worker processes), each holding
/// some open files here and using some threads and processes of this user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demand {
    /// How many units run at once (what `-c` sets).
    pub units: u64,
    /// What the units are, plural, for messages (`worker processes`,
    /// `hosts of a local task at once`).
    pub units_are: String,
    /// Open files this process holds per unit.
    pub fds_per_unit: u64,
    /// What those files are, for messages (`pipe ends per worker`).
    pub fds_are: String,
    /// Threads and processes of this user per unit (the unit itself
    /// included).
    pub tasks_per_unit: u64,
    /// Threads started whatever the number of units (a pool larger than
    /// `-c`).
    pub tasks_fixed: u64,
}

/// Open files a host of `kind` holds while it runs in this process.
pub fn fds_per_host(kind: TaskKind) -> u64 {
    match kind {
        // The TCP socket. The probe that explains a failed key exchange
        // connects again only once the failed session's socket is closed.
        // A jump host, a proxy command or ssh-agent adds [`route_fds`].
        TaskKind::Exec | TaskKind::Cli => 1,
        // The TCP socket of the host's connection (kept alive in the
        // run's pool) and one being opened.
        TaskKind::Http => 2,
        // While spawning: the stdout and stderr pipes (2 ends each), the
        // /dev/null of stdin and std's exec-error pipe (2); two pipe ends
        // stay open while it runs. Threads spawning at once each hold the
        // seven.
        TaskKind::Local => 7,
        TaskKind::Sleep | TaskKind::Cpu => 0,
    }
}

/// Open files a host of `kind` holds beyond [`fds_per_host`] for the way
/// it is reached and logged into, the most any of `targets` needs: on
/// ssh2, each jump hop is a session of its own bridged through a socket
/// pair (its TCP socket or the previous pair's end, and the pair's two
/// ends: 2 more per hop); a proxy command's socket pair end and its stderr
/// pipe stand for the TCP socket and 2 more; `agent: true` opens the
/// ssh-agent's socket while logging in (1 more). russh's hops are channels
/// on one socket, so this is an upper bound there.
pub fn route_fds(kind: TaskKind, targets: &[fanout_core::Target]) -> u64 {
    most_any_route_needs(kind, targets, |t| {
        let hops = jump_hops(t);
        let proxy = if t.reach.proxy_command.is_some() {
            2
        } else {
            0
        };
        let agent = u64::from(t.credentials.agent);
        hops.saturating_mul(2)
            .saturating_add(proxy)
            .saturating_add(agent)
    })
}

/// The most `need` gives for any of `targets` when a host of `kind` is
/// reached over SSH (jump hosts, proxy commands, the agent); 0 for a task
/// that reaches no device that way.
fn most_any_route_needs(
    kind: TaskKind,
    targets: &[fanout_core::Target],
    need: impl Fn(&fanout_core::Target) -> u64,
) -> u64 {
    if !matches!(kind, TaskKind::Exec | TaskKind::Cli) {
        return 0;
    }
    targets.iter().map(need).max().unwrap_or(0)
}

fn jump_hops(t: &fanout_core::Target) -> u64 {
    u64::try_from(t.reach.jump.len()).unwrap_or(u64::MAX)
}

/// How a transport bridges a jump hop's channel to the next hop's session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HopBridge {
    /// A thread per hop (ssh2 on the blocking executors: `fanout-jump`).
    Thread,
    /// A task on the runtime (russh): no thread of the user's.
    Task,
}

/// Threads and processes a host of `kind` starts beyond
/// [`helper_tasks_per_host`] for the way it is reached, the most any of
/// `targets` needs: one bridge thread per jump hop when hops are bridged
/// by threads, or else a proxy command's process (the transports use the
/// hops when a target has both).
pub fn route_tasks(kind: TaskKind, targets: &[fanout_core::Target], bridge: HopBridge) -> u64 {
    most_any_route_needs(kind, targets, |t| match (t.reach.jump.is_empty(), bridge) {
        (false, HopBridge::Thread) => jump_hops(t),
        (false, HopBridge::Task) => 0,
        (true, _) => u64::from(t.reach.proxy_command.is_some()),
    })
}

impl Demand {
    /// `2 open files per host`, `1 open file per host`: the files each
    /// unit holds, in words.
    pub fn files_each(&self) -> String {
        let n = self.fds_per_unit;
        let are = if n == 1 {
            self.fds_are.replacen("files", "file", 1)
        } else {
            self.fds_are.clone()
        };
        format!("{n} {are}")
    }

    /// This demand with each unit also holding the files, threads and
    /// processes of the way its hosts are reached ([`route_fds`],
    /// [`route_tasks`]).
    pub fn reaching(
        mut self,
        kind: TaskKind,
        targets: &[fanout_core::Target],
        bridge: HopBridge,
    ) -> Self {
        self.fds_per_unit = self.fds_per_unit.saturating_add(route_fds(kind, targets));
        self.with_route_tasks(kind, targets, bridge)
    }

    /// This demand with each unit also running the threads and processes
    /// of the way its hosts are reached ([`route_tasks`]), not its files:
    /// a worker process holds those itself.
    pub fn with_route_tasks(
        mut self,
        kind: TaskKind,
        targets: &[fanout_core::Target],
        bridge: HopBridge,
    ) -> Self {
        self.tasks_per_unit = self
            .tasks_per_unit
            .saturating_add(route_tasks(kind, targets, bridge));
        self
    }
}

/// The [`Demand`] of `hosts` hosts of `kind` in flight at once in this
/// process, each on a thread of its own (`threads_per_host`: 1 for the
/// thread executors and the calling thread of `seq`, 0 for tokio tasks).
pub fn hosts_demand(
    hosts: usize,
    kind: TaskKind,
    threads_per_host: u64,
    units_are: &str,
) -> Demand {
    Demand {
        units: u64::try_from(hosts).unwrap_or(u64::MAX),
        units_are: units_are.to_string(),
        fds_per_unit: fds_per_host(kind),
        fds_are: "open files per host".into(),
        tasks_per_unit: threads_per_host + helper_tasks_per_host(kind),
        tasks_fixed: 0,
    }
}

/// What to say about an OS error that means "out of file descriptors"
/// (`EMFILE`: this process's open-file limit is used up; `ENFILE`: the
/// system's file table is full), or `None` for any other error. Every
/// place that opens a descriptor for a host — a socket, a local command's
/// pipes, a worker process — words it with this, so the advice is about
/// descriptors, not about the address or the program name.
pub fn descriptor_shortage(error: &std::io::Error) -> Option<String> {
    match error.raw_os_error()? {
        libc::EMFILE => {
            let (soft, hard) = rlimit(libc::RLIMIT_NOFILE);
            let shown = |v: u64| {
                if v == u64::MAX {
                    "unlimited".to_string()
                } else {
                    v.to_string()
                }
            };
            Some(format!(
                "out of file descriptors (too many open files: fanout's open-file limit, ulimit -n, is {} of at most {}); lower -c, or raise the limit with `ulimit -n $(ulimit -Hn)` before running fanout",
                shown(soft),
                shown(hard)
            ))
        }
        libc::ENFILE => Some(
            "out of file descriptors (the system's file table is full: too many open files in the whole system); lower -c, or end other programs holding many files".to_string(),
        ),
        _ => None,
    }
}

/// `error` in words: [`descriptor_shortage`] for a lack of descriptors,
/// else the error itself followed by `advice` (what else to check).
pub fn describe_io_error(error: &std::io::Error, advice: &str) -> String {
    descriptor_shortage(error).unwrap_or_else(|| format!("{error}; {advice}"))
}

/// Threads and processes a host of `kind` starts besides the thread it
/// runs on: a local command (a process) and the two threads reading its
/// output; the thread resolving an SSH host name.
pub fn helper_tasks_per_host(kind: TaskKind) -> u64 {
    match kind {
        TaskKind::Local => 3,
        TaskKind::Exec | TaskKind::Cli => 1,
        TaskKind::Http | TaskKind::Sleep | TaskKind::Cpu => 0,
    }
}

/// Checks that `demand` fits RLIMIT_NOFILE and RLIMIT_NPROC, counting the
/// files already open and the processes and threads this user already
/// runs. A too-low soft open-files limit is first raised toward the hard
/// limit. The error says what to change.
pub fn check_limits(demand: &Demand) -> Result<(), String> {
    if demand.fds_per_unit > 0 {
        let open = open_fds();
        let need = fds_needed(demand, open);
        let (mut soft, hard) = rlimit(libc::RLIMIT_NOFILE);
        if soft < need {
            // Twice the estimate (within the hard limit): descriptors other
            // code opens for a moment must not make a host fail.
            set_soft(libc::RLIMIT_NOFILE, need.saturating_mul(2).min(hard), hard);
            soft = rlimit(libc::RLIMIT_NOFILE).0;
            if soft < need {
                set_soft(libc::RLIMIT_NOFILE, need.min(hard), hard);
                soft = rlimit(libc::RLIMIT_NOFILE).0;
            }
        }
        check_fds(demand, open, soft, hard)?;
    }
    // RLIMIT_NPROC is not enforced for root.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let (soft, _) = rlimit(libc::RLIMIT_NPROC);
    if !root && soft != u64::MAX {
        check_tasks(demand, user_tasks(), soft)?;
    }
    Ok(())
}

/// Open files `demand` needs in this process with `open` already open
/// (the units' files plus a spare of 32).
pub fn fds_needed(demand: &Demand, open: u64) -> u64 {
    open.saturating_add(demand.units.saturating_mul(demand.fds_per_unit))
        .saturating_add(FD_SPARE)
}

/// The open-files verdict [`check_limits`] gives for `demand` with `open`
/// files open and a soft limit of `soft` (after raising it), without
/// touching any limit: `Err` says how far to lower `-c` or what to raise.
pub fn check_fds(demand: &Demand, open: u64, soft: u64, hard: u64) -> Result<(), String> {
    let need = fds_needed(demand, open);
    if need <= soft {
        return Ok(());
    }
    let fit = soft.saturating_sub(open.saturating_add(FD_SPARE)) / demand.fds_per_unit.max(1);
    let raise = if need <= hard {
        format!(" or raise the limit with `ulimit -n {need}`")
    } else {
        format!(" (its hard limit is {hard}: only an administrator can raise it)")
    };
    Err(format!(
        "-c {} {} need about {need} open files in fanout ({}, {open} already open), but the \
         open-file limit (ulimit -n) is {soft}; lower -c to {fit}{raise}",
        demand.units,
        demand.units_are,
        demand.files_each()
    ))
}

/// Processes and threads of this user `demand` needs with `running`
/// already running.
pub fn tasks_needed(demand: &Demand, running: u64) -> u64 {
    running
        .saturating_add(demand.tasks_fixed)
        .saturating_add(demand.units.saturating_mul(demand.tasks_per_unit))
}

/// The RLIMIT_NPROC verdict [`check_limits`] gives for `demand` with
/// `running` tasks of this user and a soft limit of `soft`.
pub fn check_tasks(demand: &Demand, running: u64, soft: u64) -> Result<(), String> {
    let need = tasks_needed(demand, running);
    if need <= soft {
        return Ok(());
    }
    let fit = soft.saturating_sub(running.saturating_add(demand.tasks_fixed))
        / demand.tasks_per_unit.max(1);
    Err(format!(
        "-c {} {} need about {need} processes and threads for this user ({} each, {running} \
         already running), but the limit (ulimit -u) is {soft}; lower -c to {fit} or raise the \
         limit with `ulimit -u {need}`",
        demand.units, demand.units_are, demand.tasks_per_unit
    ))
}

#[cfg(target_os = "linux")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_os = "linux"))]
type Resource = libc::c_int;

/// This process's open-files limit (RLIMIT_NOFILE), soft and hard
/// (`u64::MAX`: unlimited).
pub fn nofile_limit() -> (u64, u64) {
    rlimit(libc::RLIMIT_NOFILE)
}

/// This user's processes-and-threads limit (RLIMIT_NPROC), soft and hard
/// (`u64::MAX`: unlimited), and whether it is enforced (it is not for root).
pub fn nproc_limit() -> (u64, u64, bool) {
    let (soft, hard) = rlimit(libc::RLIMIT_NPROC);
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    (soft, hard, !root)
}

/// Descriptors this process has open now.
pub fn open_fds_now() -> u64 {
    open_fds()
}

/// Threads of every process of this user now (what RLIMIT_NPROC counts).
pub fn user_tasks_now() -> u64 {
    user_tasks()
}

/// Soft and hard limit (`u64::MAX` for unlimited or unreadable).
fn rlimit(resource: Resource) -> (u64, u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(resource, &mut lim) } != 0 {
        return (u64::MAX, u64::MAX);
    }
    let value = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            v
        }
    };
    (value(lim.rlim_cur), value(lim.rlim_max))
}

fn set_soft(resource: Resource, soft: u64, hard: u64) {
    let raw = |v: u64| {
        if v == u64::MAX {
            libc::RLIM_INFINITY
        } else {
            v
        }
    };
    let lim = libc::rlimit {
        rlim_cur: raw(soft),
        rlim_max: raw(hard),
    };
    // SAFETY: setrlimit reads the struct we pass; failure leaves the limit as it was.
    unsafe {
        libc::setrlimit(resource, &lim);
    }
}

/// Descriptors this process has open now.
fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(FD_SPARE)
}

/// Threads of every process of this user (what RLIMIT_NPROC counts).
fn user_tasks() -> u64 {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() }.to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next())
                == Some(uid.as_str())
        })
        .map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(1)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(units: u64, fds: u64, tasks: u64) -> Demand {
        Demand {
            units,
            units_are: "worker processes".into(),
            fds_per_unit: fds,
            fds_are: "pipe ends per worker".into(),
            tasks_per_unit: tasks,
            tasks_fixed: 0,
        }
    }

    #[test]
    fn a_direct_ssh_host_holds_one_file_and_a_route_adds_its_own() {
        use fanout_core::{JumpHop, Target};
        let direct = Target::new("r1", "127.0.0.1");
        assert_eq!(fds_per_host(TaskKind::Exec), 1);
        assert_eq!(route_fds(TaskKind::Exec, std::slice::from_ref(&direct)), 0);
        let mut jumped = Target::new("r2", "127.0.0.2");
        jumped.reach.jump = vec![JumpHop::default(), JumpHop::default()];
        let mut proxied = Target::new("r3", "127.0.0.3");
        proxied.reach.proxy_command = Some("nc %h %p".into());
        let mut agent = Target::new("r4", "127.0.0.4");
        agent.credentials.agent = true;
        assert_eq!(route_fds(TaskKind::Exec, std::slice::from_ref(&agent)), 1);
        let all = [direct, jumped, proxied.clone()];
        // The most any host needs: two hops, 2 each.
        assert_eq!(route_fds(TaskKind::Cli, &all), 4);
        assert_eq!(route_fds(TaskKind::Exec, std::slice::from_ref(&proxied)), 2);
        // Tasks without SSH reach no device through a route.
        assert_eq!(route_fds(TaskKind::Sleep, &all), 0);
        let d = hosts_demand(10, TaskKind::Cli, 1, "pool threads").reaching(
            TaskKind::Cli,
            &all,
            HopBridge::Thread,
        );
        assert_eq!(d.fds_per_unit, 5);
        assert_eq!(d.files_each(), "5 open files per host");
        // The pool thread, the name lookup, two hops' bridge threads.
        assert_eq!(d.tasks_per_unit, 4);
        // On russh the hops are tasks; a proxy command is a process on both.
        assert_eq!(route_tasks(TaskKind::Cli, &all, HopBridge::Task), 1);
        assert_eq!(route_tasks(TaskKind::Cli, &all, HopBridge::Thread), 2);
        assert_eq!(route_tasks(TaskKind::Sleep, &all, HopBridge::Thread), 0);
        let one = hosts_demand(10, TaskKind::Exec, 1, "pool threads");
        assert_eq!(one.files_each(), "1 open file per host");
    }

    #[test]
    fn fd_limit_error_says_what_to_do() {
        assert!(check_fds(&demand(100, 3, 1), 10, 1024, 1024).is_ok());
        let err = check_fds(&demand(1000, 3, 1), 10, 1024, 4096).unwrap_err();
        assert!(
            err.contains("-c 1000 worker processes need about 3042"),
            "{err}"
        );
        assert!(
            err.contains("3 pipe ends per worker, 10 already open"),
            "{err}"
        );
        // (1024 - 10 - 32) / 3
        assert!(err.contains("lower -c to 327"), "{err}");
        assert!(err.contains("ulimit -n 3042"), "{err}");
        let err = check_fds(&demand(5000, 3, 1), 10, 1024, 1024).unwrap_err();
        assert!(err.contains("administrator"), "{err}");
    }

    #[test]
    fn process_limit_error_says_what_to_do() {
        assert!(check_tasks(&demand(10, 3, 2), 100, 1000).is_ok());
        let err = check_tasks(&demand(1000, 3, 5), 100, 1000).unwrap_err();
        assert!(err.contains("lower -c to 180"), "{err}");
        assert!(err.contains("ulimit -u 5100"), "{err}");
        let mut pool = demand(10, 0, 3);
        pool.tasks_fixed = 500;
        let err = check_tasks(&pool, 100, 600).unwrap_err();
        assert!(
            err.contains("need about 630"),
            "a pool's idle threads count: {err}"
        );
        assert!(err.contains("lower -c to 0"), "{err}");
    }

    #[test]
    fn a_low_soft_fd_limit_is_raised_toward_the_hard_one() {
        let (soft, hard) = rlimit(libc::RLIMIT_NOFILE);
        let want = open_fds() + FD_SPARE + 2 * 40;
        if hard < want || soft == u64::MAX {
            return;
        }
        // Lower the soft limit just below what 40 units need, then ask.
        set_soft(libc::RLIMIT_NOFILE, want - 1, hard);
        let result = check_limits(&demand(40, 2, 0));
        let raised = rlimit(libc::RLIMIT_NOFILE).0;
        set_soft(libc::RLIMIT_NOFILE, soft, hard);
        result.unwrap();
        assert!(
            raised >= want - 2,
            "soft limit {raised}, needed about {want}"
        );
    }

    #[test]
    fn running_out_of_descriptors_says_so_not_check_the_address() {
        let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
        let msg = describe_io_error(&emfile, "check the address and port");
        assert!(msg.starts_with("out of file descriptors"), "{msg}");
        assert!(
            msg.contains("ulimit -n") && msg.contains("lower -c"),
            "{msg}"
        );
        assert!(!msg.contains("check the address"), "{msg}");
        let enfile = std::io::Error::from_raw_os_error(libc::ENFILE);
        assert!(
            descriptor_shortage(&enfile)
                .unwrap()
                .contains("file table is full")
        );
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(descriptor_shortage(&refused), None);
        assert!(describe_io_error(&refused, "check the port").ends_with("; check the port"));
    }

    #[test]
    fn small_demands_fit_and_huge_ones_are_refused_with_a_fix() {
        check_limits(&demand(2, 3, 3)).unwrap();
        let (_, hard) = rlimit(libc::RLIMIT_NOFILE);
        if hard < 1 << 40 {
            let err = check_limits(&demand(hard, 1, 0)).unwrap_err();
            assert!(
                err.contains("ulimit -n") && err.contains("lower -c"),
                "{err}"
            );
        }
    }
}
