//! Every host exactly once (contract rule 2): the one tally of a run's
//! outcomes, used by every scheduler and by the async `HostStream`.
//!
//! A [`Ledger`] remembers which hosts (by index in the target list) have
//! an outcome, drops a second outcome for the same host, remembers a
//! sink's [`Flow::Stop`], turns the hosts that never got one into
//! `cancelled` at the end, counts outcomes per status and times the run
//! for the [`RunSummary`].

use std::time::{Duration, Instant};

use fanout_core::{CancelToken, Flow, HostOutcome, RunSummary, Sink, StatusCounts, Target, Worker};

/// Which hosts of a run have an outcome, and what the outcomes were.
#[derive(Debug)]
pub struct Ledger {
    run_start: Instant,
    first_start: Option<Instant>,
    last_outcome: Option<Instant>,
    counts: StatusCounts,
    /// Outcomes with legacy SSH algorithms.
    legacy_hosts: usize,
    reported: Vec<bool>,
    left: usize,
    /// Hosts before this index all have an outcome (the end-of-run sweep).
    swept: usize,
    stopped: bool,
}

impl Ledger {
    /// A run of `hosts` hosts, none reported; its clock starts now.
    pub fn new(hosts: usize) -> Self {
        Self {
            run_start: Instant::now(),
            first_start: None,
            last_outcome: None,
            counts: StatusCounts::default(),
            legacy_hosts: 0,
            reported: vec![false; hosts],
            left: hosts,
            swept: 0,
            stopped: false,
        }
    }

    /// Marks a host start; returns its `queued` time (since the run began).
    /// The first start begins the summary's wall time.
    pub fn host_started(&mut self) -> Duration {
        let now = Instant::now();
        self.first_start.get_or_insert(now);
        now - self.run_start
    }

    /// Counts `outcome` as host `index`'s, unless that host already has one
    /// (or is not of this run): `false` then, and the outcome must be
    /// dropped.
    pub fn record(&mut self, index: usize, outcome: &HostOutcome) -> bool {
        match self.reported.get_mut(index) {
            Some(seen) if !*seen => *seen = true,
            _ => return false,
        }
        self.left -= 1;
        self.counts.add(outcome.status);
        if !outcome.legacy_algorithms.is_empty() {
            self.legacy_hosts += 1;
        }
        self.last_outcome = Some(Instant::now());
        true
    }

    /// Records host `index`'s `outcome` and passes it to `sink`, or drops
    /// it if the host already has one (`false`). Remembers a
    /// [`Flow::Stop`]; see [`should_stop`](Self::should_stop).
    pub fn deliver(&mut self, sink: &mut dyn Sink, index: usize, outcome: HostOutcome) -> bool {
        if !self.record(index, &outcome) {
            return false;
        }
        if sink.accept(outcome) == Flow::Stop {
            self.stopped = true;
        }
        true
    }

    /// Tells `sink` no outcome is waiting ([`Sink::idle`]): called before
    /// the executor blocks for the next one. Remembers a [`Flow::Stop`].
    pub fn idle(&mut self, sink: &mut dyn Sink) {
        if sink.idle() == Flow::Stop {
            self.stopped = true;
        }
    }

    /// Whether host `index` has an outcome (or is not of this run).
    pub fn reported(&self, index: usize) -> bool {
        self.reported.get(index).is_none_or(|r| *r)
    }

    /// Hosts without an outcome yet.
    pub fn remaining(&self) -> usize {
        self.left
    }

    /// Whether the sink asked to stop.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Whether the run should start no more hosts (cancelled or sink stop).
    pub fn should_stop(&self, cancel: &CancelToken) -> bool {
        self.stopped || cancel.is_cancelled()
    }

    /// The first host (in target order) still without an outcome, given
    /// the one `make` builds for it, recorded; `None` once every host has
    /// one. For a stream that yields the rest one by one.
    pub fn next_unreported(
        &mut self,
        make: impl FnOnce(usize) -> HostOutcome,
    ) -> Option<HostOutcome> {
        let offset = self.reported[self.swept..].iter().position(|r| !r);
        let Some(offset) = offset else {
            self.swept = self.reported.len();
            return None;
        };
        let index = self.swept + offset;
        self.swept = index + 1;
        let outcome = make(index);
        self.record(index, &outcome);
        Some(outcome)
    }

    /// Delivers the outcome `make` builds for every host still without
    /// one, in target order.
    pub fn report_unreported(
        &mut self,
        sink: &mut dyn Sink,
        mut make: impl FnMut(usize) -> HostOutcome,
    ) {
        while let Some(outcome) = self.next_unreported(&mut make) {
            if sink.accept(outcome) == Flow::Stop {
                self.stopped = true;
            }
        }
    }

    /// Reports every host still without an outcome `cancelled` (run by
    /// `worker(index)`), in target order: the end of a run that stopped.
    pub fn cancel_unreported(
        &mut self,
        sink: &mut dyn Sink,
        targets: &[Target],
        worker: impl Fn(usize) -> Worker,
    ) {
        self.report_unreported(sink, |index| {
            HostOutcome::cancelled(&targets[index].name, worker(index))
        });
    }

    /// Outcomes counted so far, per status.
    pub fn counts(&self) -> StatusCounts {
        self.counts
    }

    /// The summary of everything recorded so far: `wall` runs from the
    /// first host starting to the last outcome.
    pub fn finish(&self, executor: &str, concurrency: usize) -> RunSummary {
        let wall = match (self.first_start, self.last_outcome) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => Duration::ZERO,
        };
        RunSummary {
            executor: executor.to_string(),
            concurrency,
            hosts: self.counts.total(),
            counts: self.counts,
            wall,
            legacy_hosts: self.legacy_hosts,
        }
    }
}

#[cfg(test)]
mod tests {
    use fanout_core::{CollectSink, ErrorKind, Status};

    use super::*;

    #[test]
    fn counts_and_times() {
        let mut ledger = Ledger::new(3);
        let mut sink = CollectSink::default();
        ledger.host_started();
        std::thread::sleep(Duration::from_millis(5));
        ledger.deliver(
            &mut sink,
            0,
            HostOutcome::ok("a", vec![], Worker::Thread(0)),
        );
        ledger.deliver(
            &mut sink,
            1,
            HostOutcome::failed("b", ErrorKind::Auth, "no", Worker::Thread(0)),
        );
        ledger.deliver(&mut sink, 2, HostOutcome::cancelled("c", Worker::Thread(0)));
        let s = ledger.finish("seq", 1);
        let c = s.counts;
        assert_eq!((s.hosts, c.ok, c.failed, c.cancelled), (3, 1, 1, 1));
        assert!(s.wall >= Duration::from_millis(5));
        assert_eq!(sink.outcomes.len(), 3);
        assert_eq!(ledger.remaining(), 0);
    }

    #[test]
    fn a_second_outcome_for_a_host_is_dropped() {
        let mut ledger = Ledger::new(2);
        let mut sink = CollectSink::default();
        let ok = |h: &str| HostOutcome::ok(h, vec![], Worker::Thread(0));
        assert!(ledger.deliver(&mut sink, 1, ok("b")));
        assert!(!ledger.deliver(&mut sink, 1, ok("b")), "twice");
        assert!(!ledger.deliver(&mut sink, 7, ok("x")), "not of this run");
        assert_eq!((sink.outcomes.len(), ledger.remaining()), (1, 1));
        assert_eq!(ledger.finish("seq", 1).hosts, 1);
    }

    #[test]
    fn the_rest_is_cancelled_in_target_order_and_a_stop_is_remembered() {
        let targets: Vec<Target> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| Target::new(*n, "127.0.0.1"))
            .collect();
        let mut ledger = Ledger::new(targets.len());
        let mut seen = Vec::new();
        let mut sink = |o: HostOutcome| {
            seen.push((o.host.clone(), o.status));
            Flow::Stop
        };
        ledger.deliver(&mut sink, 2, HostOutcome::ok("c", vec![], Worker::Task(2)));
        let cancel = CancelToken::new();
        assert!(ledger.stopped() && ledger.should_stop(&cancel));
        ledger.cancel_unreported(&mut sink, &targets, Worker::Task);
        let names: Vec<&str> = seen.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(names, ["c", "a", "b", "d"]);
        assert!(seen[1..].iter().all(|(_, s)| *s == Status::Cancelled));
        assert_eq!(ledger.remaining(), 0);
        assert_eq!(ledger.counts().cancelled, 3);
        assert!(ledger.next_unreported(|_| unreachable!()).is_none());
    }
}
