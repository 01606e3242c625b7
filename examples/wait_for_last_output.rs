//! Seed 001 (course "asyncio for network engineers", lines 1401-1515 and
//! 1613-1630): `asyncio.wait_for` around `readuntil`, keeping the last output.
//!
//! `readuntil` waits forever if the device never prints what it expects.
//! `wait_for(..., timeout=3)` bounds the wait; on a timeout the seed's
//! `read_until` reads whatever the device did print (more reads of at most
//! 0.1 s each) and shows it, so you see *where* the dialog went wrong. Here
//! the script waits for `>` after a command in enable mode, where the
//! prompt is `r1#` — the seed's own example. With `strict=False` the
//! output is returned instead of failing, and the session carries on.
//!
//! ```text
//! cargo run --release --example wait_for_last_output
//! ```
//! fanout's `--timeout command=3s` does this for every read of a `cli`
//! task: a timeout's message quotes the last output seen.

#[path = "common/mod.rs"]
mod common;
#[path = "common/session.rs"]
mod session;

use std::path::Path;
use std::time::{Duration, Instant};

use fanout_core::{Platform, Target};
use session::Session;

/// The seed's `read_until(reader, line, timeout=3, strict)`.
async fn read_until(ssh: &mut Session, prompt: &str, strict: bool) -> Result<String, String> {
    match tokio::time::timeout(common::secs(3.0), ssh.read_until(&[prompt])).await {
        Ok(read) => read.map_err(|e| e.to_string()),
        Err(_elapsed) => {
            // Dropping `read_until` lost nothing: what it had read is still
            // buffered, and anything late arrives within 0.1 s of quiet.
            let output = ssh.read_available(Duration::from_millis(100)).await;
            let message = format!(
                "TimeoutError при выполнении reader.readuntil('{prompt}')\nПоследний вывод:\n{output}"
            );
            if strict {
                Err(message)
            } else {
                println!("{message}");
                Ok(output)
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The fleet serves on its own runtime: start it before entering ours.
    let fleet = common::lab(1, Platform::Ios).start()?;
    tokio::runtime::Runtime::new()?.block_on(run(&fleet.targets()[0], fleet.known_hosts_path()))
}

async fn run(t: &Target, known: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let secret = t
        .secret
        .as_ref()
        .map(|s| s.expose().to_string())
        .unwrap_or_default();
    let s = Instant::now();

    println!("Подключение к {}", t.address); // "Connecting to ..."
    let mut ssh = Session::connect(t, known).await?;
    read_until(&mut ssh, ">", true).await?;
    ssh.write("enable\n").await?;
    read_until(&mut ssh, "Password", true).await?;
    ssh.write(&format!("{secret}\n")).await?;
    read_until(&mut ssh, "#", true).await?;
    ssh.write("terminal length 0\n").await?;
    read_until(&mut ssh, "#", true).await?;

    let command = "sh ip int br";
    println!("Отправка команды {command} на {}", t.address); // "Sending ..."
    ssh.write(&format!("{command}\n")).await?;
    // strict=True: the timeout is an error carrying the last output.
    if let Err(message) = read_until(&mut ssh, ">", true).await {
        println!("{message}");
    }
    // strict=False: the same mistake, but the partial output comes back
    // and the session is still usable for the next command.
    ssh.write("show clock\n").await?;
    let partial = read_until(&mut ssh, ">", false).await?;
    println!("strict=False kept {} bytes; carrying on", partial.len());
    ssh.write("show privilege\n").await?;
    println!("{}", read_until(&mut ssh, "#", true).await?);
    ssh.close().await;
    // Two 3 s timeouts are most of the run.
    common::completed(
        s.elapsed(),
        None,
        Some(6.0 + common::LOGIN + 5.0 * common::COMMAND),
    );
    Ok(())
}
