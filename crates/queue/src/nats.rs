//! Connecting to NATS and making sure the streams and buckets exist (the
//! first submitter or worker creates them; the rest find them).

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

use crate::QueueError;
use crate::names::{CANCEL_BUCKET, JOBS_BUCKET, RESULTS_STREAM, WORK_STREAM};

/// How long unacked work, outcomes, jobs and cancel flags are kept: a run
/// older than this is gone from the server.
pub(crate) const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The de-duplication window of both streams (`Nats-Msg-Id`): a publish
/// retried within it is stored once.
pub(crate) const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long one request to the server may take before it is retried or
/// reported.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The queue's handles on one connection.
#[derive(Clone, Debug)]
pub(crate) struct Queue {
    pub(crate) js: jetstream::Context,
    pub(crate) work: stream::Stream,
    pub(crate) jobs: kv::Store,
    pub(crate) cancels: kv::Store,
}

/// Connects to `url` and sets up the streams and buckets.
pub(crate) async fn connect(url: &str) -> Result<Queue, QueueError> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(REQUEST_TIMEOUT)
        .request_timeout(Some(REQUEST_TIMEOUT))
        // Reconnect for ever: a restarted server is found again.
        .max_reconnects(None)
        .connect(url)
        .await
        .map_err(|e| {
            QueueError::nats(
                format!("could not connect to {url}"),
                format!("{e}; is nats-server running there with JetStream (`nats-server -js`)?"),
            )
        })?;
    let mut js = jetstream::new(client);
    js.set_timeout(REQUEST_TIMEOUT);
    // The streams and buckets are created idempotently: a request that
    // timed out on a loaded server is simply asked again.
    retried(|| setup(&js, url)).await
}

/// How often [`connect`] asks for the streams and buckets before it gives up.
pub(crate) const SETUP_TRIES: u32 = 3;

/// The pause between two tries of a setup request.
pub(crate) const SETUP_PAUSE: Duration = Duration::from_millis(500);

/// Runs `request` up to [`SETUP_TRIES`] times while it fails (a JetStream
/// API request of a run's setup: idempotent, and on a loaded server one may
/// time out).
pub(crate) async fn retried<T, E, F, Fut>(mut request: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut tries = SETUP_TRIES;
    loop {
        match request().await {
            Ok(v) => return Ok(v),
            Err(_) if tries > 1 => {
                tries -= 1;
                tokio::time::sleep(SETUP_PAUSE).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn setup(js: &jetstream::Context, url: &str) -> Result<Queue, QueueError> {
    let js = js.clone();
    let work = js
        .get_or_create_stream(stream::Config {
            name: WORK_STREAM.to_string(),
            subjects: vec!["fanout.work.>".to_string()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            max_age: RETENTION,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| setup_error(url, WORK_STREAM, e))?;
    js.get_or_create_stream(stream::Config {
        name: RESULTS_STREAM.to_string(),
        subjects: vec!["fanout.results.>".to_string()],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        max_age: RETENTION,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await
    .map_err(|e| setup_error(url, RESULTS_STREAM, e))?;
    let jobs = bucket(&js, url, JOBS_BUCKET).await?;
    let cancels = bucket(&js, url, CANCEL_BUCKET).await?;
    Ok(Queue {
        js,
        work,
        jobs,
        cancels,
    })
}

async fn bucket(js: &jetstream::Context, url: &str, name: &str) -> Result<kv::Store, QueueError> {
    if let Ok(store) = js.get_key_value(name).await {
        return Ok(store);
    }
    // The bucket's stream as `create_key_value` would make it; created
    // here because `create_key_value` first reads the account info, whose
    // reply from nats-server 2.9 this client cannot parse.
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age: RETENTION,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .map_err(|e| setup_error(url, name, e))?;
    js.get_key_value(name)
        .await
        .map_err(|e| setup_error(url, name, e))
}

fn setup_error(url: &str, name: &str, e: impl std::fmt::Display) -> QueueError {
    QueueError::nats(
        format!("could not set up `{name}` on {url}"),
        format!("{e}; the server must run with JetStream enabled (`nats-server -js`)"),
    )
}
