//! The parts of a `local` task every engine shares, so that blocking and
//! async engines start, cap, judge and kill local commands alike: argv
//! templating, the child's setup (own process group, no stdin, piped
//! output), the output cap, exit status to outcome, and killing a
//! command's whole process group. Waiting for the child is the engine's.

use std::collections::BTreeSet;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::{CommandOutput, OUTPUT_CAP, Target, output_cut_marker, render_template};

/// How long to wait for the output pipes after the command ended and its
/// process group was killed (a process that escaped the group with setsid
/// may still hold them).
pub const PIPE_GRACE: Duration = Duration::from_millis(200);

/// Longest pause between two checks of a running child when an engine
/// polls for its exit: bounds how late a timeout or Ctrl-C takes effect.
pub const MAX_POLL: Duration = Duration::from_millis(10);

/// The message of a local command stopped by cancellation.
pub const CANCELLED_MESSAGE: &str = "run cancelled; local command killed";

/// A local task's argv with the target's `{host}`-style placeholders
/// filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCommand {
    /// The rendered argv joined by spaces (the outcome's `command`).
    pub command_line: String,
    /// The program to run (argv\[0\]).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl LocalCommand {
    /// Renders `argv` for `target`; `Err` (a message) when there is no
    /// program to run.
    pub fn new(argv: &[String], target: &Target) -> Result<Self, &'static str> {
        let rendered: Vec<String> = argv.iter().map(|a| render_template(a, target)).collect();
        let command_line = rendered.join(" ");
        let (program, args) = rendered.split_first().ok_or("local task has no program")?;
        Ok(Self {
            program: program.clone(),
            args: args.to_vec(),
            command_line,
        })
    }

    /// The child's setup: no stdin, both outputs piped, and a process group
    /// of its own — a timeout kills grandchildren too, and the terminal's
    /// Ctrl-C reaches only fanout, which cancels in order.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        command
    }

    /// The message when the program cannot be started.
    pub fn spawn_error(&self, error: &std::io::Error) -> String {
        format!(
            "could not start `{}`: {error}; check the program name and PATH",
            self.program
        )
    }

    /// The message when the engine lost track of the running child.
    pub fn wait_error(&self, error: &std::io::Error) -> String {
        format!("could not wait for `{}`: {error}", self.program)
    }

    /// An output with the command line and what the command printed (an
    /// empty stderr is none), its exit status not yet known.
    pub fn output(&self, stdout: String, stderr: String) -> CommandOutput {
        CommandOutput {
            command: self.command_line.clone(),
            stdout,
            stderr: Some(stderr).filter(|s| !s.is_empty()),
            exit_status: None,
        }
    }
}

/// Records how a local command ended in `output.exit_status` (128 + the
/// signal for a killed command); `Err` with the failure message when it
/// did not succeed.
pub fn record_exit(status: ExitStatus, output: &mut CommandOutput) -> Result<(), String> {
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1);
    output.exit_status = Some(code);
    if status.success() {
        return Ok(());
    }
    let how = match status.signal() {
        Some(signal) => format!("was killed by signal {signal}"),
        None => format!("exited with status {code}"),
    };
    Err(format!("`{}` {how}", output.command))
}

/// Keeps at most [`OUTPUT_CAP`] bytes of a stream, and marks the cut.
#[derive(Debug, Default)]
pub struct CappedOutput {
    kept: Vec<u8>,
    cut: bool,
}

impl CappedOutput {
    /// Adds what was read next (beyond the cap it is dropped).
    pub fn push(&mut self, chunk: &[u8]) {
        let room = OUTPUT_CAP.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.cut |= chunk.len() > room;
    }

    /// The bytes kept, followed by the cut marker if anything was dropped.
    pub fn finish(mut self) -> Vec<u8> {
        if self.cut {
            self.kept
                .extend_from_slice(output_cut_marker(OUTPUT_CAP).as_bytes());
        }
        self.kept
    }
}

/// Process groups of an engine's local commands still running, so an
/// impatient second Ctrl-C can kill them before fanout exits.
#[derive(Debug, Default)]
pub struct LiveGroups(Mutex<BTreeSet<i32>>);

impl LiveGroups {
    /// An empty registry (for a `static`).
    pub const fn new() -> Self {
        Self(Mutex::new(BTreeSet::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<i32>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a running command's group.
    pub fn insert(&self, pgid: i32) {
        self.lock().insert(pgid);
    }

    /// Forgets a group whose command was reaped.
    pub fn remove(&self, pgid: i32) {
        self.lock().remove(&pgid);
    }

    /// The groups registered now.
    pub fn groups(&self) -> BTreeSet<i32> {
        self.lock().clone()
    }

    /// SIGKILLs every group registered.
    pub fn kill_all(&self) {
        for pgid in self.groups() {
            kill_group(pgid);
        }
    }
}

/// SIGKILLs a process group of ours (nothing for a pgid of 0 or less).
pub fn kill_group(pgid: i32) {
    if pgid > 0 {
        // SAFETY: kill(2) with a negative pid signals that process group;
        // the group is a child's own (LocalCommand::command).
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// Whether child `pid` exited, without reaping it (waitid with WNOWAIT):
/// while it is a zombie its pid and group id cannot be reused.
pub fn has_exited(pid: i32) -> std::io::Result<bool> {
    // SAFETY: waitid writes into the zeroed siginfo we own; WNOWAIT leaves
    // the child waitable for Child::wait.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(info.si_pid() != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_argv_and_refuses_an_empty_one() {
        let t = Target::new("r1", "127.0.0.9");
        let c = LocalCommand::new(&["echo".into(), "{name}@{host}".into()], &t).unwrap();
        assert_eq!(c.command_line, "echo r1@127.0.0.9");
        assert_eq!(
            (c.program.as_str(), c.args.as_slice()),
            ("echo", &["r1@127.0.0.9".to_string()][..])
        );
        assert_eq!(LocalCommand::new(&[], &t), Err("local task has no program"));
    }

    #[test]
    fn exit_status_to_outcome() {
        let t = Target::new("r1", "127.0.0.9");
        let c = LocalCommand::new(&["sh".into()], &t).unwrap();
        let mut out = c.output("x".into(), String::new());
        assert_eq!(out.stderr, None);
        assert_eq!(record_exit(ExitStatus::from_raw(0), &mut out), Ok(()));
        assert_eq!(out.exit_status, Some(0));
        assert_eq!(
            record_exit(ExitStatus::from_raw(3 << 8), &mut out),
            Err("`sh` exited with status 3".into())
        );
        assert_eq!(out.exit_status, Some(3));
        assert_eq!(
            record_exit(ExitStatus::from_raw(9), &mut out),
            Err("`sh` was killed by signal 9".into())
        );
        assert_eq!(out.exit_status, Some(137));
    }

    #[test]
    fn output_cap_marks_the_cut() {
        let mut small = CappedOutput::default();
        small.push(b"abc");
        assert_eq!(small.finish(), b"abc");
        let mut big = CappedOutput::default();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..(OUTPUT_CAP >> 20) + 1 {
            big.push(&block);
        }
        let kept = big.finish();
        let marker = output_cut_marker(OUTPUT_CAP);
        assert_eq!(kept.len(), OUTPUT_CAP + marker.len());
        assert!(kept.ends_with(marker.as_bytes()));
    }
}
