//! Seed 001 (course "asyncio for network engineers", lines 264-290 and
//! 3700-3740): checking reachability with subprocesses — `subprocess.Popen`
//! then `wait()`, and asyncio's `create_subprocess_shell` with `gather`.
//!
//! `Popen` does not block: the loop starts one check per address at once,
//! and only the `wait()` calls block, so all checks overlap and the whole
//! scan takes about one check. The async version does the same without
//! blocking the event loop and returns a list of booleans.
//!
//! The seed runs `ping -c 3`. On loopback every 127.x address answers ICMP,
//! so a ping cannot tell our simulated devices apart; our check is a
//! TCP connect to the device's SSH port instead, run as a subprocess
//! (this program started again with `--probe ADDRESS:PORT`: exit 0 when
//! the port answers, 1 when not). r3 of the fleet has its port closed.
//!
//! ```text
//! cargo run --release --example ping_subprocess
//! ```

#[path = "common/mod.rs"]
mod common;

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Instant;

use fanout_core::Platform;

/// The subprocess, like `ping -c 3`: three tries one second apart (so a
/// check takes about 2 s either way); exit 0 if any try got an answer.
fn probe(addr: &str) -> i32 {
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        return 2;
    };
    let mut answered = false;
    for i in 0..3 {
        if i > 0 {
            std::thread::sleep(common::secs(1.0));
        }
        answered |= TcpStream::connect_timeout(&addr, common::secs(1.0)).is_ok();
    }
    if answered { 0 } else { 1 }
}

fn ping_ip_addresses(ip_list: &[String]) -> std::io::Result<(Vec<String>, Vec<String>)> {
    let me = std::env::current_exe()?;
    let (mut reachable, mut unreachable) = (Vec::new(), Vec::new());
    let mut result = Vec::new();
    for ip in ip_list {
        // `subprocess.Popen([...], stdout=PIPE, stderr=PIPE)`: returns at once.
        let p = Command::new(&me)
            .args(["--probe", ip])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        result.push(p);
    }
    for (ip, mut p) in ip_list.iter().zip(result) {
        // `p.wait()`: blocks until that check is over.
        if p.wait()?.success() {
            reachable.push(ip.clone());
        } else {
            unreachable.push(ip.clone());
        }
    }
    Ok((reachable, unreachable))
}

/// `async def ping(ip)`: the same check, awaited.
async fn ping(ip: String) -> bool {
    let me = std::env::current_exe().expect("own executable");
    let reply = tokio::process::Command::new(me)
        .args(["--probe", &ip])
        .output() // `await reply.communicate()`
        .await;
    reply.is_ok_and(|r| r.status.success())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--probe") {
        std::process::exit(probe(&args.next().unwrap_or_default()));
    }
    let fleet = common::lab(3, Platform::Ios)
        .faults("refuse=r3".parse()?)
        .start()?;
    let ip_list: Vec<String> = fleet.targets().iter().map(common::addr).collect();

    let s = Instant::now();
    let (reachable, unreachable) = ping_ip_addresses(&ip_list)?;
    println!("reachable:   {reachable:?}");
    println!("unreachable: {unreachable:?}");
    // Ideal: one check (2 s), since all three run at once; 6 s one by one.
    common::completed(s.elapsed(), None, Some(2.0));

    let s = Instant::now();
    let checks = ip_list.iter().cloned().map(ping);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let results = rt.block_on(futures_util::future::join_all(checks));
    println!("{results:?}");
    common::completed(s.elapsed(), None, Some(2.0));
    Ok(())
}
