//! The replay log: every event of the command so far, each serialized once,
//! and every full outcome once (for `/api/output`). Clients never get a
//! queue of their own: each keeps a cursor into the log and copies out what
//! it has not sent yet, at its own pace. A late-joining browser starts at 0;
//! a slow one simply falls behind and catches up; neither can slow the run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use fanout_core::{HostOutcome, RunSummary};
use tokio::sync::watch;

use crate::event::{self, Progress, RunInfo};

/// One run section: its counts and its full outcomes.
struct Run {
    started: Instant,
    progress: Progress,
    outcomes: Vec<Arc<HostOutcome>>,
    ended: bool,
}

#[derive(Default)]
struct Log {
    events: Vec<Arc<str>>,
    runs: Vec<Run>,
    /// Client id -> events it has sent.
    clients: HashMap<u64, usize>,
    /// No more events: clients close once they have sent everything.
    closed: bool,
}

/// What a run thread sends to the hub.
pub(crate) enum Cmd {
    /// A new run, begun at this moment (both clocks: the page shows wall
    /// time, progress counts from the instant).
    Begin(RunInfo, SystemTime, Instant),
    Host(usize, HostOutcome),
    End(usize, Option<RunSummary>),
    Done(Duration),
}

/// The log, shared by the hub task (the only writer) and the clients.
pub(crate) struct Hub {
    log: Mutex<Log>,
    /// Number of events in the log; clients wait on it.
    len: watch::Sender<usize>,
    next_client: AtomicU64,
    pub(crate) title: String,
}

/// A batch of events for one client.
pub(crate) struct Batch {
    pub(crate) events: Vec<Arc<str>>,
    pub(crate) next: usize,
    /// The log is closed and this client has everything.
    pub(crate) finished: bool,
}

impl Hub {
    pub(crate) fn new(title: String) -> Arc<Self> {
        Arc::new(Self {
            log: Mutex::new(Log::default()),
            len: watch::Sender::new(0),
            next_client: AtomicU64::new(0),
            title,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // A panic while holding the lock leaves the log consistent (every
        // change is one push), so a poisoned lock is still usable.
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies one command from a run thread.
    pub(crate) fn apply(&self, cmd: Cmd) {
        let mut log = self.lock();
        let text = match cmd {
            Cmd::Begin(info, started, at) => {
                let run = log.runs.len();
                log.runs.push(Run {
                    started: at,
                    progress: Progress {
                        hosts: info.hosts,
                        ..Progress::default()
                    },
                    outcomes: Vec::new(),
                    ended: false,
                });
                event::run_start(run, &info, started)
            }
            Cmd::Host(run, outcome) => {
                let Some(r) = log.runs.get_mut(run) else {
                    return;
                };
                r.progress.count(outcome.status);
                let i = r.outcomes.len();
                let text = event::host(run, i, &outcome, &r.progress, r.started.elapsed());
                r.outcomes.push(Arc::new(outcome));
                text
            }
            Cmd::End(run, summary) => {
                let Some(r) = log.runs.get_mut(run).filter(|r| !r.ended) else {
                    return;
                };
                r.ended = true;
                event::run_end(run, summary.as_ref())
            }
            Cmd::Done(linger) => {
                // Runs that never said how they ended (a child that died).
                let open: Vec<usize> = (0..log.runs.len())
                    .filter(|&r| !log.runs[r].ended)
                    .collect();
                for run in open {
                    log.runs[run].ended = true;
                    log.events.push(event::run_end(run, None).into());
                }
                event::done(linger)
            }
        };
        log.events.push(text.into());
        let len = log.events.len();
        drop(log);
        self.len.send_replace(len);
    }

    /// A new client, starting at the beginning of the log.
    pub(crate) fn join(&self) -> (u64, watch::Receiver<usize>) {
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        self.lock().clients.insert(id, 0);
        (id, self.len.subscribe())
    }

    /// Events from `cursor` on, at most about `max_bytes` of them (at least
    /// one). Records that the client has sent everything before `cursor`.
    pub(crate) fn read(&self, id: u64, cursor: usize, max_bytes: usize) -> Batch {
        let mut log = self.lock();
        log.clients.insert(id, cursor);
        let mut events = Vec::new();
        let mut bytes = 0;
        for e in log.events.iter().skip(cursor) {
            if !events.is_empty() && bytes + e.len() > max_bytes {
                break;
            }
            bytes += e.len();
            events.push(Arc::clone(e));
        }
        let next = cursor + events.len();
        Batch {
            finished: log.closed && next == log.events.len(),
            events,
            next,
        }
    }

    pub(crate) fn leave(&self, id: u64) {
        self.lock().clients.remove(&id);
    }

    /// Whether every connected client has sent the whole log.
    pub(crate) fn all_sent(&self) -> bool {
        let log = self.lock();
        log.clients.values().all(|&c| c == log.events.len())
    }

    /// Connected clients.
    pub(crate) fn clients(&self) -> usize {
        self.lock().clients.len()
    }

    /// Ends the log: clients close once they have sent it all.
    pub(crate) fn close(&self) {
        let mut log = self.lock();
        log.closed = true;
        let len = log.events.len();
        drop(log);
        // Wake every client so it notices.
        self.len.send_modify(|l| *l = len);
    }

    /// The full outcome `i` of run `run`.
    pub(crate) fn outcome(&self, run: usize, i: usize) -> Option<Arc<HostOutcome>> {
        self.lock()
            .runs
            .get(run)
            .and_then(|r| r.outcomes.get(i))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::Worker;

    #[test]
    fn clients_read_the_log_at_their_own_pace() {
        let hub = Hub::new("t".into());
        hub.apply(Cmd::Begin(
            RunInfo {
                hosts: 3,
                ..RunInfo::default()
            },
            SystemTime::now(),
            Instant::now(),
        ));
        for n in 0..3 {
            hub.apply(Cmd::Host(
                0,
                HostOutcome::ok(format!("h{n}"), vec![], Worker::Task(n)),
            ));
        }
        let (id, rx) = hub.join();
        assert_eq!(*rx.borrow(), 4);
        // A tiny budget still makes progress, one event at a time.
        let b = hub.read(id, 0, 1);
        assert_eq!((b.events.len(), b.next, b.finished), (1, 1, false));
        let b = hub.read(id, 1, usize::MAX);
        assert_eq!(b.events.len(), 3);
        assert!(!hub.all_sent(), "not acknowledged until the next read");
        hub.apply(Cmd::Done(Duration::ZERO));
        hub.close();
        let b = hub.read(id, 4, usize::MAX);
        // The run had no run_end: Done adds one before `done`.
        assert_eq!(b.events.len(), 2);
        assert!(b.events[0].contains(r#""summary":null"#), "{}", b.events[0]);
        assert!(b.finished);
        assert!(hub.read(id, 6, usize::MAX).finished);
        assert!(hub.all_sent());
        assert_eq!(hub.outcome(0, 2).unwrap().host, "h2");
        assert!(hub.outcome(0, 3).is_none() && hub.outcome(1, 0).is_none());
        hub.leave(id);
        assert_eq!(hub.clients(), 0);
    }
}
