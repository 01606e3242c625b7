//! The blocking transports on their own, against the simulated fleet: an
//! attempt needs a job, a target, a host deadline, a cancel token and the
//! host's progress — nothing of a scheduler.

use std::time::{Duration, Instant};

use fanout_core::{CancelToken, ErrorKind, Job, Target, Task};
use fanout_engine::{BlockingTransport, HostAttempts, Progress};
use fanout_sim::Fleet;
use fanout_testkit::fleet_checks::{fleet_job, small_fleet};
use fanout_testkit::transport_checks::{
    assert_out_of_sessions, assert_rejected_login, assert_show_version, device_out_of_sessions,
};
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
    assert_show_version(&outputs, &progress);
}

#[test]
fn a_rejected_login_is_auth_and_names_what_was_tried_never_the_password() {
    let fleet = fleet("auth_fail=r2");
    let job = job(exec("show version"), &fleet);
    let transports = Transports::for_job(&job).unwrap();
    let target = &fleet.targets()[1];
    let (result, progress) = attempt(&transports, &job, target, &CancelToken::new());
    let err = result.expect_err("r2 rejects every login");
    assert_rejected_login(&err, &progress, PASSWORD);
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

/// Threads named `fanout-jump` (the jump hosts' pumps) alive now.
fn pump_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.trim() == "fanout-jump")
        .count()
}

/// Descriptors of this process that are Unix sockets (the pumps' and the
/// proxy commands' socket pairs; the tests here open no other).
fn unix_socket_fds() -> usize {
    let unix = std::fs::read_to_string("/proc/self/net/unix").unwrap();
    let inodes: std::collections::HashSet<&str> = unix
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(6))
        .collect();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.unwrap().path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            link.strip_prefix("socket:[")
                .and_then(|l| l.strip_suffix(']'))
                .map(str::to_string)
        })
        .filter(|inode| inodes.contains(inode.as_str()))
        .count()
}

/// This process's children that are still around (zombies included).
fn children() -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid ...
            let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
            after.split_whitespace().nth(1) == Some(me.as_str())
        })
        .collect()
}

/// Waits (up to 5 s) until `done` holds.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < until, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn jump_hosts_and_proxy_commands_leave_no_thread_fd_or_process_behind() {
    let fleet = Fleet::builder()
        .devices(2)
        .credentials("admin", PASSWORD, Some("en"))
        .faults("hang_on_command=r2".parse().unwrap())
        .bastions(2)
        .start()
        .unwrap();
    let chain: Vec<_> = fleet
        .bastions()
        .iter()
        .map(fanout_testkit::jump_checks::hop)
        .collect();
    let job = job(exec("show version"), &fleet);
    let transports = Transports::for_job(&job).unwrap();
    let mut targets = fleet.targets();
    for t in &mut targets {
        t.reach.jump = chain.clone();
    }
    let mut proxied = targets[0].clone();
    proxied.reach.jump.clear();
    proxied.reach.proxy_command = Some(fanout_testkit::jump_checks::netcat_command(proxied.port));
    let baseline = unix_socket_fds();
    for round in 0..3 {
        for t in [&targets[0], &proxied] {
            let (result, progress) = attempt(&transports, &job, t, &CancelToken::new());
            let out = result.unwrap_or_else(|e| panic!("round {round}, {}: {e:?}", t.name));
            assert!(out[0].stdout.contains("Software"), "{out:?}");
            assert!(progress.timings.auth > Duration::ZERO);
        }
        // Joined; a joined thread may still be listed in /proc for a moment
        // (the kernel wakes the joiner before it has removed the task).
        eventually("the pumps are joined", || pump_threads() == 0);
        eventually("the socket pairs are closed", || {
            unix_socket_fds() <= baseline
        });
        eventually("the proxy commands are reaped", || children().is_empty());
    }
    // Cancelled while r2 (behind both bastions) hangs on the command (the
    // cancel waits for the device to have it, however slow the machine):
    // stops within the tick discipline, and the pumps end with it.
    let cancel = CancelToken::new();
    let commands_before = fleet.stats().commands;
    let (result, late) = std::thread::scope(|s| {
        let canceller = s.spawn(|| {
            let until = Instant::now() + Duration::from_secs(30);
            while fleet.stats().commands == commands_before && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(200));
            cancel.cancel();
            Instant::now()
        });
        let (result, _) = attempt(&transports, &job, &targets[1], &cancel);
        let returned = Instant::now();
        let cancelled = canceller.join().unwrap();
        (result, returned.saturating_duration_since(cancelled))
    });
    let err = result.expect_err("r2 never answers");
    assert_eq!(err.kind, ErrorKind::Cancelled, "{err:?}");
    assert!(
        late < Duration::from_secs(3),
        "returned {late:?} after the cancel"
    );
    eventually("the pumps are joined after a cancel", || {
        pump_threads() == 0
    });
    eventually("the socket pairs are closed", || {
        unix_socket_fds() <= baseline
    });
    let stats = fleet.bastion_stats();
    assert_eq!(
        stats[1].channels, 4,
        "3 rounds and the cancelled host went through b2: {stats:?}"
    );
}

#[test]
fn a_device_out_of_sessions_is_a_cut_off_handshake() {
    let (fleet, _hog) = device_out_of_sessions(PASSWORD);
    let job = job(exec("show version"), &fleet);
    let transports = Transports::for_job(&job).unwrap();
    let (result, _) = attempt(&transports, &job, &fleet.targets()[0], &CancelToken::new());
    assert_out_of_sessions(&result.expect_err("no session left"));
}
