//! Pool settings and the OS limits a pool of N threads must fit in, checked
//! before any host starts so a too-large `-c` is a clear error up front
//! instead of hosts failing one by one with "too many open files".

use fanout_core::TaskKind;

/// Default stack of a pool thread: 256 KiB. ssh2 (libssh2 + OpenSSL) needs
/// well under that; only the pages a thread touches cost memory, so 1,000
/// threads cost far less than 256 MiB.
pub const DEFAULT_STACK_SIZE: usize = 256 << 10;

/// Smallest stack a pool thread may have.
pub const MIN_STACK_SIZE: usize = 64 << 10;

/// Descriptors kept free for everything that is not a host (stdio, output
/// files, known_hosts, the runtime).
const FD_RESERVE: u64 = 64;

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

/// Open files one host holds while it runs a task of `kind`.
fn fds_per_host(kind: TaskKind) -> u64 {
    match kind {
        // The TCP socket.
        TaskKind::Exec | TaskKind::Cli => 1,
        // stdout and stderr pipes, and the pipe ends while spawning.
        TaskKind::Local => 4,
        TaskKind::Sleep | TaskKind::Cpu => 0,
    }
}

/// Checks that `threads` threads, each running a host of `kind`, fit in the
/// process's limits, raising the open-files soft limit toward the hard
/// limit when that is enough. The error says what to change.
pub(crate) fn check_threads(threads: usize, kind: TaskKind) -> Result<(), String> {
    let threads = threads as u64;
    let needed = threads * fds_per_host(kind) + FD_RESERVE;
    if fds_per_host(kind) > 0 {
        let (soft, hard) = get(libc::RLIMIT_NOFILE).ok_or("cannot read the open-files limit")?;
        if soft < needed {
            let raised = needed.min(hard);
            set(libc::RLIMIT_NOFILE, raised, hard);
            let (now, _) = get(libc::RLIMIT_NOFILE).unwrap_or((soft, hard));
            if now < needed {
                return Err(format!(
                    "{threads} hosts of a {kind} task at once need about {needed} open files, but this process may open only {now} (hard limit {hard}); lower -c to {} or raise the limit (ulimit -n)",
                    now.saturating_sub(FD_RESERVE) / fds_per_host(kind)
                ));
            }
        }
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root
        && let Some((soft, _)) = get(libc::RLIMIT_NPROC)
        && soft != libc::RLIM_INFINITY
        && threads >= soft
    {
        return Err(format!(
            "-c {threads} needs {threads} threads, but this user may run only {soft} processes and threads (ulimit -u); lower -c or raise the limit"
        ));
    }
    Ok(())
}

#[cfg(target_os = "linux")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_os = "linux"))]
type Resource = libc::c_int;

fn get(resource: Resource) -> Option<(libc::rlim_t, libc::rlim_t)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let rc = unsafe { libc::getrlimit(resource, &mut lim) };
    (rc == 0).then_some((lim.rlim_cur, lim.rlim_max))
}

fn set(resource: Resource, soft: libc::rlim_t, hard: libc::rlim_t) {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct we pass; failure leaves the limit as it was.
    unsafe {
        libc::setrlimit(resource, &lim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_pools_fit_and_huge_ones_are_refused_with_a_fix() {
        assert_eq!(check_threads(10, TaskKind::Exec), Ok(()));
        assert_eq!(check_threads(1_000_000, TaskKind::Sleep), Ok(()));
        let (_, hard) = get(libc::RLIMIT_NOFILE).unwrap();
        if hard < 1 << 40 {
            let err = check_threads(hard as usize + 1, TaskKind::Exec).unwrap_err();
            assert!(
                err.contains("ulimit -n") && err.contains("lower -c"),
                "{err}"
            );
        }
    }
}
