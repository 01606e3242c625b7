//! The async engine's native API: outcomes as a `Stream`, in completion
//! order, from your own tokio runtime.
//!
//! ```text
//! cargo run -p fanout-exec-async --example stream
//! ```
//!
//! Starts a simulated fleet of 20 IOS devices (commands take 50 ms ± 40 ms;
//! two devices reject every login), runs `show version` on all of them, 8
//! at a time, and prints each host the moment it completes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, Job, Task};
use fanout_sim::Fleet;
use futures_util::StreamExt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The fleet runs on its own runtime; start it before entering ours.
    let fleet = Fleet::builder()
        .devices(20)
        .latency(Duration::from_millis(50), Duration::from_millis(40))
        .faults("auth_fail=r4+r13".parse()?)
        .start()?;

    let mut job = Job::new(Task::Exec {
        command: "show version".into(),
    })
    .with_concurrency(8);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    let targets = fleet.targets();

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let cancel = CancelToken::new();
        let started = Instant::now();
        let mut outcomes = fanout_exec_async::run_stream(Arc::new(job), targets, cancel)?;
        while let Some(outcome) = outcomes.next().await {
            let detail = match &outcome.message {
                Some(message) => message.clone(),
                None => {
                    let bytes: usize = outcome.outputs.iter().map(|o| o.stdout.len()).sum();
                    format!("{bytes} bytes of output")
                }
            };
            println!(
                "[{:>6.3}s] {:<4} {:<6} {}",
                started.elapsed().as_secs_f64(),
                outcome.host,
                outcome.status.as_str(),
                detail
            );
        }
        Ok::<(), fanout_core::ExecError>(())
    })?;
    let stats = fleet.stats();
    println!(
        "fleet: {} connections, {} logins, {} rejected login attempts",
        stats.connections, stats.logins, stats.auth_failures
    );
    Ok(())
}
