//! The blocking transports on their own, against the simulated fleet: an
//! attempt needs a job, a target, a host deadline, a cancel token and the
//! host's progress — nothing of a scheduler.

use std::time::{Duration, Instant};

use fanout_core::{CancelToken, ErrorKind, Job, Phase, Target, Task};
use fanout_engine::{BlockingTransport, HostAttempts, Progress};
use fanout_sim::Fleet;
use fanout_testkit::fleet_checks::{fleet_job, small_fleet};
use fanout_transport_blocking::Transports;

const PASSWORD: &str = "Pw-bl0ck1ng-9q";

fn fleet(faults: &str) -> Fleet {
    small_fleet(2, PASSWORD, faults)
}

fn job(task: Task, fleet: &Fleet) -> Job {
    fleet_job(task, fleet)
}

fn exec(command: &str) -> Task {
    Task::Exec {
        command: command.into(),
    }
}

/// One attempt of `job` on `target`, with a fresh host's progress.
fn attempt(
    transports: &Transports,
    job: &Job,
    target: &Target,
    cancel: &CancelToken,
) -> (fanout_engine::AttemptResult, Progress) {
    let mut host = HostAttempts::begin(job, target, fanout_core::Worker::Thread(0));
    let deadline = host.start_attempt().expect("time left");
    let result = transports.attempt(job, target, deadline, cancel, host.progress_mut());
    (result, host.progress().clone())
}

#[test]
fn an_exec_attempt_returns_the_output_and_records_each_phase() {
    let fleet = fleet("");
    let job = job(exec("show version"), &fleet);
    let transports = Transports::for_job(&job).unwrap();
    let target = &fleet.targets()[0];
    let (result, progress) = attempt(&transports, &job, target, &CancelToken::new());
    let outputs = result.expect("the device answers");
    assert_eq!(outputs[0].command, "show version");
    assert!(
        outputs[0].stdout.contains("Cisco IOS Software"),
        "{outputs:?}"
    );
    assert_eq!(outputs[0].exit_status, Some(0));
    let t = progress.timings;
    assert!(t.connect > Duration::ZERO && t.auth > Duration::ZERO && t.command > Duration::ZERO);
    assert_eq!(
        progress.phase,
        Some(Phase::Command),
        "the last phase it was in"
    );
}

#[test]
fn a_rejected_login_is_auth_and_names_what_was_tried_never_the_password() {
    let fleet = fleet("auth_fail=r2");
    let job = job(exec("show version"), &fleet);
    let transports = Transports::for_job(&job).unwrap();
    let target = &fleet.targets()[1];
    let (result, progress) = attempt(&transports, &job, target, &CancelToken::new());
    let err = result.expect_err("r2 rejects every login");
    assert_eq!(err.kind, ErrorKind::Auth, "{err:?}");
    assert!(err.message.contains("tried password"), "{}", err.message);
    assert!(!err.message.contains(PASSWORD), "{}", err.message);
    assert_eq!(progress.phase, Some(Phase::Auth));
}

#[test]
fn a_cancelled_attempt_stops_promptly_as_cancelled() {
    let fleet = fleet("hang_on_command=r1");
    let job = job(exec("show version"), &fleet);
    let transports = Transports::for_job(&job).unwrap();
    let target = &fleet.targets()[0];
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            cancel.cancel();
        })
    };
    let started = Instant::now();
    let (result, _) = attempt(&transports, &job, target, &cancel);
    canceller.join().unwrap();
    let err = result.expect_err("the command never finishes");
    assert_eq!(err.kind, ErrorKind::Cancelled, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "stopped {:?} after the cancel",
        started.elapsed()
    );
}

#[test]
fn runs_without_a_network_task_need_no_known_hosts_and_budget_none() {
    let mut job = Job::new(Task::Sleep {
        duration: Duration::from_millis(1),
    });
    // Unreadable for SSH, but a sleep run never reads it.
    job.known_hosts = vec!["/nonexistent/dir/known_hosts".into()];
    let transports = Transports::for_job(&job).expect("nothing to read");
    let target = Target::new("h1", "127.0.0.1");
    let (result, _) = attempt(&transports, &job, &target, &CancelToken::new());
    let err = result.expect_err("a sleep task is not the transport's");
    assert!(err.message.contains("does not use SSH"), "{}", err.message);
    assert_eq!(transports.attempt_budget(&job, &target), None);
    let mut exec_job = job.clone();
    exec_job.task = exec("show clock");
    exec_job.known_hosts.clear();
    let ssh = Transports::for_job(&exec_job).unwrap();
    assert!(
        ssh.attempt_budget(&exec_job, &target).unwrap() > Duration::from_secs(70),
        "connect 10 s + auth 10 s + command 60 s, plus the goodbye"
    );
}
