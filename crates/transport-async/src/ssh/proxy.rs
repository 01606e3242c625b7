//! ProxyCommand on tokio: `sh -c COMMAND` (`%h`/`%p`/`%r` already
//! expanded by the inventory) in a process group of its own, its stdout
//! and stdin joined into the stream the session runs over. Its stderr is
//! kept for the message when it exits before the handshake is over. The
//! group is killed and the child reaped when the host ends
//! ([`Proxy::finish`]), or killed when the attempt is dropped (tokio reaps
//! it then).

use std::process::Stdio;
use std::time::Duration;

use fanout_core::Target;
use fanout_engine::AttemptError;
use fanout_transport::ssh::jump::proxy_failed;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStderr, Command};

use super::session::Stream;

/// A running proxy command.
pub(super) struct Proxy {
    child: Child,
    command: String,
    stderr: Option<ChildStderr>,
}

impl Proxy {
    /// Starts `command` for `target`: the stream over its stdio and the
    /// process.
    pub(super) fn spawn(target: &Target, command: &str) -> Result<(Stream, Proxy), AttemptError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| proxy_failed(target, command, format!("could not start ({e})"), ""))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(proxy_failed(target, command, "has no stdio", ""));
        };
        let stderr = child.stderr.take();
        let proxy = Proxy {
            child,
            command: command.to_string(),
            stderr,
        };
        Ok((Box::new(tokio::io::join(stdout, stdin)), proxy))
    }

    /// `err` (the handshake over the command failed) as the command's own
    /// failure when it has exited (within a short grace), with its stderr.
    pub(super) async fn explain(&mut self, target: &Target, err: AttemptError) -> AttemptError {
        let exited = tokio::time::timeout(Duration::from_millis(500), self.child.wait()).await;
        let Ok(Ok(status)) = exited else {
            return err;
        };
        let mut said = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(
                Duration::from_millis(200),
                (&mut stderr).take(64 << 10).read_to_end(&mut buf),
            )
            .await;
            said = String::from_utf8_lossy(&buf).into_owned();
        }
        let status = match status.code() {
            Some(code) => format!("exited with status {code} before the SSH handshake was over"),
            None => "was killed by a signal before the SSH handshake was over".to_string(),
        };
        proxy_failed(target, &self.command, status, &said)
    }

    /// Kills the command's process group and reaps it.
    pub(super) async fn finish(mut self) {
        self.kill_group();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.child.wait()).await;
    }

    fn kill_group(&mut self) {
        if let Some(pid) = self.child.id()
            && let Ok(pid) = libc::pid_t::try_from(pid)
        {
            // SAFETY: signals the process group this proxy command leads
            // (process_group(0) made its pid the group id).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The group too (`sh -c` may have forked); kill_on_drop kills the
        // child and tokio reaps it.
        self.kill_group();
    }
}
