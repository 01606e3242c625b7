//! Up-front checks that `-c` worker processes fit this process's limits:
//! open files (three pipe ends per worker in the parent) and processes of
//! this user (a worker and its threads). The check itself is
//! [`fanout_engine::limits::check_limits`], shared with the thread executors.

use fanout_core::{Target, TaskKind};
use fanout_engine::limits::{Demand, HopBridge, check_limits, helper_tasks_per_host};

/// Pipe ends the parent holds per live worker (stdin, stdout, stderr).
const FDS_PER_WORKER: u64 = 3;

/// Checks that `workers` live workers fit RLIMIT_NOFILE and RLIMIT_NPROC
/// (raising the soft open-files limit toward the hard one if that is
/// enough); the error says what to change.
pub(crate) fn check(workers: usize, task: TaskKind, targets: &[Target]) -> Result<(), String> {
    check_limits(&demand(workers, task, targets))
}

/// What `workers` live worker processes of `task` ask of this process's
/// limits, reaching `targets`: the estimate checked before the first worker
/// starts (also for `fanout doctor`). A worker holds its hosts' files
/// itself, but their route's threads and processes are this user's (a
/// worker runs ssh2: a bridge thread per jump hop, or a proxy command).
pub fn demand(workers: usize, task: TaskKind, targets: &[Target]) -> Demand {
    Demand {
        units: u64::try_from(workers).unwrap_or(u64::MAX),
        units_are: "worker processes".into(),
        fds_per_unit: FDS_PER_WORKER,
        fds_are: "pipe ends per worker".into(),
        tasks_per_unit: tasks_per_worker(task),
        tasks_fixed: 0,
    }
    .with_route_tasks(task, targets, HopBridge::Thread)
}

/// Processes and threads one worker uses: itself, its input and signal
/// threads, and what its host starts (a local command and the two threads
/// reading its output; the thread resolving an SSH host name).
fn tasks_per_worker(task: TaskKind) -> u64 {
    3 + helper_tasks_per_host(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_counts_itself_its_threads_and_its_host() {
        assert_eq!(tasks_per_worker(TaskKind::Cpu), 3);
        assert_eq!(tasks_per_worker(TaskKind::Local), 6);
        let d = demand(7, TaskKind::Sleep, &[]);
        assert_eq!((d.units, d.fds_per_unit), (7, 3));
    }

    #[test]
    fn a_worker_counts_the_bridge_threads_of_its_hosts_jump_hops() {
        let mut jumped = Target::new("r1", "127.0.0.1");
        jumped.reach.jump = vec![Default::default(); 3];
        let d = demand(4, TaskKind::Exec, &[jumped]);
        assert_eq!(d.tasks_per_unit, tasks_per_worker(TaskKind::Exec) + 3);
        // The worker holds its hosts' files, not the parent.
        assert_eq!(d.fds_per_unit, FDS_PER_WORKER);
    }

    #[test]
    fn this_process_fits_a_small_pool() {
        check(2, TaskKind::Sleep, &[]).unwrap();
    }
}
