use crate::HostOutcome;

/// What the receiver of an outcome wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Stop starting hosts, as if cancelled (e.g. a reader went away).
    Stop,
}

/// Receives outcomes as hosts complete (as_completed), on the thread that
/// called [`Executor::run`](crate::Executor::run).
pub trait Sink {
    /// Takes one finished host.
    fn accept(&mut self, outcome: HostOutcome) -> Flow;

    /// No outcome is waiting: the executor is about to block until the
    /// next one. A sink that buffers its writes flushes them here, so a
    /// line reaches its reader as soon as the burst it came in is taken
    /// (a million hosts finishing in one second are a few large writes,
    /// not a million small ones). Every executor calls it before it
    /// waits; [`Flow::Stop`] stops the run as from [`accept`](Self::accept).
    fn idle(&mut self) -> Flow {
        Flow::Continue
    }
}

impl<F: FnMut(HostOutcome) -> Flow> Sink for F {
    fn accept(&mut self, outcome: HostOutcome) -> Flow {
        self(outcome)
    }
}

/// A sink that keeps every outcome in arrival order.
#[derive(Debug, Default)]
pub struct CollectSink {
    /// Outcomes in the order they arrived.
    pub outcomes: Vec<HostOutcome>,
}

impl Sink for CollectSink {
    fn accept(&mut self, outcome: HostOutcome) -> Flow {
        self.outcomes.push(outcome);
        Flow::Continue
    }
}
