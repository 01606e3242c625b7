//! Seed 000 (book chapter "asyncio intro", lines 344-408): `scrapli_example_2.py`.
//!
//! `show version` on two NX-OS devices at once with scrapli's async driver
//! and `asyncio.gather`: both logins and both commands overlap, so two
//! devices take about as long as one (the seed printed 1.37 s against its
//! lab's real devices). Here: two simulated NX-OS devices and fanout's
//! async engine (`run_stream`, tokio + russh) on our own runtime.
//!
//! ```text
//! cargo run --release --example scrapli_example_2
//! ```
//! The CLI equivalent: `fanout run -i fleet.yaml -e async cli 'show version'`.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use fanout_core::{CancelToken, CliMode, Job, Platform, Task};
use futures_util::StreamExt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The fleet runs on its own runtime; start it before entering ours.
    let fleet = common::lab(2, Platform::Nxos).start()?;
    let targets = fleet.targets();
    let mut job = Job::new(Task::Cli {
        commands: vec!["show version".into()],
        mode: CliMode::User,
    })
    .with_concurrency(2);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];

    let s = Instant::now();
    let runtime = tokio::runtime::Runtime::new()?;
    // `asyncio.run(main())`
    let mut results = runtime.block_on(async {
        let mut outcomes =
            fanout_exec_async::run_stream(Arc::new(job), targets.clone(), CancelToken::new())?;
        let mut by_host = HashMap::new();
        // Outcomes arrive as devices finish (as_completed) ...
        while let Some(outcome) = outcomes.next().await {
            by_host.insert(outcome.host.clone(), outcome);
        }
        Ok::<_, fanout_core::ExecError>(by_host)
    })?;
    // ... but `gather` returns them in the order it was given: print so.
    for target in &targets {
        let outcome = results
            .remove(&target.name)
            .expect("every host reports once");
        match outcome.outputs.first() {
            Some(out) if outcome.is_ok() => println!("{}", out.stdout.trim_end()),
            _ => println!("{}: {}", outcome.host, outcome.message.unwrap_or_default()),
        }
    }
    // Ideal: one device's login, paging off and `show version`: the two
    // devices' waits overlap completely.
    let one_device = common::LOGIN + 2.0 * common::COMMAND;
    common::completed(s.elapsed(), Some(1.37), Some(one_device));
    Ok(())
}
