//! The `local` task on tokio: one subprocess per host, no shell, in its own
//! process group, killed with the whole group on timeout, cancellation, or
//! when the host's future is dropped, and when it exits, so nothing it
//! started in the background outlives the host. Output cap and messages
//! are those of the blocking runner ([`super::blocking`]): both build on
//! [`LocalCommand`].

use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use fanout_core::{CommandOutput, Target};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use super::{
    CappedOutput, LiveGroups, LocalCommand, MAX_POLL, PIPE_GRACE, Waited, has_exited, kill_group,
};
use crate::nonblocking::Stop;
use crate::{AttemptError, Deadline};

/// Process groups of this runner's local commands still running, so an
/// impatient second Ctrl-C can kill them before fanout exits
/// ([`kill_all_local_commands`](super::kill_all_local_commands)).
pub(super) static LIVE_GROUPS: LiveGroups = LiveGroups::new();

/// Owns a running command's process group: SIGKILLs it when dropped, so a
/// host future dropped mid-command (cancelled run, dropped stream) leaves
/// nothing running.
struct Group(i32);

impl Group {
    fn new(pgid: i32) -> Self {
        LIVE_GROUPS.insert(pgid);
        Self(pgid)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        kill_group(self.0);
        LIVE_GROUPS.remove(self.0);
    }
}

/// Runs `argv` for `target` until it exits, `deadline` passes or `stop`
/// fires; its outputs, or the error of a command that failed, timed out,
/// was cancelled or could not start. Dropping the future kills the command
/// and its group.
pub async fn run(
    argv: &[String],
    target: &Target,
    deadline: Deadline,
    stop: &Stop,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let local = LocalCommand::new(argv, target)?;
    let mut child = tokio::process::Command::from(local.command())
        .spawn()
        .map_err(|e| local.spawn_error(&e))?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .unwrap_or(0);
    let group = Group::new(pid);
    let stdout = child.stdout.take().map(|p| tokio::spawn(read_capped(p)));
    let stderr = child.stderr.take().map(|p| tokio::spawn(read_capped(p)));

    let verdict = tokio::select! {
        exited = exited(pid) => match exited {
            Ok(()) => None,
            Err(e) => Some(Waited::Lost(e)),
        },
        _ = deadline.run(std::future::pending::<()>()) => Some(Waited::TimedOut),
        () = stop.wait() => Some(Waited::Cancelled),
    };
    // The child is a zombie (exited, not reaped) or about to be killed: its
    // pid and group id cannot be reused yet, so killing the group only hits
    // what it left running.
    kill_group(pid);
    let status = child.wait().await;
    drop(group);
    let waited = match (verdict, status) {
        (Some(verdict), _) => verdict,
        (None, Ok(status)) => Waited::Exited(status),
        (None, Err(e)) => Waited::Lost(e),
    };
    let grace = Instant::now() + PIPE_GRACE;
    local.outcome(
        waited,
        &deadline,
        collect(stdout, grace).await,
        collect(stderr, grace).await,
    )
}

/// Resolves once process `pid` (our child) has exited, without reaping it:
/// through a pidfd where the kernel has them, else by polling waitid.
async fn exited(pid: i32) -> std::io::Result<()> {
    if let Some(fd) = pidfd_open(pid)
        // SAFETY: an OwnedFd is a valid open descriptor that stays open, and
        // its as_raw_fd stays the same, until the AsyncFd drops it.
        && let Ok(fd) = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        }
    {
        // A pidfd turns readable when its process exits.
        let _ready = fd.readable().await?;
        return Ok(());
    }
    let mut pause = Duration::from_micros(200);
    loop {
        if has_exited(pid)? {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// A pidfd for `pid`, or `None` where the kernel has none (ENOSYS).
fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new file
    // descriptor (or -1); nothing of ours is read or written.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the descriptor was just returned to us and is owned by no one else.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads a pipe to its end, keeping at most
/// [`OUTPUT_CAP`](fanout_core::OUTPUT_CAP) bytes.
async fn read_capped<R: AsyncRead + Unpin>(mut pipe: R) -> Vec<u8> {
    let mut kept = CappedOutput::default();
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => kept.push(&chunk[..n]),
        }
    }
    kept.finish()
}

/// The text a reader collected, waiting until `grace` at most (a reader
/// still running then is aborted).
async fn collect(reader: Option<JoinHandle<Vec<u8>>>, grace: Instant) -> String {
    let Some(mut reader) = reader else {
        return String::new();
    };
    match tokio::time::timeout_at(grace.into(), &mut reader).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => {
            reader.abort();
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_future_kills_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            format!("sleep 60 & echo $! > '{}'; wait", pidfile.display()),
        ];
        let target = Target::new("h1", "127.0.0.1");
        let deadline = Deadline::new(
            Instant::now(),
            fanout_core::Phase::Command,
            Some(Duration::from_secs(30)),
            None,
        );
        let stop = Stop::default();
        let run = run(&argv, &target, deadline, &stop);
        // Let it start, then drop it mid-command.
        let _ = tokio::time::timeout(Duration::from_millis(500), run).await;
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let stat = std::path::Path::new("/proc").join(pid.trim()).join("stat");
        let gone = (0..100).any(|_| {
            let alive = std::fs::read_to_string(&stat).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            });
            if alive {
                std::thread::sleep(Duration::from_millis(20));
            }
            !alive
        });
        assert!(gone, "the background sleep outlived its dropped host");
        assert!(
            !LIVE_GROUPS
                .groups()
                .iter()
                .any(|g| *g > 0 && std::fs::read_to_string(format!("/proc/{g}/stat")).is_ok()),
            "a dropped command left its group registered and alive"
        );
    }

    #[tokio::test]
    async fn output_cap_marks_the_cut() {
        let (mut w, r) = tokio::io::duplex(1 << 16);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let block = vec![b'x'; 1 << 20];
            for _ in 0..17 {
                if w.write_all(&block).await.is_err() {
                    break;
                }
            }
        });
        let kept = read_capped(r).await;
        writer.await.unwrap();
        let marker = fanout_core::output_cut_marker(fanout_core::OUTPUT_CAP);
        assert_eq!(kept.len(), fanout_core::OUTPUT_CAP + marker.len());
        assert!(kept.ends_with(marker.as_bytes()));
    }
}
