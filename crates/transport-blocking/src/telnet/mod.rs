//! Telnet on a std `TcpStream`, blocking: the transport of `cli` tasks on
//! telnet targets for every blocking executor. The session itself — the
//! telnet layer, the login, netcli's dialog driver — is
//! [`fanout_transport::telnet::Client`], sans I/O; this module connects
//! (the SSH side's non-blocking connect, honouring the connect deadline and
//! Ctrl-C) and moves bytes on a non-blocking socket, polling in ticks of at
//! most 100 ms so a hung device times out on time and a cancelled host
//! stops within a tick.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, CommandOutput, ErrorKind, Job, Phase, Target};
use fanout_engine::{AttemptError, AttemptResult, Deadline, HostDeadline, Progress};
use fanout_netcli::Stage;
use fanout_transport::ssh::CLOSE_WAIT;
use fanout_transport::telnet::{self, Client, Step, max_attempt};

use crate::ssh::conn::poll_cancellable;
use crate::ssh::tcp;

/// Bytes read per call.
const CHUNK: usize = 16 << 10;

/// The longest one attempt of `job` on `target` takes: connect, the login
/// and the dialog's exchanges by their timeouts, plus the goodbye.
pub(crate) fn attempt_budget(job: &Job, target: &Target) -> Option<Duration> {
    max_attempt(job, target).map(|a| a.saturating_add(CLOSE_WAIT))
}

/// One attempt of a `cli` task on a telnet target.
pub(crate) fn attempt(
    job: &Job,
    target: &Target,
    host: HostDeadline,
    cancel: &CancelToken,
    progress: &mut Progress,
) -> AttemptResult {
    let (deadline, started) = telnet::begin(job, target, host, progress)?;
    let connected = tcp::connect(target, cancel, &deadline);
    progress.timings.connect += started.elapsed();
    let mut stream = connected?;

    let mut client = telnet::login(job, target, host, progress)?;
    let mut phase_started = Instant::now();
    let result = session(
        &mut stream,
        &mut client,
        cancel,
        progress,
        &mut phase_started,
    );
    telnet::charge(&client, progress, phase_started.elapsed());
    if !matches!(&result, Err(e) if matches!(e.kind, ErrorKind::Timeout | ErrorKind::Cancelled)) {
        close(&mut stream, host, cancel);
    }
    let _ = stream.shutdown(Shutdown::Both);
    result
}

/// The session's loop: the client decides, this moves the bytes.
fn session(
    stream: &mut TcpStream,
    client: &mut Client,
    cancel: &CancelToken,
    progress: &mut Progress,
    phase_started: &mut Instant,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match telnet::next_step(client, progress, phase_started) {
            Step::Send(bytes) => write_all(stream, &bytes, &client.deadline(), cancel)
                .map_err(|stop| stopped(client, stop, Stage::Send))?,
            Step::Read => {
                let n = read_some(stream, &mut buf, &client.deadline(), cancel)
                    .map_err(|stop| stopped(client, stop, Stage::Read))?;
                client.received(&buf[..n]);
            }
            Step::Done(outputs) => return Ok(outputs),
            Step::Fail(e) => return Err(e),
        }
    }
}

/// Why moving bytes stopped.
enum Stop {
    Cancelled,
    Deadline,
    /// EOF, or the connection broke.
    Closed,
}

fn check(deadline: &Deadline, cancel: &CancelToken) -> Result<(), Stop> {
    if cancel.is_cancelled() {
        return Err(Stop::Cancelled);
    }
    if deadline.passed() {
        return Err(Stop::Deadline);
    }
    Ok(())
}

/// Waits for the socket to be ready for `events`, the deadline or a cancel.
fn wait(stream: &TcpStream, events: libc::c_short, deadline: &Deadline, cancel: &CancelToken) {
    poll_cancellable(stream.as_raw_fd(), events, deadline.remaining(), cancel);
}

fn write_all(
    stream: &mut TcpStream,
    mut bytes: &[u8],
    deadline: &Deadline,
    cancel: &CancelToken,
) -> Result<(), Stop> {
    while !bytes.is_empty() {
        check(deadline, cancel)?;
        match stream.write(bytes) {
            Ok(0) => return Err(Stop::Closed),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream, libc::POLLOUT, deadline, cancel)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Stop::Closed),
        }
    }
    Ok(())
}

/// Reads at least one byte. Checks the deadline and the cancel token
/// first, every call: a device that never stops sending still times out.
fn read_some(
    stream: &mut TcpStream,
    buf: &mut [u8],
    deadline: &Deadline,
    cancel: &CancelToken,
) -> Result<usize, Stop> {
    loop {
        check(deadline, cancel)?;
        match stream.read(buf) {
            Ok(0) => return Err(Stop::Closed),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream, libc::POLLIN, deadline, cancel)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Stop::Closed),
        }
    }
}

/// The host's error when the session could not go on.
fn stopped(client: &Client, stop: Stop, stage: Stage) -> AttemptError {
    match stop {
        Stop::Closed => client.closed(),
        Stop::Cancelled => AttemptError::cancelled().with_outputs(client.outputs()),
        Stop::Deadline => client.expired(stage),
    }
}

/// Says goodbye (the dialog typed its logout): stops sending and waits
/// briefly for the device to close its end, so that the device has ended
/// the session before the next host starts. Never past the host's deadline.
fn close(stream: &mut TcpStream, host: HostDeadline, cancel: &CancelToken) {
    let bye = Deadline::new(Instant::now(), Phase::Command, Some(CLOSE_WAIT), host);
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let mut sink = [0u8; 512];
    while !bye.passed() && !cancel.is_cancelled() {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream, libc::POLLIN, &bye, cancel)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
