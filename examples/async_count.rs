//! Seed 000 (book chapter "asyncio intro", lines 207-242): `async_count.py`.
//!
//! The same `count()` as `sync_count`, but the sleep is an `await` on a
//! timer: while one count waits, the runtime runs the others. `gather`
//! starts all three, so every "One" prints before any "Two", and the whole
//! program takes one sleep: 1.00 s (the seed printed 1.00 s).
//!
//! ```text
//! cargo run --release --example async_count
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

async fn count() {
    println!("One");
    // `await asyncio.sleep(1)`: this future yields to the runtime until the
    // timer fires, and the other counts run in the meantime.
    tokio::time::sleep(common::secs(1.0)).await;
    println!("Two");
}

// A current-thread runtime: like asyncio's event loop, one thread runs
// every task, so the overlap comes from waiting together, not from threads.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let s = Instant::now();
    // `asyncio.gather(count(), count(), count())`: run all three to the end.
    tokio::join!(count(), count(), count());
    common::completed(s.elapsed(), Some(1.00), Some(1.0));
}
