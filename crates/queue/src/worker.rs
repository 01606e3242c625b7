//! The worker: [`Worker`] (`fanout worker --nats URL`) serves every run
//! that appears on its site's durable consumer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{self, PullConsumer};
use async_nats::jetstream::{AckKind, Message, kv};
use fanout_core::{CancelToken, ErrorKind, FailGate, HostOutcome, Target};
use fanout_engine::nonblocking::{AsyncRun, Stop, run_host};
use futures_util::StreamExt;
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;

use crate::names::{self, check_site};
use crate::nats::{self, Queue};
use crate::wire::{self, QueueJob, WorkItem};
use crate::{QueueError, fit};

/// The longest ack wait: a dead worker's hosts are redelivered after it.
pub(crate) const MAX_ACK_WAIT: Duration = Duration::from_secs(30);

/// Unacked hosts the site's consumer may have out, over all its workers
/// (each worker bounds its own by `-c`, fetching only for free slots).
const MAX_ACK_PENDING: i64 = 1_000_000;

/// How long one fetch waits for hosts (bounds how late a shutdown is seen).
const FETCH_WAIT: Duration = Duration::from_secs(1);

/// Runs a worker remembers before it forgets the idle ones.
const KEPT_RUNS: usize = 16;

/// Pause before a failed request to the server is tried again.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The NATS server (`nats://HOST:PORT`).
    pub url: String,
    /// The site whose hosts this worker runs (`default` without `--site`).
    pub site: String,
    /// Hosts in flight at once (`-c`).
    pub concurrency: usize,
    /// known_hosts files checked before `~/.ssh/known_hosts`.
    pub known_hosts: Vec<PathBuf>,
    /// After this long without an ack (or an in-progress ack, sent every
    /// third of it while a host runs) a host is redelivered.
    pub ack_wait: Duration,
    /// The hosts this worker can run, by name (its own inventory).
    pub inventory: Vec<Target>,
    /// Where the inventory came from, for messages.
    pub origin: String,
}

/// What a worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Hosts whose outcome it published.
    pub hosts: u64,
}

/// A queue worker; see [`Worker::run`].
#[derive(Debug)]
pub struct Worker {
    config: WorkerConfig,
}

/// What every host task of a worker shares.
struct Shared {
    queue: Queue,
    config: WorkerConfig,
    inventory: HashMap<String, Target>,
    /// Each run's state, built once however many of its hosts arrive at
    /// once (each build reads the job from the server and sets up its
    /// transports: synchronous work on a runtime thread).
    runs: Mutex<HashMap<String, Arc<OnceCell<Arc<RunState>>>>>,
    /// The runs whose cancel flag is set, with its value.
    flags: Mutex<HashMap<String, String>>,
    served: AtomicU64,
    me: fanout_core::Worker,
}

/// One run as this worker knows it.
enum RunState {
    /// The run's job and what its hosts share.
    Ready {
        job: Box<fanout_core::Job>,
        run: AsyncRun,
        /// `--max-fail` as this worker sees it: its own hosts' failures.
        gate: FailGate,
        /// No more hosts start (the submitter saw `--max-fail` trip).
        halted: AtomicBool,
    },
    /// The run cannot be served here: every host reports this.
    Broken(ErrorKind, String),
}

impl Worker {
    /// Checks the configuration.
    pub fn new(config: WorkerConfig) -> Result<Self, QueueError> {
        check_site(&config.site, "--site")?;
        if config.concurrency == 0 {
            return Err(QueueError::Setup(
                "-c must be at least 1 host in flight".into(),
            ));
        }
        if config.ack_wait < Duration::from_secs(1) || config.ack_wait > MAX_ACK_WAIT {
            return Err(QueueError::Setup(format!(
                "the ack wait must be between 1 s and {} s",
                MAX_ACK_WAIT.as_secs()
            )));
        }
        Ok(Self { config })
    }

    /// Serves runs on its own tokio runtime until `shutdown` fires, then
    /// finishes the hosts in flight and returns.
    pub fn run(&self, shutdown: &CancelToken) -> Result<WorkerStats, QueueError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| QueueError::Setup(format!("could not start a tokio runtime: {e}")))?;
        runtime.block_on(self.serve(shutdown))
    }

    /// [`run`](Self::run) on the caller's runtime.
    pub async fn serve(&self, shutdown: &CancelToken) -> Result<WorkerStats, QueueError> {
        let config = self.config.clone();
        let queue = nats::connect(&config.url).await?;
        let name = names::consumer_name(&config.site);
        let consumer: PullConsumer = nats::retried(|| {
            queue.work.get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: names::site_filter(&config.site),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: config.ack_wait,
                    max_ack_pending: MAX_ACK_PENDING,
                    max_deliver: -1,
                    ..Default::default()
                },
            )
        })
        .await
        .map_err(|e| QueueError::nats(format!("could not open the consumer `{name}`"), e))?;
        let inventory = config
            .inventory
            .iter()
            .map(|t| (t.name.clone(), t.clone()))
            .collect();
        let shared = Arc::new(Shared {
            queue,
            config,
            inventory,
            runs: Mutex::new(HashMap::new()),
            flags: Mutex::new(HashMap::new()),
            served: AtomicU64::new(0),
            me: fanout_core::Worker::Pid(std::process::id()),
        });
        let watcher = tokio::spawn(watch_cancels(shared.clone()));
        let slots = Arc::new(Semaphore::new(shared.config.concurrency));
        let mut hosts = JoinSet::new();
        while !shutdown.is_cancelled() {
            while hosts.try_join_next().is_some() {}
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    _ = hosts.join_next() => {}
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                continue;
            }
            let batch = consumer
                .fetch()
                .max_messages(free)
                .expires(FETCH_WAIT)
                .messages()
                .await;
            let Ok(mut batch) = batch else {
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            };
            while let Some(Ok(message)) = batch.next().await {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let shared = shared.clone();
                hosts.spawn(async move {
                    serve_host(&shared, message).await;
                    drop(permit);
                });
            }
        }
        while hosts.join_next().await.is_some() {}
        watcher.abort();
        Ok(WorkerStats {
            hosts: shared.served.load(Ordering::Relaxed),
        })
    }
}

/// One host: its outcome published, then its message acked.
async fn serve_host(shared: &Shared, message: Message) {
    let delivered = message.info().map_or(1, |i| i.delivered);
    let item: WorkItem = match wire::decode(&message.payload, "work item") {
        Ok(item) => item,
        Err(_) => {
            // Not ours to run, and never will be.
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let mut outcome = outcome_for(shared, &item, delivered, &message).await;
    let subject = names::results_subject(&item.run);
    let payload = fit::encode_within(&mut outcome, message_limit(shared));
    // Until the server has it: a restarted server is waited for; the
    // `Nats-Msg-Id` stores a retried publish once.
    loop {
        let mut headers = HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            names::message_id(&item.run, &item.host).as_str(),
        );
        let sent = shared
            .queue
            .js
            .publish_with_headers(subject.clone(), headers, payload.clone().into())
            .await;
        if let Ok(ack) = sent
            && ack.await.is_ok()
        {
            break;
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    shared.served.fetch_add(1, Ordering::Relaxed);
    // A lost ack only means a redelivery, whose outcome is dropped as a
    // duplicate.
    let _ = message.ack().await;
}

/// The largest outcome the server takes in one message.
fn message_limit(shared: &Shared) -> usize {
    let max = shared.queue.js.client().server_info().max_payload;
    // Before the server said (never once connected): its default, 1 MiB.
    let max = if max == 0 { 1 << 20 } else { max };
    max.saturating_sub(fit::HEADER_ROOM)
}

/// Runs the host of `item` (or says why not).
async fn outcome_for(
    shared: &Shared,
    item: &WorkItem,
    delivered: i64,
    message: &Message,
) -> HostOutcome {
    let me = shared.me;
    let state = run_state(shared, &item.run).await;
    let (job, run, gate, halted) = match state.as_ref() {
        RunState::Ready {
            job,
            run,
            gate,
            halted,
        } => (job, run, gate, halted),
        RunState::Broken(kind, why) => return HostOutcome::failed(&item.host, *kind, why, me),
    };
    if run.stop.is_set() || gate.tripped() || halted.load(Ordering::SeqCst) {
        return HostOutcome::cancelled(&item.host, me);
    }
    let Some(target) = shared.inventory.get(&item.host) else {
        return HostOutcome::failed(
            &item.host,
            ErrorKind::InvalidTarget,
            format!(
                "host `{}` is not in this worker's inventory ({}); give every worker of site `{}` an inventory with the run's hosts",
                item.host, shared.config.origin, shared.config.site
            ),
            me,
        );
    };
    if delivered > 1 && !(job.task.is_read_only() || job.retry.retry_commands) {
        return HostOutcome::failed(
            &item.host,
            ErrorKind::WorkerCrashed,
            format!(
                "a worker stopped (died or lost the server) while running this host (delivery {delivered}); `{}` may have changed the device, so it is not run again: check the device, or pass --retry-commands to re-run such hosts",
                job.task.kind().as_str()
            ),
            me,
        );
    }
    // The submitter's observer hears the start (best effort, no stream).
    let started = names::started_subject(&item.run);
    let client = shared.queue.js.client();
    let _ = client.publish(started, item.host.clone().into()).await;
    let host = run_host(job, target, me, run);
    tokio::pin!(host);
    let every = shared.config.ack_wait / 3;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            outcome = &mut host => {
                // Counted before the slot is given back: this worker
                // starts no host after its own failures reach the limit.
                gate.count(outcome.status);
                return outcome;
            }
            _ = tick.tick() => {
                // Still working: restart the ack wait.
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    }
}

/// The run's state, from the cache or built from its job on the server.
async fn run_state(shared: &Shared, run_id: &str) -> Arc<RunState> {
    let cell = {
        let mut runs = lock(&shared.runs);
        match runs.get(run_id) {
            Some(cell) => cell.clone(),
            None => {
                if runs.len() >= KEPT_RUNS {
                    // Forget the runs no host of which is in flight here
                    // (a later host of one reads its job again).
                    runs.retain(|_, cell| {
                        Arc::strong_count(cell) > 1
                            || cell.get().is_some_and(|state| Arc::strong_count(state) > 1)
                    });
                }
                runs.entry(run_id.to_string()).or_default().clone()
            }
        }
    };
    cell.get_or_init(|| load_state(shared, run_id))
        .await
        .clone()
}

/// The run's job read from the server and its state built, its cancel
/// flag applied.
async fn load_state(shared: &Shared, run_id: &str) -> Arc<RunState> {
    let job = loop {
        match shared.queue.jobs.get(run_id).await {
            Ok(job) => break job,
            Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
        }
    };
    let flag = match shared.queue.cancels.get(run_id).await {
        Ok(Some(value)) => Some(String::from_utf8_lossy(&value).into_owned()),
        _ => lock(&shared.flags).get(run_id).cloned(),
    };
    let state = Arc::new(build_state(shared, run_id, job.as_deref()));
    if let Some(flag) = flag {
        apply_flag(&state, &flag);
    }
    state
}

fn build_state(shared: &Shared, run_id: &str, job: Option<&[u8]>) -> RunState {
    let Some(bytes) = job else {
        return RunState::Broken(
            ErrorKind::InvalidTarget,
            format!(
                "the job of run {run_id} is not on the server (it expired, or the submitter used another server); submit the run again"
            ),
        );
    };
    let config = &shared.config;
    let job = wire::decode::<QueueJob>(bytes, "job")
        .and_then(|j| j.into_job(config.concurrency, config.known_hosts.clone()))
        .and_then(|job| {
            job.validate()
                .map_err(|e| QueueError::Setup(e.to_string()))?;
            Ok(job)
        });
    let job = match job {
        Ok(job) => job,
        Err(e) => return RunState::Broken(ErrorKind::InvalidTarget, e.to_string()),
    };
    let transport = if job.task.kind().needs_network() {
        match fanout_transport_async::Transports::for_job(&job) {
            Ok(t) => Some(Box::new(t) as Box<dyn fanout_engine::AsyncTransport>),
            Err(e) => return RunState::Broken(ErrorKind::InvalidTarget, e.to_string()),
        }
    } else {
        None
    };
    RunState::Ready {
        gate: FailGate::new(job.limits.max_fail, 0),
        halted: AtomicBool::new(false),
        job: Box::new(job),
        run: AsyncRun {
            stop: Arc::new(Stop::default()),
            connect_rate: None,
            transport,
            queued_from: None,
        },
    }
}

/// A run's cancel flag: `cancelled` stops its hosts in flight, and either
/// value stops its hosts from starting.
fn apply_flag(state: &RunState, flag: &str) {
    if let RunState::Ready { run, halted, .. } = state {
        halted.store(true, Ordering::SeqCst);
        if flag != names::FLAG_HALTED {
            run.stop.fire();
        }
    }
}

/// Follows the cancel flags: a cancelled run's hosts in flight stop, its
/// hosts still to come report `cancelled`.
async fn watch_cancels(shared: Arc<Shared>) {
    loop {
        if let Ok(mut entries) = shared.queue.cancels.watch_all().await {
            while let Some(Ok(entry)) = entries.next().await {
                if entry.operation != kv::Operation::Put {
                    continue;
                }
                let flag = String::from_utf8_lossy(&entry.value).into_owned();
                if let Some(state) = lock(&shared.runs).get(&entry.key).and_then(|c| c.get()) {
                    apply_flag(state, &flag);
                }
                lock(&shared.flags).insert(entry.key.clone(), flag);
            }
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
