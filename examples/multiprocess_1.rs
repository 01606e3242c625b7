//! Seed 000 (book chapter "asyncio intro", lines 39-72): `multiprocess_1.py`.
//!
//! Five worker processes, each printing its number and its process id. The
//! seed's `multiprocessing.Process(target=worker)` forks the interpreter; a
//! Rust program starts a new process the portable way: it runs its own
//! executable again (`std::env::current_exe()`) with an argument that says
//! "you are worker N". Every worker has its own pid, and the order in which
//! they print is up to the OS scheduler (the seed's came out 0, 2, 3, 1, 4).
//!
//! ```text
//! cargo run --release --example multiprocess_1
//! ```
//! fanout's `-e process --process-mode per-host` runs one such process per host.

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::process::Command;
use std::time::Instant;

fn process_info() -> String {
    format!("process id: {}\n", std::process::id())
}

fn worker(number: usize) {
    // One write for both lines, so that two workers printing at the same
    // moment cannot interleave their lines.
    let text = format!("Worker number {number}\n{}", process_info());
    std::io::stdout().lock().write_all(text.as_bytes()).unwrap();
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--worker") {
        let number = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        worker(number);
        return Ok(());
    }
    let s = Instant::now();
    let me = std::env::current_exe()?;
    let mut children = Vec::new();
    for i in 0..5 {
        // `p = Process(target=worker, args=(i,)); p.start()`
        let child = Command::new(&me)
            .arg("--worker")
            .arg(i.to_string())
            .spawn()?;
        children.push(child);
    }
    // Python waits for non-daemon children at exit without being asked; in
    // Rust we wait (`join`) explicitly, or they would outlive us as orphans.
    for mut child in children {
        child.wait()?;
    }
    common::completed(s.elapsed(), None, None);
    Ok(())
}
