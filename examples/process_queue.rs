//! Seed 002 (book chapter "parallel execution", lines 108-187): one
//! process per device running `show run`, results back through a Queue.
//!
//! The parent starts one `multiprocessing.Process` per device; each child
//! connects (netmiko), runs `show run`, and `put`s `{ip: output}` on a
//! shared `multiprocessing.Queue`; the parent `join`s every child, then
//! `get`s one result per child and pretty-prints the list. A Python Queue
//! is a pipe underneath — and so is ours: every child's stdout is the
//! write end of one shared pipe, each result one JSON line on it (its
//! progress message goes to stderr). A pipe keeps a write whole only up to
//! 4096 bytes (`PIPE_BUF`), and a `show run` is bigger, so like Python's
//! Queue, which holds a lock shared by every process around each `put`,
//! each child holds a lock (an `flock` on a file the parent made) while it
//! writes its line: without it, two children finishing together interleave
//! their lines into garbage. A child is this program started
//! again with `--child`; it learns its device from its stdin, so that the
//! password never appears in a command line, and talks to the device with
//! fanout's blocking `seq` executor (ssh2), as netmiko would.
//!
//! ```text
//! cargo run --release --example process_queue
//! ```
//! fanout's `-e process --process-mode per-host` is this pattern, with
//! crash isolation, timeouts and cancellation added.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use fanout_core::{
    CancelToken, CliMode, CollectSink, Executor, Job, Platform, Secret, Target, Task,
};
use fanout_exec_threads::Sequential;
use serde_json::{Value, json};

/// The child: `connect_to_dev(device, mp_queue)`.
fn child() -> Result<(), Box<dyn std::error::Error>> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let d: Value = serde_json::from_str(&line)?;
    let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    let mut target = Target::new(text("name"), text("address"));
    target.port = d["port"].as_u64().unwrap_or(22) as u16;
    target.username = Some(text("username"));
    target.credentials.password = Some(Secret::new(text("password")));
    target.secret = Some(Secret::new(text("secret")));
    let mut job = Job::new(Task::Cli {
        commands: vec!["show run".into()],
        mode: CliMode::Enable,
    });
    job.known_hosts = vec![PathBuf::from(text("known_hosts"))];

    let mut sink = CollectSink::default();
    Sequential::new().run(&job, &[target], &mut sink, &CancelToken::new())?;
    let o = &sink.outcomes[0];
    let output = match o.outputs.first() {
        Some(out) if o.is_ok() => out.stdout.clone(),
        _ => format!("failed: {}", o.message.as_deref().unwrap_or("")),
    };
    let dev_id = format!("{}:{}", text("address"), text("port_text"));
    eprintln!("Adding the result to the multiprocess queue");
    // `mp_queue.put(return_data)`: one line on the shared pipe, written
    // whole while holding the queue's lock.
    let line = format!("{}\n", json!({ dev_id: output }));
    let lock = std::fs::File::open(text("queue_lock"))?;
    lock.lock()?;
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.flush()?;
    Ok(()) // the lock is released when `lock` is closed
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("--child") {
        return child();
    }
    let fleet = common::lab(5, Platform::Ios).start()?;
    let s = Instant::now();
    let (queue_out, queue_in) = std::io::pipe()?; // `mp_queue = multiprocessing.Queue()`
    let queue_lock = std::env::temp_dir().join(format!("fanout-queue-{}.lock", std::process::id()));
    std::fs::File::create(&queue_lock)?;
    let me = std::env::current_exe()?;
    let mut processes = Vec::new();
    for t in fleet.targets() {
        let mut p = Command::new(&me)
            .arg("--child")
            .stdin(Stdio::piped())
            .stdout(queue_in.try_clone()?)
            .spawn()?;
        println!("Adding Process to the list");
        let device = json!({
            "name": t.name, "address": t.address, "port": t.port, "port_text": t.port.to_string(),
            "username": t.username, "password": t.credentials.password.as_ref().map(|p| p.expose()),
            "secret": t.secret.as_ref().map(|s| s.expose()),
            "known_hosts": fleet.known_hosts_path(), "queue_lock": queue_lock,
        });
        p.stdin
            .take()
            .expect("piped stdin")
            .write_all(format!("{device}\n").as_bytes())?;
        processes.push(p);
    }
    // Only the children may hold the write end now, or reading would never end.
    drop(queue_in);
    for p in &mut processes {
        println!("Joining the finished process to the main truck");
        // Like Python's, this joins before reading: fine while the results
        // fit in the pipe (64 KiB on Linux); bigger ones would block their
        // child on write while we wait for it here — read first then.
        p.wait()?;
    }
    let mut lines = BufReader::new(queue_out).lines();
    let mut results: Vec<BTreeMap<String, String>> = Vec::new();
    for _ in &processes {
        println!("Moving the result from the queue to the results list");
        let line = lines
            .next()
            .ok_or("a child died before putting its result")??;
        results.push(serde_json::from_str(&line)?);
    }
    std::fs::remove_file(&queue_lock)?;
    println!("{results:#?}"); // `pprint(results)`
    // Ideal: one login + paging off, `enable`, `show run`, all devices at once.
    common::completed(
        s.elapsed(),
        None,
        Some(common::LOGIN + 3.0 * common::COMMAND),
    );
    Ok(())
}
