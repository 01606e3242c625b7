//! Seed 001 (course "asyncio for network engineers", lines 485-575):
//! `await` one coroutine after another vs `asyncio.create_task`.
//!
//! `await delay_print(4)` then `await delay_print(2)` runs them in
//! sequence: 4 + 2 = 6 s. `create_task` schedules both at once, so the
//! waits overlap and the whole thing takes the longest one: 4 s. In tokio,
//! `tokio::spawn` is `create_task`: the task starts running right away on
//! the runtime, and awaiting its `JoinHandle` only collects the result.
//!
//! ```text
//! cargo run --release --example await_vs_create_task
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

async fn delay_print(delay: f64, task_name: &str) {
    println!(">>> start {task_name}");
    tokio::time::sleep(common::secs(delay)).await;
    println!("<<< end   {task_name}");
}

/// The seed's first `main()`: each `await` waits for the coroutine to end.
async fn awaited() {
    println!("Start {}", common::now());
    delay_print(4.0, "task1").await;
    delay_print(2.0, "task2").await;
    println!("End   {}", common::now());
}

/// The seed's second `main()`: both tasks run from the moment they are
/// spawned; the awaits at the end only wait for what is left.
async fn with_tasks() {
    println!("Start {}", common::now());
    let task1 = tokio::spawn(delay_print(4.0, "task1"));
    let task2 = tokio::spawn(delay_print(2.0, "task2"));

    tokio::time::sleep(common::secs(1.0)).await;
    println!("Все задачи запущены"); // "All tasks are started"

    task1.await.expect("task1 panicked");
    task2.await.expect("task2 panicked");
    println!("End   {}", common::now());
}

// One thread, like asyncio's event loop: tasks overlap because they wait
// together, not because they run in parallel.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let s = Instant::now();
    awaited().await;
    // The seed's Start/End lines: 09:54:42.163949 -> 09:54:48.172434.
    common::completed(s.elapsed(), Some(6.01), Some(6.0));

    let s = Instant::now();
    with_tasks().await;
    // 09:58:10.817222 -> 09:58:14.821104.
    common::completed(s.elapsed(), Some(4.00), Some(4.0));
}
