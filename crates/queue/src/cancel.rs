//! Cancelling a run on the queue: which of its hosts a worker may have
//! taken, so that the rest are reported `cancelled` at once.
//!
//! The submitter sets the run's cancel flag (workers watch the cancel
//! bucket and stop the run's hosts in flight), reads how far each site's
//! consumer has delivered, purges the run's messages not yet acked, and
//! reads the consumers' delivery counts again. A site's consumer hands out
//! its messages in stream order, so a host whose message lies beyond the
//! consumer's last delivered one (and beyond the deliveries made while
//! the purge ran) was never taken by any worker: it is reported
//! `cancelled` at once. The others (taken, or unknown because the server
//! did not answer) are waited for, a bounded grace, since their workers
//! report them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::context::ConsumerInfoErrorKind;

use crate::names;
use crate::nats::Queue;

/// How long one request of a cancel may take: a cancel with the server
/// gone must still end promptly.
const CANCEL_REQUEST: Duration = Duration::from_secs(1);

/// What the submitter knows of one host's work message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Published {
    /// Not handed to the client: no worker can have it.
    NotSent,
    /// Handed to the client; the server's acknowledgement not (yet) seen.
    Sent,
    /// Stored by the server at this stream sequence.
    Stored(u64),
}

/// The publisher's record of every host's message, by target index.
pub(crate) type Book = Arc<Mutex<Vec<Published>>>;

/// Cancels `run` on the server and returns, by target index, whether the
/// host may have been taken by a worker (its outcome is to be waited for).
/// `sites[i]` is host i's site. Call it once the publisher has stopped.
pub(crate) async fn cancel_run(
    queue: &Queue,
    run: &str,
    sites: &[&str],
    book: &[Published],
) -> Vec<bool> {
    // Best effort, bounded: with the server gone, every host that may
    // have been taken is waited for (the grace), the rest reported now.
    let flag = tokio::time::timeout(
        CANCEL_REQUEST,
        queue.cancels.put(run, names::FLAG_CANCELLED.into()),
    );
    let _ = flag.await;
    let mut site_names: Vec<&str> = sites.to_vec();
    site_names.sort_unstable();
    site_names.dedup();
    // A purge moves the consumers past the purged messages, so their
    // progress is read before it, and their delivery count after it: the
    // deliveries in between went, in stream order, to the site's lowest
    // messages above the progress read first.
    let mut before = HashMap::new();
    for &site in &site_names {
        before.insert(site, progress(queue, site).await);
    }
    let purge = queue.work.purge().filter(names::run_work_filter(run));
    let purged = matches!(tokio::time::timeout(CANCEL_REQUEST, purge).await, Ok(Ok(_)));
    let mut bound: HashMap<&str, Option<Bound>> = HashMap::new();
    for &site in &site_names {
        let after = if purged {
            progress(queue, site).await
        } else {
            // Unpurged messages may still be delivered later.
            None
        };
        let b = match (before[site], after) {
            (Some(b), Some(a)) => Some(Bound {
                last: b.last,
                more: a.deliveries.saturating_sub(b.deliveries),
            }),
            _ => None,
        };
        bound.insert(site, b);
    }
    let mut order: Vec<usize> = (0..book.len()).collect();
    order.sort_by_key(|&i| match book[i] {
        Published::Stored(seq) => seq,
        _ => 0,
    });
    let mut taken = vec![false; book.len()];
    for i in order {
        let site = sites[i];
        taken[i] = match book[i] {
            Published::NotSent => false,
            Published::Sent => true,
            Published::Stored(seq) => match bound.get_mut(site).and_then(Option::as_mut) {
                None => true,
                Some(b) if seq <= b.last => true,
                Some(b) if b.more > 0 => {
                    b.more -= 1;
                    true
                }
                Some(_) => false,
            },
        };
    }
    taken
}

/// What a site's consumer may have delivered of a run.
#[derive(Clone, Copy, Debug)]
struct Bound {
    /// Messages up to this stream sequence may have been delivered.
    last: u64,
    /// So may this many of the site's next messages.
    more: u64,
}

/// How far a site's consumer has got.
#[derive(Clone, Copy, Debug)]
struct Progress {
    /// The stream sequence of the last message it delivered.
    last: u64,
    /// Deliveries it has made (redeliveries included).
    deliveries: u64,
}

/// A site's consumer's progress (zero: no worker of the site ever
/// started); `None` if the server did not say.
async fn progress(queue: &Queue, site: &str) -> Option<Progress> {
    let info = queue.work.consumer_info(names::consumer_name(site));
    match tokio::time::timeout(CANCEL_REQUEST, info).await {
        Ok(Ok(info)) => Some(Progress {
            last: info.delivered.stream_sequence,
            deliveries: info.delivered.consumer_sequence,
        }),
        Ok(Err(e)) if matches!(e.kind(), ConsumerInfoErrorKind::NotFound) => Some(Progress {
            last: 0,
            deliveries: 0,
        }),
        _ => None,
    }
}
