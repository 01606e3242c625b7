//! In-process queue workers for the tests, stopped on drop.

use std::thread::JoinHandle;
use std::time::Duration;

use fanout_core::{CancelToken, Target};
use fanout_queue::{QueueError, Worker, WorkerConfig, WorkerStats};

/// In-process workers, stopped (hosts in flight finished) on drop.
pub(crate) struct Workers {
    shutdown: CancelToken,
    threads: Vec<JoinHandle<Result<WorkerStats, QueueError>>>,
}

impl Workers {
    /// `n` workers of `site`, each with `concurrency` and `inventory`.
    pub(crate) fn start(
        url: &str,
        site: &str,
        n: usize,
        concurrency: usize,
        inventory: &[Target],
    ) -> Self {
        let config = WorkerConfig {
            url: url.to_string(),
            site: site.to_string(),
            concurrency,
            known_hosts: Vec::new(),
            ack_wait: Duration::from_secs(2),
            inventory: inventory.to_vec(),
            origin: "the test's targets".into(),
        };
        Self::spawn(vec![config; n])
    }

    /// One worker thread per config.
    pub(crate) fn spawn(configs: Vec<WorkerConfig>) -> Self {
        let shutdown = CancelToken::new();
        let threads = configs
            .into_iter()
            .map(|config| {
                let worker = Worker::new(config).unwrap();
                let shutdown = shutdown.clone();
                std::thread::spawn(move || worker.run(&shutdown))
            })
            .collect();
        Self { shutdown, threads }
    }

    /// Tells them to stop (hosts in flight finish), without waiting; they
    /// are joined on drop.
    pub(crate) fn stop_later(&self) {
        self.shutdown.cancel();
    }

    /// Stops them and returns what each did.
    pub(crate) fn stop(mut self) -> Vec<WorkerStats> {
        self.shutdown.cancel();
        self.threads
            .drain(..)
            .map(|t| t.join().unwrap().unwrap())
            .collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.shutdown.cancel();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
