//! Seed 001 (course "asyncio for network engineers", lines 3760-3800):
//! `asyncio.to_thread` — calling a blocking library from async code.
//!
//! Most device libraries (netmiko, and here ssh2 through fanout's `seq`
//! executor) block the calling thread until the device answers. Called
//! straight from a coroutine, each call stalls the event loop, so three
//! "concurrent" devices run one after another. `to_thread` runs the call
//! on a thread of a pool while the coroutine awaits it, and the three
//! overlap. tokio's name for it is `spawn_blocking`.
//!
//! ```text
//! cargo run --release --example to_thread
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use fanout_core::{CancelToken, CliMode, CollectSink, Executor, Job, Platform, Target, Task};
use fanout_exec_threads::Sequential;
use futures_util::future::join_all;

/// A blocking `send_show`: log in, run the command, return its output.
fn send_show(job: &Job, device: &Target) -> String {
    let mut sink = CollectSink::default();
    let run = Sequential::new().run(
        job,
        std::slice::from_ref(device),
        &mut sink,
        &CancelToken::new(),
    );
    match (run, sink.outcomes.first()) {
        (Ok(_), Some(o)) if o.is_ok() => o.outputs.iter().map(|c| c.stdout.as_str()).collect(),
        (Ok(_), Some(o)) => format!("failed: {}", o.message.as_deref().unwrap_or("")),
        (Err(e), _) => format!("failed: {e}"),
        (Ok(_), None) => "no outcome".into(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fleet = common::lab(3, Platform::Ios).start()?;
    let devices = fleet.targets();
    let mut job = Job::new(Task::Cli {
        commands: vec!["show clock".into()],
        mode: CliMode::User,
    });
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    // asyncio's loop is one thread: so is this runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let one_device = common::LOGIN + 2.0 * common::COMMAND;

    // Wrong: the blocking call runs on the event loop's own thread.
    let s = Instant::now();
    let direct = devices.iter().map(|d| async { send_show(&job, d) });
    for (d, out) in devices.iter().zip(rt.block_on(join_all(direct))) {
        println!("{}: {}", d.name, out.trim_end());
    }
    println!("called directly: the loop ran one device at a time");
    common::completed(s.elapsed(), None, Some(3.0 * one_device));

    // Right: `await asyncio.to_thread(send_show, device)`.
    let s = Instant::now();
    let threaded = devices.iter().map(|d| {
        let (job, d) = (job.clone(), d.clone());
        async move { tokio::task::spawn_blocking(move || send_show(&job, &d)).await }
    });
    for (d, out) in devices.iter().zip(rt.block_on(join_all(threaded))) {
        println!("{}: {}", d.name, out?.trim_end());
    }
    println!("to_thread / spawn_blocking: the three devices overlapped");
    common::completed(s.elapsed(), None, Some(one_device));
    Ok(())
}
