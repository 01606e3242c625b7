//! One worker process seen from the parent: spawning it in a session of its
//! own, its three pipes, and killing it with everything it started.
//!
//! Each worker is a session leader (`setsid`), so every process it starts —
//! local commands, which run_host puts in process groups of their own, and
//! what they start in turn — carries the worker's pid as its session id,
//! even after the worker itself died and they were re-parented to init.
//! Killing "the worker's session" therefore finds them all. The worker also
//! asks the kernel for SIGTERM when its parent dies (`PR_SET_PDEATHSIG`),
//! which it turns into a cancel, so even a parent killed with SIGKILL leaves
//! nothing running.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Bytes of a worker's stderr kept for crash reports.
const STDERR_TAIL: usize = 4096;

/// A running (or exited, not yet reaped) `fanout worker`.
pub(crate) struct WorkerProcess {
    child: Child,
    pub(crate) pid: u32,
    stdin: Option<ChildStdin>,
    pub(crate) stdout: Option<ChildStdout>,
    pub(crate) stderr: Option<ChildStderr>,
    /// Bytes of stdout not yet forming a whole line.
    pending: Vec<u8>,
    /// How much of `pending` is known to hold no newline: a 16 MiB outcome
    /// line arrives in a thousand reads, and scanning it all again after
    /// each one took seconds (quadratic).
    scanned: usize,
    tail: Vec<u8>,
    tail_cut: bool,
    /// Set once the exit status was collected (the pid is gone then).
    status: Option<ExitStatus>,
}

/// How reading a worker's stdout went.
pub(crate) enum Lines {
    /// Complete lines (without `\n`); more may come.
    Some(Vec<Vec<u8>>),
    /// End of file (after the lines returned here).
    Closed(Vec<Vec<u8>>),
}

impl WorkerProcess {
    /// Starts `program worker` with `env` added, in a session of its own,
    /// with SIGTERM on the death of this thread.
    pub(crate) fn spawn(program: &Path, env: &[(OsString, OsString)]) -> io::Result<Self> {
        let parent = std::process::id();
        let mut command = Command::new(program);
        command
            .arg("worker")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: setsid, prctl and getppid are async-signal-safe; the
        // closure allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::setsid() == -1 {
                    return Err(io::Error::last_os_error());
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() as u32 != parent {
                    return Err(io::Error::other("the parent exited during spawn"));
                }
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        let pid = child.id();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let stdin = child.stdin.take();
        let mut process = Self {
            child,
            pid,
            stdin,
            stdout,
            stderr,
            pending: Vec::new(),
            scanned: 0,
            tail: Vec::new(),
            tail_cut: false,
            status: None,
        };
        if let Err(e) = process
            .stdout
            .as_ref()
            .map_or(Ok(()), |p| set_nonblocking(p.as_raw_fd()))
            .and_then(|()| {
                process
                    .stderr
                    .as_ref()
                    .map_or(Ok(()), |p| set_nonblocking(p.as_raw_fd()))
            })
        {
            process.kill();
            return Err(e);
        }
        Ok(process)
    }

    /// Writes one protocol line; `false` if the worker's stdin is closed or
    /// broken (it is dying: its end of stdout will say how).
    pub(crate) fn send(&mut self, line: &str) -> bool {
        match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(line.as_bytes()).is_ok(),
            None => false,
        }
    }

    /// Closes the worker's stdin: it finishes and exits.
    pub(crate) fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Reads what stdout has now, split into lines.
    pub(crate) fn read_stdout(&mut self) -> io::Result<Lines> {
        let Some(pipe) = self.stdout.as_mut() else {
            return Ok(Lines::Closed(Vec::new()));
        };
        let mut chunk = [0u8; 16 * 1024];
        let mut closed = false;
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let lines = split_lines(&mut self.pending, &mut self.scanned);
        if closed {
            self.stdout = None;
            Ok(Lines::Closed(lines))
        } else {
            Ok(Lines::Some(lines))
        }
    }

    /// Bytes of stdout read but not yet a whole line.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Reads what stderr has now into the kept tail.
    pub(crate) fn read_stderr(&mut self) {
        let Some(pipe) = self.stderr.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => {
                    self.stderr = None;
                    return;
                }
                Ok(n) => {
                    self.tail.extend_from_slice(&chunk[..n]);
                    if self.tail.len() > STDERR_TAIL {
                        let cut = self.tail.len() - STDERR_TAIL;
                        self.tail.drain(..cut);
                        self.tail_cut = true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: nothing more for now; anything else: give up on it.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.stderr = None;
                    return;
                }
            }
        }
    }

    /// The last few KiB the worker wrote to stderr, trimmed.
    pub(crate) fn stderr_tail(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.tail);
        let text = text.trim();
        (!text.is_empty()).then(|| {
            if self.tail_cut {
                format!("...{text}")
            } else {
                text.to_string()
            }
        })
    }

    /// Whether the worker has exited (it stays a zombie, and its pid ours,
    /// until [`reap`](Self::reap)).
    pub(crate) fn exited(&self) -> bool {
        if self.status.is_some() {
            return true;
        }
        // SAFETY: waitid writes into a zeroed siginfo we own; WNOWAIT
        // leaves the child to be reaped by Child::wait.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let rc = libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            // An error means there is nothing left to wait for.
            rc != 0 || info.si_pid() != 0
        }
    }

    /// Collects the exit status of a worker that [`exited`](Self::exited).
    /// With `sweep`, first kills whatever it left running in its session
    /// (after a crash), while its zombie still holds the session id.
    pub(crate) fn reap(&mut self, sweep: bool) -> Option<ExitStatus> {
        if self.status.is_none() {
            if sweep {
                kill_session(self.pid);
            }
            self.stdin = None;
            self.status = self.child.wait().ok();
        }
        self.status
    }

    /// Waits up to `within` for the worker to exit by itself; kills it
    /// (with its session) if it does not. Returns its exit status.
    pub(crate) fn reap_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        let mut pause = Duration::from_micros(50);
        loop {
            if self.exited() {
                return self.reap(false);
            }
            if Instant::now() >= deadline {
                return self.kill();
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    /// SIGKILLs the worker and every process of its session, reaps the
    /// worker and returns its exit status. Safe to call at any time, also
    /// after the worker exited.
    pub(crate) fn kill(&mut self) -> Option<ExitStatus> {
        self.stdin = None;
        if self.status.is_none() {
            // Not reaped yet, so the pid (and group and session id) is
            // still ours. SAFETY: signals the worker's own process group.
            unsafe {
                libc::kill(-(self.pid as i32), libc::SIGKILL);
            }
            // Until the worker (a member of its session) is a zombie.
            kill_session(self.pid);
            self.status = self.child.wait().ok();
        }
        self.status
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.kill();
        }
    }
}

fn set_nonblocking(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on a pipe fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// One line of `/proc/PID/stat`, the fields fanout needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub(crate) pid: i32,
    pub(crate) state: char,
    pub(crate) ppid: i32,
    pub(crate) pgrp: i32,
    pub(crate) session: i32,
}

/// Parses `/proc/PID/stat` text (the command name may contain spaces and
/// parentheses, so fields are counted after the last `)`).
pub(crate) fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let mut rest = text.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    let session = rest.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        state,
        ppid,
        pgrp,
        session,
    })
}

/// Every process visible in `/proc` right now.
pub(crate) fn processes() -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|text| parse_stat(&text))
        .collect()
}

/// SIGKILLs every live process whose session id is `sid`, until none is
/// left (a process may fork while it is being killed).
fn kill_session(sid: u32) {
    let Ok(sid) = i32::try_from(sid) else { return };
    for _ in 0..20 {
        let members: Vec<ProcStat> = processes()
            .into_iter()
            .filter(|p| p.session == sid && p.state != 'Z' && p.state != 'X')
            .collect();
        if members.is_empty() {
            return;
        }
        for p in members {
            // SAFETY: kills a process of the worker's session: the worker's
            // own descendants (the session id is the worker's pid, which
            // cannot be reused while any member of the session exists).
            unsafe {
                libc::kill(p.pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// What ended a worker, in words.
pub(crate) fn describe_exit(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        None => "vanished (its exit status could not be read)".to_string(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(0), _) => "exited (status 0) without reporting the host".to_string(),
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => {
                format!("was killed by signal {signal} ({})", signal_name(signal))
            }
            (None, None) => format!("ended ({s})"),
        },
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => "SIGKILL: the out-of-memory killer or another process killed it",
        libc::SIGABRT => "SIGABRT: it aborted",
        libc::SIGSEGV => "SIGSEGV: it crashed",
        libc::SIGBUS => "SIGBUS: it crashed",
        libc::SIGILL => "SIGILL: it crashed",
        libc::SIGFPE => "SIGFPE: it crashed",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

/// The whole lines at the front of `pending` (newlines removed), leaving
/// the unfinished rest; `scanned` bytes of it are known to hold no newline
/// and are not searched again.
fn split_lines(pending: &mut Vec<u8>, scanned: &mut usize) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    while let Some(end) = pending[*scanned..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|at| *scanned + at)
    {
        let mut line: Vec<u8> = pending.drain(..=end).collect();
        line.pop();
        lines.push(line);
        *scanned = 0;
    }
    *scanned = pending.len();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_the_same_however_the_reads_cut_them() {
        let text = b"one\ntwo two\n\nthree 3 3 3\nunfinished";
        for size in 1..text.len() {
            let (mut pending, mut scanned, mut lines) = (Vec::new(), 0, Vec::new());
            for chunk in text.chunks(size) {
                pending.extend_from_slice(chunk);
                lines.extend(split_lines(&mut pending, &mut scanned));
                assert_eq!(scanned, pending.len(), "the rest is scanned once");
            }
            assert_eq!(
                lines,
                [&b"one"[..], b"two two", b"", b"three 3 3 3"],
                "reads of {size} bytes"
            );
            assert_eq!(pending, b"unfinished");
        }
    }

    #[test]
    fn stat_lines_with_odd_command_names() {
        let s = parse_stat("4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 0 0").unwrap();
        assert_eq!(
            s,
            ProcStat {
                pid: 4242,
                state: 'S',
                ppid: 1,
                pgrp: 4242,
                session: 4242
            }
        );
        assert!(parse_stat("garbage").is_none());
        let me = processes()
            .into_iter()
            .find(|p| p.pid == std::process::id() as i32)
            .expect("this process is in /proc");
        assert_eq!(me.ppid as u32, std::os::unix::process::parent_id());
    }

    #[test]
    fn exits_are_described() {
        use std::os::unix::process::ExitStatusExt;
        assert!(describe_exit(Some(ExitStatus::from_raw(9))).contains("SIGKILL"));
        assert!(describe_exit(Some(ExitStatus::from_raw(6))).contains("signal 6"));
        assert_eq!(
            describe_exit(Some(ExitStatus::from_raw(3 << 8))),
            "exited with status 3"
        );
        assert!(describe_exit(Some(ExitStatus::from_raw(0))).contains("without reporting"));
    }
}
