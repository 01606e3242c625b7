//! Pool settings of the thread executors (stack size, thread count) and
//! the check that a pool fits this process's limits.

use fanout_core::{Target, TaskKind};
use fanout_engine::limits::{Demand, HopBridge, check_limits, hosts_demand};

/// Default stack of a pool thread: 256 KiB. ssh2 (libssh2 + OpenSSL) needs
/// well under that; only the pages a thread touches cost memory, so 1,000
/// threads cost far less than 256 MiB.
pub const DEFAULT_STACK_SIZE: usize = 256 << 10;

/// Smallest stack a pool thread may have.
pub const MIN_STACK_SIZE: usize = 64 << 10;

/// Why an executor could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// The thread stack is below [`MIN_STACK_SIZE`].
    #[error(
        "a thread stack of {bytes} bytes is too small; use --stack-size 64k or more (default 256k)"
    )]
    StackTooSmall {
        /// The stack size asked for.
        bytes: usize,
    },
    /// A pool of zero threads.
    #[error("a pool needs at least one thread; pass -c N with N >= 1")]
    ZeroThreads,
}

/// Checks that a pool of `threads` threads, each running a host of `kind`
/// at a time, fits this process's limits.
pub(crate) fn check_threads(
    threads: usize,
    kind: TaskKind,
    targets: &[Target],
) -> Result<(), String> {
    check_limits(&pool_demand(threads, kind, targets))
}

/// What a pool of `threads` threads (-e threads, -e rayon), each running a
/// host of `kind` at a time, asks of this process's limits, reaching
/// `targets` (ssh2: a bridge thread per jump hop): the estimate the pools
/// check before they start (also for `fanout doctor`).
pub fn pool_demand(threads: usize, kind: TaskKind, targets: &[Target]) -> Demand {
    hosts_demand(
        threads,
        kind,
        1,
        &format!("pool threads running {kind} hosts"),
    )
    .reaching(kind, targets, HopBridge::Thread)
}

/// What -e seq asks of this process's limits for `hosts` hosts (at most
/// one in flight), reaching `targets`.
pub fn sequential_demand(hosts: usize, kind: TaskKind, targets: &[Target]) -> Demand {
    hosts_demand(hosts.min(1), kind, 0, &format!("{kind} host at a time")).reaching(
        kind,
        targets,
        HopBridge::Thread,
    )
}
