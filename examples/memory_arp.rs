//! Seed 003 (slides "Make Python applications faster with asyncio", line
//! 38): "A network engineer ... needs to collect memory statistics and ARP
//! table. One week of hacking and success! Working great for one device
//! ... but need to do the same for 1000 devices. Let's add for loop and it
//! should be fine... right? RIGHT??"
//!
//! Not with a for loop: 1,000 devices x (login + three commands) is about
//! 14 minutes one after another. Here the 1,000 are simulated IOS devices,
//! and fanout's async engine runs `show memory statistics` and `show ip
//! arp` on 100 of them at a time (a semaphore, as the course's
//! `Semaphore(20)` lesson): 10 rounds of one device's time. Each output is
//! parsed — the processor pool's free bytes, the ARP entries — and the
//! fleet summarised: the devices with the least free memory, and the spread
//! of ARP table sizes.
//!
//! ```text
//! cargo run --release --example memory_arp
//! cargo run --release --example memory_arp -- 50     # 50 devices
//! ```
//! The CLI equivalent of the collection: `fanout run -i fleet.yaml -e async
//! -c 100 cli 'show memory statistics' 'show ip arp'` (add `--parse` for
//! records where a TextFSM template exists).

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use fanout_core::{CancelToken, CliMode, HostOutcome, Job, Platform, Task};
use fanout_sim::{DeviceSpec, Fleet};
use futures_util::StreamExt;

/// Devices in flight at once.
const IN_FLIGHT: usize = 100;

/// What one device told us.
struct Figures {
    /// Processor pool: total and free bytes.
    total: u64,
    free: u64,
    /// Entries of its ARP table.
    arp: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = match std::env::args().skip(1).find(|a| a != "--") {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("{arg}: expected a number of devices"))?,
        None => common::devices(1000),
    };
    // A mixed fleet, as real ones are: every fourth device an IOS-XE box
    // (other interfaces, a larger processor pool), the rest IOS; logins
    // and commands cost what `common::lab` devices cost.
    let specs = (1..=n)
        .map(|i| DeviceSpec {
            platform: if i % 4 == 0 {
                Platform::Iosxe
            } else {
                Platform::Ios
            },
            banner_delay: common::secs(common::LOGIN),
            latency: common::secs(common::COMMAND),
            ..DeviceSpec::new(&format!("r{i:04}"))
        })
        .collect();
    let fleet = Fleet::builder().specs(specs).start()?;
    let in_flight = IN_FLIGHT.min(n);
    println!(
        "{n} devices, {in_flight} at a time: `show memory statistics` and `show ip arp` on each"
    );

    let mut job = Job::new(Task::Cli {
        commands: vec!["show memory statistics".into(), "show ip arp".into()],
        mode: CliMode::User,
    })
    .with_concurrency(in_flight);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    let s = Instant::now();
    let runtime = tokio::runtime::Runtime::new()?;
    let outcomes: Vec<HostOutcome> = runtime.block_on(async {
        let stream =
            fanout_exec_async::run_stream(Arc::new(job), fleet.targets(), CancelToken::new())?;
        Ok::<_, fanout_core::ExecError>(stream.collect().await)
    })?;
    let elapsed = s.elapsed();

    let mut figures: BTreeMap<String, Figures> = BTreeMap::new();
    for o in &outcomes {
        let parsed = match o.outputs.as_slice() {
            [memory, arp] if o.is_ok() => parse(&memory.stdout, &arp.stdout),
            _ => None,
        };
        match parsed {
            Some(f) => {
                figures.insert(o.host.clone(), f);
            }
            None => println!(
                "{}: {}",
                o.host,
                o.message.as_deref().unwrap_or("unparsable output")
            ),
        }
    }
    // Ideal: rounds of one device's login, paging off and two commands.
    let rounds = n.div_ceil(in_flight) as f64;
    let one_device = common::LOGIN + 3.0 * common::COMMAND;
    println!(
        "parsed {}/{n} devices in {:.2} s; a for loop would take {:.0} s ({})",
        figures.len(),
        elapsed.as_secs_f64(),
        n as f64 * one_device * common::scale(),
        common::versus(None, Some(rounds * one_device))
    );

    // Check the parse against each device's own account, without the
    // network: its console's `show processes memory` (another command,
    // another layout: `Processor Pool Total: ... Free: ...`) and ARP table.
    let agree = figures
        .iter()
        .filter(|(name, f)| {
            let mut console = fleet.console(name).expect("a device of the fleet");
            let pool = String::from_utf8_lossy(&console.exec("show processes memory").output)
                .lines()
                .find(|l| l.trim_start().starts_with("Processor Pool Total:"))
                .and_then(|l| l.split("Free:").nth(1))
                .and_then(|v| v.trim().parse::<u64>().ok());
            let arp = arp_entries(&String::from_utf8_lossy(
                &console.exec("show ip arp").output,
            ));
            pool == Some(f.free) && arp == f.arp
        })
        .count();
    println!(
        "checked against the devices' own figures (`show processes memory`, `show ip arp` on the simulator's console): {agree}/{} agree",
        figures.len()
    );

    // The devices with the least free memory, as a share of their pool
    // (an IOS-XE box has five times an IOS box's).
    let share = |f: &Figures| 100.0 * f.free as f64 / f.total as f64;
    let mut by_free: Vec<(&String, &Figures)> = figures.iter().collect();
    by_free.sort_by(|a, b| share(a.1).total_cmp(&share(b.1)).then(a.0.cmp(b.0)));
    for (name, f) in by_free.iter().take(3) {
        println!(
            "least free memory: {name} {} bytes free of {} ({:.1} %)",
            f.free,
            f.total,
            share(f)
        );
    }
    if let Some((name, f)) = by_free.last() {
        println!(
            "most free memory:  {name} {} bytes free of {} ({:.1} %)",
            f.free,
            f.total,
            share(f)
        );
    }
    // ARP table sizes: how many devices have how many entries.
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for f in figures.values() {
        *sizes.entry(f.arp).or_default() += 1;
    }
    let spread: Vec<String> = sizes
        .iter()
        .map(|(entries, devices)| format!("{entries} entries: {devices} devices"))
        .collect();
    println!(
        "ARP tables: {} entries in all; {}",
        figures.values().map(|f| f.arp).sum::<usize>(),
        spread.join(", ")
    );
    Ok(())
}

/// The processor pool's total and free bytes, from `show memory statistics`:
///
/// ```text
///                 Head    Total(b)     Used(b)     Free(b)   Lowest(b)  Largest(b)
/// Processor 7F3A8E1C5010   346437616    51234567   295203049 ...
/// ```
fn processor_pool(memory: &str) -> Option<(u64, u64)> {
    let line = memory
        .lines()
        .find(|l| l.trim_start().starts_with("Processor"))?;
    let cols: Vec<&str> = line.split_whitespace().collect();
    Some((cols.get(2)?.parse().ok()?, cols.get(4)?.parse().ok()?))
}

/// The entries of `show ip arp` (one line each, starting `Internet`).
fn arp_entries(arp: &str) -> usize {
    arp.lines().filter(|l| l.starts_with("Internet")).count()
}

fn parse(memory: &str, arp: &str) -> Option<Figures> {
    let (total, free) = processor_pool(memory)?;
    Some(Figures {
        total,
        free,
        arp: arp_entries(arp),
    })
}
