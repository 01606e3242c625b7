//! The `exec` task: one command on an SSH exec channel; stdout, stderr and
//! the exit status come back separately.

use std::io::{self, Read};

use fanout_core::{CommandOutput, ErrorKind, Target};
use fanout_transport::CapturedStreams;
use fanout_transport::ssh::text;

use super::conn::Conn;
use fanout_engine::{AttemptError, Deadline};

/// Bytes read per call.
const CHUNK: usize = 32 << 10;

/// Runs `command` on an exec channel until the device closes it.
pub(super) fn run(
    conn: &Conn<'_>,
    target: &Target,
    command: &str,
    deadline: &Deadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let session = &conn.session;
    let mut channel = conn
        .drive(deadline, || session.channel_session())
        .map_err(|halt| conn.halted(halt, deadline, Vec::new()))?
        .map_err(|e| text::channel_refused(target, e.message()))?;
    conn.drive(deadline, || channel.exec(command))
        .map_err(|halt| conn.halted(halt, deadline, Vec::new()))?
        .map_err(|_| text::exec_refused(target, command))?;

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
                Err(_) => return Err(text::exec_dropped(command, &got)),
            }
        }
        if channel.eof() {
            break;
        }
        // Reading one stream pulls every packet off the socket into
        // libssh2's queue: stdout that arrived while stderr was read is
        // queued, not on the socket, and a wait on the socket would miss it
        // (the wait has no tick to end it). Read again instead.
        if !progressed && channel.read_window().available > 0 {
            progressed = true;
        }
        // Checked on every pass, data or not: a device that streams output
        // forever still times out, and Ctrl-C still stops it.
        let halted = if progressed {
            conn.check(deadline)
        } else {
            conn.wait(deadline)
        };
        if let Err(halt) = halted {
            let err = conn.halted(halt, deadline, Vec::new());
            if err.kind == ErrorKind::Timeout {
                return Err(text::exec_timed_out(err, command, &got));
            }
            return Err(err.with_outputs(vec![got.output(command, None)]));
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
    text::exec_verdict(command, &got, exit_status, exit_signal.as_deref())
}
