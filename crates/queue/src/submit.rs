//! The submitter: [`QueueExecutor`] publishes a run's hosts to the work
//! queue and streams their outcomes back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use fanout_core::{
    CancelToken, ExecError, Executor, FailGate, HostOutcome, Job, Observer, RunSummary, Sink,
    Target, Worker,
};
use fanout_engine::Ledger;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::cancel::{self, Book, Published};
use crate::names::{self, RESULTS_STREAM};
use crate::nats;
use crate::wire::{self, QueueJob, WorkItem};
use crate::{QueueError, check_site};

/// Name of this executor in summaries.
const NAME: &str = "queue";

/// How long a cancelled run waits for the outcomes of its hosts a worker
/// took (their workers see the cancel flag and stop them at once) before
/// it reports them `cancelled` itself: the bound for workers that died.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// How long a cancel waits for the publisher to finish its window.
const PUBLISHER_STOP: Duration = Duration::from_secs(1);

/// Hosts published before their acknowledgements are awaited.
const PUBLISH_WINDOW: usize = 512;

/// Pause before a failed request to the server is tried again.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// Submits runs to a NATS JetStream work queue (`fanout run --queue URL`).
#[derive(Clone, Debug)]
pub struct QueueExecutor {
    url: String,
    site: String,
    cancel_grace: Duration,
}

/// Builds a [`QueueExecutor`].
#[derive(Clone, Debug)]
pub struct QueueExecutorBuilder {
    executor: QueueExecutor,
}

impl QueueExecutorBuilder {
    /// The site of hosts without a `site` variable (default `default`).
    pub fn site(mut self, site: impl Into<String>) -> Self {
        self.executor.site = site.into();
        self
    }

    /// How long a cancelled run waits for the outcomes of hosts a worker
    /// took, in case that worker died (default 5 s; hosts no worker took
    /// are reported `cancelled` at once).
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.executor.cancel_grace = grace;
        self
    }

    /// The executor; fails on a site that cannot name a subject.
    pub fn build(self) -> Result<QueueExecutor, QueueError> {
        check_site(&self.executor.site, "--site")?;
        Ok(self.executor)
    }
}

impl QueueExecutor {
    /// A submitter to the NATS server at `url` (`nats://HOST:PORT`).
    pub fn builder(url: impl Into<String>) -> QueueExecutorBuilder {
        QueueExecutorBuilder {
            executor: QueueExecutor {
                url: url.into(),
                site: names::DEFAULT_SITE.to_string(),
                cancel_grace: CANCEL_GRACE,
            },
        }
    }

    /// Checks what the queue cannot do before anything is published.
    fn check(&self, job: &Job, targets: &[Target]) -> Result<(), ExecError> {
        job.validate()?;
        let refuse = |what: &str| {
            Err(ExecError::setup(
                NAME,
                format!(
                    "{what} is not enforced across queue workers; drop it (each worker's -c bounds its hosts in flight) or run without --queue"
                ),
            ))
        };
        if !job.limits.per_group.is_empty() {
            return refuse("--per-group");
        }
        if job.limits.per_jump.is_some() {
            return refuse("--per-jump");
        }
        if job.limits.connect_rate.is_some() {
            return refuse("--connect-rate");
        }
        if job.limits.connect_rate_auto {
            return refuse("--connect-rate auto");
        }
        if job.limits.per_jump_rate.is_some() {
            return refuse("--per-jump-rate");
        }

        let mut seen = HashMap::with_capacity(targets.len());
        for t in targets {
            check_site(names::site_of(t, &self.site), &format!("host {}", t.name))
                .map_err(|e| ExecError::setup(NAME, e.to_string()))?;
            if seen.insert(t.name.as_str(), ()).is_some() {
                return Err(ExecError::setup(
                    NAME,
                    format!(
                        "host `{}` is listed twice; workers find hosts by name, so names must be unique",
                        t.name
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn submit(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        let setup = |e: QueueError| ExecError::setup(NAME, e.to_string());
        let queue = nats::connect(&self.url).await.map_err(setup)?;
        let run = names::new_run_id();
        let mut queue_job = QueueJob::from(job);
        queue_job.max_fail = job.limits.max_fail.map(|m| m.threshold(targets.len()));
        // `--max-fail` over every worker: once it trips here, the run's
        // flag stops its hosts from starting (each worker also stops at
        // once on its own failures).
        let gate = FailGate::new(job.limits.max_fail, targets.len());
        let mut halted = false;
        let encoded = wire::encode(&queue_job);
        nats::retried(|| queue.jobs.put(&run, encoded.clone().into()))
            .await
            .map_err(|e| setup(QueueError::nats("could not store the run's job", e)))?;
        let results = nats::retried(|| queue.js.get_stream(RESULTS_STREAM))
            .await
            .map_err(|e| setup(QueueError::nats("could not open the results stream", e)))?;

        let mut starts = queue
            .js
            .client()
            .subscribe(names::started_subject(&run))
            .await
            .map_err(|e| {
                setup(QueueError::nats(
                    "could not subscribe to the run's starts",
                    e,
                ))
            })?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let receiver = tokio::spawn(receive(results, names::results_subject(&run), tx));
        let sites: Vec<&str> = targets
            .iter()
            .map(|t| names::site_of(t, &self.site))
            .collect();
        let items: Vec<(String, WorkItem)> = targets
            .iter()
            .zip(&sites)
            .map(|(t, site)| {
                let item = WorkItem {
                    run: run.clone(),
                    host: t.name.clone(),
                };
                (names::work_subject(site, &run), item)
            })
            .collect();
        let book: Book = Arc::new(Mutex::new(vec![Published::NotSent; targets.len()]));
        let stop_publishing = CancelToken::new();
        let mut publisher = tokio::spawn(publish_all(
            queue.js.clone(),
            items,
            book.clone(),
            stop_publishing.clone(),
        ));

        let index: HashMap<&str, usize> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut ledger = Ledger::new(targets.len());
        let mut heard = Heard::new(&job.observer, targets.len());
        let started = Instant::now();
        ledger.host_started();
        let me = Worker::Pid(std::process::id());
        let mut stopping: Option<Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while ledger.remaining() > 0 {
            if stopping.is_none() && ledger.should_stop(cancel) {
                stopping = Some(Instant::now());
                // What is in is out before the publisher's grace.
                ledger.idle(sink);
                // The publisher ends after its window's acknowledgements
                // (bounded: a server gone leaves them unknown).
                stop_publishing.cancel();
                if tokio::time::timeout(PUBLISHER_STOP, &mut publisher)
                    .await
                    .is_err()
                {
                    publisher.abort();
                }
                let book = lock(&book).clone();
                let taken = cancel::cancel_run(&queue, &run, &sites, &book).await;
                // Every outcome already in is delivered first (a host
                // that finished is not reported cancelled).
                while let Ok(outcome) = rx.try_recv() {
                    deliver(&mut ledger, &mut heard, sink, &index, started, outcome);
                }
                // Hosts no worker took are cancelled now; the others are
                // reported by their workers, which see the flag.
                for (i, t) in targets.iter().enumerate() {
                    if !taken[i] {
                        ledger.deliver(sink, i, HostOutcome::cancelled(&t.name, me));
                    }
                }
                continue;
            }
            if stopping.is_some_and(|t| t.elapsed() >= self.cancel_grace) {
                break;
            }
            if rx.is_empty() {
                // Nothing waiting: the sink writes what it holds.
                ledger.idle(sink);
            }
            tokio::select! {
                outcome = rx.recv() => {
                    let Some(outcome) = outcome else { break };
                    let status = outcome.status;
                    if deliver(&mut ledger, &mut heard, sink, &index, started, outcome)
                        && gate.count(status)
                        && !halted
                    {
                        halted = true;
                        ledger.idle(sink);
                        let flag = queue.cancels.put(&run, names::FLAG_HALTED.into());
                        let _ = tokio::time::timeout(PUBLISHER_STOP, flag).await;
                    }
                }
                Some(note) = starts.next() => {
                    if let Some(&i) = std::str::from_utf8(&note.payload)
                        .ok()
                        .and_then(|host| index.get(host))
                    {
                        heard.started(i, &targets[i].name, ledger.reported(i));
                    }
                }
                _ = tick.tick() => {}
            }
        }
        publisher.abort();
        receiver.abort();
        // Hosts whose worker died during a cancel's grace, or all of them
        // when the results could not be read.
        ledger.cancel_unreported(sink, targets, |_| me);
        ledger.idle(sink);
        Ok(ledger.finish(NAME, job.limits.concurrency))
    }
}

/// Delivers an outcome from the results stream (if it is of a host of the
/// run and its first: `true`), with its time in the queue; the observer
/// hears of it first.
fn deliver(
    ledger: &mut Ledger,
    heard: &mut Heard<'_>,
    sink: &mut dyn Sink,
    index: &HashMap<&str, usize>,
    started: Instant,
    mut outcome: HostOutcome,
) -> bool {
    let Some(&i) = index.get(outcome.host.as_str()) else {
        return false;
    };
    if ledger.reported(i) {
        return false;
    }
    outcome.timings.queued = started.elapsed().saturating_sub(outcome.timings.total);
    heard.finished(i, &outcome);
    ledger.deliver(sink, i, outcome)
}

/// The run's observer, told of each host's start (the worker's note, or
/// with its outcome if the note was lost) and finish, once each; hosts
/// that never started are not heard of.
struct Heard<'a> {
    observer: &'a Observer,
    started: Vec<bool>,
}

impl<'a> Heard<'a> {
    fn new(observer: &'a Observer, hosts: usize) -> Self {
        Self {
            observer,
            started: vec![false; hosts],
        }
    }

    /// A worker's note that host `i` started (late notes are dropped).
    fn started(&mut self, i: usize, host: &str, reported: bool) {
        if !reported && !self.started[i] {
            self.started[i] = true;
            self.observer.host_started(host);
        }
    }

    /// Host `i`'s outcome, before it is delivered.
    fn finished(&mut self, i: usize, outcome: &HostOutcome) {
        if !self.started[i] && outcome.attempts == 0 {
            // Reported without starting (cancelled before it ran).
            return;
        }
        self.started(i, &outcome.host, false);
        self.observer.host_finished(outcome);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Executor for QueueExecutor {
    fn name(&self) -> &str {
        NAME
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
        self.check(job, targets)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| ExecError::setup(NAME, format!("could not start a tokio runtime: {e}")))?;
        runtime.block_on(self.submit(job, targets, sink, cancel))
    }
}

/// Publishes every host's work message, window by window, retrying what
/// the server did not acknowledge (the `Nats-Msg-Id` makes a retry
/// harmless), and records each in `book`. Runs until every host is stored
/// or `stop` fires (then it returns after the window's acknowledgements).
async fn publish_all(
    js: jetstream::Context,
    items: Vec<(String, WorkItem)>,
    book: Book,
    stop: CancelToken,
) {
    let indexed: Vec<(usize, &(String, WorkItem))> = items.iter().enumerate().collect();
    for window in indexed.chunks(PUBLISH_WINDOW) {
        let mut left: Vec<&(usize, &(String, WorkItem))> = window.iter().collect();
        while !left.is_empty() {
            if stop.is_cancelled() {
                return;
            }
            let mut acks = Vec::with_capacity(left.len());
            for &&(i, (subject, item)) in &left {
                let mut headers = HeaderMap::new();
                headers.insert(
                    async_nats::header::NATS_MESSAGE_ID,
                    names::message_id(&item.run, &item.host).as_str(),
                );
                lock(&book)[i] = Published::Sent;
                let sent = js
                    .publish_with_headers(subject.clone(), headers, wire::encode(item).into())
                    .await;
                acks.push(sent);
            }
            let mut failed = Vec::new();
            for (entry, sent) in left.into_iter().zip(acks) {
                let stored = match sent {
                    Ok(ack) => ack.await.ok(),
                    Err(_) => None,
                };
                match stored {
                    Some(ack) => lock(&book)[entry.0] = Published::Stored(ack.sequence),
                    None => failed.push(entry),
                }
            }
            if !failed.is_empty() {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            left = failed;
        }
        if stop.is_cancelled() {
            return;
        }
    }
}

/// Streams the run's outcomes from the results stream into `tx`, from the
/// first; after a lost connection it resumes after the last one read.
async fn receive(results: stream::Stream, subject: String, tx: mpsc::UnboundedSender<HostOutcome>) {
    let mut next: u64 = 0;
    loop {
        let config = consumer::pull::OrderedConfig {
            filter_subject: subject.clone(),
            deliver_policy: if next == 0 {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: next,
                }
            },
            ..Default::default()
        };
        let messages = match results.create_consumer(config).await {
            Ok(c) => c.messages().await.ok(),
            Err(_) => None,
        };
        if let Some(mut messages) = messages {
            while let Some(Ok(message)) = messages.next().await {
                if let Ok(info) = message.info() {
                    next = info.stream_sequence + 1;
                }
                // An unreadable outcome is skipped; its host is reported
                // when it comes again or at the end.
                if let Ok(outcome) = wire::decode::<HostOutcome>(&message.payload, "outcome")
                    && tx.send(outcome).is_err()
                {
                    return;
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}
