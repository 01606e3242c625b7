//! The async transports on their own, against the simulated fleet: an
//! attempt is a future of a job, a target, a host deadline and the host's
//! progress — nothing of a scheduler — and dropping it closes the session.

use std::time::{Duration, Instant};

use fanout_core::{HostKeyPolicy, Job, Phase, Target, Task, Worker};
use fanout_engine::{AsyncTransport, AttemptResult, HostAttempts, Progress};
use fanout_sim::Fleet;
use fanout_testkit::fleet_checks::{fleet_job, small_fleet};
use fanout_testkit::transport_checks::{
    assert_out_of_sessions, assert_rejected_login, assert_show_version, device_out_of_sessions,
};
use fanout_transport_async::Transports;

const PASSWORD: &str = "Pw-4sync-7zq";

fn fleet(faults: &str) -> Fleet {
    small_fleet(2, PASSWORD, faults)
}

fn job(fleet: &Fleet) -> Job {
    fleet_job(
        Task::Exec {
            command: "show version".into(),
        },
        fleet,
    )
}

/// One attempt on a runtime of its own (the fleet runs on another), with a
/// fresh host's progress; `stop_after` drops the attempt's future then.
fn attempt(
    transports: &Transports,
    job: &Job,
    target: &Target,
    stop_after: Option<Duration>,
) -> (Option<AttemptResult>, Progress) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut host = HostAttempts::begin(job, target, Worker::Task(0));
    let deadline = host.start_attempt().expect("time left");
    let result = runtime.block_on(async {
        let attempt = transports.attempt(job, target, deadline, host.progress_mut());
        match stop_after {
            Some(after) => tokio::time::timeout(after, attempt).await.ok(),
            None => Some(attempt.await),
        }
    });
    (result, host.progress().clone())
}

#[test]
fn an_exec_attempt_returns_the_output_and_records_each_phase() {
    let fleet = fleet("");
    let job = job(&fleet);
    let transports = Transports::for_job(&job).unwrap();
    assert!(
        transports.warnings().is_empty(),
        "strict host keys, no warning"
    );
    let (result, progress) = attempt(&transports, &job, &fleet.targets()[0], None);
    let outputs = result.unwrap().expect("the device answers");
    assert_show_version(&outputs, &progress);
}

#[test]
fn a_rejected_login_is_auth_and_never_shows_the_password() {
    let fleet = fleet("auth_fail=r2");
    let job = job(&fleet);
    let transports = Transports::for_job(&job).unwrap();
    let (result, progress) = attempt(&transports, &job, &fleet.targets()[1], None);
    let err = result.unwrap().expect_err("r2 rejects every login");
    assert_rejected_login(&err, &progress, PASSWORD);
}

#[test]
fn a_dropped_attempt_leaves_its_progress_and_closes_its_session() {
    let fleet = fleet("hang_on_command=r1");
    let job = job(&fleet);
    let transports = Transports::for_job(&job).unwrap();
    let started = Instant::now();
    let (result, progress) = attempt(
        &transports,
        &job,
        &fleet.targets()[0],
        Some(Duration::from_millis(800)),
    );
    assert!(result.is_none(), "the command never finishes");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(progress.phase, Some(Phase::Command), "it got that far");
    assert!(progress.timings.connect > Duration::ZERO);
    // The device sees the session end once the future is gone.
    let closed = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        fleet.stats().active == 0
    });
    assert!(
        closed,
        "the session outlived its attempt: {:?}",
        fleet.stats()
    );
}

#[test]
fn host_keys_off_is_a_warning_and_other_tasks_need_no_ssh() {
    let mut job = Job::new(Task::Exec {
        command: "show clock".into(),
    });
    job.host_keys = HostKeyPolicy::Off;
    let warnings = Transports::for_job(&job).unwrap().warnings();
    assert!(
        warnings.iter().any(|w| w.contains("--host-keys off")),
        "{warnings:?}"
    );
    job.task = Task::Cpu { iterations: 1 };
    job.known_hosts = vec!["/nonexistent/dir/known_hosts".into()];
    let transports = Transports::for_job(&job).expect("a cpu run reads no known_hosts");
    let (result, _) = attempt(&transports, &job, &Target::new("h1", "127.0.0.1"), None);
    let err = result
        .unwrap()
        .expect_err("a cpu task is not the transport's");
    assert!(err.message.contains("does not use SSH"), "{}", err.message);
}

#[test]
fn a_dropped_attempt_through_jump_hosts_or_a_proxy_command_closes_every_hop() {
    let fleet = Fleet::builder()
        .devices(1)
        .credentials("admin", PASSWORD, Some("en"))
        .faults("hang_on_command=r1".parse().unwrap())
        .bastions(2)
        .start()
        .unwrap();
    let job = job(&fleet);
    let transports = Transports::for_job(&job).unwrap();
    let mut jumped = fleet.targets()[0].clone();
    jumped.reach.jump = fleet
        .bastions()
        .iter()
        .map(fanout_testkit::jump_checks::hop)
        .collect();
    let mut proxied = fleet.targets()[0].clone();
    proxied.reach.proxy_command = Some(fanout_testkit::jump_checks::netcat_command(proxied.port));
    for target in [&jumped, &proxied] {
        let started = Instant::now();
        let (result, progress) =
            attempt(&transports, &job, target, Some(Duration::from_millis(1500)));
        assert!(result.is_none(), "the command never finishes");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(progress.phase, Some(Phase::Command), "it got that far");
        // The device sees its session end only when every hop (or the
        // proxy command) is gone.
        let closed = (0..150).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            fleet.stats().active == 0
        });
        assert!(closed, "a hop outlived its attempt: {:?}", fleet.stats());
    }
    let stats = fleet.bastion_stats();
    assert_eq!((stats[0].logins, stats[1].channels), (1, 1), "{stats:?}");
}

#[test]
fn a_device_out_of_sessions_is_a_cut_off_handshake() {
    let (fleet, _hog) = device_out_of_sessions(PASSWORD);
    let job = job(&fleet);
    let transports = Transports::for_job(&job).unwrap();
    let (result, _) = attempt(&transports, &job, &fleet.targets()[0], None);
    let err = result.unwrap().expect_err("no session left");
    assert_out_of_sessions(&err);
}

/// fanout builds russh from vendor/russh with its client's session state
/// boxed (vendor/russh/PATCHES.md): each of a session's four message
/// channels then holds a first block of 32 pointers, not of 32 messages.
/// `Msg` itself stays small too (552 bytes unpatched). A russh upgrade that
/// loses the patch fails here instead of silently tripling what 10,000
/// idle sessions cost (BENCHMARKS.md, 10,000 SSH sessions in flight).
#[test]
fn the_patched_russh_keeps_its_client_session_state_small() {
    use std::mem::size_of;
    assert!(
        size_of::<russh::client::Msg>() <= 96,
        "russh::client::Msg is {} bytes: is vendor/russh still patched?",
        size_of::<russh::client::Msg>()
    );
    // A client channel sends boxed messages (the patch's channel type).
    fn sends_boxed(_: &russh::Channel<Box<russh::client::Msg>>) {}
    let _ = sends_boxed;
}
