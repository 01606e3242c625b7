//! asyncio's `Queue` with `task_done()` / `join()`, on tokio.
//!
//! tokio's channels have no "unfinished tasks" counter, so this adds one:
//! `put` counts an item in, the consumer's `task_done` counts it out once
//! it has *finished* with it (not when it took it), and `join` waits until
//! the count is back to zero — every item put has been fully processed.
#![allow(dead_code)]

use tokio::sync::{Mutex, mpsc, watch};

pub struct Queue<T> {
    tx: mpsc::UnboundedSender<T>,
    // Several workers may wait in `get`; the lock hands items out one at a time.
    rx: Mutex<mpsc::UnboundedReceiver<T>>,
    unfinished: watch::Sender<usize>,
}

impl<T> Queue<T> {
    /// `asyncio.Queue()`: unbounded.
    pub fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(rx),
            unfinished: watch::Sender::new(0),
        }
    }

    /// `put_nowait(item)` (an unbounded queue is never full).
    pub fn put(&self, item: T) {
        self.unfinished.send_modify(|n| *n += 1);
        if self.tx.send(item).is_err() {
            unreachable!("the queue owns its receiver");
        }
    }

    /// `await get()`: the next item, waiting until there is one.
    pub async fn get(&self) -> T {
        let item = self.rx.lock().await.recv().await;
        item.expect("the queue owns its sender")
    }

    /// `task_done()`: the item taken by the last `get` is fully processed.
    pub fn task_done(&self) {
        self.unfinished
            .send_modify(|n| *n = n.checked_sub(1).expect("task_done() called too many times"));
    }

    /// `await join()`: until every item put has been marked done.
    pub async fn join(&self) {
        let mut count = self.unfinished.subscribe();
        count
            .wait_for(|n| *n == 0)
            .await
            .expect("the queue owns its counter");
    }
}
