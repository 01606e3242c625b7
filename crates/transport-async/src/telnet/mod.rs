//! Telnet on a tokio `TcpStream`: the transport of `cli` tasks on telnet
//! targets for the async executor. The session itself — the telnet layer,
//! the login, netcli's dialog driver — is
//! [`fanout_transport::telnet::Client`], sans I/O; this module connects
//! and moves bytes, each wait bounded by the client's deadline.
//! Cancellation drops the future, which closes the socket.

use std::time::Instant;

use fanout_core::{CommandOutput, ErrorKind, Job, Target};
use fanout_engine::{AttemptError, AttemptResult, Expired, HostDeadline, Progress};
use fanout_netcli::Stage;
use fanout_transport::ssh::CLOSE_WAIT;
use fanout_transport::telnet::{self, Client, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::ssh::session::tcp_connect;

/// Bytes read per call.
const CHUNK: usize = 16 << 10;

/// One attempt of a `cli` task on a telnet target.
pub(crate) async fn attempt(
    job: &Job,
    target: &Target,
    host: HostDeadline,
    progress: &mut Progress,
) -> AttemptResult {
    let (deadline, started) = telnet::begin(job, target, host, progress)?;
    let connected = deadline.run(tcp_connect(target)).await;
    progress.timings.connect += started.elapsed();
    let mut stream = connected.map_err(|Expired| deadline.timeout_error(Vec::new()))??;
    let _ = stream.set_nodelay(true);

    let mut client = telnet::login(job, target, host, progress)?;
    let mut phase_started = Instant::now();
    let result = session(&mut stream, &mut client, progress, &mut phase_started).await;
    telnet::charge(&client, progress, phase_started.elapsed());
    if !matches!(&result, Err(e) if e.kind == ErrorKind::Timeout) {
        // A device that timed out may never answer: just drop it.
        let wait = host.map_or(CLOSE_WAIT, |(at, _)| {
            at.saturating_duration_since(Instant::now()).min(CLOSE_WAIT)
        });
        let _ = tokio::time::timeout(wait, close(&mut stream)).await;
    }
    result
}

/// The session's loop: the client decides, this moves the bytes.
async fn session(
    stream: &mut TcpStream,
    client: &mut Client,
    progress: &mut Progress,
    phase_started: &mut Instant,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match telnet::next_step(client, progress, phase_started) {
            Step::Send(bytes) => match client.deadline().run(stream.write_all(&bytes)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(client.closed()),
                Err(Expired) => return Err(client.expired(Stage::Send)),
            },
            Step::Read => match client.deadline().run(stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Err(client.closed()),
                Ok(Ok(n)) => client.received(&buf[..n]),
                Err(Expired) => return Err(client.expired(Stage::Read)),
            },
            Step::Done(outputs) => return Ok(outputs),
            Step::Fail(e) => return Err(e),
        }
    }
}

/// Says goodbye (the dialog typed its logout): stops sending and waits for
/// the device to close its end (the caller bounds the wait).
async fn close(stream: &mut TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 512];
    while let Ok(n) = stream.read(&mut sink).await {
        if n == 0 {
            return;
        }
    }
}
