//! The submitter: [`QueueExecutor`] publishes a run's hosts to the work
//! queue and streams their outcomes back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use fanout_core::{
    CancelToken, ExecError, Executor, HostOutcome, Job, RunSummary, Sink, Target, Worker,
};
use fanout_engine::Ledger;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::names::{self, RESULTS_STREAM};
use crate::nats::{self, Queue};
use crate::wire::{self, QueueJob, WorkItem};
use crate::{QueueError, check_site};

/// Name of this executor in summaries.
const NAME: &str = "queue";

/// How long a cancelled run waits for the workers' `cancelled` outcomes of
/// its hosts in flight before it reports the rest `cancelled` itself.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

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

    /// How long a cancelled run waits for in-flight hosts (default 5 s).
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
        if job.limits.connect_rate.is_some() {
            return refuse("--connect-rate");
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
        queue
            .jobs
            .put(&run, wire::encode(&QueueJob::from(job)).into())
            .await
            .map_err(|e| setup(QueueError::nats("could not store the run's job", e)))?;
        let results = queue
            .js
            .get_stream(RESULTS_STREAM)
            .await
            .map_err(|e| setup(QueueError::nats("could not open the results stream", e)))?;

        let (tx, mut rx) = mpsc::unbounded_channel();
        let receiver = tokio::spawn(receive(results, names::results_subject(&run), tx));
        let items: Vec<(String, WorkItem)> = targets
            .iter()
            .map(|t| {
                let site = names::site_of(t, &self.site);
                let item = WorkItem {
                    run: run.clone(),
                    host: t.name.clone(),
                };
                (names::work_subject(site, &run), item)
            })
            .collect();
        let publisher = tokio::spawn(publish_all(queue.js.clone(), items));

        let index: HashMap<&str, usize> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut ledger = Ledger::new(targets.len());
        let started = Instant::now();
        ledger.host_started();
        let mut stopping: Option<Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while ledger.remaining() > 0 {
            if stopping.is_none() && ledger.should_stop(cancel) {
                stopping = Some(Instant::now());
                publisher.abort();
                cancel_run(&queue, &run).await;
            }
            if stopping.is_some_and(|t| t.elapsed() >= self.cancel_grace) {
                break;
            }
            tokio::select! {
                outcome = rx.recv() => {
                    let Some(mut outcome) = outcome else { break };
                    if let Some(&i) = index.get(outcome.host.as_str()) {
                        outcome.timings.queued =
                            started.elapsed().saturating_sub(outcome.timings.total);
                        ledger.deliver(sink, i, outcome);
                    }
                }
                _ = tick.tick() => {}
            }
        }
        publisher.abort();
        receiver.abort();
        let me = Worker::Pid(std::process::id());
        ledger.cancel_unreported(sink, targets, |_| me);
        Ok(ledger.finish(NAME, job.limits.concurrency))
    }
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
/// harmless). Runs until every host is stored or the task is aborted.
async fn publish_all(js: jetstream::Context, items: Vec<(String, WorkItem)>) {
    for window in items.chunks(PUBLISH_WINDOW) {
        let mut left: Vec<&(String, WorkItem)> = window.iter().collect();
        while !left.is_empty() {
            let mut acks = Vec::with_capacity(left.len());
            for &(subject, item) in &left {
                let mut headers = HeaderMap::new();
                headers.insert(
                    async_nats::header::NATS_MESSAGE_ID,
                    names::message_id(&item.run, &item.host).as_str(),
                );
                let sent = js
                    .publish_with_headers(subject.clone(), headers, wire::encode(item).into())
                    .await;
                acks.push(sent);
            }
            let mut failed = Vec::new();
            for (entry, sent) in left.into_iter().zip(acks) {
                let stored = match sent {
                    Ok(ack) => ack.await.is_ok(),
                    Err(_) => false,
                };
                if !stored {
                    failed.push(entry);
                }
            }
            if !failed.is_empty() {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            left = failed;
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

/// Cancels a run: sets its flag (workers stop its hosts in flight) and
/// purges its hosts not yet taken. Best effort: with the server gone, the
/// run's hosts are reported `cancelled` here anyway.
async fn cancel_run(queue: &Queue, run: &str) {
    let _ = queue.cancels.put(run, "cancelled".into()).await;
    let _ = queue.work.purge().filter(names::run_work_filter(run)).await;
}
