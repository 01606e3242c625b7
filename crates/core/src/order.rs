//! Results in inventory order (`fanout run --order inventory`): a [`Sink`]
//! adapter that holds back the outcomes that arrive before their turn.

use std::collections::{BTreeMap, HashMap};

use crate::{Flow, HostOutcome, Sink, Target};

/// Which order a run's outcomes are handed on in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ResultOrder {
    /// As each host finishes (Python's `asyncio.as_completed`).
    #[default]
    Completion,
    /// In inventory order, each as soon as it and every host before it are
    /// done (what `asyncio.gather` returns, but streamed).
    Inventory,
}

/// Hands outcomes on to `inner` in inventory order: an outcome that
/// arrives before its turn waits until every host before it has been
/// handed on, then goes at once. Only the outcomes waiting are held, so
/// memory is bounded by what is pending, not by the fleet.
///
/// An outcome of a host that is not among the targets (or whose name
/// comes twice) is handed on at once rather than lost.
pub struct InOrder<'a> {
    inner: &'a mut dyn Sink,
    index: HashMap<&'a str, usize>,
    next: usize,
    pending: BTreeMap<usize, HostOutcome>,
    peak: usize,
    flow: Flow,
}

impl<'a> InOrder<'a> {
    /// An adapter for a run on `targets`, handing outcomes on to `inner`.
    pub fn new(targets: &'a [Target], inner: &'a mut dyn Sink) -> Self {
        let mut index = HashMap::with_capacity(targets.len());
        for (i, t) in targets.iter().enumerate() {
            index.entry(t.name.as_str()).or_insert(i);
        }
        Self {
            inner,
            index,
            next: 0,
            pending: BTreeMap::new(),
            peak: 0,
            flow: Flow::Continue,
        }
    }

    /// The most outcomes ever held back at once.
    pub fn peak_pending(&self) -> usize {
        self.peak
    }

    /// Outcomes held back now.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Hands on whatever is still held back (hosts whose predecessors never
    /// reported), in inventory order; returns the last [`Flow`] of `inner`.
    pub fn finish(mut self) -> Flow {
        for (_, outcome) in std::mem::take(&mut self.pending) {
            self.pass(outcome);
        }
        self.flow
    }

    fn pass(&mut self, outcome: HostOutcome) {
        if self.inner.accept(outcome) == Flow::Stop {
            self.flow = Flow::Stop;
        }
    }
}

impl Sink for InOrder<'_> {
    fn accept(&mut self, outcome: HostOutcome) -> Flow {
        match self.index.get(outcome.host.as_str()).copied() {
            Some(i) if i == self.next => {
                self.pass(outcome);
                self.next += 1;
                while let Some(o) = self.pending.remove(&self.next) {
                    self.pass(o);
                    self.next += 1;
                }
            }
            Some(i) if i > self.next && !self.pending.contains_key(&i) => {
                self.pending.insert(i, outcome);
                self.peak = self.peak.max(self.pending.len());
            }
            // Not ours, or a second outcome for a host: never lose it.
            _ => self.pass(outcome),
        }
        self.flow
    }

    fn idle(&mut self) -> Flow {
        if self.inner.idle() == Flow::Stop {
            self.flow = Flow::Stop;
        }
        self.flow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CollectSink, Worker};

    fn targets(n: usize) -> Vec<Target> {
        (0..n)
            .map(|i| Target::new(format!("h{i}"), "127.0.0.1"))
            .collect()
    }

    fn outcome(name: &str) -> HostOutcome {
        HostOutcome::ok(name, Vec::new(), Worker::Task(0))
    }

    fn names(sink: &CollectSink) -> Vec<&str> {
        sink.outcomes.iter().map(|o| o.host.as_str()).collect()
    }

    #[test]
    fn outcomes_go_in_inventory_order_as_soon_as_their_turn_comes() {
        let t = targets(5);
        let mut out = CollectSink::default();
        let mut order = InOrder::new(&t, &mut out);
        order.accept(outcome("h2"));
        order.accept(outcome("h1"));
        assert_eq!(order.pending(), 2);
        order.accept(outcome("h0"));
        assert_eq!(order.pending(), 0, "h0 released h1 and h2");
        order.accept(outcome("h4"));
        assert_eq!(order.peak_pending(), 2);
        // An unknown host is not lost.
        order.accept(outcome("stranger"));
        assert_eq!(order.finish(), Flow::Continue);
        assert_eq!(names(&out), ["h0", "h1", "h2", "stranger", "h4"]);
    }

    #[test]
    fn a_stop_from_the_inner_sink_is_passed_back() {
        let t = targets(3);
        let mut seen = 0;
        let mut inner = |_: HostOutcome| {
            seen += 1;
            if seen >= 2 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        };
        let mut order = InOrder::new(&t, &mut inner);
        assert_eq!(order.accept(outcome("h1")), Flow::Continue);
        assert_eq!(order.accept(outcome("h0")), Flow::Stop);
        assert_eq!(order.accept(outcome("h2")), Flow::Stop);
    }
}
