//! Seed 004 (blog "libraries used with asyncio", lines 524-608): a
//! two-stage pipeline of queues, one worker per stage.
//!
//! Stage 1 (`mimas_worker`) takes a role from queue 1, runs a command over
//! SSH, parses the machine names out of the output and puts the list on
//! queue 2 — and only then calls `task_done()` on queue 1. Stage 2
//! (`heist_worker`) takes each list and runs a local shell command for it.
//! `main` joins queue 1, then queue 2 (by then stage 1 can add nothing
//! more), then cancels both workers. One worker per stage, as the seed
//! chose, so the remote side never sees more than one session.
//!
//! The seed asks a salt master which machines of a role are down and
//! restarts a service on them. Here each role is a simulated IOS device:
//! stage 1 runs `show ip interface brief` over SSH (fanout's async engine)
//! and keeps the interfaces that are down; stage 2 runs a shell `echo` of
//! the restart command it would send (our stand-in for `heist_mimas`).
//!
//! ```text
//! cargo run --release --example two_stage_pipeline
//! ```

#[path = "common/mod.rs"]
mod common;
#[path = "common/queue.rs"]
mod queue;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use fanout_core::{CancelToken, Job, Platform, Target, Task};
use futures_util::StreamExt;
use queue::Queue;

/// `conn.run(command, check=True)` on one device: its stdout, or why not.
async fn ssh_run(target: &Target, known_hosts: &Path, command: &str) -> Result<String, String> {
    let mut job = Job::new(Task::Exec {
        command: command.into(),
    });
    job.known_hosts = vec![known_hosts.to_path_buf()];
    let one = vec![target.clone()];
    let mut outcomes = fanout_exec_async::run_stream(Arc::new(job), one, CancelToken::new())
        .map_err(|e| e.to_string())?;
    let outcome = outcomes.next().await.ok_or("no outcome")?;
    match outcome.is_ok() {
        true => Ok(outcome.outputs.into_iter().map(|o| o.stdout).collect()),
        false => Err(outcome.message.unwrap_or_default()),
    }
}

async fn mimas_worker(
    devices: Vec<(String, Target)>,
    known: PathBuf,
    q1: Arc<Queue<String>>,
    q2: Arc<Queue<Vec<String>>>,
) {
    loop {
        let role = q1.get().await;
        let (_, device) = devices
            .iter()
            .find(|(r, _)| *r == role)
            .expect("a device per role");
        let output = match ssh_run(device, &known, "show ip interface brief").await {
            Ok(output) => output,
            Err(e) => {
                println!("{role}: {e}");
                String::new()
            }
        };
        // The seed keeps lines starting with "- "; we keep interfaces that are down.
        let machine_list: Vec<String> = output
            .lines()
            .filter(|l| l.trim_end().ends_with("down"))
            .filter_map(|l| l.split_whitespace().next())
            .map(|interface| format!("{role}-{interface}"))
            .collect();
        if !machine_list.is_empty() {
            q2.put(machine_list);
        }
        // Only now: `join()` on queue 1 must imply "queue 2 has it".
        q1.task_done();
    }
}

async fn heist_worker(q2: Arc<Queue<Vec<String>>>) {
    loop {
        let content = q2.get().await;
        let names_re = format!("({})", content.join("|"));
        let cmd = format!("echo restart service on 'name@{names_re}'");
        println!("{cmd}");
        let out = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .output()
            .await;
        // Python's `{cmd!r}`: in double quotes when the text has single ones.
        let repr = if cmd.contains('\'') {
            format!("\"{cmd}\"")
        } else {
            format!("'{cmd}'")
        };
        match out {
            Ok(out) => {
                println!("[{repr} exited with {}]", out.status.code().unwrap_or(-1));
                if !out.stdout.is_empty() {
                    println!("[stdout]\n{}", String::from_utf8_lossy(&out.stdout));
                }
                if !out.stderr.is_empty() {
                    println!("[stderr]\n{}", String::from_utf8_lossy(&out.stderr));
                }
            }
            Err(e) => println!("[{repr} could not start: {e}]"),
        }
        q2.task_done();
    }
}

async fn pipeline(devices: Vec<(String, Target)>, known: PathBuf) {
    let (q1, q2) = (Arc::new(Queue::new()), Arc::new(Queue::new()));
    for (role, _) in &devices {
        q1.put(role.clone());
    }
    let mut mimas_task = tokio::spawn(mimas_worker(
        devices,
        known,
        Arc::clone(&q1),
        Arc::clone(&q2),
    ));
    let mut heist_task = tokio::spawn(heist_worker(Arc::clone(&q2)));

    // Join queue 1, then queue 2. A worker that died (a panic) would leave
    // its items unfinished and `join()` waiting forever — in Python too —
    // so watch the workers while joining.
    tokio::select! {
        () = async { q1.join().await; q2.join().await } => {}
        end = &mut mimas_task => panic!("stage 1 worker ended early: {end:?}"),
        end = &mut heist_task => panic!("stage 2 worker ended early: {end:?}"),
    }

    // Cancelling drops each worker at the `get().await` it is parked on:
    // there is no CancelledError to catch, the loop just ends there.
    mimas_task.abort();
    heist_task.abort();
    for task in [mimas_task, heist_task] {
        assert!(
            task.await.is_err_and(|e| e.is_cancelled()),
            "a worker ended on its own"
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fleet = common::lab(3, Platform::Ios).start()?;
    let role_list = ["cache", "relay", "live"];
    let devices: Vec<(String, Target)> = role_list
        .iter()
        .map(|r| r.to_string())
        .zip(fleet.targets())
        .collect();

    let s = Instant::now();
    let known = fleet.known_hosts_path().to_path_buf();
    tokio::runtime::Runtime::new()?.block_on(pipeline(devices, known));
    // One stage-1 worker: three logins and commands one after another.
    common::completed(
        s.elapsed(),
        None,
        Some(3.0 * (common::LOGIN + common::COMMAND)),
    );
    Ok(())
}
