//! Seed 001 (course "asyncio for network engineers", lines 3830-3845):
//! `asyncio.Semaphore(20)` over 500 connections of 1 s each.
//!
//! All 500 coroutines start at once, but each must hold one of the
//! semaphore's 20 permits while it "connects": at most 20 are in flight,
//! so 500 x 1 s take 500 / 20 = 25 rounds = 25 s. This is how you keep a
//! fleet-wide job from opening 500 SSH sessions at once. We also count the
//! connections in flight, to show the limit holds (the count is taken
//! inside the permit, so it can never exceed it if the semaphore works).
//!
//! ```text
//! cargo run --release --example semaphore_20
//! ```
//! fanout's `-c 20` is this semaphore: `fanout run --synthetic 500 -e async -c 20 sleep 1s`.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::Semaphore;

#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
}

async fn connect(ip: usize, semaphore: Arc<Semaphore>, in_flight: Arc<InFlight>) {
    // `async with semaphore:` — the permit is released when `_permit` drops.
    let _permit = semaphore.acquire().await.expect("semaphore closed");
    let n = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
    in_flight.most.fetch_max(n, Ordering::SeqCst);
    println!("Подключаюсь к {ip}"); // "Connecting to"
    tokio::time::sleep(common::secs(1.0)).await;
    println!("Ответ от {ip}"); // "Reply from"
    in_flight.now.fetch_sub(1, Ordering::SeqCst);
}

#[tokio::main]
async fn main() {
    let s = Instant::now();
    let sem = Arc::new(Semaphore::new(20));
    let in_flight = Arc::new(InFlight::default());
    let coroutines = (0..500).map(|i| connect(i, Arc::clone(&sem), Arc::clone(&in_flight)));
    // `await asyncio.gather(*coroutines)`
    futures_util::future::join_all(coroutines).await;
    println!(
        "most connections in flight at once: {} (Semaphore(20))",
        in_flight.most.load(Ordering::SeqCst)
    );
    common::completed(s.elapsed(), None, Some(25.0));
}
