//! `-e process`: the conformance suite in both modes (the workers are this
//! very `fanout` binary), crashing / hanging / garbling workers (the
//! test-only FANOUT_WORKER_FAULTS hook), and no process left behind after a
//! cancelled, interrupted, killed or panicking run.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, ErrorKind, Executor, Flow, HostOutcome, Job, Phase, Status, Task, Worker,
};
use fanout_exec_process::{FAULTS_ENV, ProcessExecutor, ProcessMode};
use fanout_testkit::checks::{Delivered, run_job, targets};

use crate::support::{fanout, json_lines, run};

fn executor(mode: ProcessMode, faults: Option<&str>) -> ProcessExecutor {
    let mut builder = ProcessExecutor::builder()
        .mode(mode)
        .program(env!("CARGO_BIN_EXE_fanout"));
    if let Some(spec) = faults {
        builder = builder.env(FAULTS_ENV, spec);
    }
    builder.build()
}

mod pool {
    fn build() -> fanout_exec_process::ProcessExecutor {
        super::executor(fanout_exec_process::ProcessMode::Pool, None)
    }
    fanout_testkit::executor_conformance!(
        build,
        reference: fanout_exec_threads::Sequential::new
    );
}

mod per_host {
    fn build() -> fanout_exec_process::ProcessExecutor {
        super::executor(fanout_exec_process::ProcessMode::PerHost, None)
    }
    fanout_testkit::executor_conformance!(
        build,
        reference: fanout_exec_threads::Sequential::new
    );
}

const MODES: [ProcessMode; 2] = [ProcessMode::PerHost, ProcessMode::Pool];

fn sleep_job(ms: u64, concurrency: usize) -> Job {
    Job::new(Task::Sleep {
        duration: Duration::from_millis(ms),
    })
    .with_concurrency(concurrency)
}

/// A local task that records its pid in DIR/NAME.pid, then sleeps.
fn pid_recording_job(dir: &Path, secs: u32, concurrency: usize) -> Job {
    Job::new(Task::Local {
        argv: vec![
            "sh".into(),
            "-c".into(),
            format!(
                "echo $$ > '{}/{{name}}.pid.tmp' && mv '{0}/{{name}}.pid.tmp' '{0}/{{name}}.pid' && exec sleep {secs}",
                dir.display()
            ),
        ],
    })
    .with_concurrency(concurrency)
}

fn recorded_pids(dir: &Path) -> Vec<i32> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// `(pid, state, ppid)` of every process, from /proc/*/stat.
fn process_table() -> Vec<(i32, char, i32)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| {
            let pid = stat.split(' ').next()?.parse().ok()?;
            let mut rest = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
            let state = rest.next()?.chars().next()?;
            let ppid = rest.next()?.parse().ok()?;
            Some((pid, state, ppid))
        })
        .collect()
}

/// Every descendant of `root` (ppid walk), zombies included.
fn descendants(root: i32) -> BTreeSet<i32> {
    let table = process_table();
    let mut found = BTreeSet::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, _, ppid) in &table {
            if ppid == parent && found.insert(pid) {
                frontier.push(pid);
            }
        }
    }
    found
}

/// Whether `pid` is still around: running, or a child of this test
/// process (zombie included) that nobody reaped. Only a zombie of another
/// parent (a command whose worker died, waiting for init) counts as gone:
/// the executor must reap every worker it started.
fn lingers(pid: i32) -> bool {
    let me = std::process::id() as i32;
    process_table()
        .iter()
        .any(|&(p, state, ppid)| p == pid && ((state != 'Z' && state != 'X') || ppid == me))
}

#[test]
fn an_unreaped_child_lingers_until_it_is_reaped() {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    let zombie = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        process_table()
            .iter()
            .any(|&(p, state, _)| p == pid && state == 'Z')
    });
    assert!(zombie, "`true` exited");
    assert!(lingers(pid), "a zombie of ours is not gone");
    child.wait().unwrap();
    assert!(!lingers(pid), "reaped: gone");
}

/// Waits until none of `pids` [`lingers`]; returns those left after `within`.
fn still_running(pids: impl IntoIterator<Item = i32>, within: Duration) -> Vec<i32> {
    let pids: Vec<i32> = pids.into_iter().collect();
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| lingers(*p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_files(dir: &Path, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while recorded_pids(dir).len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} hosts started",
            recorded_pids(dir).len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn worker_pid(o: &HostOutcome) -> u32 {
    match o.worker {
        Worker::Pid(pid) => pid,
        other => panic!("process outcomes name a pid, got {other}"),
    }
}

fn crash_run(mode: ProcessMode, spec: &str, job: &Job, n: usize) -> Delivered {
    let exec = executor(mode, Some(spec));
    let t = targets(n);
    let d = run_job(&exec, job, &t, None, None);
    let by = d.by_host();
    assert_eq!(by.len(), n, "every host exactly once: {:?}", d.outcomes);
    d
}

#[test]
fn a_crashing_worker_fails_only_its_host_and_the_pool_replaces_it() {
    for mode in MODES {
        let d = crash_run(mode, "abort:h03", &sleep_job(30, 2), 8);
        let by = d.by_host();
        let h03 = &by["h03"];
        assert_eq!(
            (h03.status, h03.error_kind),
            (Status::Failed, Some(ErrorKind::WorkerCrashed)),
            "{mode}: {h03:?}"
        );
        let message = h03.message.as_deref().unwrap();
        assert!(message.contains("signal 6 (SIGABRT"), "{message}");
        assert!(
            message.contains("injected fault `Abort` on h03"),
            "the worker's stderr is in the outcome: {message}"
        );
        assert_eq!(d.count(Status::Ok), 7, "{mode}: {:?}", d.outcomes);
        let pids: BTreeSet<u32> = by.values().map(worker_pid).collect();
        let expected = match mode {
            // -c 2 workers, plus one replacing the one that crashed.
            ProcessMode::Pool => 3,
            ProcessMode::PerHost => 8,
        };
        assert_eq!(pids.len(), expected, "{mode}: {pids:?}");
        // Crashed or finished, every worker was reaped when run returned.
        let left: Vec<i32> = pids
            .iter()
            .map(|p| *p as i32)
            .filter(|p| *p != std::process::id() as i32 && lingers(*p))
            .collect();
        assert!(left.is_empty(), "{mode}: workers not reaped: {left:?}");
    }
}

#[test]
fn oom_kill_exit_and_garbage_are_reported_per_host() {
    let dir = tempfile::tempdir().unwrap();
    // h02 is SIGKILLed 300 ms into its local command (as the OOM killer
    // would), h04 exits, h06 prints garbage instead of its outcome.
    let mut job = pid_recording_job(dir.path(), 30, 3);
    job.timeouts.command = Some(Duration::from_secs(2));
    let spec = "kill:h02@300ms,exit:h04,garbage:h06";
    for mode in MODES {
        let started = Instant::now();
        let d = crash_run(mode, spec, &job, 6);
        let by = d.by_host();
        let kind = |h: &str| (by[h].status, by[h].error_kind);
        let message = |h: &str| by[h].message.clone().unwrap_or_default();
        assert_eq!(
            kind("h02"),
            (Status::Failed, Some(ErrorKind::WorkerCrashed))
        );
        assert!(
            message("h02").contains("signal 9 (SIGKILL"),
            "{}",
            message("h02")
        );
        assert_eq!(
            kind("h04"),
            (Status::Failed, Some(ErrorKind::WorkerCrashed))
        );
        assert!(
            message("h04").contains("exited with status 3"),
            "{}",
            message("h04")
        );
        assert!(
            message("h04").contains("injected fault `Exit`"),
            "{}",
            message("h04")
        );
        assert_eq!(
            kind("h06"),
            (Status::Failed, Some(ErrorKind::WorkerCrashed))
        );
        assert!(
            message("h06").contains("broke the worker protocol")
                && message("h06").contains("this is not protocol JSON"),
            "{}",
            message("h06")
        );
        for h in ["h01", "h03", "h05"] {
            assert_eq!(
                kind(h),
                (Status::Timeout, Some(ErrorKind::Timeout)),
                "{mode}: {:?}",
                by[h]
            );
        }
        assert!(started.elapsed() < Duration::from_secs(20));
        // The local command h02's worker was running when it was killed
        // was swept with the worker's session.
        let left = still_running(recorded_pids(dir.path()), Duration::from_secs(3));
        assert!(
            left.is_empty(),
            "{mode}: local commands outlived their worker: {left:?}"
        );
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
}

/// A TCP listener on loopback that records when each connection arrives
/// and closes it at once (an SSH handshake on it fails as a connect error,
/// which is retried).
fn recording_listener() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Instant>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            seen.lock().unwrap().push(Instant::now());
            drop(socket);
        }
    });
    (port, arrivals)
}

#[test]
fn the_connect_rate_holds_across_workers_and_retries() {
    for mode in MODES {
        let (port, arrivals) = recording_listener();
        let hosts: Vec<fanout_core::Target> = (1..=4)
            .map(|i| {
                let mut t = fanout_core::Target::new(format!("h{i}"), "127.0.0.1");
                t.port = port;
                t.username = Some("admin".into());
                t.credentials.password = Some(fanout_core::Secret::new("x"));
                t
            })
            .collect();
        let mut job = Job::new(Task::Exec {
            command: "show version".into(),
        })
        .with_concurrency(4);
        job.host_keys = fanout_core::HostKeyPolicy::Off;
        job.retry.retries = 2;
        job.retry.backoff = Duration::from_millis(1);
        job.retry.max_backoff = Duration::from_millis(1);
        job.limits.connect_rate = fanout_core::Rate::per_second(20.0);
        let d = run_job(&executor(mode, None), &job, &hosts, None, None);
        assert_eq!(d.outcomes.len(), 4, "{mode}");
        for (_, o) in &d.outcomes {
            assert_eq!(
                (o.error_kind, o.attempts),
                (Some(ErrorKind::Connect), 3),
                "{mode}: {o:?}"
            );
        }
        let mut at = arrivals.lock().unwrap().clone();
        at.sort();
        assert_eq!(at.len(), 12, "{mode}: 4 hosts x 3 attempts");
        // 12 attempts at 20/s are 11 intervals of 50 ms: 550 ms (allow
        // 20 %), whichever of the 4 workers makes them. A limiter per
        // worker lets retries through at up to (workers + 1) x the rate.
        let span = at[11] - at[0];
        assert!(
            span >= Duration::from_millis(440),
            "{mode}: 12 attempts within {span:?} at --connect-rate 20/s"
        );
    }
}

#[test]
fn a_hung_worker_is_killed_after_the_host_deadline_and_grace() {
    for mode in MODES {
        let mut job = sleep_job(50, 2);
        job.timeouts.host = Some(Duration::from_millis(300));
        let started = Instant::now();
        let d = crash_run(mode, "hang:h02", &job, 4);
        let by = d.by_host();
        let h02 = &by["h02"];
        assert_eq!(
            (h02.status, h02.phase),
            (Status::Timeout, Some(Phase::Host)),
            "{mode}: {h02:?}"
        );
        let message = h02.message.as_deref().unwrap();
        assert!(
            message.contains("--timeout host=") && message.contains("was killed"),
            "{message}"
        );
        assert!(
            !lingers(worker_pid(h02) as i32),
            "the hung worker is gone and reaped"
        );
        assert_eq!(d.count(Status::Ok), 3, "{mode}: {:?}", d.outcomes);
        // 300 ms deadline + 2.03 s grace, on a loaded machine.
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{mode}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn cancel_and_a_panicking_sink_leave_no_process_behind() {
    for mode in MODES {
        // Cancel while four local commands run.
        let dir = tempfile::tempdir().unwrap();
        let exec = executor(mode, None);
        let job = pid_recording_job(dir.path(), 30, 4);
        let t = targets(12);
        let cancel = CancelToken::new();
        let canceller = {
            let (cancel, dir) = (cancel.clone(), dir.path().to_path_buf());
            std::thread::spawn(move || {
                wait_for_files(&dir, 4, Duration::from_secs(20));
                cancel.cancel();
            })
        };
        let mut outcomes = Vec::new();
        let started = Instant::now();
        let summary = exec
            .run(
                &job,
                &t,
                &mut |o: HostOutcome| {
                    outcomes.push(o);
                    Flow::Continue
                },
                &cancel,
            )
            .unwrap();
        canceller.join().unwrap();
        assert_eq!(summary.hosts, 12);
        assert_eq!(summary.counts.cancelled, 12, "{outcomes:?}");
        assert!(started.elapsed() < Duration::from_secs(25));
        let workers: BTreeSet<i32> = outcomes
            .iter()
            .map(|o| worker_pid(o) as i32)
            .filter(|p| *p != std::process::id() as i32)
            .collect();
        assert_eq!(workers.len(), 4, "{mode}: four hosts were in flight");
        let left = still_running(
            workers.iter().copied().chain(recorded_pids(dir.path())),
            Duration::from_secs(2),
        );
        assert!(
            left.is_empty(),
            "{mode}: still running after cancel: {left:?}"
        );

        // A sink that panics unwinds through run: the workers die with it.
        let dir = tempfile::tempdir().unwrap();
        let mut job = pid_recording_job(dir.path(), 30, 3);
        job.task = Task::Local {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!(
                    "case {{name}} in h01) exit 0;; esac; echo $$ > '{}/{{name}}.pid'; exec sleep 30",
                    dir.path().display()
                ),
            ],
        };
        let mut seen_workers = Vec::new();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let path = dir.path().to_path_buf();
            exec.run(
                &job,
                &targets(6),
                &mut |o: HostOutcome| -> Flow {
                    seen_workers.push(worker_pid(&o) as i32);
                    wait_for_files(&path, 2, Duration::from_secs(20));
                    panic!("sink bug");
                },
                &CancelToken::new(),
            )
        }));
        assert!(panicked.is_err());
        let pids = recorded_pids(dir.path());
        assert_eq!(pids.len(), 2, "{mode}: h02 and h03 were running");
        let left = still_running(seen_workers.into_iter().chain(pids), Duration::from_secs(2));
        assert!(
            left.is_empty(),
            "{mode}: still running after the panic: {left:?}"
        );
    }
}

/// Starts `fanout run -e process` with local commands recording their
/// pids; returns the child once `n` commands run, with its process tree.
fn start_cli_run(mode: &str, dir: &Path, n: usize) -> (std::process::Child, BTreeSet<i32>) {
    let script = format!(
        "echo $$ > '{0}/{{name}}.pid.tmp' && mv '{0}/{{name}}.pid.tmp' '{0}/{{name}}.pid' && exec sleep 30",
        dir.display()
    );
    let child = fanout()
        .args([
            "run",
            "--synthetic",
            "20",
            "-e",
            "process",
            "--process-mode",
            mode,
        ])
        .args([
            "-c",
            &n.to_string(),
            "--format",
            "jsonl",
            "local",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_files(dir, n, Duration::from_secs(20));
    let tree = descendants(child.id() as i32);
    (child, tree)
}

#[test]
fn ctrl_c_stops_every_worker_and_command_and_prints_partial_results() {
    for mode in ["per-host", "pool"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, tree) = start_cli_run(mode, dir.path(), 3);
        // 3 workers, 3 sh-turned-sleep commands.
        assert!(tree.len() >= 6, "{mode}: process tree {tree:?}");
        let sent = Instant::now();
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        let mut stdout = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{mode}");
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "{:?}",
            sent.elapsed()
        );
        let lines = json_lines(&stdout);
        assert_eq!(lines.len(), 21, "{mode}: 20 hosts and a summary");
        assert_eq!(lines[20]["summary"]["cancelled"], 20, "{stdout}");
        // Everything fanout started is gone, not re-parented to init.
        let left = still_running(
            tree.iter().copied().chain(recorded_pids(dir.path())),
            Duration::from_secs(2),
        );
        assert!(left.is_empty(), "{mode}: orphans after Ctrl-C: {left:?}");
    }
}

#[test]
fn a_killed_parent_takes_its_workers_and_their_commands_along() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, tree) = start_cli_run("pool", dir.path(), 2);
    child.kill().unwrap(); // SIGKILL: no cleanup code runs in fanout
    child.wait().unwrap();
    // PR_SET_PDEATHSIG sends the workers SIGTERM: they cancel their host
    // (killing its command) and exit.
    let left = still_running(
        tree.iter().copied().chain(recorded_pids(dir.path())),
        Duration::from_secs(5),
    );
    assert!(left.is_empty(), "orphans after the parent died: {left:?}");
}

#[test]
fn cli_runs_both_modes_with_pid_workers() {
    let jsonl = |mode: &str, c: &str| {
        let r = run(&[
            "run",
            "--synthetic",
            "6",
            "-e",
            "process",
            "--process-mode",
            mode,
            "-c",
            c,
            "--format",
            "jsonl",
            "cpu",
            "100000",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        json_lines(&r.stdout)
    };
    let workers = |lines: &[serde_json::Value]| -> BTreeSet<String> {
        lines[..6]
            .iter()
            .map(|l| l["worker"].as_str().unwrap().to_string())
            .collect()
    };
    let lines = jsonl("per-host", "3");
    assert_eq!(workers(&lines).len(), 6, "a process per host");
    assert!(workers(&lines).iter().all(|w| w.starts_with("pid:")));
    assert_eq!(lines[6]["summary"]["executor"], "process");
    assert_eq!(lines[6]["summary"]["concurrency"], 3);
    let lines = jsonl("pool", "2");
    assert!(workers(&lines).len() <= 2, "two long-lived workers");
    assert_eq!(lines[6]["summary"]["concurrency"], 2);

    // A pool without -c has one worker per core.
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "-e",
        "process",
        "--format",
        "jsonl",
        "sleep",
        "1ms",
    ]);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(json_lines(&r.stdout)[2]["summary"]["concurrency"], cores);
}

#[test]
fn too_many_workers_for_the_open_file_limit_is_a_usage_error() {
    let mut cmd = fanout();
    cmd.args([
        "run",
        "--synthetic",
        "200",
        "-e",
        "process",
        "-c",
        "100",
        "sleep",
        "1ms",
    ]);
    // SAFETY: setrlimit is async-signal-safe; lowers the child's own limit.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("-c 100 worker processes need about")
            && stderr.contains("open-file limit (ulimit -n) is 64")
            && stderr.contains("lower -c to"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no host ran");
}

#[test]
fn help_teaches_the_process_modes_and_hides_the_worker() {
    let r = run(&["run", "--help"]);
    assert!(r.stdout.contains("--process-mode"), "{}", r.stdout);
    assert!(r.stdout.contains("per-host") && r.stdout.contains("multiprocessing.Pool"));
    let r = run(&["--help"]);
    assert!(!r.stdout.contains("worker"), "{}", r.stdout);
}

#[test]
fn worker_speaks_json_lines_on_stdin_and_stdout() {
    // What `fanout worker` does by hand: no job, nothing to do.
    let out = fanout()
        .arg("worker")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let mut child = fanout()
        .arg("worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"{\"type\":\"job\"}\n").unwrap();
    drop(child.stdin.take());
    let mut stderr = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut stderr)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(2));
    assert!(stderr.contains("worker protocol error"), "{stderr}");
}

#[test]
fn a_garbled_known_hosts_file_fails_the_run_before_any_host() {
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, "127.0.0.1 ssh-ed25519 not-base64!!\n").unwrap();
    let mut job = Job::new(Task::Exec {
        command: "show version".into(),
    });
    job.known_hosts = vec![known_hosts];
    for mode in MODES {
        let d = run_job(&executor(mode, None), &job, &targets(2), None, None);
        match &d.result {
            Err(fanout_core::ExecError::Setup { message, .. }) => {
                assert!(message.contains("known_hosts:1"), "{message}")
            }
            other => panic!("{mode}: expected a setup error, got {other:?}"),
        }
        assert!(d.outcomes.is_empty(), "{mode}: no host may start");
    }
}
