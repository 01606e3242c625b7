//! The run's optional observer: "host started", "attempt started" and
//! "host finished" events from the host drivers, for progress displays and
//! per-host logs. The outcomes themselves still go to the
//! [`Sink`](crate::Sink); an observer sees hosts *while* they run, from
//! whichever thread or task runs them. Absent by default, when it costs one
//! branch per event.

use std::fmt;
use std::sync::Arc;

use crate::HostOutcome;

/// Receives a run's host events. Called concurrently from the executor's
/// threads or tasks: keep each call short (update a counter, send on a
/// channel), never block. Every method has an empty default.
///
/// Which executor emits what: `seq`, `threads`, `rayon` and `async` emit
/// all three events from the host driver; `process` emits
/// `host_started` / `host_finished` in the parent as it hands a host to a
/// worker and reads its outcome back (attempts run in the worker and are
/// not reported). Hosts that never start get no event (they reach the sink
/// as `cancelled`).
pub trait RunObserver: Send + Sync {
    /// `host` starts (its slot was granted).
    fn host_started(&self, host: &str) {
        let _ = host;
    }
    /// Attempt `attempt` (1 for the first) of `host` starts.
    fn attempt_started(&self, host: &str, attempt: u32) {
        let _ = (host, attempt);
    }
    /// `outcome.host` finished (before the outcome reaches the sink).
    fn host_finished(&self, outcome: &HostOutcome) {
        let _ = outcome;
    }
}

/// A [`Job`](crate::Job)'s observer, if any: clone-cheap, and compared by
/// identity (two jobs with the same observer, or both without, are equal).
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn RunObserver>>);

impl Observer {
    /// Events go to `observer`.
    pub fn new(observer: Arc<dyn RunObserver>) -> Self {
        Self(Some(observer))
    }

    /// Whether an observer is set.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// See [`RunObserver::host_started`].
    #[inline]
    pub fn host_started(&self, host: &str) {
        if let Some(o) = &self.0 {
            o.host_started(host);
        }
    }

    /// See [`RunObserver::attempt_started`].
    #[inline]
    pub fn attempt_started(&self, host: &str, attempt: u32) {
        if let Some(o) = &self.0 {
            o.attempt_started(host, attempt);
        }
    }

    /// See [`RunObserver::host_finished`].
    #[inline]
    pub fn host_finished(&self, outcome: &HostOutcome) {
        if let Some(o) = &self.0 {
            o.host_finished(outcome);
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}

impl PartialEq for Observer {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::Worker;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl RunObserver for Log {
        fn host_started(&self, host: &str) {
            self.0.lock().unwrap().push(format!("start {host}"));
        }
        fn host_finished(&self, outcome: &HostOutcome) {
            self.0.lock().unwrap().push(format!("end {}", outcome.host));
        }
    }

    #[test]
    fn events_reach_the_observer_and_nothing_happens_without_one() {
        let log = Arc::new(Log::default());
        let observer = Observer::new(log.clone());
        observer.host_started("r1");
        observer.attempt_started("r1", 1); // the default: ignored
        observer.host_finished(&HostOutcome::ok("r1", Vec::new(), Worker::Thread(0)));
        assert_eq!(*log.0.lock().unwrap(), ["start r1", "end r1"]);
        let none = Observer::default();
        none.host_started("r1");
        assert!(!none.is_set());
        assert_eq!(none, Observer::default());
        assert_ne!(none, observer);
        assert_eq!(observer.clone(), observer);
    }
}
