//! Seed 001 (course "asyncio for network engineers", lines 870-935):
//! `gather(return_exceptions=False)` vs `gather(return_exceptions=True)`.
//!
//! Device 3 cannot be reached. By default the first exception propagates
//! out of `gather` as soon as it happens (at 3 s): the results of the
//! others are lost, and devices 5 and 7 never answer. With
//! `return_exceptions=True` every device runs to the end and the
//! exception is just another item of the result list, in its place.
//! Rust has no exceptions but the same two choices: `try_join_all` stops
//! at the first `Err` (and drops the other futures, which cancels them);
//! `join_all` over `Result`s keeps every outcome. fanout's executors are
//! the second kind — a failed host is an outcome — and a `Sink` that
//! returns `Flow::Stop` gives you the first kind.
//!
//! ```text
//! cargo run --release --example gather_return_exceptions
//! ```

#[path = "common/mod.rs"]
mod common;

use std::io;
use std::time::Instant;

use futures_util::future::{join_all, try_join_all};

async fn connect_ssh(ip: u32, command: &str) -> io::Result<String> {
    println!("Подключаюсь к {ip}"); // "Connecting to"
    tokio::time::sleep(common::secs(f64::from(ip))).await;
    if ip == 3 {
        // "Cannot connect to 3"
        return Err(io::Error::other(format!("Не могу подключиться к {ip}")));
    }
    println!("Отправляю команду {command} на устройство {ip}"); // "Sending command"
    tokio::time::sleep(common::secs(1.0)).await;
    Ok(format!("{command} {ip}"))
}

/// The seed's `result` list: values, and exceptions in their place.
fn show(results: &[io::Result<String>]) -> String {
    let items: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(v) => format!("'{v}'"),
            Err(e) => format!("OSError('{e}')"),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ip_list = [5, 2, 3, 7];

    // return_exceptions=False: the first error ends the whole gather.
    let s = Instant::now();
    match try_join_all(ip_list.map(|ip| connect_ssh(ip, "test"))).await {
        Ok(result) => println!("{result:?}"),
        Err(e) => println!("OSError: {e}"),
    }
    common::completed(s.elapsed(), None, Some(3.0));

    // return_exceptions=True: every device finishes; errors are results.
    let s = Instant::now();
    let result = join_all(ip_list.map(|ip| connect_ssh(ip, "test"))).await;
    println!("{}", show(&result));
    common::completed(s.elapsed(), None, Some(8.0));
}
