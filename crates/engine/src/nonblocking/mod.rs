//! The async (tokio) side of the engine: the run's stop signal as host
//! futures see it, and the admission waiter.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

mod admission;

pub use admission::{Admit, Admitted, AsyncAdmission};

/// The run's stop signal as the hosts see it: set once, when the caller's
/// token is cancelled (or the stream is dropped). Waiting on it is an
/// intrusive list entry of a tokio `Notify` — no allocation per host.
#[derive(Debug, Default)]
pub struct Stop {
    set: AtomicBool,
    notify: Notify,
}

impl Stop {
    /// Sets the signal and wakes every host waiting on it.
    pub fn fire(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`fire`](Self::fire) was called.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Resolves once [`fire`](Self::fire) was called.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the check: a fire() in between still wakes us.
        notified.as_mut().enable();
        if self.is_set() {
            return;
        }
        notified.await;
    }
}
