use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A cheap, clonable cancellation flag shared by the caller and an executor.
///
/// Cancelling is one-way and idempotent. Blocking executors poll
/// [`is_cancelled`](Self::is_cancelled) between steps and use
/// [`sleep`](Self::sleep), which wakes at once when the token is cancelled.
/// Async executors await [`cancelled`](Self::cancelled), a runtime-agnostic
/// future woken by [`cancel`](Self::cancel). Code blocked in `poll(2)` on a
/// socket adds [`wake_fd`](Self::wake_fd) to its set instead of waking on a
/// timer to look at the flag.
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
    /// Wakers of pending [`Cancelled`] futures, by registration number.
    wakers: Mutex<Wakers>,
    /// The descriptor of [`CancelToken::wake_fd`], made on first use
    /// (`None` inside: the system gave none).
    wake_fd: std::sync::OnceLock<Option<wake::WakeFd>>,
}

#[derive(Default)]
struct Wakers {
    next: u64,
    waiting: HashMap<u64, Waker>,
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
        // Pairs with the fence in `wake_fd`: either this sees the
        // descriptor, or its maker sees the flag (and signals it itself;
        // a caller that waited in `get_or_init` for the maker sees it made).
        std::sync::atomic::fence(Ordering::SeqCst);
        if let Some(Some(fd)) = inner.wake_fd.get() {
            fd.signal();
        }
        {
            let _guard = inner.lock.lock().unwrap_or_else(|e| e.into_inner());
            inner.wake.notify_all();
        }
        let waiting = std::mem::take(
            &mut inner
                .wakers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .waiting,
        );
        for waker in waiting.into_values() {
            waker.wake();
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

    /// A descriptor that becomes readable once the token is cancelled, and
    /// stays readable: blocking code polls it beside its socket and so
    /// needs no timer to notice a cancel. One per token, made on first use
    /// and closed with the token's last clone; `None` where the system
    /// gives none (then wake on a short timer and ask
    /// [`is_cancelled`](Self::is_cancelled)). Never read from it.
    pub fn wake_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        let mut made = false;
        let fd = self
            .inner
            .wake_fd
            .get_or_init(|| {
                made = true;
                wake::WakeFd::new()
            })
            .as_ref()?;
        // Only its maker can have raced a cancel that did not see it yet.
        if made {
            std::sync::atomic::fence(Ordering::SeqCst);
            if self.is_cancelled() {
                fd.signal();
            }
        }
        Some(fd.borrow())
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// A future that resolves once the token is cancelled (at once if it
    /// already is). It needs no particular async runtime; dropping it
    /// unregisters it.
    pub fn cancelled(&self) -> Cancelled {
        Cancelled {
            token: self.clone(),
            key: None,
        }
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

/// Resolves when its [`CancelToken`] is cancelled; see
/// [`CancelToken::cancelled`].
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelled {
    token: CancelToken,
    /// Where this future's waker is registered, while pending.
    key: Option<u64>,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        let inner = self.token.inner.clone();
        let mut wakers = inner.wakers.lock().unwrap_or_else(|e| e.into_inner());
        let key = match self.key {
            Some(key) => key,
            None => {
                let key = wakers.next;
                wakers.next += 1;
                self.key = Some(key);
                key
            }
        };
        match wakers.waiting.get_mut(&key) {
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(w) => w.clone_from(cx.waker()),
            None => {
                wakers.waiting.insert(key, cx.waker().clone());
            }
        }
        drop(wakers);
        // cancel() sets the flag before taking the wakers: checking again
        // after registering cannot miss a wake-up.
        if self.token.is_cancelled() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.token
                .inner
                .wakers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .waiting
                .remove(&key);
        }
    }
}

impl std::fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancelled")
            .field("cancelled", &self.token.is_cancelled())
            .finish()
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The descriptor behind [`CancelToken::wake_fd`]: an eventfd on Linux.
mod wake {
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

    pub(super) struct WakeFd(OwnedFd);

    impl WakeFd {
        #[cfg(target_os = "linux")]
        pub(super) fn new() -> Option<Self> {
            use std::os::fd::FromRawFd;
            // SAFETY: eventfd has no preconditions; the result is checked.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            // SAFETY: a fresh descriptor nobody else owns.
            (fd >= 0).then(|| Self(unsafe { OwnedFd::from_raw_fd(fd) }))
        }

        #[cfg(not(target_os = "linux"))]
        pub(super) fn new() -> Option<Self> {
            None
        }

        /// Makes the descriptor readable (again: writes add up, and nobody
        /// reads them back).
        pub(super) fn signal(&self) {
            use std::os::fd::AsRawFd;
            let one: u64 = 1;
            // SAFETY: writes 8 bytes we own to an eventfd we own; a full
            // counter (EAGAIN) is still readable, which is all we want.
            unsafe {
                libc::write(self.0.as_raw_fd(), (&raw const one).cast(), 8);
            }
        }

        pub(super) fn borrow(&self) -> BorrowedFd<'_> {
            self.0.as_fd()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `fd` is readable now.
    #[cfg(target_os = "linux")]
    fn readable(fd: std::os::fd::BorrowedFd<'_>) -> bool {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one pollfd we own, without waiting.
        unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn wake_fd_turns_readable_on_cancel_and_stays_so() {
        let parent = CancelToken::new();
        let child = parent.child();
        let fd = child.wake_fd().expect("an eventfd");
        assert!(!readable(fd), "not cancelled yet");
        parent.cancel();
        assert!(
            readable(fd),
            "a parent's cancel reaches the child's descriptor"
        );
        assert!(readable(fd), "level-triggered: still readable");
        // Made after the cancel: readable from the start.
        let late = CancelToken::new();
        late.cancel();
        assert!(readable(late.wake_fd().expect("an eventfd")));
        // One descriptor per token, shared by its clones.
        let clone = child.clone();
        assert_eq!(
            std::os::fd::AsRawFd::as_raw_fd(&clone.wake_fd().unwrap()),
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        );
    }

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

    /// A waker that counts its wake-ups.
    struct CountWake(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn cancelled_future_wakes_once_and_unregisters() {
        let parent = CancelToken::new();
        let token = parent.child();
        let count = Arc::new(CountWake(Default::default()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = token.cancelled();
        let mut dropped = token.cancelled();
        assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut dropped).poll(&mut cx).is_pending());
        drop(dropped);
        assert_eq!(token.inner.wakers.lock().unwrap().waiting.len(), 1);
        parent.cancel();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "one wake-up for the one pending future"
        );
        assert!(Pin::new(&mut fut).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut token.cancelled()).poll(&mut cx).is_ready());
        assert!(token.inner.wakers.lock().unwrap().waiting.is_empty());
    }

    #[test]
    fn cancelled_future_wakes_a_waiting_thread() {
        let token = CancelToken::new();
        let other = token.clone();
        let handle = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            other.cancel();
        });
        // A minimal executor: park until woken.
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = token.cancelled();
        let start = Instant::now();
        while Pin::new(&mut fut).poll(&mut cx).is_pending() {
            assert!(start.elapsed() < Duration::from_secs(5), "never woken");
            std::thread::park_timeout(Duration::from_secs(1));
        }
        handle.join().unwrap();
    }

    #[test]
    fn sleep_runs_full_duration_when_not_cancelled() {
        let token = CancelToken::new();
        let start = Instant::now();
        assert!(!token.sleep(Duration::from_millis(30)));
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
