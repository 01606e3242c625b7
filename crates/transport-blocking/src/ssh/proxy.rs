//! ProxyCommand on blocking sockets: `sh -c COMMAND` (`%h`/`%p`/`%r`
//! already expanded by the inventory) in a process group of its own, with
//! one end of a `UnixStream::pair()` as its stdin and stdout; the session
//! runs over the other end. Its stderr is kept for the message when it
//! exits before the handshake is over. Dropping the [`Proxy`] kills the
//! group and reaps the child.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use fanout_core::Target;
use fanout_engine::AttemptError;
use fanout_transport::ssh::jump::proxy_failed;

use super::conn::poll;

/// A running proxy command.
pub(super) struct Proxy {
    child: Child,
    command: String,
    stderr: Option<ChildStderr>,
}

impl Proxy {
    /// Starts `command` for `target`: our end of its stdio, and the process.
    pub(super) fn spawn(
        target: &Target,
        command: &str,
    ) -> Result<(UnixStream, Proxy), AttemptError> {
        let failed =
            |e: std::io::Error| proxy_failed(target, command, format!("could not start ({e})"), "");
        let (ours, theirs) = UnixStream::pair().map_err(failed)?;
        let theirs_out = theirs.try_clone().map_err(failed)?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs_out)))
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(failed)?;
        let stderr = child.stderr.take();
        // libssh2's non-blocking mode needs a non-blocking socket (the
        // child's end is a socket of its own, still blocking).
        let _ = ours.set_nonblocking(true);
        Ok((
            ours,
            Proxy {
                child,
                command: command.to_string(),
                stderr,
            },
        ))
    }

    /// `err` (the handshake over the command failed) as the command's own
    /// failure when it has exited (within a short grace), with its stderr.
    pub(super) fn explain(&mut self, target: &Target, err: AttemptError) -> AttemptError {
        let until = Instant::now() + Duration::from_millis(500);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
                _ => return err,
            }
        };
        let mut said = Vec::new();
        if let Some(stderr) = &mut self.stderr {
            let until = Instant::now() + Duration::from_millis(200);
            let mut buf = [0u8; 4096];
            while Instant::now() < until && said.len() < 64 << 10 {
                if !poll(stderr.as_raw_fd(), libc::POLLIN, Duration::from_millis(50)) {
                    continue;
                }
                match stderr.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => said.extend_from_slice(&buf[..n]),
                }
            }
        }
        let status = match status.code() {
            Some(code) => format!("exited with status {code} before the SSH handshake was over"),
            None => "was killed by a signal before the SSH handshake was over".to_string(),
        };
        proxy_failed(
            target,
            &self.command,
            status,
            &String::from_utf8_lossy(&said),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The whole group, even when `sh` itself has exited (a command it
        // started may still run).
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals the process group this proxy command leads
            // (process_group(0) made its pid the group id).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}
