//! Seed 000 (book chapter "asyncio intro", lines 82-116): `threading_1.py`.
//!
//! Five threads, each printing its number and its thread id. The seed's
//! `threading.get_ident()` is the POSIX thread handle (`pthread_self()`),
//! which the C library reuses once a thread has finished — the seed's ids
//! repeat (…102976, …710272 twice). We print the same handle. (Rust's own
//! `std::thread::current().id()` is a counter that is never reused.)
//!
//! ```text
//! cargo run --release --example threading_1
//! ```
//! fanout's `-e threads` runs hosts on a pool of such threads.

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::time::Instant;

fn thread_id() -> String {
    // SAFETY: pthread_self has no preconditions and cannot fail.
    let ident = unsafe { libc::pthread_self() };
    format!("thread id: {ident}\n")
}

fn worker(number: usize) {
    // One write for both lines, so two threads cannot interleave them.
    let text = format!("Worker number {number}\n{}", thread_id());
    std::io::stdout().lock().write_all(text.as_bytes()).unwrap();
}

fn main() {
    let s = Instant::now();
    let mut threads = Vec::new();
    for i in 0..5 {
        // `t = threading.Thread(target=worker, args=(i,)); t.start()`
        threads.push(std::thread::spawn(move || worker(i)));
    }
    // Python joins non-daemon threads at exit; Rust's main would not wait.
    for t in threads {
        t.join().unwrap();
    }
    common::completed(s.elapsed(), None, None);
}
