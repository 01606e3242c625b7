//! Seed 000 (book chapter "asyncio intro", lines 136-157): `asyncio_1.py`.
//!
//! The smallest async program: one coroutine that prints, awaits a 1 s
//! sleep, prints, awaits a 2 s sleep and prints again. One task waits in
//! sequence, so it takes 1 + 2 = 3 s (the seed printed no time).
//!
//! ```text
//! cargo run --release --example asyncio_1
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

// `async def main()`: calling it only builds a future; `asyncio.run(main())`
// (here `#[tokio::main]`) creates the event loop and drives it to the end.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let s = Instant::now();
    println!("Hello ...");
    tokio::time::sleep(common::secs(1.0)).await;
    println!("... World!");
    tokio::time::sleep(common::secs(2.0)).await;
    println!("... and again.");
    common::completed(s.elapsed(), None, Some(3.0));
}
