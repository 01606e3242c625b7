//! Fleet-wide counters, read by tests and `fanout sim serve`: they measure
//! what clients really did (sessions at once, logins, commands) from the
//! device side.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counters shared by every device of a fleet.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    connections: AtomicUsize,
    active: AtomicUsize,
    max_active: AtomicUsize,
    logins: AtomicUsize,
    auth_failures: AtomicUsize,
    commands: AtomicUsize,
    accept_errors: AtomicUsize,
    sessions_refused: AtomicUsize,
    sessions_queued: AtomicUsize,
    startups_dropped: AtomicUsize,
    https_connections: AtomicUsize,
}

/// A copy of the counters at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// TCP connections accepted.
    pub connections: usize,
    /// Connections open now.
    pub active: usize,
    /// Most connections open at once since the fleet started (or the last reset).
    pub max_active: usize,
    /// Successful logins.
    pub logins: usize,
    /// Rejected authentication attempts.
    pub auth_failures: usize,
    /// Commands run (exec requests and interactive lines).
    pub commands: usize,
    /// accept() errors survived (e.g. out of file descriptors).
    pub accept_errors: usize,
    /// Connections refused because the device's sessions were all in use
    /// (`max_sessions`, mode refuse).
    pub sessions_refused: usize,
    /// Connections that had to wait for a free session (mode queue).
    pub sessions_queued: usize,
    /// New connections dropped by `max_startups` (random early drop while
    /// many are unauthenticated).
    pub startups_dropped: usize,
    /// TCP connections the devices' HTTPS APIs accepted (`--http`): fewer
    /// than requests when clients keep connections alive.
    pub https_connections: usize,
}

impl Stats {
    pub(crate) fn connected(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(now, Ordering::SeqCst);
    }

    pub(crate) fn disconnected(&self) {
        self.active.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn login(&self) {
        self.logins.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn command(&self) {
        self.commands.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn session_refused(&self) {
        self.sessions_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn session_queued(&self) {
        self.sessions_queued.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn startup_dropped(&self) {
        self.startups_dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn https_connected(&self) {
        self.https_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            connections: self.connections.load(Ordering::Relaxed),
            active: self.active.load(Ordering::SeqCst),
            max_active: self.max_active.load(Ordering::SeqCst),
            logins: self.logins.load(Ordering::Relaxed),
            auth_failures: self.auth_failures.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            accept_errors: self.accept_errors.load(Ordering::Relaxed),
            sessions_refused: self.sessions_refused.load(Ordering::Relaxed),
            sessions_queued: self.sessions_queued.load(Ordering::Relaxed),
            startups_dropped: self.startups_dropped.load(Ordering::Relaxed),
            https_connections: self.https_connections.load(Ordering::Relaxed),
        }
    }

    /// Restarts `max_active` from the connections open now (between runs).
    pub(crate) fn reset_max_active(&self) {
        self.max_active
            .store(self.active.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}
