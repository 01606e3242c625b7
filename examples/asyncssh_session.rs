//! Seed 001 (course "asyncio for network engineers", lines 1239-1335):
//! asyncssh basics — an interactive session driven by hand.
//!
//! Open a shell with a PTY, then talk to the device like a terminal would:
//! read until `>`, send `enable`, read until `Password`, send the secret,
//! read until `#`, turn paging off, send the command, read its output up to
//! the next `#`. First step by step on one device, printing each read as
//! the seed's IPython session shows it; then the same dialog as a function
//! on three devices at once (`gather`): each `await` is a point where the
//! other devices' sessions run, so three take about as long as one.
//!
//! ```text
//! cargo run --release --example asyncssh_session
//! ```
//! fanout's `cli --enable` task runs this dialog for you, on every platform.

#[path = "common/mod.rs"]
mod common;
#[path = "common/session.rs"]
mod session;

use std::path::Path;
use std::time::Instant;

use fanout_core::{Platform, Target};
use session::{Error, Session};

fn secret(t: &Target) -> String {
    t.secret
        .as_ref()
        .map(|s| s.expose().to_string())
        .unwrap_or_default()
}

async fn send_show(t: &Target, known_hosts: &Path, command: &str) -> Result<String, Error> {
    let mut ssh = Session::connect(t, known_hosts).await?;
    ssh.read_until(&[">"]).await?;
    ssh.write("enable\n").await?;
    ssh.read_until(&["Password"]).await?;
    ssh.write(&format!("{}\n", secret(t))).await?;
    ssh.read_until(&[">", "#"]).await?;
    ssh.write("terminal length 0\n").await?;
    ssh.read_until(&["#"]).await?;
    ssh.write(&format!("{command}\n")).await?;
    let output = ssh.read_until(&["#"]).await?;
    ssh.close().await;
    Ok(output)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The fleet serves on its own runtime: start it before entering ours.
    let fleet = common::lab(3, Platform::Ios).start()?;
    // `asyncio.run(main())`
    tokio::runtime::Runtime::new()?.block_on(run(&fleet.targets(), fleet.known_hosts_path()))
}

async fn run(targets: &[Target], known: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // Step by step, as in the seed's `In [n]` / `Out[n]` lines.
    let r1 = &targets[0];
    let mut ssh = Session::connect(r1, known).await?;
    println!("{:?}", ssh.read_until(&[">"]).await?);
    ssh.write("enable\n").await?;
    println!("{:?}", ssh.read_until(&["Password"]).await?);
    ssh.write(&format!("{}\n", secret(r1))).await?;
    println!("{:?}", ssh.read_until(&["#"]).await?);
    ssh.write("terminal length 0\n").await?;
    println!("{:?}", ssh.read_until(&["#"]).await?);
    ssh.write("sh ip int br\n").await?;
    let output = ssh.read_until(&["#"]).await?;
    println!("{output:?}");
    ssh.close().await;

    // One device with the function: `asyncio.run(send_show(**r1, ...))`.
    let s = Instant::now();
    println!("{}", send_show(r1, known, "sh ip int br").await?);
    let one = s.elapsed();

    // `gather` over three devices: results in the order of the devices.
    let s = Instant::now();
    let sessions = targets.iter().map(|t| send_show(t, known, "sh ip int br"));
    let results = futures_util::future::join_all(sessions).await;
    for result in &results {
        println!("{:?}", result.as_ref().map_err(|e| e.to_string()));
    }
    let three = s.elapsed();
    println!(
        "one device: {:.2} s, three devices gathered: {:.2} s ({})",
        one.as_secs_f64(),
        three.as_secs_f64(),
        common::versus(None, None)
    );
    Ok(())
}
