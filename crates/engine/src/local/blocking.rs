//! The `local` task on a blocking thread: one subprocess per host, no
//! shell, killed (with its whole process group) on timeout or
//! cancellation, and when it exits, so nothing it started in the background
//! outlives the host. Its output is read by two helper threads.

use std::io::Read;
use std::process::Child;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, CommandOutput, ErrorKind, Target};

use super::{
    CappedOutput, LiveGroups, LocalCommand, MAX_POLL, PIPE_GRACE, Waited, has_exited, kill_group,
};
use crate::{AttemptError, Deadline};

/// Process groups of this runner's local commands still running, so an
/// impatient second Ctrl-C can kill them before fanout exits
/// ([`kill_all_local_commands`](super::kill_all_local_commands)).
pub(super) static LIVE_GROUPS: LiveGroups = LiveGroups::new();

/// Runs `argv` for `target` until it exits, `deadline` passes or `cancel`
/// fires; its outputs, or the error of a command that failed, timed out,
/// was cancelled or could not start.
pub fn run(
    argv: &[String],
    target: &Target,
    deadline: Deadline,
    cancel: &CancelToken,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let local = LocalCommand::new(argv, target)?;
    let program = &local.program;
    let mut child = local.command().spawn().map_err(|e| local.spawn_error(&e))?;
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    LIVE_GROUPS.insert(pgid);
    let readers =
        reader(child.stdout.take()).and_then(|out| Ok((out, reader(child.stderr.take())?)));
    let (stdout, stderr) = match readers {
        Ok(readers) => readers,
        Err(e) => {
            // Without its readers the command could block on a full pipe
            // forever: stop it (and whatever it started) now.
            kill_group(pgid);
            let _ = child.wait();
            LIVE_GROUPS.remove(pgid);
            return Err(AttemptError::new(
                ErrorKind::CommandFailed,
                None,
                format!(
                    "could not start a thread to read the output of `{program}` ({e}); the \
                     command was stopped; lower -c or raise the process limit (ulimit -u)"
                ),
            ));
        }
    };
    let waited = wait(&mut child, pgid, deadline, cancel);
    LIVE_GROUPS.remove(pgid);
    let grace = Instant::now() + PIPE_GRACE;
    local.outcome(
        waited,
        &deadline,
        collect(stdout, grace),
        collect(stderr, grace),
    )
}

fn wait(child: &mut Child, pgid: i32, deadline: Deadline, cancel: &CancelToken) -> Waited {
    let mut pause = Duration::from_micros(200);
    loop {
        match has_exited(pgid) {
            Ok(true) => {
                // The child is a zombie (not reaped yet), so its pid and
                // group id cannot be reused: killing the group now only hits
                // what it left running in the background.
                kill_group(pgid);
                return match child.wait() {
                    Ok(status) => Waited::Exited(status),
                    Err(e) => Waited::Lost(e),
                };
            }
            Ok(false) => {}
            Err(e) => {
                kill_group(pgid);
                let _ = child.wait();
                return Waited::Lost(e);
            }
        }
        let verdict = if deadline.passed() {
            Some(Waited::TimedOut)
        } else if cancel.is_cancelled() {
            Some(Waited::Cancelled)
        } else {
            None
        };
        if let Some(verdict) = verdict {
            kill_group(pgid);
            let _ = child.wait();
            return verdict;
        }
        let nap = deadline.remaining().map_or(pause, |left| left.min(pause));
        std::thread::sleep(nap);
        pause = (pause * 2).min(MAX_POLL);
    }
}

#[cfg(test)]
thread_local! {
    /// Test hook: the next reader threads of this thread fail to start.
    static FAIL_READERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Reads a pipe on its own thread, keeping at most
/// [`OUTPUT_CAP`](fanout_core::OUTPUT_CAP) bytes;
/// an error if the thread cannot start.
fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> std::io::Result<Option<Receiver<Vec<u8>>>> {
    let Some(mut pipe) = pipe else {
        return Ok(None);
    };
    #[cfg(test)]
    if FAIL_READERS.get() {
        return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
    }
    let (tx, rx) = mpsc::channel();
    let builder = std::thread::Builder::new()
        .name("fanout-local-output".into())
        .stack_size(64 << 10);
    builder.spawn(move || {
        let mut kept = CappedOutput::default();
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => kept.push(&chunk[..n]),
            }
        }
        let _ = tx.send(kept.finish());
    })?;
    Ok(Some(rx))
}

/// The text a reader collected, waiting until `grace` at most.
fn collect(rx: Option<Receiver<Vec<u8>>>, grace: Instant) -> String {
    rx.and_then(|rx| {
        rx.recv_timeout(grace.saturating_duration_since(Instant::now()))
            .ok()
    })
    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use fanout_core::Phase;

    use super::*;

    /// `sleep` children of this process still in the process table, zombies
    /// included. (Only `sleep`: other tests of this binary run local
    /// commands of their own, under `sh`, at the same time.)
    fn children() -> Vec<i32> {
        let me = std::process::id().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .filter(|stat| {
                let comm = stat.split_once(" (").and_then(|(_, r)| r.rsplit_once(')'));
                let ppid = stat
                    .rsplit(')')
                    .next()
                    .and_then(|rest| rest.split_whitespace().nth(1));
                comm.map(|(c, _)| c) == Some("sleep") && ppid == Some(me.as_str())
            })
            .filter_map(|stat| stat.split(' ').next()?.parse().ok())
            .collect()
    }

    #[test]
    fn a_reader_thread_that_cannot_start_stops_the_command() {
        let before = children();
        let target = Target::new("h1", "127.0.0.1");
        let deadline = Deadline::new(
            Instant::now(),
            Phase::Command,
            Some(Duration::from_secs(30)),
            None,
        );
        let argv = ["sleep".to_string(), "30".to_string()];
        FAIL_READERS.set(true);
        let started = Instant::now();
        let result = run(&argv, &target, deadline, &CancelToken::new());
        FAIL_READERS.set(false);
        let err = result.expect_err("no reader thread, no command");
        assert_eq!(err.kind, ErrorKind::CommandFailed);
        assert!(
            err.message.contains("could not start a thread") && err.message.contains("ulimit -u"),
            "{}",
            err.message
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the command was not left running"
        );
        assert!(
            LIVE_GROUPS.groups().is_empty(),
            "its process group is forgotten"
        );
        let left: Vec<i32> = children()
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        assert!(
            left.is_empty(),
            "the command was killed and reaped: {left:?}"
        );

        let ok = run(
            &["true".to_string()],
            &target,
            deadline,
            &CancelToken::new(),
        );
        assert!(ok.is_ok(), "{ok:?}");
    }
}
