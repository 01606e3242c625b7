use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A cheap, clonable cancellation flag shared by the caller and an executor.
///
/// Cancelling is one-way and idempotent. Blocking executors poll
/// [`is_cancelled`](Self::is_cancelled) between steps and use
/// [`sleep`](Self::sleep), which wakes at once when the token is cancelled.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
    /// Tokens made by [`CancelToken::child`], cancelled with this one.
    children: Mutex<Vec<std::sync::Weak<Inner>>>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: executors stop starting hosts and report the rest `cancelled`.
    /// Children made by [`child`](Self::child) are cancelled too.
    pub fn cancel(&self) {
        Self::cancel_inner(&self.inner);
    }

    fn cancel_inner(inner: &Inner) {
        inner.cancelled.store(true, Ordering::SeqCst);
        {
            let _guard = inner.lock.lock().unwrap_or_else(|e| e.into_inner());
            inner.wake.notify_all();
        }
        let children =
            std::mem::take(&mut *inner.children.lock().unwrap_or_else(|e| e.into_inner()));
        for child in children.iter().filter_map(std::sync::Weak::upgrade) {
            Self::cancel_inner(&child);
        }
    }

    /// A token cancelled when this one is, or on its own (e.g. when a sink
    /// returns `Flow::Stop`), without cancelling this one.
    pub fn child(&self) -> CancelToken {
        let child = CancelToken::new();
        let mut children = self
            .inner
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        children.retain(|w| w.strong_count() > 0);
        children.push(Arc::downgrade(&child.inner));
        drop(children);
        if self.is_cancelled() {
            child.cancel();
        }
        child
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` or until cancelled, whichever comes first.
    /// Returns `true` if the token was cancelled.
    pub fn sleep(&self, duration: Duration) -> bool {
        let Some(deadline) = Instant::now().checked_add(duration) else {
            // Longer than the clock can represent: wait for cancellation only.
            let mut guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
            while !self.is_cancelled() {
                guard = self
                    .inner
                    .wake
                    .wait(guard)
                    .unwrap_or_else(|e| e.into_inner());
            }
            return true;
        };
        let mut guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.is_cancelled() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = self
                .inner
                .wake
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_wakes_on_cancel() {
        let token = CancelToken::new();
        let other = token.clone();
        let start = Instant::now();
        let handle = std::thread::spawn(move || other.sleep(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(50));
        token.cancel();
        assert!(handle.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn children_follow_their_parent_but_not_the_reverse() {
        let parent = CancelToken::new();
        let a = parent.child();
        let b = parent.child();
        b.cancel();
        assert!(!parent.is_cancelled() && !a.is_cancelled());
        parent.cancel();
        assert!(a.is_cancelled());
        assert!(
            parent.child().is_cancelled(),
            "a child of a cancelled token starts cancelled"
        );
    }

    #[test]
    fn sleep_runs_full_duration_when_not_cancelled() {
        let token = CancelToken::new();
        let start = Instant::now();
        assert!(!token.sleep(Duration::from_millis(30)));
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
