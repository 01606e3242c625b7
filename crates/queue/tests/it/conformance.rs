//! The executor conformance suite through the queue: every run of
//! [`QueueHarness`] submits to a [`QueueExecutor`] and is served by
//! in-process workers of a site of its own, whose inventory is the run's
//! targets. `--per-group` and `--connect-rate` cannot be enforced across
//! workers, so their checks become checks of the up-front refusal.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use fanout_core::{CancelToken, ExecError, Executor, Job, RunSummary, Sink, Target};
use fanout_queue::{QueueExecutor, SITE_VAR, WorkerConfig};

use crate::nats_server::NatsServer;
use crate::workers::Workers;

/// Workers serving one run (the run's concurrency split between them).
const WORKERS: usize = 2;

/// A queue executor with its own nats-server and, per run, its own
/// workers: what `fanout run --queue` plus `fanout worker --nats` do, in
/// one process.
pub(crate) struct QueueHarness {
    /// Workers of finished runs, told to stop and joined on drop (before
    /// the server stops): a run is over when the submitter returns, not
    /// when its workers have wound down (up to a fetch wait later).
    retired: Mutex<Vec<Workers>>,
    server: NatsServer,
    /// This harness's share of the machine (released last, on drop).
    _slot: Slot,
}

/// How many harnesses (each a nats-server, workers and a submitter, with
/// the check's simulated devices) live at once in this process, however
/// many test threads the harness of `cargo test` runs: on a 2-core machine
/// running many at once starves every check's timing.
const HARNESSES_AT_ONCE: usize = 2;

/// How long a harness waits for a slot before it starts anyway (a check
/// that makes two executors at once never deadlocks).
const SLOT_WAIT: Duration = Duration::from_secs(60);

static LIVE: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// A place among the [`HARNESSES_AT_ONCE`] (or none, after [`SLOT_WAIT`]).
struct Slot(bool);

impl Slot {
    fn take() -> Self {
        let (live, freed) = &LIVE;
        let mut n = live.lock().unwrap_or_else(|e| e.into_inner());
        let until = std::time::Instant::now() + SLOT_WAIT;
        while *n >= HARNESSES_AT_ONCE {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Slot(false);
            }
            n = freed
                .wait_timeout(n, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *n += 1;
        Slot(true)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.0 {
            let (live, freed) = &LIVE;
            *live.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            freed.notify_one();
        }
    }
}

impl QueueHarness {
    pub(crate) fn new() -> Self {
        let slot = Slot::take();
        Self {
            retired: Mutex::new(Vec::new()),
            server: NatsServer::start(),
            _slot: slot,
        }
    }

    /// A site no other run of this process uses, so that no worker ever
    /// sees another run's hosts.
    fn fresh_site() -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        format!(
            "conf{}n{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }
}

impl Executor for QueueHarness {
    fn name(&self) -> &str {
        "queue"
    }

    fn concurrency(&self, job: &Job) -> usize {
        job.limits.concurrency
    }

    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        let site = Self::fresh_site();
        // A worker per site the targets name (their `site` variable), or
        // WORKERS of the run's own site.
        let named: BTreeSet<&String> = targets
            .iter()
            .filter_map(|t| t.vars.get(SITE_VAR))
            .collect();
        let mut sites: Vec<String> = named.into_iter().cloned().collect();
        if targets.iter().any(|t| !t.vars.contains_key(SITE_VAR)) {
            sites.push(site.clone());
        }
        let total = job.limits.concurrency.max(1);
        if sites.len() == 1 {
            sites = vec![sites[0].clone(); WORKERS.min(total)];
        }
        let n = sites.len().max(1);
        // Worker i gets its share of the run's concurrency: together they
        // never have more hosts in flight than the job allows (at least
        // one each).
        let configs = sites
            .iter()
            .enumerate()
            .map(|(i, s)| WorkerConfig {
                url: self.server.url(),
                site: s.clone(),
                concurrency: (total / n + usize::from(i < total % n)).max(1),
                known_hosts: job.known_hosts.clone(),
                ack_wait: Duration::from_secs(10),
                inventory: targets.to_vec(),
                origin: "the conformance check's targets".into(),
            })
            .collect();
        let workers = Workers::spawn(configs);
        let exec = QueueExecutor::builder(self.server.url())
            .site(site)
            .build()
            .expect("a valid site");
        let result = exec.run(job, targets, sink, cancel);
        workers.stop_later();
        self.retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(workers);
        result
    }
}

fanout_testkit::executor_conformance!(
    crate::conformance::QueueHarness::new,
    refuses: [per_group, per_jump, connect_rate, per_jump_rate, connect_rate_auto]
);
