//! Seed 001 (course "asyncio for network engineers", lines 807-870 and
//! 953-1000): `asyncio.gather` returns results in the order it was given;
//! `asyncio.as_completed` yields them in the order they finish.
//!
//! `connect_ssh(ip)` stands for a device that takes `ip` seconds to
//! connect and 1 s to answer. `gather` over [5, 2, 3, 7] prints the
//! devices as they answer (2, 3, 5, 7) but returns ['test 5', 'test 2',
//! 'test 3', 'test 7'] — input order — after the slowest, 8 s. Then five
//! tasks with the seed's own random delays (task 1 0.03 s ... task 2
//! 8.93 s) through `as_completed`: each DONE line comes the moment its
//! task ends, fastest first. In Rust: `join_all` is `gather`, a
//! `FuturesUnordered` stream is `as_completed`. fanout's executors deliver
//! hosts the second way (every `Sink` sees outcomes in completion order).
//!
//! ```text
//! cargo run --release --example gather_vs_as_completed
//! ```

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use futures_util::StreamExt;
use futures_util::future::join_all;
use futures_util::stream::FuturesUnordered;

async fn connect_ssh(ip: u32, command: &str) -> String {
    println!("Подключаюсь к {ip}"); // "Connecting to"
    tokio::time::sleep(common::secs(f64::from(ip))).await;
    println!("Отправляю команду {command} на устройство {ip}"); // "Sending command"
    tokio::time::sleep(common::secs(1.0)).await;
    format!("{command} {ip}")
}

async fn delay_print(task_name: String, delay: f64) -> String {
    println!(">>> start {task_name} sleep {delay}");
    tokio::time::sleep(common::secs(delay)).await;
    println!("<<< end   {task_name}");
    task_name
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let s = Instant::now();
    let ip_list = [5, 2, 3, 7];
    let result = join_all(ip_list.map(|ip| connect_ssh(ip, "test"))).await;
    // Printed as Python prints the list: ['test 5', 'test 2', ...]
    let quoted: Vec<String> = result.iter().map(|r| format!("'{r}'")).collect();
    println!("[{}]", quoted.join(", "));
    common::completed(s.elapsed(), None, Some(8.0));

    // The delays the seed's run drew with random.random() * 10.
    let delays = [0.03, 8.93, 5.09, 8.33, 3.43];
    let s = Instant::now();
    let mut running: FuturesUnordered<_> = delays
        .iter()
        .enumerate()
        .map(|(i, &d)| delay_print(format!("task {}", i + 1), d))
        .collect();
    // `for cor in asyncio.as_completed(coroutines): print(f"DONE {await cor}")`
    while let Some(cor_result) = running.next().await {
        println!("DONE {cor_result}");
    }
    common::completed(s.elapsed(), None, Some(8.93));
}
