//! The `cli` task: an interactive shell with a PTY, driven by
//! [`fanout_netcli::Dialog`] — the dialog decides what to send and when an
//! answer is complete; this driver moves the bytes and owns the timeouts
//! (each exchange gets the command timeout afresh; answers to a pager stay
//! within their command's exchange, so at most
//! [`DialogSpec::max_exchanges`] timeouts add up).

use std::io::{self, Read, Write};

use fanout_core::{CliMode, CommandOutput, ErrorKind, Phase, Target};
use fanout_netcli::{Dialog, DialogError, DialogSpec, Progress};
use ssh2::{Channel, ExtendedData};

use super::conn::{Conn, Halt};
use fanout_engine::{AttemptError, Deadline};

/// Bytes read per call.
const CHUNK: usize = 16 << 10;

/// Runs `commands` in an interactive shell. `deadline` makes the deadline
/// of one exchange (each line that begins an exchange restarts it).
pub(super) fn run(
    conn: &Conn<'_>,
    target: &Target,
    commands: &[String],
    mode: CliMode,
    deadline: impl Fn() -> Deadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut dialog = Dialog::new(DialogSpec::for_target(target, commands, mode))
        .map_err(|e| AttemptError::new(e.kind(), None, e.to_string()))?;
    let mut current = deadline();
    let mut exchange = dialog.exchanges();
    let mut channel = open(conn, &current)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        match dialog.progress().map_err(dialog_error)? {
            Progress::Send(bytes) => {
                write_all(conn, &mut channel, &bytes, &current)
                    .map_err(|stop| stopped(conn, &dialog, stop, &current))?;
                if dialog.exchanges() != exchange {
                    exchange = dialog.exchanges();
                    current = deadline();
                }
            }
            Progress::Read => {
                let n = read_some(conn, &mut channel, &mut buf, &current)
                    .map_err(|stop| stopped(conn, &dialog, stop, &current))?;
                dialog.feed(&buf[..n]);
            }
            Progress::Done => break,
        }
    }
    Ok(dialog.into_outputs())
}

/// A session channel with a PTY and a shell, stderr merged into stdout
/// (what a terminal shows).
fn open(conn: &Conn<'_>, deadline: &Deadline) -> Result<Channel, AttemptError> {
    let session = &conn.session;
    let fail = |what: &str, e: ssh2::Error| {
        AttemptError::new(ErrorKind::Channel, None, format!("{what}: {}", e.message()))
    };
    let halted = |halt| conn.halted(halt, deadline, Vec::new());
    let mut channel = conn
        .drive(deadline, || session.channel_session())
        .map_err(halted)?
        .map_err(|e| fail("could not open an SSH channel", e))?;
    conn.drive(deadline, || {
        channel.request_pty("vt100", None, Some((511, 1000, 0, 0)))
    })
    .map_err(halted)?
    .map_err(|e| fail("the device refused a terminal (PTY)", e))?;
    conn.drive(deadline, || {
        channel.handle_extended_data(ExtendedData::Merge)
    })
    .map_err(halted)?
    .map_err(|e| fail("could not merge the shell's stderr", e))?;
    conn.drive(deadline, || channel.shell())
        .map_err(halted)?
        .map_err(|e| fail("the device refused an interactive shell", e))?;
    Ok(channel)
}

/// Why moving bytes stopped.
enum Stop {
    Halt(Halt),
    /// EOF, or the connection broke.
    Closed,
}

fn write_all(
    conn: &Conn<'_>,
    channel: &mut Channel,
    mut bytes: &[u8],
    deadline: &Deadline,
) -> Result<(), Stop> {
    while !bytes.is_empty() {
        conn.check(deadline).map_err(Stop::Halt)?;
        match channel.write(bytes) {
            Ok(0) => return Err(Stop::Closed),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.wait(deadline).map_err(Stop::Halt)?
            }
            Err(_) => return Err(Stop::Closed),
        }
    }
    Ok(())
}

/// Reads at least one byte. Checks the deadline and the cancel token
/// first, every call: a device that never stops sending (and never shows
/// the prompt) still times out.
fn read_some(
    conn: &Conn<'_>,
    channel: &mut Channel,
    buf: &mut [u8],
    deadline: &Deadline,
) -> Result<usize, Stop> {
    loop {
        conn.check(deadline).map_err(Stop::Halt)?;
        match channel.read(buf) {
            Ok(0) if channel.eof() => return Err(Stop::Closed),
            Ok(0) => conn.wait(deadline).map_err(Stop::Halt)?,
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.wait(deadline).map_err(Stop::Halt)?
            }
            Err(_) => return Err(Stop::Closed),
        }
    }
}

/// The host's error when the dialog could not go on.
fn stopped(conn: &Conn<'_>, dialog: &Dialog, stop: Stop, deadline: &Deadline) -> AttemptError {
    match stop {
        Stop::Closed => dialog_error(dialog.closed()),
        Stop::Halt(Halt::Cancelled) => {
            conn.halted(Halt::Cancelled, deadline, dialog.outputs().to_vec())
        }
        Stop::Halt(Halt::Deadline) => {
            let timed_out = dialog.timed_out(deadline.after);
            if deadline.phase == Phase::Host && timed_out.kind() == ErrorKind::Timeout {
                // The whole-host limit ran out, not the command's own.
                let message = format!(
                    "{} ({})",
                    Phase::Host.timeout_message(deadline.after),
                    timed_out.message()
                );
                let err = AttemptError::new(timed_out.kind(), Some(Phase::Host), message);
                err.with_outputs(timed_out.into_outputs())
            } else {
                dialog_error(timed_out)
            }
        }
    }
}

fn dialog_error(e: DialogError) -> AttemptError {
    let err = AttemptError::new(e.kind(), e.phase(), e.message());
    err.with_outputs(e.into_outputs())
}
