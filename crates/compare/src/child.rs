//! One child process, measured: wall time, CPU (its own and its reaped
//! children's, from `wait4`), the kernel's max RSS, and the peak memory of
//! its whole process tree (proportional and resident) sampled while it runs.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::MeasureError;
use crate::procfs::{self, CpuTime};

/// How often the process tree's memory is sampled, at most.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(15);

/// The longest pause between two samples, however costly they are.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Learns that a child exited without polling: a pidfd (Linux 5.3+) is
/// readable once it has; without one, [`wait`](Self::wait) just sleeps.
struct ExitWatch(Option<std::os::fd::OwnedFd>);

impl ExitWatch {
    fn new(pid: libc::pid_t) -> Self {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open has no memory-safety preconditions; it returns
        // a new file descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0);
        // SAFETY: the descriptor is new and owned by nothing else.
        Self(fd.map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    /// Waits up to `pause`; true when the child has exited meanwhile.
    fn wait(&self, pause: Duration) -> bool {
        use std::os::fd::AsRawFd;
        let Some(fd) = &self.0 else {
            thread::sleep(pause);
            return false;
        };
        let mut poll = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(pause.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut poll, 1, ms) };
        ready > 0 && poll.revents & libc::POLLIN != 0
    }
}

/// A running child whose resources are being measured. Its stdout and
/// stderr are collected in the background (so a chatty child never blocks
/// on a full pipe); [`wait`](Self::wait) samples its process tree until it
/// exits.
#[derive(Debug)]
pub struct MeasuredChild {
    child: Child,
    started: Instant,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    /// It leads its own process group ([`spawn_group`](Self::spawn_group)).
    group: bool,
}

/// What a finished child used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChildMeasurement {
    /// Exit code, when it exited normally.
    pub code: Option<i32>,
    /// The signal that ended it, otherwise.
    pub signal: Option<i32>,
    /// From spawn to exit.
    pub wall: Duration,
    /// User and system CPU of the child and every descendant it reaped
    /// (`wait4`'s rusage).
    pub cpu: CpuTime,
    /// How long the tree's threads waited, runnable, for a core (sampled:
    /// see [`procfs::TreeSampler::core_wait`]).
    pub core_wait: Duration,
    /// The kernel's `ru_maxrss` of the child: the largest single process
    /// of its tree, so a lower bound of the tree's peak.
    pub kernel_maxrss_bytes: u64,
    /// Largest sum of resident memory over the child and its live
    /// descendants seen at any sample.
    pub peak_tree_rss_bytes: u64,
    /// Largest sum of proportional set sizes (PSS) over the child and its
    /// live descendants seen at any sample.
    pub peak_tree_pss_bytes: u64,
    /// Largest [`TreeMemory::private_estimate`](crate::procfs::TreeMemory)
    /// seen: private memory of every process plus one copy of the shared
    /// executable.
    pub peak_private_estimate_bytes: u64,
    /// Most live processes in the tree at one sample.
    pub peak_processes: usize,
    /// Samples taken.
    pub samples: usize,
    /// A process-group child ([`MeasuredChild::spawn_group`]) exited while
    /// processes of its group still ran; they were killed then (their CPU,
    /// never reaped by the child, is not in `cpu`).
    pub left_running: bool,
    /// CPU the measuring thread spent sampling (not part of `cpu`, but it
    /// ran on the same cores).
    pub sampler_cpu: Duration,
    /// Everything it printed on stdout.
    pub stdout: Vec<u8>,
    /// Everything it printed on stderr.
    pub stderr: Vec<u8>,
}

impl ChildMeasurement {
    /// `exit code N` or `killed by signal N`, for messages.
    pub fn exit_description(&self) -> String {
        match (self.code, self.signal) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => "unknown exit".to_string(),
        }
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error ends collection; what was read is kept.
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

impl MeasuredChild {
    /// Starts `command` with stdin closed and stdout/stderr captured.
    pub fn spawn(command: &mut Command) -> Result<Self, MeasureError> {
        Self::start(command, false)
    }

    /// Like [`spawn`](Self::spawn), as the leader of a new process group
    /// (for programs that are not fanout: `sh -c CMD`): signal it with
    /// [`interrupt_group`], and whatever of its group still runs when it
    /// exits is killed then, so nothing it left behind holds its output
    /// pipes open or runs into the next measurement.
    ///
    /// SIGINT and SIGQUIT are reset to their default in the child: a
    /// fanout started in the background by a script inherits them ignored,
    /// and the group would then not stop on [`interrupt_group`].
    pub fn spawn_group(command: &mut Command) -> Result<Self, MeasureError> {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls:
        // signal(2) is one.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGQUIT, libc::SIG_DFL);
                Ok(())
            });
        }
        Self::start(command.process_group(0), true)
    }

    fn start(command: &mut Command, group: bool) -> Result<Self, MeasureError> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| MeasureError::Spawn { program, source })?;
        let started = Instant::now();
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            unreachable!("both pipes were requested above");
        };
        Ok(Self {
            child,
            started,
            stdout: collect(out),
            stderr: collect(err),
            group,
        })
    }

    /// The child's process id (to signal it, e.g. on Ctrl-C).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Samples the process tree every [`SAMPLE_INTERVAL`] until the child
    /// exits, then reaps it with `wait4` and returns what it used.
    pub fn wait(self) -> Result<ChildMeasurement, MeasureError> {
        let pid = self.child.id();
        let raw_pid = libc::pid_t::try_from(pid).map_err(|_| MeasureError::Wait {
            pid,
            source: std::io::Error::other("pid out of range"),
        })?;
        let mut sampler = procfs::TreeSampler::new(pid);
        let mut peak = procfs::TreeMemory::default();
        let mut samples = 0usize;
        let mut sample_cpu = Duration::ZERO;
        let sampler_cpu_before = thread_cpu();
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain old data; all-zero is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let exit = ExitWatch::new(raw_pid);
        let mut flags = libc::WNOHANG;
        loop {
            // Sample first: a zombie (exited, not yet reaped) has no RSS,
            // so sampling before the reap never reads a recycled pid.
            if flags == libc::WNOHANG {
                let cpu_before = thread_cpu();
                let now = sampler.sample();
                peak.rss_sum = peak.rss_sum.max(now.rss_sum);
                peak.pss_sum = peak.pss_sum.max(now.pss_sum);
                peak.private_estimate = peak.private_estimate.max(now.private_estimate);
                peak.processes = peak.processes.max(now.processes);
                samples += 1;
                sample_cpu = thread_cpu().saturating_sub(cpu_before);
            }
            // SAFETY: valid pointers to locals; pid is our own unreaped child.
            let ret = unsafe { libc::wait4(raw_pid, &mut status, flags, &mut usage) };
            if ret == raw_pid {
                break;
            }
            if ret < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(MeasureError::Wait { pid, source: err });
            }
            // Keep the sampling itself under ~10 % of one core (it runs on
            // the same cores as the run it measures): pause nine times the
            // CPU the sample took — CPU, not wall time, since a read of
            // smaps_rollup can wait on a process busy unmapping memory —
            // but never so long that a run goes unsampled for a second.
            // The pause ends at once when the child exits.
            let pause = SAMPLE_INTERVAL.max(sample_cpu * 9).min(MAX_PAUSE);
            if exit.wait(pause) {
                flags = 0;
            }
        }
        let wall = self.started.elapsed();
        let sampler_cpu = thread_cpu().saturating_sub(sampler_cpu_before);
        // SAFETY: kill has no memory-safety preconditions; the group is the
        // one this child led (its pgid is its pid).
        let left_running = self.group && unsafe { libc::kill(-raw_pid, 0) } == 0;
        if left_running {
            // SAFETY: as above.
            unsafe {
                libc::kill(-raw_pid, libc::SIGKILL);
            }
        }
        let stdout = self.stdout.join().unwrap_or_default();
        let stderr = self.stderr.join().unwrap_or_default();
        let exited = libc::WIFEXITED(status);
        Ok(ChildMeasurement {
            code: exited.then(|| libc::WEXITSTATUS(status)),
            signal: (!exited && libc::WIFSIGNALED(status)).then(|| libc::WTERMSIG(status)),
            wall,
            cpu: CpuTime {
                user: timeval(usage.ru_utime),
                system: timeval(usage.ru_stime),
            },
            // Linux reports ru_maxrss in KiB.
            kernel_maxrss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
            peak_tree_rss_bytes: peak.rss_sum,
            peak_tree_pss_bytes: peak.pss_sum,
            peak_private_estimate_bytes: peak.private_estimate,
            peak_processes: peak.processes,
            samples,
            left_running,
            sampler_cpu,
            core_wait: sampler.core_wait(),
            stdout,
            stderr,
        })
    }
}

/// CPU time of the calling thread so far (to the nanosecond).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a local.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(tv.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(tv.tv_usec).unwrap_or(0))
}

/// Sends `signal` to `pid` (a child this process started). Errors (the
/// process is already gone) are ignored.
pub fn signal_process(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Sends SIGINT to `pid` (a child this process started), as Ctrl-C would:
/// fanout children stop cleanly on it.
pub fn interrupt_process(pid: u32) {
    signal_process(pid, libc::SIGINT);
}

/// Sends SIGINT to every process of the group `pgid` leads (a child
/// started with [`MeasuredChild::spawn_group`]), as Ctrl-C in a terminal would.
pub fn interrupt_group(pgid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(-pgid, libc::SIGINT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ChildMeasurement {
        MeasuredChild::spawn(Command::new("sh").args(["-c", script]))
            .unwrap()
            .wait()
            .unwrap()
    }

    #[test]
    fn output_exit_code_and_wall() {
        let m = sh("echo out; echo err >&2; sleep 0.2; exit 3");
        assert_eq!(m.code, Some(3));
        assert_eq!(m.signal, None);
        assert_eq!(m.stdout, b"out\n");
        assert_eq!(m.stderr, b"err\n");
        assert!(m.wall >= Duration::from_millis(200), "{:?}", m.wall);
        assert!(m.samples >= 2, "sampled while running: {}", m.samples);
        assert_eq!(m.exit_description(), "exit code 3");
    }

    #[test]
    fn idle_child_uses_little_cpu_and_some_memory() {
        let m = sh("sleep 0.3");
        assert!(m.cpu.total() < Duration::from_millis(150), "{:?}", m.cpu);
        assert!(m.peak_tree_rss_bytes > 0);
        assert!(m.kernel_maxrss_bytes > 0);
    }

    #[test]
    fn busy_grandchild_cpu_is_billed_once_reaped() {
        // The shell waits for a busy subshell: wait4's rusage of the shell
        // must include the subshell's CPU.
        let m = sh("( i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done ) ; wait");
        assert_eq!(m.code, Some(0));
        assert!(
            m.cpu.user + m.cpu.system >= Duration::from_millis(100),
            "child CPU {:?} over wall {:?}",
            m.cpu,
            m.wall
        );
        assert!(m.cpu.total() <= m.wall + Duration::from_millis(50));
    }

    #[test]
    fn tree_memory_counts_every_live_process() {
        // Four sleeping processes under one shell: the tree sample must see
        // more than the largest single process (the kernel's maxrss).
        let m = sh("sleep 0.5 & sleep 0.5 & sleep 0.5 & sleep 0.5 & wait");
        assert!(
            m.peak_tree_rss_bytes > m.kernel_maxrss_bytes,
            "tree {} vs largest process {}",
            m.peak_tree_rss_bytes,
            m.kernel_maxrss_bytes
        );
        assert_eq!(m.peak_processes, 5, "the shell and its four sleeps");
        assert!(
            m.peak_tree_pss_bytes > 0 && m.peak_tree_pss_bytes < m.peak_tree_rss_bytes,
            "PSS divides the shared pages among the five: {} vs {}",
            m.peak_tree_pss_bytes,
            m.peak_tree_rss_bytes
        );
        assert!(
            m.peak_private_estimate_bytes < m.peak_tree_rss_bytes,
            "shared libraries counted once: {} vs {}",
            m.peak_private_estimate_bytes,
            m.peak_tree_rss_bytes
        );
    }

    #[test]
    fn exit_is_seen_at_once_however_long_the_pause() {
        // One 1 s pause could not end before the child does without the pidfd.
        let child = MeasuredChild::spawn(Command::new("sleep").arg("0.05")).unwrap();
        let raw = libc::pid_t::try_from(child.pid()).unwrap();
        let watch = ExitWatch::new(raw);
        let started = Instant::now();
        assert!(
            watch.wait(Duration::from_secs(5)),
            "the pidfd says it exited"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let m = child.wait().unwrap();
        assert!(m.wall < Duration::from_secs(3), "{:?}", m.wall);
    }

    #[test]
    fn killed_child_reports_the_signal() {
        let child = MeasuredChild::spawn(Command::new("sleep").arg("10")).unwrap();
        signal_process(child.pid(), libc::SIGKILL);
        let m = child.wait().unwrap();
        assert_eq!((m.code, m.signal), (None, Some(libc::SIGKILL)));
        assert_eq!(m.exit_description(), "killed by signal 9");
    }

    #[test]
    fn a_group_child_leaves_nothing_running() {
        // The shell exits at once; its background sleep would hold stdout
        // open for 30 s: it is killed when the shell exits.
        let started = Instant::now();
        let m = MeasuredChild::spawn_group(Command::new("sh").args(["-c", "sleep 30 & echo up"]))
            .unwrap()
            .wait()
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!((m.code, m.stdout.as_slice()), (Some(0), b"up\n".as_slice()));
        assert!(m.left_running);
        let clean = MeasuredChild::spawn_group(Command::new("sh").args(["-c", "sleep 0.1"]))
            .unwrap()
            .wait()
            .unwrap();
        assert!(!clean.left_running);
        assert!(!sh("sleep 0.1").left_running, "not a group child");
    }

    /// Whether a process named `comm` runs in process group `pgid`.
    fn group_runs(pgid: u32, comm: &str) -> bool {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
            .any(|stat| {
                // pid (comm) state ppid pgrp ...
                let Some((head, rest)) = stat.rsplit_once(')') else {
                    return false;
                };
                let name = head.split_once('(').map_or("", |(_, n)| n);
                name == comm && rest.split_whitespace().nth(2) == Some(pgid.to_string().as_str())
            })
    }

    #[test]
    fn a_group_is_interrupted_whole() {
        // SIGINT to the group reaches the sleep the shell waits for.
        let child = MeasuredChild::spawn_group(Command::new("sh").args(["-c", "sleep 30; exit 7"]))
            .unwrap();
        // Once the shell has started the sleep (however loaded the machine).
        let until = Instant::now() + Duration::from_secs(20);
        while !group_runs(child.pid(), "sleep") && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        let started = Instant::now();
        interrupt_group(child.pid());
        let m = child.wait().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the sleep got it too: {m:?}"
        );
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = MeasuredChild::spawn(&mut Command::new("/nonexistent/fanout")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/fanout"), "{err}");
    }
}
