//! Seed 000 (book chapter "asyncio intro", lines 177-205): `sync_count.py`.
//!
//! `count()` prints One, sleeps 1 s, prints Two; `main()` calls it three
//! times. Every sleep blocks the only thread, so the three counts run one
//! after another: 3 x 1 s = 3.00 s (the seed printed 3.00 s).
//!
//! ```text
//! cargo run --release --example sync_count
//! ```
//! Compare with `async_count`, where the same three waits overlap.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

fn count() {
    println!("One");
    // `time.sleep(1)`: the thread does nothing else meanwhile.
    std::thread::sleep(common::secs(1.0));
    println!("Two");
}

fn main() {
    let s = Instant::now();
    count();
    count();
    count();
    common::completed(s.elapsed(), Some(3.00), Some(3.0));
}
