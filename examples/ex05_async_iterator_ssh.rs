//! Seed 001 (course "asyncio for network engineers", lines 2740-2880):
//! `ex05_async_iterator_ssh.py` — an async iterator over devices.
//!
//! `CheckConnection` is an async iterator: each `__anext__` tries to log in
//! to the next device of `devices_asyncssh.yaml` and yields (True, prompt)
//! or (False, error). `async for` pulls one device at a time, so the scan
//! is sequential — but while it waits, the event loop can run other things
//! (the seed's next example scans telnet at the same time). In Rust an
//! async iterator is a `Stream`; `stream::unfold` builds one from a state
//! (the device list and the current index) and an async step.
//!
//! The file: two good devices, one with a wrong password, one that never
//! answers (it times out after the file's `timeout_socket: 5`); fanout's
//! inventory loader reads it in the seed's own format.
//!
//! ```text
//! cargo run --release --example ex05_async_iterator_ssh
//! ```

#[path = "common/mod.rs"]
mod common;
#[path = "common/session.rs"]
mod session;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fanout_core::Target;
use futures_util::{Stream, StreamExt, stream};
use session::Session;

/// `_scan_device`: log in, go to enable mode, and return the prompt.
async fn scan_device(t: &Target, known_hosts: &Path) -> (bool, String) {
    let attempt = async {
        let mut ssh = Session::connect(t, known_hosts).await?;
        ssh.read_until(&[">"]).await?;
        ssh.write("enable\n").await?;
        ssh.read_until(&["Password"]).await?;
        let secret = t.secret.as_ref().map_or("", |s| s.expose());
        ssh.write(&format!("{secret}\n")).await?;
        let prompt = ssh.read_until(&["#"]).await?;
        ssh.close().await;
        Ok::<_, session::Error>(prompt.lines().last().unwrap_or_default().to_string())
    };
    // `async with timeout(5)`: `timeout_socket` of devices.yaml.
    let limit = t.timeouts.connect.unwrap_or(Duration::from_secs(5));
    match tokio::time::timeout(limit, attempt).await {
        Ok(Ok(prompt)) => (true, prompt),
        Ok(Err(e)) => (false, format!("{e} {}", common::addr(t))),
        Err(_) => (
            false,
            format!("timed out opening connection to device {}", common::addr(t)),
        ),
    }
}

/// `CheckConnection(devices)`: a stream that scans the next device only
/// when the consumer asks for the next item (`__anext__`).
fn check_connection(devices: Vec<Target>, known: PathBuf) -> impl Stream<Item = (bool, String)> {
    stream::unfold((devices, 0), move |(devices, current)| {
        let known = known.clone();
        async move {
            let device = devices.get(current)?; // StopAsyncIteration
            let result = scan_device(device, &known).await;
            Some((result, (devices, current + 1)))
        }
    })
}

/// Returns the time from the first result to the last.
async fn ssh_scan(devices: Vec<Target>, known: PathBuf) -> Duration {
    let mut check = std::pin::pin!(check_connection(devices, known));
    let mut first = None;
    // `async for status, msg in check:`
    while let Some((status, msg)) = check.next().await {
        let first = *first.get_or_insert_with(Instant::now);
        if status {
            println!("{} SSH. Подключение успешно: {msg}", common::now()); // "connected"
        } else {
            println!("{} SSH. Не удалось подключиться: {msg}", common::now()); // "failed"
        }
        if msg.starts_with("timed out") {
            return first.elapsed();
        }
    }
    first.map_or(Duration::ZERO, |f| f.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fleet = common::seed_lab();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("devices_asyncssh.yaml");
    common::write_devices_yaml(&fleet, &file)?;
    let devices = fanout_inventory::load(&file)?.targets;

    let s = Instant::now();
    let known = fleet.known_hosts_path().to_path_buf();
    let span = tokio::runtime::Runtime::new()?.block_on(ssh_scan(devices, known));
    // The seed printed timestamps only: 7.87 s from its first line to its
    // last. Ideal: one login + `enable` for r1 and r2, r3's login, then
    // r4's 5 s timeout (never under 2 s when scaled); from the first result
    // on, all but r1's login.
    let (login, enable) = (common::LOGIN, common::COMMAND);
    let ideal_span = (login + enable) + login + common::socket_timeout() / common::scale();
    println!(
        "first to last result: {:.2} s ({})",
        span.as_secs_f64(),
        common::versus(Some(7.87), Some(ideal_span))
    );
    common::completed(s.elapsed(), None, Some(ideal_span + login + enable));
    Ok(())
}
