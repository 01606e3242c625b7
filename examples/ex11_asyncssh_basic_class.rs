//! Seed 001 (course "asyncio for network engineers", lines 2945-3060):
//! `ex11_asyncssh_basic_class.py` — show and config commands in one session.
//!
//! The seed wraps the asyncssh dialog in a class, `ConnectAsyncSSH`:
//! `connect()` logs in, enters enable mode and turns paging off;
//! `send_show_command()` sends one command and reads to the prompt;
//! `send_config_commands()` wraps commands in `conf t` ... `end`. Used with
//! `async with`, the session closes itself. Rust has no async destructor,
//! so the struct has an explicit `close()` (and dropping it closes the
//! connection anyway, without the polite SSH goodbye).
//!
//! ```text
//! cargo run --release --example ex11_asyncssh_basic_class
//! ```
//! fanout's `cli --config` runs config commands; a `cli --enable` task the
//! show commands.

#[path = "common/mod.rs"]
mod common;
#[path = "common/session.rs"]
mod session;

use std::path::Path;
use std::time::Instant;

use fanout_core::{Platform, Target};
use session::{Error, Session};

struct ConnectAsyncSsh {
    ssh: Session,
}

impl ConnectAsyncSsh {
    /// `__init__` + `connect()` (+ `__aenter__`).
    async fn connect(t: &Target, known_hosts: &Path) -> Result<Self, Error> {
        let timeout = common::secs(5.0);
        let mut ssh = tokio::time::timeout(timeout, Session::connect(t, known_hosts))
            .await
            .map_err(|_| Error::Ssh(format!("Connection Timeout on {}", t.address)))??;
        let secret = t.secret.as_ref().map_or("", |s| s.expose());
        ssh.read_until(&[">"]).await?;
        ssh.write("enable\n").await?;
        ssh.read_until(&["Password"]).await?;
        ssh.write(&format!("{secret}\n")).await?;
        ssh.read_until(&[">", "#"]).await?;
        ssh.write("terminal length 0\n").await?;
        ssh.read_until(&["#"]).await?;
        Ok(Self { ssh })
    }

    async fn send_show_command(&mut self, command: &str) -> Result<String, Error> {
        self.ssh.write(&format!("{command}\n")).await?;
        self.ssh.read_until(&["#"]).await
    }

    async fn send_config_commands(&mut self, commands: &[&str]) -> Result<String, Error> {
        let mut output = String::new();
        for cmd in ["conf t"].iter().chain(commands).chain(&["end"]) {
            self.ssh.write(&format!("{cmd}\n")).await?;
            output += &self.ssh.read_until(&["#"]).await?;
        }
        Ok(output)
    }

    /// `close()` (+ `__aexit__`).
    async fn close(self) {
        self.ssh.close().await;
    }
}

async fn run(r1: &Target, known: &Path) -> Result<(), Error> {
    let config_commands = ["logging buffered 20010", "ip http server"];
    let mut ssh = ConnectAsyncSsh::connect(r1, known).await?;
    println!("{}", ssh.send_show_command("sh ip int br").await?);
    println!("{}", ssh.send_config_commands(&config_commands).await?);
    // The change is in the device's running config now (filtered here:
    // the simulated device has no `| include`).
    let running = ssh.send_show_command("show running-config").await?;
    for line in running.lines().filter(|l| config_commands.contains(l)) {
        println!("{line}");
    }
    ssh.close().await;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fleet = common::lab(1, Platform::Ios).start()?;
    let s = Instant::now();
    tokio::runtime::Runtime::new()?.block_on(run(&fleet.targets()[0], fleet.known_hosts_path()))?;
    common::completed(s.elapsed(), None, None);
    Ok(())
}
