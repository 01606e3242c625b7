//! The `local` task: one subprocess per host, no shell, killed (with its
//! whole process group) on timeout or cancellation.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use fanout_core::{CancelToken, CommandOutput, ErrorKind, Target, render_template};

use crate::run_host::{AttemptError, Deadline};

/// Longest pause between two checks of a running child: bounds how late a
/// timeout or Ctrl-C takes effect.
const MAX_POLL: Duration = Duration::from_millis(10);

pub(crate) fn run(
    argv: &[String],
    target: &Target,
    deadline: Deadline,
    cancel: &CancelToken,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let rendered: Vec<String> = argv.iter().map(|a| render_template(a, target)).collect();
    let command_line = rendered.join(" ");
    let (program, args) = rendered.split_first().ok_or_else(|| {
        AttemptError::new(ErrorKind::InvalidTarget, None, "local task has no program")
    })?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Own process group: a timeout kills grandchildren too, and the
        // terminal's Ctrl-C reaches only fanout, which cancels in order.
        .process_group(0)
        .spawn()
        .map_err(|e| {
            AttemptError::new(
                ErrorKind::CommandFailed,
                None,
                format!("could not start `{program}`: {e}; check the program name and PATH"),
            )
        })?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let waited = wait(&mut child, deadline, cancel);
    let output = CommandOutput {
        command: command_line,
        stdout: join(stdout),
        stderr: Some(join(stderr)).filter(|s| !s.is_empty()),
        exit_status: None,
    };
    match waited {
        Waited::Exited(status) => finish(status, output),
        Waited::TimedOut => Err(deadline.timeout_error(vec![output])),
        Waited::Cancelled => Err(AttemptError {
            outputs: vec![output],
            ..AttemptError::new(
                ErrorKind::Cancelled,
                None,
                "run cancelled; local command killed",
            )
        }),
        Waited::Lost(e) => Err(AttemptError {
            outputs: vec![output],
            ..AttemptError::new(
                ErrorKind::CommandFailed,
                None,
                format!("could not wait for `{program}`: {e}"),
            )
        }),
    }
}

fn finish(
    status: ExitStatus,
    mut output: CommandOutput,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1);
    output.exit_status = Some(code);
    if status.success() {
        return Ok(vec![output]);
    }
    let how = match status.signal() {
        Some(signal) => format!("was killed by signal {signal}"),
        None => format!("exited with status {code}"),
    };
    let message = format!("`{}` {how}", output.command);
    Err(AttemptError {
        outputs: vec![output],
        ..AttemptError::new(ErrorKind::CommandFailed, None, message)
    })
}

enum Waited {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
    Lost(std::io::Error),
}

fn wait(child: &mut Child, deadline: Deadline, cancel: &CancelToken) -> Waited {
    let mut pause = Duration::from_micros(200);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) => {}
            Err(e) => {
                kill_group(child);
                return Waited::Lost(e);
            }
        }
        if deadline.passed() {
            kill_group(child);
            return Waited::TimedOut;
        }
        if cancel.is_cancelled() {
            kill_group(child);
            return Waited::Cancelled;
        }
        let nap = deadline.remaining().map_or(pause, |left| left.min(pause));
        std::thread::sleep(nap);
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// SIGKILLs the child's process group and reaps the child (no zombie).
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group;
        // the group is the child's own (process_group(0) above).
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|mut pipe| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    })
}

fn join(handle: Option<JoinHandle<Vec<u8>>>) -> String {
    handle
        .and_then(|h| h.join().ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}
