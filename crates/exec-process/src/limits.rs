//! Up-front checks that `-c` worker processes fit this process's limits:
//! open files (three pipe ends per worker in the parent) and processes of
//! this user (a worker and its threads).

use fanout_core::TaskKind;

/// Pipe ends the parent holds per live worker (stdin, stdout, stderr).
const FDS_PER_WORKER: u64 = 3;
/// Spare descriptors for spawning (exec-error pipe) and everything else.
const FD_SPARE: u64 = 16;

/// Checks that `workers` live workers fit RLIMIT_NOFILE and RLIMIT_NPROC;
/// the error says what to change.
pub(crate) fn check(workers: usize, task: TaskKind) -> Result<(), String> {
    let workers = u64::try_from(workers).unwrap_or(u64::MAX);
    let (soft, hard) = rlimit(libc::RLIMIT_NOFILE);
    check_fds(workers, open_fds(), soft, hard)?;
    // RLIMIT_NPROC is not enforced for root.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let (soft, _) = rlimit(libc::RLIMIT_NPROC);
        check_tasks(workers, tasks_per_worker(task), user_tasks(), soft)?;
    }
    Ok(())
}

fn check_fds(workers: u64, open: u64, soft: u64, hard: u64) -> Result<(), String> {
    let need = open
        .saturating_add(workers.saturating_mul(FDS_PER_WORKER))
        .saturating_add(FD_SPARE);
    if need <= soft {
        return Ok(());
    }
    let fit = soft.saturating_sub(open + FD_SPARE) / FDS_PER_WORKER;
    let raise = if need <= hard {
        format!(" or raise the limit with `ulimit -n {need}`")
    } else {
        format!(" (its hard limit is {hard}: only an administrator can raise it)")
    };
    Err(format!(
        "-c {workers} worker processes need about {need} open files in fanout \
         ({FDS_PER_WORKER} pipe ends per worker, {open} already open), but the open-file limit \
         (ulimit -n) is {soft}; lower -c to {fit}{raise}"
    ))
}

fn check_tasks(workers: u64, per_worker: u64, running: u64, soft: u64) -> Result<(), String> {
    let need = running.saturating_add(workers.saturating_mul(per_worker));
    if need <= soft {
        return Ok(());
    }
    let fit = soft.saturating_sub(running) / per_worker;
    Err(format!(
        "-c {workers} worker processes need about {need} processes and threads for this user \
         ({per_worker} per worker, {running} already running), but the limit (ulimit -u) is {soft}; \
         lower -c to {fit} or raise the limit with `ulimit -u {need}`"
    ))
}

/// Processes and threads one worker uses: itself, its input and signal
/// threads, and for local tasks the command and the two threads reading
/// its output.
fn tasks_per_worker(task: TaskKind) -> u64 {
    match task {
        TaskKind::Local => 6,
        _ => 3,
    }
}

/// Soft and hard limit (`u64::MAX` for unlimited).
fn rlimit(resource: libc::__rlimit_resource_t) -> (u64, u64) {
    // SAFETY: getrlimit writes into the struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(resource, &mut limit) != 0 {
            return (u64::MAX, u64::MAX);
        }
        let value = |v: libc::rlim_t| {
            if v == libc::RLIM_INFINITY {
                u64::MAX
            } else {
                v
            }
        };
        (value(limit.rlim_cur), value(limit.rlim_max))
    }
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(FD_SPARE)
}

/// Threads of every process of this user (what RLIMIT_NPROC counts).
fn user_tasks() -> u64 {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() }.to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next())
                == Some(uid.as_str())
        })
        .map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(1)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_limit_error_says_what_to_do() {
        assert!(check_fds(100, 10, 1024, 1024).is_ok());
        let err = check_fds(1000, 10, 1024, 4096).unwrap_err();
        assert!(err.contains("-c 1000"), "{err}");
        assert!(err.contains("lower -c to 332"), "{err}");
        assert!(err.contains("ulimit -n 3026"), "{err}");
        let err = check_fds(5000, 10, 1024, 1024).unwrap_err();
        assert!(err.contains("administrator"), "{err}");
    }

    #[test]
    fn process_limit_error_says_what_to_do() {
        assert!(check_tasks(10, 2, 100, 1000).is_ok());
        let err = check_tasks(1000, 5, 100, 1000).unwrap_err();
        assert_eq!(tasks_per_worker(TaskKind::Cpu), 3);
        assert!(err.contains("lower -c to 180"), "{err}");
        assert!(err.contains("ulimit -u 5100"), "{err}");
    }

    #[test]
    fn this_process_fits_a_small_pool() {
        check(2, TaskKind::Sleep).unwrap();
        assert!(open_fds() >= 3);
    }
}
