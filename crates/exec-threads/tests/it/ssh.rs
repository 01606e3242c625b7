//! The ssh2 transport against the simulated fleet: exec and cli on every
//! blocking executor, each fault knob mapped to its error kind, host-key
//! policies, key authentication and cancellation of hung sessions.

use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, CliMode, CollectSink, ErrorKind, Executor, HostKeyPolicy, HostOutcome, Job, Phase,
    Status, Target, Task,
};
use fanout_exec_threads::{Rayon, Sequential, ThreadPool};
use fanout_sim::{Fleet, FleetBuilder};

/// Distinctive credentials, so a test can tell that no message leaks them.
const PASSWORD: &str = "Pw-7f3kQ9zX";
const SECRET: &str = "En-4x8Jw2mV";

fn start(builder: FleetBuilder) -> Fleet {
    builder
        .credentials("admin", PASSWORD, Some(SECRET))
        .start()
        .expect("the simulated fleet starts")
}

/// Asserts that no secret appears in the outcome's message or outputs.
fn assert_no_secret(o: &HostOutcome, secrets: &[&str]) {
    let shown = format!("{} {:?}", o.message.as_deref().unwrap_or(""), o.outputs);
    for secret in secrets {
        assert!(!shown.contains(secret), "`{secret}` leaked: {o:?}");
    }
}

fn exec(command: &str) -> Task {
    Task::Exec {
        command: command.into(),
    }
}

fn job(task: Task, fleet: &Fleet) -> Job {
    let mut job = Job::new(task).with_concurrency(8);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    job.timeouts.connect = Some(Duration::from_secs(5));
    job.timeouts.auth = Some(Duration::from_secs(5));
    // Generous: a debug build on a loaded 2-core box is slow.
    job.timeouts.command = Some(Duration::from_secs(5));
    job
}

fn run(exec: &dyn Executor, job: &Job, targets: &[Target]) -> Vec<HostOutcome> {
    let mut sink = CollectSink::default();
    let summary = exec
        .run(job, targets, &mut sink, &CancelToken::new())
        .expect("the run starts");
    assert_eq!(summary.hosts, targets.len(), "every host reported once");
    let mut outcomes = sink.outcomes;
    outcomes.sort_by(|a, b| a.host.cmp(&b.host));
    outcomes
}

fn executors() -> Vec<Box<dyn Executor>> {
    vec![
        Box::new(Sequential::new()),
        Box::new(ThreadPool::new()),
        Box::new(Rayon::new()),
    ]
}

fn find<'a>(outcomes: &'a [HostOutcome], host: &str) -> &'a HostOutcome {
    outcomes
        .iter()
        .find(|o| o.host == host)
        .unwrap_or_else(|| panic!("no outcome for {host}: {outcomes:?}"))
}

#[test]
fn exec_runs_on_every_blocking_executor() {
    let fleet = start(Fleet::builder().devices(4));
    let job = job(exec("show version"), &fleet);
    for executor in executors() {
        let outcomes = run(executor.as_ref(), &job, &fleet.targets());
        for o in &outcomes {
            assert_eq!(o.status, Status::Ok, "{}: {o:?}", executor.name());
            let out = &o.outputs[0];
            assert_eq!(out.command, "show version");
            assert!(out.stdout.contains("Cisco IOS Software"), "{out:?}");
            assert!(
                out.stdout.contains(&format!("{} uptime is", o.host)),
                "{out:?}"
            );
            assert_eq!(out.exit_status, Some(0));
            assert!(o.timings.connect > Duration::ZERO && o.timings.command > Duration::ZERO);
        }
    }
    // Each session ended before the next started on the device side: never
    // more sessions than hosts in flight.
    assert!(fleet.stats().max_active <= 8, "{:?}", fleet.stats());
}

#[test]
fn a_failing_command_keeps_its_output_and_exit_status() {
    let fleet = start(Fleet::builder().devices(1));
    let outcomes = run(
        &ThreadPool::new(),
        &job(exec("show bogus"), &fleet),
        &fleet.targets(),
    );
    let o = &outcomes[0];
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::CommandFailed)),
        "{o:?}"
    );
    assert_eq!(o.outputs[0].exit_status, Some(1), "{o:?}");
    assert!(o.outputs[0].stdout.contains("% Invalid input"), "{o:?}");
    assert!(
        o.message.as_deref().unwrap_or("").contains("status 1"),
        "{o:?}"
    );
}

#[test]
fn every_fault_maps_to_its_error_kind() {
    let fleet = start(
        Fleet::builder()
            .devices(8)
            .slow_banner_delay(Duration::from_millis(600))
            .faults(
                "refuse=r1,auth_fail=r2,hang_on_connect=r3,hang_on_command=r4,drop_mid_output=r5,\
                 wrong_host_key=r6,legacy_algorithms=r7,slow_banner=r8"
                    .parse()
                    .unwrap(),
            ),
    );
    let mut targets = fleet.targets();
    // r8 once more, with a connect timeout shorter than its banner delay.
    let mut impatient = targets[7].clone();
    impatient.name = "r8-impatient".into();
    impatient.timeouts.connect = Some(Duration::from_millis(200));
    targets.push(impatient);
    let mut job = job(exec("show version"), &fleet);
    job.timeouts.connect = Some(Duration::from_secs(2));
    job.timeouts.command = Some(Duration::from_millis(800));
    let started = Instant::now();
    let outcomes = run(&ThreadPool::new(), &job, &targets);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "hung devices held the run for {:?}",
        started.elapsed()
    );
    let expect = |host: &str, status: Status, kind: ErrorKind, phase: Option<Phase>| {
        let o = find(&outcomes, host);
        assert_eq!(
            (o.status, o.error_kind, o.phase),
            (status, Some(kind), phase),
            "{host}: {o:?}"
        );
        o
    };
    let o = expect("r1", Status::Failed, ErrorKind::Connect, None);
    assert!(o.message.as_deref().unwrap().contains("refused"), "{o:?}");
    let o = expect("r2", Status::Failed, ErrorKind::Auth, None);
    assert!(o.message.as_deref().unwrap().contains("password"), "{o:?}");
    assert_no_secret(o, &[PASSWORD, SECRET]);
    expect(
        "r3",
        Status::Timeout,
        ErrorKind::Timeout,
        Some(Phase::Connect),
    );
    let o = expect(
        "r4",
        Status::Timeout,
        ErrorKind::Timeout,
        Some(Phase::Command),
    );
    assert!(
        o.message
            .as_deref()
            .unwrap()
            .contains("no output was received"),
        "{o:?}"
    );
    let o = expect("r5", Status::Failed, ErrorKind::Channel, None);
    assert!(
        o.outputs[0].stdout.contains("Cisco IOS Software"),
        "partial output kept: {o:?}"
    );
    assert!(o.outputs[0].stdout.len() < 1500, "only part of it: {o:?}");
    let o = expect("r6", Status::Failed, ErrorKind::HostKey, None);
    assert!(o.message.as_deref().unwrap().contains("SHA256:"), "{o:?}");
    let r7 = find(&outcomes, "r7");
    assert!(
        r7.status == Status::Ok && r7.outputs[0].stdout.contains("Cisco IOS Software"),
        "legacy algorithms (SHA-1 kex, hmac-sha1) are offered last and reach the device: {r7:?}"
    );
    assert_eq!(find(&outcomes, "r8").status, Status::Ok);
    expect(
        "r8-impatient",
        Status::Timeout,
        ErrorKind::Timeout,
        Some(Phase::Connect),
    );
}

#[test]
fn host_key_policies() {
    let fleet = start(Fleet::builder().devices(2));
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("known_hosts");
    std::fs::write(&empty, "").unwrap();
    let mut job = job(exec("show clock"), &fleet);
    job.known_hosts = vec![empty.clone()];
    let outcomes = run(&ThreadPool::new(), &job, &fleet.targets());
    for o in &outcomes {
        assert_eq!(
            o.error_kind,
            Some(ErrorKind::HostKey),
            "strict, unknown: {o:?}"
        );
        assert!(
            o.message.as_deref().unwrap().contains("accept-new"),
            "{o:?}"
        );
    }
    job.host_keys = HostKeyPolicy::AcceptNew;
    let outcomes = run(&ThreadPool::new(), &job, &fleet.targets());
    assert!(outcomes.iter().all(HostOutcome::is_ok), "{outcomes:?}");
    let written = std::fs::read_to_string(&empty).unwrap();
    for t in fleet.targets() {
        assert!(
            written.contains(&format!("[{}]:{} ssh-ed25519 ", t.address, t.port)),
            "{written}"
        );
    }
    job.host_keys = HostKeyPolicy::Strict;
    let outcomes = run(&Sequential::new(), &job, &fleet.targets());
    assert!(
        outcomes.iter().all(HostOutcome::is_ok),
        "now known: {outcomes:?}"
    );
}

#[test]
fn a_garbled_known_hosts_file_stops_the_run_before_any_host() {
    let fleet = start(Fleet::builder().devices(1));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("known_hosts");
    std::fs::write(&bad, "this is not a known_hosts line\n").unwrap();
    let mut job = job(exec("show clock"), &fleet);
    job.known_hosts = vec![bad];
    for executor in executors() {
        let mut sink = CollectSink::default();
        let err = executor
            .run(&job, &fleet.targets(), &mut sink, &CancelToken::new())
            .expect_err("a bad known_hosts is a setup error");
        assert!(err.to_string().contains("known_hosts:1"), "{err}");
        assert!(sink.outcomes.is_empty());
    }
}

#[test]
fn key_file_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_fleet");
    let fleet = start(Fleet::builder().devices(2).client_key_out(&key));
    let mut targets = fleet.targets();
    for t in &mut targets {
        t.credentials.password = None;
        assert_eq!(t.credentials.key_file.as_deref(), Some(key.as_path()));
    }
    let outcomes = run(
        &ThreadPool::new(),
        &job(exec("show clock"), &fleet),
        &targets,
    );
    assert!(outcomes.iter().all(HostOutcome::is_ok), "{outcomes:?}");

    targets[0].credentials.key_file = Some(dir.path().join("missing"));
    let outcomes = run(
        &Sequential::new(),
        &job(exec("show clock"), &fleet),
        &targets[..1],
    );
    let o = &outcomes[0];
    assert_eq!(o.error_kind, Some(ErrorKind::Auth), "{o:?}");
    assert!(
        o.message
            .as_deref()
            .unwrap()
            .contains("cannot read key file"),
        "{o:?}"
    );
}

#[test]
fn cli_dialog_enable_and_rejected_commands() {
    let fleet = start(Fleet::builder().devices(2));
    let cli = |commands: &[&str], mode| Task::Cli {
        commands: commands.iter().map(|c| c.to_string()).collect(),
        mode,
    };
    let job1 = job(
        cli(&["show clock", "show privilege"], CliMode::Enable),
        &fleet,
    );
    let outcomes = run(&ThreadPool::new(), &job1, &fleet.targets());
    for o in &outcomes {
        assert_eq!(o.status, Status::Ok, "{o:?}");
        assert_eq!(o.outputs.len(), 2, "{o:?}");
        assert!(o.outputs[0].stdout.contains("UTC"), "{o:?}");
        assert!(o.outputs[1].stdout.contains("15"), "enable level: {o:?}");
        assert!(
            !o.outputs[0].stdout.contains("show clock"),
            "echo removed: {o:?}"
        );
    }
    let job2 = job(cli(&["show clock", "show bogus"], CliMode::User), &fleet);
    let outcomes = run(&Rayon::new(), &job2, &fleet.targets());
    for o in &outcomes {
        assert_eq!(o.error_kind, Some(ErrorKind::CommandFailed), "{o:?}");
        assert_eq!(o.outputs.len(), 2, "outputs up to the failure: {o:?}");
    }
}

#[test]
fn a_rejected_enable_secret_is_an_auth_failure_that_shows_no_secret() {
    let fleet = start(Fleet::builder().devices(2));
    let wrong = "Wr-9q2LpT5c";
    let mut targets = fleet.targets();
    targets[0].secret = Some(fanout_core::Secret::new(wrong));
    let job = job(
        Task::Cli {
            commands: vec!["show privilege".into()],
            mode: CliMode::Enable,
        },
        &fleet,
    );
    let outcomes = run(&Sequential::new(), &job, &targets);
    let rejected = find(&outcomes, &targets[0].name);
    assert_eq!(
        (rejected.status, rejected.error_kind),
        (Status::Failed, Some(ErrorKind::Auth)),
        "{rejected:?}"
    );
    assert!(
        rejected.message.as_deref().unwrap().contains("secret"),
        "says what to fix: {rejected:?}"
    );
    assert_no_secret(rejected, &[wrong, SECRET, PASSWORD]);
    let ok = find(&outcomes, &targets[1].name);
    assert_eq!(ok.status, Status::Ok, "the right secret works: {ok:?}");
    assert_no_secret(ok, &[SECRET, PASSWORD]);
}

#[test]
fn hung_cli_times_out_with_the_last_output_seen() {
    let fleet = start(
        Fleet::builder()
            .devices(1)
            .faults("hang_on_command=r1".parse().unwrap()),
    );
    let mut job = job(
        Task::Cli {
            commands: vec!["show clock".into()],
            mode: CliMode::User,
        },
        &fleet,
    );
    job.timeouts.command = Some(Duration::from_millis(700));
    let outcomes = run(&Sequential::new(), &job, &fleet.targets());
    let o = &outcomes[0];
    assert_eq!(
        (o.status, o.phase),
        (Status::Timeout, Some(Phase::Command)),
        "{o:?}"
    );
    assert!(
        o.message.as_deref().unwrap().contains("last output"),
        "{o:?}"
    );
}

#[test]
fn cancelling_closes_hung_sessions_within_a_tick() {
    let fleet = start(
        Fleet::builder()
            .devices(6)
            .faults("hang_on_command=100%".parse().unwrap()),
    );
    let mut job = job(exec("show version"), &fleet);
    job.timeouts.command = Some(Duration::from_secs(60));
    for executor in [
        Box::new(ThreadPool::new()) as Box<dyn Executor>,
        Box::new(Rayon::builder().threads(6).build().unwrap()),
    ] {
        let cancel = CancelToken::new();
        let canceller = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                // Long enough for every host to be waiting on its command.
                std::thread::sleep(Duration::from_millis(1500));
                cancel.cancel();
                Instant::now()
            })
        };
        let mut sink = CollectSink::default();
        executor
            .run(&job, &fleet.targets(), &mut sink, &cancel)
            .unwrap();
        let stopped = Instant::now();
        let cancelled_at = canceller.join().unwrap();
        let late = stopped.saturating_duration_since(cancelled_at);
        // One 100 ms tick, plus slack for a loaded machine.
        assert!(
            late < Duration::from_millis(600),
            "{}: run ended {late:?} after the cancel",
            executor.name()
        );
        assert_eq!(sink.outcomes.len(), 6);
        for o in &sink.outcomes {
            assert_eq!(o.status, Status::Cancelled, "{o:?}");
            assert_eq!(o.attempts, 1, "{o:?}");
        }
    }
}
