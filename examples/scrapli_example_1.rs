//! Seed 000 (book chapter "asyncio intro", lines 281-318): `scrapli_example_1.py`.
//!
//! `show version` on one NX-OS device with scrapli's synchronous driver:
//! open the connection (SSH login, prompt, paging off), send one command,
//! print the output. Here the device is a simulated NX-OS box this program
//! starts on loopback, and the driver is fanout's `seq` executor (ssh2,
//! blocking, one device at a time) running a `cli` task — the same dialog
//! scrapli drives.
//!
//! ```text
//! cargo run --release --example scrapli_example_1
//! ```
//! The CLI equivalent: `fanout run -i fleet.yaml -e seq cli 'show version'`.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use fanout_core::{CancelToken, CliMode, CollectSink, Executor, Job, Platform, Task};
use fanout_exec_threads::Sequential;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The lab device: NX-OS, cisco/cisco, 0.4 s to log in, 0.15 s per command.
    let fleet = common::lab(1, Platform::Nxos).start()?;

    // `device = {...}; conn = Scrapli(**device)`: what to run, and where.
    let mut job = Job::new(Task::Cli {
        commands: vec!["show version".into()],
        mode: CliMode::User,
    });
    // scrapli's `auth_strict_key: False` skipped the host-key check; we
    // check the device's key against the known_hosts the fleet wrote.
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];

    let s = Instant::now();
    let mut sink = CollectSink::default();
    Sequential::new().run(&job, &fleet.targets(), &mut sink, &CancelToken::new())?;
    for outcome in &sink.outcomes {
        match outcome.outputs.first() {
            // `print(response.result)`
            Some(out) if outcome.is_ok() => println!("{}", out.stdout.trim_end()),
            _ => println!(
                "{}: {}",
                outcome.host,
                outcome.message.as_deref().unwrap_or("")
            ),
        }
    }
    // Ideal: the login, paging off and `show version`.
    common::completed(
        s.elapsed(),
        None,
        Some(common::LOGIN + 2.0 * common::COMMAND),
    );
    Ok(())
}
