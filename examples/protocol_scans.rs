//! Seed 001 (course "asyncio for network engineers", lines 2902-2938 and
//! 3121-3170): `ex06_async_iterator_telnet_ssh.py` and the scan by
//! protocol (`protocol_class_map`: ssh / telnet / icmp) — three scans at
//! once with `asyncio.gather`.
//!
//! Each scan is sequential on its own (the seed's `CheckConnection` async
//! iterator logs in to one device, then the next): here fanout's async
//! engine, `run_stream` at concurrency 1, yields one device's outcome at a
//! time. The three scans run concurrently (`tokio::join!`, the `gather`),
//! so their waits overlap: together they take about as long as the longest
//! one, not the sum. The program measures both — first the three at once
//! (printing the seed's lines as they come, then each protocol's reachable
//! and unreachable lists), then the same three one after another.
//!
//! Two simulated fleets of three IOS devices: one over SSH (r3 refuses the
//! login, like the seed's wrong password), one over telnet (r3 has its port
//! closed, like the seed's unreachable device).
//!
//! The seed's "icmp" scan runs `ping -c 3` as a subprocess. On loopback
//! every 127.x address answers ICMP, so a ping cannot tell our devices
//! apart; as in the `ping_subprocess` example the check is a TCP connect to
//! the device's port, run as a subprocess (this program started again with
//! `--probe ADDRESS:PORT`: three tries 0.3 s apart, like `ping -c 3 -i 0.3`;
//! exit 0 when the port answered). It checks three addresses, as the seed's
//! `ip_list` has three: SSH r3 (it answers, even though its login fails),
//! telnet r1 and telnet r3 (nothing listening).
//!
//! ```text
//! cargo run --release --example protocol_scans
//! ```

#[path = "common/mod.rs"]
mod common;

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, CliMode, ExecError, Job, Platform, Target, Task};
use futures_util::StreamExt;

/// Tries of the probe and the pause between them, in seconds at scale 1
/// (`ping -c 3 -i 0.3`).
const PROBE_TRIES: u32 = 3;
const PROBE_INTERVAL: f64 = 0.3;

/// The probe subprocess: exit 0 if any of the tries connected.
fn probe(addr: &str) -> i32 {
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        return 2;
    };
    let mut answered = false;
    for i in 0..PROBE_TRIES {
        if i > 0 {
            std::thread::sleep(common::secs(PROBE_INTERVAL));
        }
        answered |= TcpStream::connect_timeout(&addr, common::secs(PROBE_INTERVAL)).is_ok();
    }
    if answered { 0 } else { 1 }
}

/// One protocol's result: who answered, who did not (and why), how long.
struct Scan {
    protocol: &'static str,
    reachable: Vec<String>,
    unreachable: Vec<String>,
    took: Duration,
}

impl Scan {
    fn new(protocol: &'static str) -> Self {
        Self {
            protocol,
            reachable: Vec::new(),
            unreachable: Vec::new(),
            took: Duration::ZERO,
        }
    }

    /// The seed's line for one device, printed as it comes (not when quiet).
    fn record(&mut self, quiet: bool, ok: bool, entry: String, detail: &str) {
        if !quiet {
            let now = common::now();
            let protocol = self.protocol;
            if ok {
                // "connected"
                println!("{now} {protocol}. Подключение успешно: {entry} {detail}");
            } else {
                // "could not connect"
                println!("{now} {protocol}. Не удалось подключиться: {entry} {detail}");
            }
        }
        if ok {
            self.reachable.push(entry);
        } else {
            self.unreachable.push(format!("{entry} ({detail})"));
        }
    }
}

/// `scan(devices, "SSH")` / `scan(devices, "Telnet")`: `show version` on one
/// device after the other (concurrency 1), through the async engine.
async fn device_scan(
    protocol: &'static str,
    job: Arc<Job>,
    targets: Vec<Target>,
    quiet: bool,
) -> Result<Scan, ExecError> {
    let start = Instant::now();
    let mut scan = Scan::new(protocol);
    // `async for status, msg in check:`
    let mut outcomes = fanout_exec_async::run_stream(job, targets, CancelToken::new())?;
    while let Some(o) = outcomes.next().await {
        if o.is_ok() {
            let version = o.outputs.last().map_or("", |c| c.stdout.trim());
            let first_line = version.lines().next().unwrap_or_default();
            scan.record(quiet, true, o.host.clone(), first_line);
        } else {
            let kind = o.error_kind.map_or("error", |k| k.as_str());
            let why = format!("{kind}: {}", o.message.as_deref().unwrap_or("no message"));
            scan.record(quiet, false, o.host.clone(), &why);
        }
    }
    scan.took = start.elapsed();
    Ok(scan)
}

/// `scan(ip_list, "ICMP")`: `CheckConnectionPing`, one probe subprocess
/// after the other, each awaited (`await reply.communicate()`).
async fn icmp_scan(ip_list: Vec<(String, String)>, quiet: bool) -> Scan {
    let start = Instant::now();
    let mut scan = Scan::new("ICMP");
    let me = std::env::current_exe().expect("own executable");
    for (device, addr) in ip_list {
        let reply = tokio::process::Command::new(&me)
            .args(["--probe", &addr])
            .output()
            .await;
        let entry = format!("{addr} ({device})");
        match reply {
            Ok(r) if r.status.success() => {
                scan.record(quiet, true, entry, "answered a TCP connect")
            }
            Ok(_) => scan.record(
                quiet,
                false,
                entry,
                &format!("no answer to {PROBE_TRIES} TCP connects"),
            ),
            Err(e) => scan.record(quiet, false, entry, &format!("probe did not run: {e}")),
        }
    }
    scan.took = start.elapsed();
    scan
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--probe") {
        std::process::exit(probe(&args.next().unwrap_or_default()));
    }
    // The fleets run on their own runtimes; start them before ours.
    let ssh_fleet = common::lab(3, Platform::Ios)
        .faults("auth_fail=r3".parse()?)
        .start()?;
    let telnet_fleet = common::lab(3, Platform::Ios)
        .telnet(true)
        .faults("refuse=r3".parse()?)
        .start()?;
    let (ssh, telnet) = (ssh_fleet.targets(), telnet_fleet.targets());
    let ip_list = vec![
        ("SSH r3".to_string(), common::addr(&ssh[2])),
        ("Telnet r1".to_string(), common::addr(&telnet[0])),
        ("Telnet r3".to_string(), common::addr(&telnet[2])),
    ];
    let task = Task::Cli {
        commands: vec!["show version".into()],
        mode: CliMode::User,
    };
    let mut ssh_job = Job::new(task.clone()).with_concurrency(1);
    ssh_job.known_hosts = vec![ssh_fleet.known_hosts_path().to_path_buf()];
    let (ssh_job, telnet_job) = (
        Arc::new(ssh_job),
        Arc::new(Job::new(task).with_concurrency(1)),
    );

    let runtime = tokio::runtime::Runtime::new()?;
    // `asyncio.gather(scan(ssh), scan(telnet), scan(ip_list))`
    let s = Instant::now();
    let (a, b, c) = runtime.block_on(async {
        tokio::join!(
            device_scan("SSH", ssh_job.clone(), ssh.clone(), false),
            device_scan("Telnet", telnet_job.clone(), telnet.clone(), false),
            icmp_scan(ip_list.clone(), false),
        )
    });
    let together = s.elapsed();
    let scans = [a?, b?, c];
    for scan in &scans {
        println!(
            "{:<6} reachable:   {}",
            scan.protocol,
            scan.reachable.join(", ")
        );
        println!(
            "{:<6} unreachable: {}",
            scan.protocol,
            scan.unreachable.join(", ")
        );
    }

    // The same three scans, one after another (quiet).
    let s = Instant::now();
    let apart = runtime.block_on(async {
        let a = device_scan("SSH", ssh_job, ssh, true).await?;
        let b = device_scan("Telnet", telnet_job, telnet, true).await?;
        let c = icmp_scan(ip_list, true).await;
        Ok::<_, ExecError>([a, b, c])
    })?;
    let one_by_one = s.elapsed();
    let parts: Vec<String> = apart
        .iter()
        .map(|scan| format!("{} {:.2} s", scan.protocol, scan.took.as_secs_f64()))
        .collect();
    println!(
        "one after another: {} = {:.2} s",
        parts.join(" + "),
        one_by_one.as_secs_f64()
    );
    let longest = apart.iter().map(|s| s.took).max().unwrap_or_default();
    println!(
        "at once: {:.2} s, the longest scan alone {:.2} s",
        together.as_secs_f64(),
        longest.as_secs_f64()
    );
    // Ideal at once: the longest scan's waits. SSH: two logins plus paging
    // off and `show version`, then r3's refused login; telnet: the same for r1
    // and r2 (r3 refuses the connection at once); ICMP: three probes of
    // two pauses each.
    let (login, command) = (common::LOGIN, common::COMMAND);
    let ssh_ideal = 2.0 * (login + 2.0 * command) + login;
    let telnet_ideal = 2.0 * (login + 2.0 * command);
    let icmp_ideal = 3.0 * f64::from(PROBE_TRIES - 1) * PROBE_INTERVAL;
    let ideal = ssh_ideal.max(telnet_ideal).max(icmp_ideal);
    println!(
        "ideal one after another: {:.2} s",
        (ssh_ideal + telnet_ideal + icmp_ideal) * common::scale()
    );
    common::completed(together, None, Some(ideal));
    Ok(())
}
