//! Seed 001 (course "asyncio for network engineers", lines 652-750): a
//! blocking call inside a coroutine stalls the whole event loop.
//!
//! Two tasks print in a loop: `print_number` every 0.5 s, `print_text`
//! every 0.9 s. With `asyncio.sleep` their lines interleave and the pair
//! takes as long as the slower one (10 x 0.9 = 9 s). Replace the sleep in
//! `print_number` by `time.sleep(0.2)` and it never yields: all its lines
//! come first, `print_text` cannot even start, and the times add up
//! (10 x 0.2 + 9 = 11 s). The fix, when the blocking call is not a sleep
//! you can swap for an async one (a blocking library, a big computation),
//! is to move it off the runtime's thread: `spawn_blocking`, Python's
//! `to_thread`.
//!
//! ```text
//! cargo run --release --example blocking_in_async
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

#[derive(Clone, Copy)]
enum Wait {
    /// `await asyncio.sleep(0.5)`: yields to the runtime.
    Async,
    /// `time.sleep(0.2)`: blocks the runtime's only thread.
    Blocking,
    /// `await asyncio.to_thread(time.sleep, 0.2)`: blocks another thread.
    SpawnBlocking,
}

async fn print_number(task_name: &str, wait: Wait) {
    println!(">>> Start {task_name}");
    for _ in 0..10 {
        println!("42");
        match wait {
            Wait::Async => tokio::time::sleep(common::secs(0.5)).await,
            Wait::Blocking => std::thread::sleep(common::secs(0.2)),
            Wait::SpawnBlocking => {
                let pause = common::secs(0.2);
                tokio::task::spawn_blocking(move || std::thread::sleep(pause))
                    .await
                    .expect("sleeping thread");
            }
        }
    }
    println!("<<< End   {task_name}");
}

async fn print_text(task_name: &str) {
    println!(">>> Start {task_name}");
    for _ in 0..10 {
        println!("hello");
        tokio::time::sleep(common::secs(0.9)).await;
    }
    println!("<<< End   {task_name}");
}

async fn run(wait: Wait) {
    println!("Start {}", common::now());
    let task1 = tokio::spawn(print_number("task1", wait));
    let task2 = tokio::spawn(print_text("task2"));
    task1.await.expect("task1");
    task2.await.expect("task2");
    println!("End   {}", common::now());
}

fn main() {
    // A current-thread runtime: one thread runs every task, as asyncio's
    // loop does. (On a multi-thread runtime the blocking sleep would stall
    // one worker thread only — hiding the bug until all of them block.)
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (wait, seed, ideal) in [
        // 15:35:31.668084 -> 15:35:40.684632 in the seed.
        (Wait::Async, Some(9.02), 9.0),
        // 15:43:31.593333 -> 15:43:42.614749.
        (Wait::Blocking, Some(11.02), 11.0),
        // Not in the seed: the blocking call moved to a blocking thread.
        (Wait::SpawnBlocking, None, 9.0),
    ] {
        let s = Instant::now();
        rt.block_on(run(wait));
        common::completed(s.elapsed(), seed, Some(ideal));
    }
}
