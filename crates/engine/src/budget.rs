//! How long a host may take at most, so that a scheduler that must tell a
//! slow host from a hung one (the process executor kills a worker that
//! overruns) knows when to give up on it.

use std::time::Duration;

use fanout_core::{Job, Phase, Target, TaskKind};

use crate::local::PIPE_GRACE;
use crate::transport::BlockingTransport;

/// The longest [`run_host`](crate::blocking::run_host) can take for
/// `target`, retries and backoff included, or `None` when nothing bounds
/// it (a phase it needs has no timeout, and no host timeout is set; or a
/// network task without its `transport`). Waits for connect-rate slots are
/// not included: they depend on the other hosts (whoever hands out the
/// slots knows them).
///
/// With a host timeout that is the bound (plus the short grace a local
/// command's output pipes get after it was killed). Otherwise every attempt
/// counts in full — a sleep, cpu or local task its command timeout (a local
/// one plus that grace), a network task what its transport says
/// ([`BlockingTransport::attempt_budget`]) — and between attempts the
/// longest backoff.
pub fn max_host_duration(
    job: &Job,
    target: &Target,
    transport: Option<&dyn BlockingTransport>,
) -> Option<Duration> {
    let t = |phase| job.timeouts.for_target(target, phase);
    // What may run past a deadline: a killed local command's pipes (an SSH
    // session's goodbye is bounded by the host deadline itself).
    let (tail, attempt) = match job.task.kind() {
        TaskKind::Local => (
            PIPE_GRACE,
            t(Phase::Command).map(|c| c.saturating_add(PIPE_GRACE)),
        ),
        TaskKind::Sleep | TaskKind::Cpu => (Duration::ZERO, t(Phase::Command)),
        TaskKind::Exec | TaskKind::Cli | TaskKind::Http => (
            Duration::ZERO,
            transport.and_then(|tr| tr.attempt_budget(job, target)),
        ),
    };
    let by_host = t(Phase::Host).map(|host| host.saturating_add(tail));
    let by_phases = attempt.map(|attempt| {
        // `--connect-rate auto` retries a cut-off handshake beyond --retries.
        let retries = job
            .retry
            .retries
            .saturating_add(if job.limits.connect_rate_auto {
                crate::AUTO_RETRIES
            } else {
                0
            });
        let mut total = attempt.saturating_mul(retries.saturating_add(1));
        // RetryPolicy::backoff_for waits at most the un-jittered backoff,
        // doubling per retry up to max_backoff.
        for retry in 1..=retries.min(32) {
            let exp = job
                .retry
                .backoff
                .saturating_mul(1u32 << (retry - 1).min(16))
                .min(job.retry.max_backoff);
            total = total.saturating_add(exp);
        }
        total.saturating_add(
            job.retry
                .max_backoff
                .saturating_mul(retries.saturating_sub(32)),
        )
    });
    match (by_host, by_phases) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use fanout_core::Task;

    use super::*;

    #[test]
    fn max_host_duration_counts_every_attempt_and_backoff() {
        let target = Target::new("r1", "127.0.0.1");
        let secs = Duration::from_secs;
        let mut sleep = Job::new(Task::Sleep { duration: secs(1) });
        sleep.timeouts.command = Some(secs(60));
        assert_eq!(max_host_duration(&sleep, &target, None), Some(secs(60)));
        sleep.retry.retries = 2;
        sleep.retry.backoff = Duration::from_millis(100);
        sleep.retry.max_backoff = secs(10);
        // 3 x 60 s + 100 ms + 200 ms of backoff.
        assert_eq!(
            max_host_duration(&sleep, &target, None),
            Some(Duration::from_millis(180_300))
        );
        sleep.timeouts.host = Some(secs(5));
        assert_eq!(max_host_duration(&sleep, &target, None), Some(secs(5)));
        sleep.timeouts.host = None;
        sleep.timeouts.command = None;
        assert_eq!(
            max_host_duration(&sleep, &target, None),
            None,
            "no limit at all"
        );
        sleep.retry.retries = u32::MAX;
        sleep.timeouts.command = Some(secs(1));
        assert!(
            max_host_duration(&sleep, &target, None).is_some(),
            "saturates, no overflow"
        );

        let mut local = Job::new(Task::Local {
            argv: vec!["true".into()],
        });
        local.timeouts.host = Some(secs(2));
        assert_eq!(
            max_host_duration(&local, &target, None),
            Some(secs(2) + PIPE_GRACE)
        );
        let exec = Job::new(Task::Exec {
            command: "show clock".into(),
        });
        assert_eq!(
            max_host_duration(&exec, &target, None),
            None,
            "a network task is bounded by its transport"
        );
    }
}
