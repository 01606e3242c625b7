//! Seed 000 (book chapter "asyncio intro", lines 412-465):
//! `scrapli_example_3_sync.py` vs `scrapli_example_3_async.py`.
//!
//! Eight connections, four to each of two devices (the seed's list is
//! .50, .60, .50, .60, ...), each one a full login plus `show version`:
//! the sync script opens them one after another (5.97 s in the seed), the
//! async one all at once (4.67 s). Why is async only 1.28x faster, not 8x?
//! Because the devices, not the client, set the pace: a device serves a
//! few sessions at a time (its vty lines), and every connection pays the
//! login again. Here each simulated NX-OS device serves ONE session at a
//! time (`max_sessions(1, Queue)`: an extra connection waits, banner not
//! sent, until the line is free) and a login costs 0.45 s (banner 0.15 s +
//! AAA 0.3 s) before two 0.15 s commands: 0.75 s per connection, 8 x 0.75
//! = 6.00 s one after another. Async can overlap only the two devices: 4
//! rounds of 0.75 s = 3.00 s, a 2x win whatever the client does. (The
//! seed's async run did worse than that, 4.67 s: its Python client spent
//! CPU on each handshake on one core, which fanout's client does not.)
//! The lesson: fan out over devices, not over connections to one device —
//! open one session per device and send it all the commands.
//!
//! ```text
//! cargo run --release --example eight_connections
//! ```
//! The CLI equivalent: `fanout sim serve --devices 2 --profile nxos
//! --max-sessions 1 --max-sessions-mode queue --banner-delay 150ms
//! --auth-delay 300ms --latency 150ms --inventory-out fleet.yaml`, then
//! `fanout run -e seq` vs `-e async` on an inventory listing each device
//! four times.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use fanout_core::{CancelToken, CliMode, CollectSink, Executor, Job, Platform, Target, Task};
use fanout_exec_threads::Sequential;
use fanout_sim::{Fleet, SessionLimitMode};
use futures_util::StreamExt;

/// Sessions a device serves at once.
const LIMIT: usize = 1;
/// What one connection costs, in seconds at scale 1: banner + login (AAA)
/// + paging off + `show version`.
const BANNER: f64 = 0.15;
const AUTH: f64 = 0.3;
const CONNECTION: f64 = BANNER + AUTH + 2.0 * common::COMMAND;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The seed's two NX-OS boxes, .50 and .60.
    let fleet = Fleet::builder()
        .devices(2)
        .platform(Platform::Nxos)
        .banner_delay(common::secs(BANNER))
        .auth_delay(common::secs(AUTH))
        .latency(common::secs(common::COMMAND), std::time::Duration::ZERO)
        .max_sessions(LIMIT, SessionLimitMode::Queue)
        .start()?;
    // `for device in ['.50', '.60', '.50', '.60', ...]`: 8 connections.
    let devices = fleet.targets();
    let eight: Vec<Target> = (0..8)
        .map(|i| {
            let mut t = devices[i % 2].clone();
            t.name = format!("{}-{}", t.name, i / 2 + 1);
            t
        })
        .collect();
    let mut job = Job::new(Task::Cli {
        commands: vec!["show version".into()],
        mode: CliMode::User,
    })
    .with_concurrency(eight.len());
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];

    // scrapli_example_3_sync.py: GenericDriver, one connection after another.
    println!("sync: 8 connections one after another (scrapli_example_3_sync.py)");
    let s = Instant::now();
    let mut sink = CollectSink::default();
    Sequential::new().run(&job, &eight, &mut sink, &CancelToken::new())?;
    let sync = s.elapsed();
    report_failures(sink.outcomes.iter());
    common::completed(sync, Some(5.97), Some(8.0 * CONNECTION));
    let queued_before = fleet.stats().sessions_queued;

    // scrapli_example_3_async.py: AsyncGenericDriver, all 8 gathered.
    println!("async: 8 connections at once (scrapli_example_3_async.py)");
    let runtime = tokio::runtime::Runtime::new()?;
    let s = Instant::now();
    let outcomes = runtime.block_on(async {
        let stream = fanout_exec_async::run_stream(Arc::new(job), eight, CancelToken::new())?;
        Ok::<_, fanout_core::ExecError>(stream.collect::<Vec<_>>().await)
    })?;
    let asy = s.elapsed();
    report_failures(outcomes.iter());
    let rounds = 4usize.div_ceil(LIMIT) as f64;
    common::completed(asy, Some(4.67), Some(rounds * CONNECTION));

    // What the devices saw (the simulator counts it).
    let peaks: Vec<String> = fleet
        .peak_sessions()
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    println!(
        "most sessions at once per device: {} (limit {LIMIT} per device)",
        peaks.join(", ")
    );
    println!(
        "connections that waited for a free session: sync {queued_before}, async {}",
        fleet.stats().sessions_queued - queued_before
    );
    println!(
        "async was {:.2}x faster than sync (seed: {:.2}x; at most {:.2}x here: 2 devices x {LIMIT} session = {} connections at a time, {rounds} rounds of one connection's {:.2} s)",
        sync.as_secs_f64() / asy.as_secs_f64(),
        5.97 / 4.67,
        8.0 / rounds,
        2 * LIMIT,
        CONNECTION * common::scale()
    );
    Ok(())
}

/// Every connection should log in and answer; print the ones that did not.
fn report_failures<'a>(outcomes: impl Iterator<Item = &'a fanout_core::HostOutcome>) {
    for o in outcomes.filter(|o| !o.is_ok()) {
        println!("{}: {}", o.host, o.message.as_deref().unwrap_or("failed"));
    }
}
