//! Seed 001 (course "asyncio for network engineers", lines 1604-1700):
//! "connecting to several devices" — `devices.yaml`, `gather`, and one
//! error message per kind of failure.
//!
//! The seed's `send_show` wraps the connect in `wait_for(..., 5)` and
//! catches three things: a timeout ("Connection Timeout on HOST"),
//! `PermissionDenied` ("Authentication Error on HOST") and any other SSH
//! error; a failed device gives `None` in the gathered list. fanout does
//! all of that itself: a failure is the host's outcome (with a kind and a
//! message), never an exception that stops the others. Here fanout loads
//! the seed's `devices.yaml` (two good devices, a wrong password, an
//! unreachable one) and runs `sh ip int br` in enable mode on the async
//! engine — `fanout run -i devices.yaml -e async cli --enable 'sh ip int br'`.
//!
//! ```text
//! cargo run --release --example devices_yaml
//! ```

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::Instant;

use fanout_core::{
    CancelToken, CliMode, ErrorKind, Executor, Flow, HostOutcome, Job, Status, Task,
};
use fanout_exec_async::AsyncExecutor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fleet = common::seed_lab();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("devices.yaml");
    common::write_devices_yaml(&fleet, &file)?;
    // `yaml.safe_load(f)`: fanout reads scrapli's and netmiko's keys.
    let devices = fanout_inventory::load(&file)?.targets;

    let mut job = Job::new(Task::Cli {
        commands: vec!["sh ip int br".into()],
        mode: CliMode::Enable,
    })
    .with_concurrency(devices.len());
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];

    let s = Instant::now();
    let mut results: HashMap<String, Option<String>> = HashMap::new();
    // The sink sees each device as it finishes: print failures right away,
    // as the seed's `except` clauses do.
    let mut sink = |o: HostOutcome| {
        let host = &o.host;
        match (o.status, o.error_kind) {
            (Status::Ok, _) => {}
            (Status::Timeout, _) => println!("Connection Timeout on {host}"),
            (_, Some(ErrorKind::Auth)) => println!("Authentication Error on {host}"),
            _ => println!("{} on {host}", o.message.as_deref().unwrap_or("error")),
        }
        let output = o
            .is_ok()
            .then(|| o.outputs.iter().map(|c| c.stdout.as_str()).collect());
        results.insert(o.host, output);
        Flow::Continue
    };
    AsyncExecutor::new().run(&job, &devices, &mut sink, &CancelToken::new())?;

    // `pprint(result)`: in the order of devices.yaml, as `gather` returns.
    println!("[");
    for device in &devices {
        println!("  {:?},", results[&device.name]);
    }
    println!("]");
    // Ideal: the slowest device, r4, which times out after timeout_socket.
    common::completed(
        s.elapsed(),
        None,
        Some(common::socket_timeout() / common::scale()),
    );
    Ok(())
}
