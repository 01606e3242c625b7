//! The `exec` task: one command on an SSH exec channel; stdout, stderr and
//! the exit status come back separately.

use std::io::{self, Read};

use fanout_core::{CommandOutput, ErrorKind};
use fanout_transport::CapturedStreams;

use super::conn::Conn;
use fanout_engine::{AttemptError, Deadline};

/// Bytes read per call.
const CHUNK: usize = 32 << 10;

/// Runs `command` on an exec channel until the device closes it.
pub(super) fn run(
    conn: &Conn<'_>,
    command: &str,
    deadline: &Deadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let session = &conn.session;
    let mut channel = conn
        .drive(deadline, || session.channel_session())
        .map_err(|halt| conn.halted(halt, deadline, Vec::new()))?
        .map_err(|e| {
            AttemptError::new(
                ErrorKind::Channel,
                None,
                format!("could not open an SSH channel: {}", e.message()),
            )
        })?;
    conn.drive(deadline, || channel.exec(command))
        .map_err(|halt| conn.halted(halt, deadline, Vec::new()))?
        .map_err(|e| {
            AttemptError::new(
                ErrorKind::Channel,
                None,
                format!(
                    "the device refused to run `{command}` on an exec channel ({}); try a cli task",
                    e.message()
                ),
            )
        })?;

    let mut got = CapturedStreams::default();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let mut progressed = false;
        for stream_id in [0, 1] {
            let read = channel.stream(stream_id).read(&mut buf);
            match read {
                Ok(0) => {}
                Ok(n) => {
                    progressed = true;
                    if stream_id == 0 {
                        got.push_stdout(&buf[..n]);
                    } else {
                        got.push_stderr(&buf[..n]);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    let received = got.received();
                    return Err(AttemptError::new(
                        ErrorKind::Channel,
                        None,
                        format!(
                            "the connection dropped while `{command}` was running, after {received} bytes of output (libssh2: {e}); the partial output is kept"
                        ),
                    )
                    .with_outputs(vec![got.output(command, None)]));
                }
            }
        }
        if channel.eof() {
            break;
        }
        // Checked on every pass, data or not: a device that streams output
        // forever still times out, and Ctrl-C still stops it.
        let halted = if progressed {
            conn.check(deadline)
        } else {
            conn.wait(deadline)
        };
        if let Err(halt) = halted {
            let output = got.output(command, None);
            let mut err = conn.halted(halt, deadline, Vec::new());
            if err.kind == ErrorKind::Timeout {
                err.message
                    .push_str(&format!("; `{command}` had not finished"));
                match last_output(&output.stdout) {
                    Some(tail) => err
                        .message
                        .push_str(&format!("; last output seen: `{tail}`")),
                    None => err.message.push_str("; no output was received"),
                }
            }
            return Err(err.with_outputs(vec![output]));
        }
    }
    // The exit status comes before the close; a device that sends EOF but
    // never closes times out here with its full output kept.
    let closed = conn.drive(deadline, || channel.wait_close());
    let exit_signal = channel.exit_signal().ok().and_then(|s| s.exit_signal);
    let exit_status = match closed {
        Ok(Ok(())) => channel.exit_status().ok(),
        Ok(Err(_)) => None,
        Err(halt) => {
            return Err(conn
                .halted(halt, deadline, Vec::new())
                .with_outputs(vec![got.output(command, None)]));
        }
    };
    let output = got.output(command, exit_status);
    if let Some(signal) = exit_signal {
        let message = format!("`{command}` was killed by signal {signal}");
        return Err(
            AttemptError::new(ErrorKind::CommandFailed, None, message).with_outputs(vec![output])
        );
    }
    match exit_status {
        Some(code) if code != 0 => {
            let message = format!("`{command}` exited with status {code}");
            Err(AttemptError::new(ErrorKind::CommandFailed, None, message)
                .with_outputs(vec![output]))
        }
        _ => Ok(vec![output]),
    }
}

/// The last non-empty line of `text`, shortened to its last
/// [`TAIL_BLOCKING`](fanout_transport::ssh::TAIL_BLOCKING) characters, for
/// "last output seen" in timeout messages.
fn last_output(text: &str) -> Option<String> {
    fanout_transport::last_line(text, fanout_transport::ssh::TAIL_BLOCKING)
}
