//! Seed 004 (blog "libraries used with asyncio", lines 239-454): asyncio's
//! synchronization primitives — Lock, Event, Condition, Semaphore, Queue —
//! each in a few lines, with tokio's counterparts.
//!
//! Like asyncio's, tokio's primitives suspend the task that waits instead
//! of blocking its thread (and unlike asyncio's they are also thread-safe).
//! asyncio's Event and Condition have no namesake in tokio: a `watch`
//! channel is an Event that stays set, and `Notify` next to a `Mutex` is a
//! Condition.
//!
//! ```text
//! cargo run --release --example sync_primitives
//! ```

#[path = "common/mod.rs"]
mod common;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use tokio::sync::{Mutex, Notify, Semaphore, mpsc, watch};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let s = Instant::now();

    // Lock: `async with lock:` — exclusive access across an await.
    let log = Arc::new(Mutex::new(Vec::new()));
    let writers = (1..=3).map(|i| {
        let log = Arc::clone(&log);
        async move {
            let mut entries = log.lock().await;
            entries.push(format!("writer {i} start"));
            tokio::time::sleep(common::secs(0.1)).await; // nobody else gets in
            entries.push(format!("writer {i} end"));
        }
    });
    futures_util::future::join_all(writers).await;
    println!("Lock: {:?}", log.lock().await);

    // Event: the seed's waiter, woken by `event.set()` one second later.
    let (set, mut event) = watch::channel(false);
    let waiter = tokio::spawn(async move {
        println!("waiting for it ...");
        event
            .wait_for(|is_set| *is_set)
            .await
            .expect("event dropped");
        println!("... got it!");
    });
    tokio::time::sleep(common::secs(1.0)).await;
    set.send(true).expect("waiter gone"); // `event.set()`
    waiter.await.expect("waiter");

    // Condition: wait until the shared state is what you need, under its lock.
    let state = Arc::new((Mutex::new(0), Notify::new()));
    let consumer = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let notified = state.1.notified(); // register before checking
                if *state.0.lock().await >= 3 {
                    break;
                }
                notified.await; // `await cond.wait()`
            }
            println!("Condition: the counter reached 3");
        })
    };
    for _ in 0..3 {
        *state.0.lock().await += 1;
        state.1.notify_waiters(); // `cond.notify_all()`
        tokio::task::yield_now().await;
    }
    consumer.await.expect("consumer");

    // Semaphore(10): at most 10 of 30 holders at once (counted by the holders).
    let sem = Arc::new(Semaphore::new(10));
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let holders = (0..30).map(|_| {
        let (sem, now, most) = (Arc::clone(&sem), Arc::clone(&now), Arc::clone(&most));
        async move {
            let _permit = sem.acquire().await.expect("open");
            most.fetch_max(now.fetch_add(1, SeqCst) + 1, SeqCst);
            tokio::time::sleep(common::secs(0.1)).await;
            now.fetch_sub(1, SeqCst);
        }
    });
    futures_util::future::join_all(holders).await;
    println!(
        "Semaphore: at most {} of 30 held a permit at once",
        most.load(SeqCst)
    );

    // Queue(maxsize=2): `put_nowait` fails when full (QueueFull); FIFO order.
    let (tx, mut rx) = mpsc::channel(2);
    let puts: Vec<bool> = (1..=3).map(|i| tx.try_send(i).is_ok()).collect();
    let (a, b) = (rx.recv().await, rx.recv().await);
    println!("Queue: put_nowait 1, 2, 3 -> {puts:?}; get -> {a:?}, {b:?}");
    // PriorityQueue: lowest first. LifoQueue: newest first.
    let mut prio = BinaryHeap::from([
        Reverse((3, "low")),
        Reverse((1, "high")),
        Reverse((2, "mid")),
    ]);
    let order: Vec<_> = std::iter::from_fn(|| prio.pop().map(|Reverse((_, v))| v)).collect();
    let mut lifo = vec!["first", "second", "third"];
    let lifo_order: Vec<_> = std::iter::from_fn(|| lifo.pop()).collect();
    println!("PriorityQueue: {order:?}; LifoQueue: {lifo_order:?}");

    // The Lock's 3 x 0.1 s one after another, the Event's 1 s, 3 Semaphore rounds.
    common::completed(s.elapsed(), None, Some(0.3 + 1.0 + 0.3));
}
