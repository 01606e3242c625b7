//! Seed 003 (slides "Make Python applications faster with asyncio", lines
//! 71-74): the real-world use case. "5 racks of gear, 100 devices, 700+
//! cables. 2 weeks for racking and stacking. Did we actually do cabling
//! correctly? Wrote a script to check that using CDP."
//!
//! That script, here: 100 simulated IOS devices wired with 700 cables (the
//! simulator's seeded cabling, which is also our cabling plan), one of
//! them left unplugged on purpose. `show cdp neighbors detail` is collected
//! from every device at once (fanout's async engine: 100 logins overlap, so
//! the whole fleet takes about one device's time); each neighbour entry is
//! one end of a cable. A cable is right when both ends list each other
//! (two-sided) and it is in the plan; the check reports one-sided entries,
//! planned cables CDP does not see, and cables nobody planned.
//!
//! ```text
//! cargo run --release --example cdp_cabling
//! cargo run --release --example cdp_cabling -- 20     # 20 devices, 140 cables
//! ```
//! The CLI equivalent of the collection: `fanout run -i fleet.yaml -e async
//! -c 100 cli 'show cdp neighbors detail'`.

#[path = "common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use fanout_core::{CancelToken, CliMode, Job, Platform, Task};
use futures_util::StreamExt;

/// `(device, interface)`: one end of a cable.
type End = (String, String);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = match std::env::args().skip(1).find(|a| a != "--") {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("{arg}: expected a number of devices"))?,
        None => common::devices(100),
    };
    let fleet = common::lab(n, Platform::Ios).cables(7 * n).start()?;
    // The cabling plan: every cable with its two ends.
    let plan: BTreeSet<(End, End)> = fleet
        .cabling()
        .into_iter()
        .map(|c| ordered(c.a, c.b))
        .collect();
    // A cable left unplugged: its port on one end is down, so the link is
    // gone on both ends (as CDP sees a pulled cable).
    let unplugged = plan.iter().nth(plan.len() / 2).cloned().expect("a cable");
    let (device, port) = &unplugged.1;
    fleet.console(device).expect("the device").input(
        format!("enable\ncisco\nconfigure terminal\ninterface {port}\nshutdown\nend\n").as_bytes(),
    );
    println!(
        "{n} devices, {} cables in the plan; `show cdp neighbors detail` on every device at once",
        plan.len()
    );

    // Collect: one session per device, all in flight.
    let mut job = Job::new(Task::Cli {
        commands: vec!["show cdp neighbors detail".into()],
        mode: CliMode::User,
    })
    .with_concurrency(n);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    let s = Instant::now();
    let runtime = tokio::runtime::Runtime::new()?;
    let outputs: HashMap<String, String> = runtime.block_on(async {
        let mut stream =
            fanout_exec_async::run_stream(Arc::new(job), fleet.targets(), CancelToken::new())?;
        let mut outputs = HashMap::new();
        while let Some(o) = stream.next().await {
            match o.outputs.first() {
                Some(out) if o.is_ok() => {
                    outputs.insert(o.host, out.stdout.clone());
                }
                _ => println!("{}: {}", o.host, o.message.unwrap_or_default()),
            }
        }
        Ok::<_, fanout_core::ExecError>(outputs)
    })?;
    println!(
        "collected {}/{n} devices in {:.2} s ({})",
        outputs.len(),
        s.elapsed().as_secs_f64(),
        common::versus(None, Some(common::LOGIN + 2.0 * common::COMMAND))
    );

    // Every neighbour entry: this end -> the end it says it is plugged into.
    let mut ends: BTreeMap<End, End> = BTreeMap::new();
    for (device, out) in &outputs {
        for (local, remote, remote_port) in neighbours(out) {
            ends.insert((device.clone(), local), (remote, remote_port));
        }
    }
    // Two-sided: the far end lists this end back.
    let mut cables = BTreeSet::new();
    let mut one_sided = Vec::new();
    for (here, there) in &ends {
        if ends.get(there) == Some(here) {
            cables.insert(ordered(here.clone(), there.clone()));
        } else {
            one_sided.push(format!("{} says {}", show(here), show(there)));
        }
    }
    println!(
        "CDP sees {} cables, {} of them from both ends",
        cables.len() + one_sided.len(),
        cables.len()
    );
    report("one-sided (the far end does not list it back)", one_sided);
    report(
        "planned but not seen",
        plan.difference(&cables).map(cable).collect(),
    );
    report(
        "seen but not planned",
        cables.difference(&plan).map(cable).collect(),
    );
    Ok(())
}

/// `(local interface, neighbour, neighbour's interface)` of each entry of
/// `show cdp neighbors detail`:
///
/// ```text
/// Device ID: r0042
/// ...
/// Interface: Ethernet0/1,  Port ID (outgoing port): Ethernet1/3
/// ```
fn neighbours(out: &str) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let mut device = None;
    for line in out.lines() {
        if let Some(id) = line.strip_prefix("Device ID: ") {
            device = Some(id.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("Interface: ")
            && let Some((local, remote)) = rest.split_once(",  Port ID (outgoing port): ")
            && let Some(device) = device.take()
        {
            found.push((local.trim().to_string(), device, remote.trim().to_string()));
        }
    }
    found
}

/// A cable with its ends in a fixed order, so each cable is one entry.
fn ordered(a: End, b: End) -> (End, End) {
    if a <= b { (a, b) } else { (b, a) }
}

fn show(end: &End) -> String {
    format!("{} {}", end.0, end.1)
}

fn cable(c: &(End, End)) -> String {
    format!("{} <-> {}", show(&c.0), show(&c.1))
}

fn report(what: &str, problems: Vec<String>) {
    if problems.is_empty() {
        println!("{what}: none");
    }
    for p in problems {
        println!("{what}: {p}");
    }
}
