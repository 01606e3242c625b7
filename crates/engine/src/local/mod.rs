//! The parts of a `local` task both runners share, so that blocking and
//! async runs start, cap, judge and kill local commands alike: argv
//! templating, the child's setup (own process group, no stdin, piped
//! output), the output cap, exit status to outcome, and killing a
//! command's whole process group. Waiting for the child is the runner's:
//! [`blocking::run`] polls it from the host's thread, [`nonblocking::run`]
//! awaits it on tokio.

use std::collections::BTreeSet;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use fanout_core::{
    CommandOutput, ErrorKind, OUTPUT_CAP, Target, output_cut_marker, render_template,
};

use crate::{AttemptError, Deadline};

pub mod blocking;
pub mod nonblocking;

/// Kills the process group of every local command still running, on either
/// runner (for a process that must exit at once, e.g. on a second Ctrl-C).
pub fn kill_all_local_commands() {
    blocking::LIVE_GROUPS.kill_all();
    nonblocking::LIVE_GROUPS.kill_all();
}

/// How long to wait for the output pipes after the command ended and its
/// process group was killed (a process that escaped the group with setsid
/// may still hold them).
pub const PIPE_GRACE: Duration = Duration::from_millis(200);

/// Longest pause between two checks of a running child when an engine
/// polls for its exit: bounds how late a timeout or Ctrl-C takes effect.
pub const MAX_POLL: Duration = Duration::from_millis(10);

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
    /// Renders `argv` for `target`; an error when there is no program to
    /// run.
    pub fn new(argv: &[String], target: &Target) -> Result<Self, AttemptError> {
        let rendered: Vec<String> = argv.iter().map(|a| render_template(a, target)).collect();
        let command_line = rendered.join(" ");
        let (program, args) = rendered.split_first().ok_or_else(|| {
            AttemptError::new(ErrorKind::InvalidTarget, None, "local task has no program")
        })?;
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

    /// The error when the program cannot be started.
    pub fn spawn_error(&self, error: &std::io::Error) -> AttemptError {
        AttemptError::new(
            ErrorKind::CommandFailed,
            None,
            format!(
                "could not start `{}`: {}",
                self.program,
                crate::limits::describe_io_error(error, "check the program name and PATH")
            ),
        )
    }

    /// The attempt's result once the child was reaped and its output
    /// collected (an empty stderr is none): its outputs, or the error of a
    /// command that failed, timed out at `deadline`, was cancelled or lost.
    pub fn outcome(
        &self,
        waited: Waited,
        deadline: &Deadline,
        stdout: String,
        stderr: String,
    ) -> Result<Vec<CommandOutput>, AttemptError> {
        let mut output = CommandOutput {
            command: self.command_line.clone(),
            stdout,
            stderr: Some(stderr).filter(|s| !s.is_empty()),
            exit_status: None,
            ..Default::default()
        };
        let err = match waited {
            Waited::Exited(status) => match record_exit(status, &mut output) {
                Ok(()) => return Ok(vec![output]),
                Err(message) => AttemptError::new(ErrorKind::CommandFailed, None, message),
            },
            Waited::TimedOut => return Err(deadline.timeout_error(vec![output])),
            Waited::Cancelled => AttemptError::new(
                ErrorKind::Cancelled,
                None,
                "run cancelled; local command killed",
            ),
            Waited::Lost(e) => AttemptError::new(
                ErrorKind::CommandFailed,
                None,
                format!("could not wait for `{}`: {e}", self.program),
            ),
        };
        Err(err.with_outputs(vec![output]))
    }
}

/// How waiting for a local command ended.
#[derive(Debug)]
pub enum Waited {
    /// It exited (and was reaped) with this status.
    Exited(ExitStatus),
    /// Its deadline passed; it was killed.
    TimedOut,
    /// The run was cancelled; it was killed.
    Cancelled,
    /// Waiting for it failed.
    Lost(std::io::Error),
}

/// Records how a local command ended in `output.exit_status` (128 + the
/// signal for a killed command); `Err` with the failure message when it
/// did not succeed.
fn record_exit(status: ExitStatus, output: &mut CommandOutput) -> Result<(), String> {
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
        let err = LocalCommand::new(&[], &t).unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::InvalidTarget, "local task has no program")
        );
    }

    #[test]
    fn how_it_ended_to_outcome() {
        use fanout_core::Phase;
        let t = Target::new("r1", "127.0.0.9");
        let c = LocalCommand::new(&["sh".into()], &t).unwrap();
        let deadline = Deadline::new(
            std::time::Instant::now(),
            Phase::Command,
            Some(Duration::from_secs(1)),
            None,
        );
        let end = |waited| c.outcome(waited, &deadline, "x".into(), String::new());
        let ok = end(Waited::Exited(ExitStatus::from_raw(0))).unwrap();
        assert_eq!((ok[0].exit_status, ok[0].stderr.as_ref()), (Some(0), None));
        let err = |waited| {
            let e = end(waited).unwrap_err();
            assert_eq!(e.outputs[0].stdout, "x", "output kept");
            (e.kind, e.message, e.outputs[0].exit_status)
        };
        assert_eq!(
            err(Waited::Exited(ExitStatus::from_raw(3 << 8))),
            (
                ErrorKind::CommandFailed,
                "`sh` exited with status 3".into(),
                Some(3)
            )
        );
        assert_eq!(
            err(Waited::Exited(ExitStatus::from_raw(9))),
            (
                ErrorKind::CommandFailed,
                "`sh` was killed by signal 9".into(),
                Some(137)
            )
        );
        assert_eq!(
            err(Waited::Cancelled),
            (
                ErrorKind::Cancelled,
                "run cancelled; local command killed".into(),
                None
            )
        );
        let (kind, message, _) = err(Waited::TimedOut);
        assert_eq!(kind, ErrorKind::Timeout);
        assert!(message.contains("--timeout command=DUR"), "{message}");
        let (kind, message, _) = err(Waited::Lost(std::io::Error::from_raw_os_error(
            libc::ECHILD,
        )));
        assert_eq!(kind, ErrorKind::CommandFailed);
        assert!(
            message.starts_with("could not wait for `sh`: "),
            "{message}"
        );
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
