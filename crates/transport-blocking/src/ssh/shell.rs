//! The `cli` task: an interactive shell with a PTY, driven by
//! [`fanout_netcli::Driver`] — the driver decides what to send, when an
//! answer is complete, each exchange's deadline and what a timeout says;
//! this loop moves the bytes in libssh2's non-blocking mode.

use std::io::{self, Read, Write};
use std::time::Instant;

use fanout_core::{CliMode, CommandOutput, Job, Target};
use fanout_netcli::{Action, Driver, Stage};
use fanout_transport::ssh::{
    cli_driver, dialog_failed as dialog_error, exchange_deadline as deadline,
};
use ssh2::{Channel, ExtendedData};

use fanout_transport::ssh::text;

use super::conn::{Conn, Halt};
use fanout_engine::{AttemptError, Deadline, HostDeadline};

/// Bytes read per call.
const CHUNK: usize = 16 << 10;

/// Runs `commands` in an interactive shell, driven by
/// [`fanout_netcli::Driver`] (which owns each exchange's deadline: the
/// command timeout, or what is left of the host's).
pub(super) fn run(
    conn: &Conn<'_>,
    target: &Target,
    job: &Job,
    commands: &[String],
    mode: CliMode,
    host: HostDeadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut driver = cli_driver(job, target, commands, mode, host)?;
    let mut channel = open(conn, target, &deadline(&driver))
        .map_err(|stop| stopped(conn, &driver, stop, Stage::Open))?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        match driver.next(Instant::now()) {
            Action::Send(bytes) => write_all(conn, &mut channel, &bytes, &deadline(&driver))
                .map_err(|stop| stopped(conn, &driver, stop, Stage::Send))?,
            Action::Read => {
                let n = read_some(conn, &mut channel, &mut buf, &deadline(&driver))
                    .map_err(|stop| stopped(conn, &driver, stop, Stage::Read))?;
                driver.received(&buf[..n]);
            }
            Action::Done(outputs) => return Ok(outputs),
            Action::Fail(e) => return Err(dialog_error(e)),
        }
    }
}

/// A session channel with a PTY and a shell, stderr merged into stdout
/// (what a terminal shows).
fn open(conn: &Conn<'_>, target: &Target, deadline: &Deadline) -> Result<Channel, Stop> {
    let session = &conn.session;
    let halted = Stop::Halt;
    let mut channel = conn
        .drive(deadline, || session.channel_session())
        .map_err(halted)?
        .map_err(|e| Stop::Failed(text::channel_refused(target, e.message())))?;
    conn.drive(deadline, || {
        channel.request_pty("vt100", None, Some((511, 1000, 0, 0)))
    })
    .map_err(halted)?
    .map_err(|e| Stop::Failed(text::shell_refused(target, "a terminal (PTY)", e.message())))?;
    conn.drive(deadline, || {
        channel.handle_extended_data(ExtendedData::Merge)
    })
    .map_err(halted)?
    .map_err(|e| Stop::Failed(text::shell_refused(target, "a merged stderr", e.message())))?;
    conn.drive(deadline, || channel.shell())
        .map_err(halted)?
        .map_err(|e| {
            Stop::Failed(text::shell_refused(
                target,
                "an interactive shell",
                e.message(),
            ))
        })?;
    Ok(channel)
}

/// Why moving bytes stopped.
enum Stop {
    Halt(Halt),
    /// EOF, or the connection broke.
    Closed,
    /// The device refused the channel, PTY or shell.
    Failed(AttemptError),
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
fn stopped(conn: &Conn<'_>, driver: &Driver, stop: Stop, stage: Stage) -> AttemptError {
    match stop {
        Stop::Closed => dialog_error(driver.closed()),
        Stop::Failed(err) => err,
        Stop::Halt(Halt::Cancelled) => conn.halted(
            Halt::Cancelled,
            &deadline(driver),
            driver.outputs().to_vec(),
        ),
        Stop::Halt(Halt::Deadline) => dialog_error(driver.expired(stage)),
    }
}
