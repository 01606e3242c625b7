//! Linux `/proc` readings: a process's CPU time, its descendants, and the
//! memory of a whole process tree: resident (RSS, shared pages counted once
//! per process) and proportional (PSS, each shared page divided among the
//! processes that map it, from `/proc/PID/smaps_rollup`).
//!
//! This kernel has no `/proc/PID/task/TID/children`, so descendants are
//! found by scanning every `/proc/PID/stat` for its parent pid: a few
//! hundred small reads per sample, done by the measuring process (never
//! billed to the measured one).

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

/// User and system CPU time of one process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// Time in user mode.
    pub user: Duration,
    /// Time in the kernel on the process's behalf.
    pub system: Duration,
}

impl CpuTime {
    /// User + system.
    pub fn total(&self) -> Duration {
        self.user + self.system
    }
}

/// The fields of `/proc/PID/stat` after the command name, which may itself
/// contain spaces and parentheses (so split at the last `)`).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for unknown names.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

fn page_size() -> u64 {
    // SAFETY: as above.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

/// CPU time a live process has used so far (utime + stime of
/// `/proc/PID/stat`, in clock ticks of 10 ms here); `None` once it is gone.
pub fn cpu_time(pid: u32) -> Option<CpuTime> {
    let fields = stat_fields(pid)?;
    // Fields 14 and 15 of stat(5); index 0 here is field 3 (state).
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    let per_second = clock_ticks_per_second();
    let to_duration = |t: u64| Duration::from_nanos(t.saturating_mul(1_000_000_000) / per_second);
    Some(CpuTime {
        user: to_duration(ticks(11)?),
        system: to_duration(ticks(12)?),
    })
}

/// Resident memory of one process (`/proc/PID/statm`, equal to VmRSS);
/// `None` once it is gone or a zombie.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    statm(pid).map(|m| m.rss)
}

/// One process's memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Memory {
    /// All resident pages (VmRSS).
    rss: u64,
    /// Resident pages backed by files or shared memory (RssFile +
    /// RssShmem): the executable and libraries, shared between processes
    /// running the same binary.
    shared: u64,
    /// Proportional set size: private pages plus each shared page divided
    /// by the number of processes mapping it (any process, in the tree or
    /// not). The RSS when `smaps_rollup` cannot be read (kernels before
    /// 4.14), an upper bound then.
    pss: u64,
}

/// `Rss`, `Pss` and `Anonymous` of `/proc/PID/smaps_rollup`, in bytes;
/// `None` once the process is gone or a zombie (the read fails).
fn smaps_rollup(pid: u32) -> Option<Memory> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let (mut rss, mut pss, mut anon) = (None, None, None);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "Rss" => &mut rss,
            "Pss" => &mut pss,
            "Anonymous" => &mut anon,
            _ => continue,
        };
        let kib = rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
        *slot = Some(kib * 1024);
    }
    let (rss, pss, anon) = (rss?, pss?, anon.unwrap_or(0));
    (rss > 0).then(|| Memory {
        rss,
        shared: rss.saturating_sub(anon),
        pss: pss.min(rss),
    })
}

/// `/proc/PID/statm` (cheap, no PSS: it is set to the RSS).
fn statm(pid: u32) -> Option<Memory> {
    let text = fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let mut fields = text.split_whitespace().skip(1);
    let resident: u64 = fields.next()?.parse().ok()?;
    let shared: u64 = fields.next()?.parse().ok()?;
    // A zombie's statm is all zeros; a live process always has pages.
    (resident > 0).then(|| Memory {
        rss: resident * page_size(),
        shared: shared.min(resident) * page_size(),
        pss: resident * page_size(),
    })
}

/// One process's memory with its PSS, falling back to `statm` when
/// `smaps_rollup` cannot be read.
fn memory(pid: u32) -> Option<Memory> {
    smaps_rollup(pid).or_else(|| statm(pid))
}

/// Proportional set size of one process (`Pss` of
/// `/proc/PID/smaps_rollup`); `None` once it is gone or a zombie.
pub fn pss_bytes(pid: u32) -> Option<u64> {
    memory(pid).map(|m| m.pss)
}

/// The memory of a process tree at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeMemory {
    /// Sum of every process's VmRSS (shared pages counted once per process).
    pub rss_sum: u64,
    /// Sum of every process's PSS: what the tree occupies, each page shared
    /// with other processes charged in proportion.
    pub pss_sum: u64,
    /// Sum of every process's private (anonymous) resident memory plus the
    /// largest process's file-backed resident memory: an estimate of what
    /// the tree really occupies when its processes run the same binary.
    pub private_estimate: u64,
    /// Live processes in the tree.
    pub processes: usize,
}

/// Records, per thread of `pid`, how long it has waited runnable on a run
/// queue (the second field of `/proc/PID/task/TID/schedstat`, in ns).
/// Threads whose file cannot be read (gone, or no schedstats in this
/// kernel) keep what was recorded before.
pub fn thread_core_waits(pid: u32, into: &mut HashMap<u32, Duration>) {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(text) = fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        if let Some(ns) = text
            .split_whitespace()
            .nth(1)
            .and_then(|f| f.parse::<u64>().ok())
        {
            into.insert(tid, Duration::from_nanos(ns));
        }
    }
}

/// `root` and every live descendant of it (children, grandchildren, ...).
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let parent = stat_fields(pid).and_then(|f| f.get(1)?.parse::<u32>().ok());
            if let Some(parent) = parent {
                children.entry(parent).or_default().push(pid);
            }
        }
    }
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        if let Some(kids) = children.get(&tree[next]) {
            tree.extend(kids.iter().copied().filter(|k| *k != root));
        }
        next += 1;
    }
    tree
}

/// Sum of the resident memory of `root` and all its live descendants.
/// Pages shared between processes (the executable's code) count once per
/// process, as `ps` and `top` would show them: an upper bound on the memory
/// the tree really uses.
pub fn tree_rss_bytes(root: u32) -> u64 {
    process_tree(root).into_iter().filter_map(rss_bytes).sum()
}

/// Samples the memory of a process tree: reading one `/proc` file costs
/// 10-30 µs on this kind of VM, so the full ppid scan that finds new
/// descendants (a few ms for a hundred processes) runs on the first sample
/// and then only once [`TreeSampler::REDISCOVER_AFTER`] has passed since
/// the last (every 6th sample at the fastest pace); in between only the
/// known members' `smaps_rollup` is read. That read costs 100-500 µs per
/// process (the kernel walks its mappings: a forked Python worker with
/// netmiko loaded is ~480 µs), which is why the caller paces samples by
/// their cost — and why the scan goes by time, not by count: when samples
/// are slow, every sample finds the processes started since the last.
#[derive(Debug)]
pub struct TreeSampler {
    root: u32,
    members: Vec<u32>,
    last_scan: Option<Instant>,
    /// Per thread id, the latest time it had waited runnable for a core.
    core_waits: HashMap<u32, Duration>,
}

impl TreeSampler {
    /// A full scan happens once this long has passed since the last one.
    pub const REDISCOVER_AFTER: Duration = Duration::from_millis(90);

    /// A sampler of `root`'s tree.
    pub fn new(root: u32) -> Self {
        Self {
            root,
            members: vec![root],
            last_scan: None,
            core_waits: HashMap::new(),
        }
    }

    /// The memory of the tree now.
    pub fn sample(&mut self) -> TreeMemory {
        if self
            .last_scan
            .is_none_or(|t| t.elapsed() >= Self::REDISCOVER_AFTER)
        {
            self.members = process_tree(self.root);
            self.last_scan = Some(Instant::now());
        }
        let mut total = TreeMemory::default();
        let mut largest_shared = 0;
        let waits = &mut self.core_waits;
        self.members.retain(|pid| match memory(*pid) {
            Some(m) => {
                thread_core_waits(*pid, waits);
                total.rss_sum += m.rss;
                total.pss_sum += m.pss;
                total.private_estimate += m.rss - m.shared;
                largest_shared = largest_shared.max(m.shared);
                total.processes += 1;
                true
            }
            None => false,
        });
        total.private_estimate += largest_shared;
        total
    }

    /// How long the tree's threads had waited, runnable, for a core, summed
    /// over every thread seen at any sample (as of its last sample): the
    /// time a busy machine took from the run. A thread's wait after the
    /// last sample it was seen in is not counted.
    pub fn core_wait(&self) -> Duration {
        self.core_waits.values().sum()
    }

    /// Processes in the tree as last discovered (still alive at the last sample).
    pub fn members(&self) -> &[u32] {
        &self.members
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn own_process_is_readable() {
        let me = std::process::id();
        assert!(
            rss_bytes(me).unwrap() > 100_000,
            "a test binary is bigger than 100 kB"
        );
        let cpu = cpu_time(me).unwrap();
        assert!(cpu.total() < Duration::from_secs(3600));
        // PSS charges this process only its share of the pages it shares
        // (libc with every other process): more than nothing, at most RSS.
        let rollup = smaps_rollup(me).expect("smaps_rollup is readable (Linux >= 4.14)");
        assert!(rollup.pss > 0 && rollup.pss <= rollup.rss, "{rollup:?}");
        assert!(rollup.shared < rollup.rss, "{rollup:?}");
        assert!(pss_bytes(me).unwrap() <= rss_bytes(me).unwrap() + (1 << 20));
        assert_eq!(process_tree(me)[0], me);
    }

    #[test]
    fn more_spinners_than_cores_wait_for_a_core() {
        // One more busy process than there are cores: together they must
        // wait (at least a core's worth of their run less what the cores
        // can give), and the sampler adds up what each thread waited.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let spin = "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done";
        let script = format!("{}wait", format!("( {spin} ) & ").repeat(cores + 1));
        let mut sh = Command::new("sh").args(["-c", &script]).spawn().unwrap();
        let mut sampler = TreeSampler::new(sh.id());
        let mut busiest = 0;
        while sh.try_wait().unwrap().is_none() {
            busiest = busiest.max(sampler.sample().processes);
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            busiest > cores,
            "all {} spinners were seen: {busiest}",
            cores + 1
        );
        assert!(
            sampler.core_wait() >= Duration::from_millis(20),
            "{:?} waited for a core",
            sampler.core_wait()
        );
    }

    #[test]
    fn processes_started_later_are_found_by_the_next_scan() {
        // The shell's first child ends, a second starts 300 ms in: a
        // sample after that finds it (REDISCOVER_AFTER has passed).
        let mut sh = Command::new("sh")
            .args(["-c", "sleep 0.3; sleep 5 & wait"])
            .spawn()
            .unwrap();
        let pid = sh.id();
        std::thread::sleep(Duration::from_millis(100));
        let mut sampler = TreeSampler::new(pid);
        let early = sampler.sample();
        let early_members = sampler.members().to_vec();
        std::thread::sleep(Duration::from_millis(600));
        let late = sampler.sample();
        let late_members = sampler.members().to_vec();
        let mut now = process_tree(pid);
        for p in now.iter().rev() {
            // SAFETY: our own shell and the sleep it started.
            unsafe {
                libc::kill(*p as i32, libc::SIGKILL);
            }
        }
        let _ = sh.wait();
        assert_eq!(
            (early.processes, late.processes),
            (2, 2),
            "{early_members:?} {late_members:?}"
        );
        let mut late_sorted = late_members.clone();
        late_sorted.sort_unstable();
        now.sort_unstable();
        assert_eq!(late_sorted, now, "the second sleep was found");
        assert_ne!(early_members, late_members, "a different sleep");
    }

    #[test]
    fn tree_includes_grandchildren() {
        // sh -> sleep: the shell's child must be found through the ppid walk.
        let mut sh = Command::new("sh")
            .args(["-c", "sleep 5 & sleep 5 & wait"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = sh.id();
        let mut tree = Vec::new();
        for _ in 0..200 {
            tree = process_tree(pid);
            if tree.len() >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let rss_sum = tree_rss_bytes(pid);
        let shell_alone = rss_bytes(pid).unwrap_or(0);
        let mut sampler = TreeSampler::new(pid);
        assert_eq!(sampler.members(), [pid], "nothing known before sampling");
        let sampled = sampler.sample();
        let members = sampler.members().to_vec();
        assert_eq!(sampled.processes, 3);
        assert!(
            sampled.private_estimate < sampled.rss_sum,
            "three processes share their libraries: {sampled:?}"
        );
        assert!(
            sampled.pss_sum > 0 && sampled.pss_sum < sampled.rss_sum,
            "PSS divides the shared pages: {sampled:?}"
        );
        let sampled = sampled.rss_sum;
        for p in tree.iter().rev() {
            // SAFETY: our own shell and the sleeps it started.
            unsafe {
                libc::kill(*p as i32, libc::SIGKILL);
            }
        }
        let _ = sh.wait();
        assert_eq!(tree.len(), 3, "shell + 2 sleeps, got {tree:?}");
        assert!(rss_sum > shell_alone, "the sleeps' memory counts too");
        assert_eq!(
            members.len(),
            3,
            "first sample discovers the tree: {members:?}"
        );
        let diff = sampled.abs_diff(rss_sum);
        assert!(diff < rss_sum / 4, "sampler {sampled} vs scan {rss_sum}");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(sampler.sample(), TreeMemory::default(), "all gone");
        assert!(sampler.members().is_empty());
        assert_eq!(rss_bytes(u32::MAX), None);
        assert_eq!(pss_bytes(u32::MAX), None);
        assert_eq!(cpu_time(u32::MAX), None);
    }
}
