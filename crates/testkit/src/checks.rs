//! One function per rule of the executor contract. Each builds a job, runs
//! it on an executor from `make`, and panics with a message naming the
//! broken rule. [`executor_conformance!`](crate::executor_conformance)
//! turns each into a `#[test]`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, ErrorKind, ExecError, Executor, Flow, HostOutcome, Job, Phase, Rate, RunSummary,
    Status, Target, Task, cpu_burn,
};

use crate::probe::Probe;

/// Makes a fresh executor for one check.
pub type MakeExecutor<'a> = &'a dyn Fn() -> Box<dyn Executor>;

/// What one run delivered: outcomes with their arrival times, and the result.
#[derive(Debug)]
pub struct Delivered {
    /// Outcomes in arrival order, each with when it arrived.
    pub outcomes: Vec<(Instant, HostOutcome)>,
    /// What `run` returned.
    pub result: Result<RunSummary, ExecError>,
    /// When `run` was called.
    pub started: Instant,
    /// How long `run` took.
    pub elapsed: Duration,
}

impl Delivered {
    /// The summary, or a panic naming the executor's error.
    pub fn summary(&self) -> &RunSummary {
        match &self.result {
            Ok(s) => s,
            Err(e) => panic!("run returned Err for a valid job (contract rule 3): {e}"),
        }
    }

    /// Outcomes by host name (panics on a duplicate: contract rule 2).
    pub fn by_host(&self) -> BTreeMap<String, HostOutcome> {
        let mut map = BTreeMap::new();
        for (_, o) in &self.outcomes {
            if map.insert(o.host.clone(), o.clone()).is_some() {
                panic!(
                    "host `{}` was reported more than once (contract rule 2)",
                    o.host
                );
            }
        }
        map
    }

    /// Number of outcomes with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| o.status == status)
            .count()
    }
}

/// Runs `job` on `targets`, cancelling after `cancel_after` if given, and
/// stopping through the sink after `stop_after` outcomes if given.
pub fn run_job(
    exec: &dyn Executor,
    job: &Job,
    targets: &[Target],
    cancel_after: Option<Duration>,
    stop_after: Option<usize>,
) -> Delivered {
    let cancel = CancelToken::new();
    let canceller = cancel_after.map(|after| {
        let token = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            token.cancel();
        })
    });
    let mut outcomes = Vec::new();
    let started = Instant::now();
    let mut sink = |o: HostOutcome| {
        outcomes.push((Instant::now(), o));
        match stop_after {
            Some(n) if outcomes.len() >= n => Flow::Stop,
            _ => Flow::Continue,
        }
    };
    let result = exec.run(job, targets, &mut sink, &cancel);
    let elapsed = started.elapsed();
    if let Some(handle) = canceller {
        cancel.cancel();
        let _ = handle.join();
    }
    Delivered {
        outcomes,
        result,
        started,
        elapsed,
    }
}

/// `n` targets named `h01`..: odd ones in group `core` at 127.0.0.1, even
/// ones in group `edge` at 127.0.0.2 (the probe counts per address).
pub fn targets(n: usize) -> Vec<Target> {
    (1..=n)
        .map(|i| {
            let (group, address) = if i % 2 == 1 {
                ("core", "127.0.0.1")
            } else {
                ("edge", "127.0.0.2")
            };
            let mut t = Target::new(format!("h{i:02}"), address);
            t.groups.push(group.to_string());
            t
        })
        .collect()
}

fn sleep(ms: u64) -> Task {
    Task::Sleep {
        duration: Duration::from_millis(ms),
    }
}

fn local(script: &str) -> Task {
    Task::Local {
        argv: vec!["sh".into(), "-c".into(), script.into()],
    }
}

fn job(task: Task, concurrency: usize) -> Job {
    Job::new(task).with_concurrency(concurrency)
}

fn assert_all_reported(d: &Delivered, targets: &[Target]) {
    let got: BTreeSet<String> = d.by_host().into_keys().collect();
    let want: BTreeSet<String> = targets.iter().map(|t| t.name.clone()).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty(),
        "hosts never reported (contract rule 2): {missing:?}; the run returned {:?}",
        d.result
    );
    assert!(
        extra.is_empty(),
        "outcomes for unknown hosts (contract rule 2): {extra:?}"
    );
    let s = d.summary();
    assert_eq!(
        s.hosts,
        targets.len(),
        "summary.hosts must count every outcome (rule 9)"
    );
    assert_eq!(
        (
            s.counts.ok,
            s.counts.failed,
            s.counts.timeout,
            s.counts.cancelled
        ),
        (
            d.count(Status::Ok),
            d.count(Status::Failed),
            d.count(Status::Timeout),
            d.count(Status::Cancelled)
        ),
        "summary counts must match the outcomes delivered (rule 9)"
    );
}

/// Rule 1: invalid jobs are `Err` before any outcome.
pub fn rejects_before_any_outcome(make: MakeExecutor<'_>) {
    let exec = make();
    let d = run_job(exec.as_ref(), &job(sleep(1), 0), &targets(3), None, None);
    assert!(
        matches!(d.result, Err(ExecError::Job(_))),
        "concurrency 0 must be rejected, got {:?}",
        d.result
    );
    assert!(
        d.outcomes.is_empty(),
        "no outcome may be delivered for a rejected job"
    );
}

/// Sleep tasks: ok, one attempt, command time at least the sleep.
pub fn sleep_outcomes(make: MakeExecutor<'_>) {
    let exec = make();
    let t = targets(4);
    let d = run_job(exec.as_ref(), &job(sleep(30), 4), &t, None, None);
    assert_all_reported(&d, &t);
    for (_, o) in &d.outcomes {
        assert_eq!(o.status, Status::Ok, "{o:?}");
        assert_eq!((o.attempts, o.error_kind), (1, None), "{o:?}");
        assert!(
            o.timings.command >= Duration::from_millis(30),
            "command time below the sleep: {o:?}"
        );
        assert!(
            o.timings.total >= o.timings.command,
            "total below command time: {o:?}"
        );
    }
}

/// Cpu tasks: the digest every executor must produce for the same work.
pub fn cpu_outcomes(make: MakeExecutor<'_>) {
    let exec = make();
    let iterations = 300_000;
    let want = format!(
        "{:016x}\n",
        cpu_burn(iterations, || true).unwrap_or_default()
    );
    let t = targets(3);
    let d = run_job(
        exec.as_ref(),
        &job(Task::Cpu { iterations }, 2),
        &t,
        None,
        None,
    );
    assert_all_reported(&d, &t);
    for (_, o) in &d.outcomes {
        assert_eq!(o.status, Status::Ok, "{o:?}");
        assert_eq!(o.outputs.len(), 1, "{o:?}");
        assert_eq!(o.outputs[0].command, format!("cpu {iterations}"));
        assert_eq!(
            o.outputs[0].stdout, want,
            "cpu digest differs from fanout_core::cpu_burn"
        );
    }
}

/// Local tasks: templating, stdout/stderr/exit status, failures, spawn errors.
pub fn local_outcomes(make: MakeExecutor<'_>) {
    let exec = make();
    let mut t = targets(2);
    t[1].port = 2202;
    let echo = Task::Local {
        argv: ["echo", "{name}", "{host}", "{port}"]
            .map(String::from)
            .to_vec(),
    };
    let d = run_job(exec.as_ref(), &job(echo, 2), &t, None, None);
    assert_all_reported(&d, &t);
    let by = d.by_host();
    let h02 = &by["h02"];
    assert_eq!(h02.status, Status::Ok, "{h02:?}");
    assert_eq!(h02.outputs[0].stdout, "h02 127.0.0.2 2202\n");
    assert_eq!(h02.outputs[0].command, "echo h02 127.0.0.2 2202");
    assert_eq!(h02.outputs[0].exit_status, Some(0));

    let d = run_job(
        exec.as_ref(),
        &job(local("echo out; echo err >&2; exit 3"), 2),
        &t,
        None,
        None,
    );
    for (_, o) in &d.outcomes {
        assert_eq!(
            (o.status, o.error_kind),
            (Status::Failed, Some(ErrorKind::CommandFailed)),
            "{o:?}"
        );
        assert_eq!(o.outputs[0].exit_status, Some(3), "{o:?}");
        assert_eq!(o.outputs[0].stdout, "out\n");
        assert_eq!(o.outputs[0].stderr.as_deref(), Some("err\n"));
        assert!(
            o.message.as_deref().unwrap_or("").contains("status 3"),
            "{o:?}"
        );
    }

    let missing = Task::Local {
        argv: vec!["/nonexistent/fanout-no-such-program".into()],
    };
    let d = run_job(exec.as_ref(), &job(missing, 2), &t, None, None);
    assert_all_reported(&d, &t);
    for (_, o) in &d.outcomes {
        assert_eq!(o.error_kind, Some(ErrorKind::CommandFailed), "{o:?}");
        assert!(
            o.message
                .as_deref()
                .unwrap_or("")
                .contains("could not start"),
            "{o:?}"
        );
    }
}

/// 20 hosts: names ending in 3 fail, in 7 hang past the command timeout.
fn mixed(make: MakeExecutor<'_>) -> (Delivered, Vec<Target>) {
    let exec = make();
    let t = targets(20);
    let mut j = job(
        local("case {name} in *3) echo boom; exit 1;; *7) sleep 30;; esac; echo fine"),
        8,
    );
    // Long enough for a slow fork on a loaded machine, short enough for seq.
    j.timeouts.command = Some(Duration::from_secs(1));
    let d = run_job(exec.as_ref(), &j, &t, None, None);
    (d, t)
}

/// Rule 2: every target yields exactly one outcome, even when many fail.
pub fn every_host_reported_exactly_once(make: MakeExecutor<'_>) {
    let (d, t) = mixed(make);
    assert_all_reported(&d, &t);
}

/// Rule 3: one host's failure or timeout never affects the others.
pub fn failures_stay_per_host(make: MakeExecutor<'_>) {
    let (d, t) = mixed(make);
    assert_all_reported(&d, &t);
    for (name, o) in d.by_host() {
        let (status, kind) = match name.chars().last() {
            Some('3') => (Status::Failed, Some(ErrorKind::CommandFailed)),
            Some('7') => (Status::Timeout, Some(ErrorKind::Timeout)),
            _ => (Status::Ok, None),
        };
        assert_eq!(
            (o.status, o.error_kind),
            (status, kind),
            "wrong outcome for {name}: {o:?}"
        );
        if status == Status::Ok {
            assert_eq!(o.outputs[0].stdout, "fine\n", "{o:?}");
        }
    }
}

/// Rule 6: a command that outlives its timeout ends `timeout` in `command`.
pub fn command_timeout(make: MakeExecutor<'_>) {
    let exec = make();
    for task in [sleep(10_000), local("sleep 10")] {
        let t = targets(3);
        let mut j = job(task, 3);
        j.timeouts.command = Some(Duration::from_millis(150));
        let d = run_job(exec.as_ref(), &j, &t, None, None);
        assert_all_reported(&d, &t);
        assert!(
            d.elapsed < Duration::from_secs(5),
            "timeouts did not stop the hosts: {:?}",
            d.elapsed
        );
        for (_, o) in &d.outcomes {
            assert_eq!(
                (o.status, o.phase),
                (Status::Timeout, Some(Phase::Command)),
                "host did not end `timeout` in phase command (rule 6): {o:?}"
            );
        }
    }
}

/// Rule 6: the whole-host timeout bounds a host whose phases have none.
pub fn host_timeout(make: MakeExecutor<'_>) {
    let exec = make();
    let t = targets(2);
    let mut j = job(sleep(10_000), 2);
    j.timeouts.command = None;
    j.timeouts.host = Some(Duration::from_millis(200));
    let d = run_job(exec.as_ref(), &j, &t, None, None);
    assert_all_reported(&d, &t);
    assert!(
        d.elapsed < Duration::from_secs(5),
        "host timeout did not stop the hosts: {:?}",
        d.elapsed
    );
    for (_, o) in &d.outcomes {
        assert_eq!(
            (o.status, o.phase),
            (Status::Timeout, Some(Phase::Host)),
            "host did not end `timeout` in phase host (rule 6): {o:?}"
        );
    }
}

/// Rule 7: retries happen when the policy allows, and are counted.
pub fn retries_counted(make: MakeExecutor<'_>) {
    let exec = make();
    let run = |task: Task, retry_commands: bool| {
        let mut j = job(task, 2);
        j.timeouts.command = Some(Duration::from_millis(50));
        j.retry.retries = 2;
        j.retry.backoff = Duration::from_millis(10);
        j.retry.retry_commands = retry_commands;
        run_job(exec.as_ref(), &j, &targets(2), None, None)
    };
    let attempts = |d: &Delivered| {
        d.outcomes
            .iter()
            .map(|(_, o)| o.attempts)
            .collect::<Vec<_>>()
    };
    {
        let d = run(sleep(5_000), false);
        assert_eq!(
            attempts(&d),
            [3, 3],
            "a read-only task timing out is retried twice: {:?}",
            d.outcomes
        );
        assert_eq!(d.count(Status::Timeout), 2);
    }
    {
        let d = run(local("sleep 5"), false);
        assert_eq!(
            attempts(&d),
            [1, 1],
            "a local command that may have applied must not be re-run"
        );
        let d = run(local("sleep 5"), true);
        assert_eq!(
            attempts(&d),
            [3, 3],
            "--retry-commands re-runs timed-out commands"
        );
        let mut j = job(local("exit 1"), 2);
        j.retry.retries = 2;
        j.retry.retry_commands = true;
        let d = run_job(exec.as_ref(), &j, &targets(2), None, None);
        assert_eq!(attempts(&d), [1, 1], "a command that failed is not retried");
    }
}

/// Rule 8: cancelling mid-run stops promptly and reports everything. The
/// cancel comes when the first host has finished ok (however loaded the
/// machine): one more is then mid-sleep and 38 are not started.
pub fn cancellation_mid_run(make: MakeExecutor<'_>) {
    let exec = make();
    let t = targets(40);
    let cancel = CancelToken::new();
    let mut cancelled_at = None;
    let mut outcomes = Vec::new();
    let started = Instant::now();
    let mut sink = |o: HostOutcome| {
        if o.status == Status::Ok && cancelled_at.is_none() {
            cancelled_at = Some(Instant::now());
            cancel.cancel();
        }
        outcomes.push((Instant::now(), o));
        Flow::Continue
    };
    // Uncancelled this takes >= 2 s even at -c 2; cancelled, it must stop
    // within one 100 ms host (plus slack for a loaded machine).
    let result = exec.run(&job(sleep(100), 2), &t, &mut sink, &cancel);
    let stopping = cancelled_at.map(|at| at.elapsed());
    let d = Delivered {
        outcomes,
        result,
        started,
        elapsed: started.elapsed(),
    };
    assert_all_reported(&d, &t);
    assert!(
        d.count(Status::Ok) >= 1,
        "hosts finished before the cancel must stay ok"
    );
    let stopping = stopping.expect("a host finished ok, so the run was cancelled");
    assert!(
        stopping < Duration::from_millis(1000),
        "cancellation took {stopping:?} to stop the run (from the cancel to the run's return)"
    );
    assert!(
        d.count(Status::Cancelled) >= 20,
        "hosts not started must be reported cancelled"
    );
    for (_, o) in &d.outcomes {
        if o.status == Status::Cancelled {
            assert_eq!(o.error_kind, Some(ErrorKind::Cancelled), "{o:?}");
        }
    }
}

/// Rule 8: a sink returning `Flow::Stop` stops the run like a cancel.
pub fn sink_stop(make: MakeExecutor<'_>) {
    let exec = make();
    let t = targets(10);
    let d = run_job(exec.as_ref(), &job(sleep(30), 1), &t, None, Some(1));
    assert_all_reported(&d, &t);
    assert!(
        d.count(Status::Cancelled) >= 7,
        "hosts after Flow::Stop must be cancelled: {:?}",
        d.outcomes
    );
}

/// Rule 5: never more hosts in flight than `-c` (or the executor's own
/// bound), counted by the hosts themselves.
pub fn concurrency_never_exceeded(make: MakeExecutor<'_>) {
    let exec = make();
    let probe = Probe::new();
    let t = targets(12);
    let j = job(
        Task::Local {
            argv: probe.argv(Duration::from_millis(150)),
        },
        3,
    );
    let bound = exec.concurrency(&j);
    assert!(
        (1..=3).contains(&bound),
        "executor claims concurrency {bound} for -c 3"
    );
    let d = run_job(exec.as_ref(), &j, &t, None, None);
    assert_all_reported(&d, &t);
    assert_eq!(
        d.summary().concurrency,
        bound,
        "summary.concurrency must be the executor's bound"
    );
    assert_eq!(
        probe.intervals().len(),
        12,
        "every probe must have run: {:?}",
        d.outcomes
    );
    let seen = probe.max_in_flight();
    assert!(seen >= 1, "the probe counted nothing");
    assert!(
        seen <= bound,
        "{seen} hosts ran at once with concurrency {bound} (rule 5)"
    );
}

/// Rule 5: per-group caps hold, counted by the hosts themselves.
pub fn per_group_caps(make: MakeExecutor<'_>) {
    let exec = make();
    let probe = Probe::new();
    let t = targets(8);
    let mut j = job(
        Task::Local {
            argv: probe.argv(Duration::from_millis(120)),
        },
        4,
    );
    j.limits.per_group.insert("core".into(), 1);
    let d = run_job(exec.as_ref(), &j, &t, None, None);
    assert_all_reported(&d, &t);
    assert_eq!(probe.intervals().len(), 8, "every probe must have run");
    // Group core is exactly the hosts at 127.0.0.1.
    let seen = probe.max_in_flight_at("127.0.0.1");
    assert!(seen >= 1, "the probe counted nothing");
    assert!(
        seen <= 1,
        "{seen} hosts of group core ran at once with --per-group core=1 (rule 5)"
    );
    assert!(probe.max_in_flight() <= exec.concurrency(&j));
}

/// Rule 5: host attempts start no faster than the connect rate.
pub fn connect_rate(make: MakeExecutor<'_>) {
    let exec = make();
    let probe = Probe::new();
    let t = targets(6);
    let mut j = job(
        Task::Local {
            argv: probe.stamp_argv(),
        },
        6,
    );
    j.limits.connect_rate = Rate::per_second(10.0);
    let d = run_job(exec.as_ref(), &j, &t, None, None);
    assert_all_reported(&d, &t);
    let mut begins: Vec<u128> = probe.intervals().values().map(|i| i.begin).collect();
    begins.sort();
    assert_eq!(begins.len(), 6);
    let span_ms = (begins[5] - begins[0]) / 1_000_000;
    // 6 starts at 10/s are 5 intervals of 100 ms: 500 ms (allow 20 %);
    // unlimited, the cheap probes start within a few ms of each other.
    assert!(
        span_ms >= 400,
        "6 hosts started within {span_ms} ms at --connect-rate 10/s (rule 5)"
    );
}

/// Rule 5, per jump host: attempts through each first jump hop start no
/// faster than `--per-jump-rate`, each hop on its own (4 hosts behind b1,
/// 2 behind b2, 2 dialled directly; local probes, so no hop is dialled).
pub fn per_jump_rate(make: MakeExecutor<'_>) {
    let exec = make();
    let probe = Probe::new();
    let mut t = targets(8);
    for (i, target) in t.iter_mut().enumerate() {
        let bastion = match i {
            0..4 => "127.0.0.61",
            4..6 => "127.0.0.62",
            _ => continue,
        };
        target.reach.jump = vec![fanout_core::JumpHop {
            host: bastion.into(),
            port: 22,
            ..fanout_core::JumpHop::default()
        }];
    }
    let mut j = job(
        Task::Local {
            argv: probe.stamp_argv(),
        },
        8,
    );
    j.limits.per_jump_rate = Rate::per_second(2.0);
    let d = run_job(exec.as_ref(), &j, &t, None, None);
    assert_all_reported(&d, &t);
    let intervals = probe.intervals();
    let span_ms = |names: &[Target]| {
        let mut begins: Vec<u128> = names.iter().map(|t| intervals[&t.name].begin).collect();
        begins.sort();
        (begins[begins.len() - 1] - begins[0]) / 1_000_000
    };
    // At 2/s, 4 starts are 3 intervals of 500 ms, 2 are one (allow 20 %:
    // a start stamp can be late, never early).
    let (b1, b2) = (span_ms(&t[0..4]), span_ms(&t[4..6]));
    assert!(
        b1 >= 1200,
        "4 hosts behind one jump host started within {b1} ms at --per-jump-rate 2/s (rule 5)"
    );
    assert!(
        b2 >= 400,
        "2 hosts behind another jump host started within {b2} ms at --per-jump-rate 2/s (rule 5)"
    );
}

/// Rule 4: outcomes arrive as hosts complete, not batched at the end.
pub fn streams_as_completed(make: MakeExecutor<'_>) {
    let exec = make();
    let t = targets(5);
    let d = run_job(exec.as_ref(), &job(sleep(120), 1), &t, None, None);
    assert_all_reported(&d, &t);
    let first = d.outcomes[0].0 - d.started;
    assert!(
        first.as_secs_f64() < d.elapsed.as_secs_f64() * 0.6,
        "first outcome arrived after {first:?} of a {:?} run: outcomes must stream (rule 4)",
        d.elapsed
    );
}

/// A local command leaves nothing running: what it started in the
/// background dies when it exits, times out or is cancelled.
pub fn local_commands_leave_nothing_behind(make: MakeExecutor<'_>) {
    let exec = make();
    let probe = Probe::new();
    let dir = probe.path().display().to_string();
    let spawn = format!("sleep 60 & echo $! > '{dir}/{{name}}.pid'; echo started");
    let exited = targets(2);
    let d = run_job(exec.as_ref(), &job(local(&spawn), 2), &exited, None, None);
    assert!(
        d.elapsed < Duration::from_secs(10),
        "a background child kept the host waiting {:?}",
        d.elapsed
    );
    assert_eq!(d.count(Status::Ok), 2, "{:?}", d.outcomes);
    let mut j = job(local(&format!("{spawn}; sleep 60")), 2);
    j.timeouts.command = Some(Duration::from_millis(300));
    let timed_out: Vec<Target> = targets(4).split_off(2);
    let d = run_job(exec.as_ref(), &j, &timed_out, None, None);
    assert_eq!(d.count(Status::Timeout), 2, "{:?}", d.outcomes);
    for target in exited.iter().chain(&timed_out) {
        let pid = std::fs::read_to_string(probe.path().join(format!("{}.pid", target.name)))
            .expect("the command recorded its background pid");
        let stat = std::path::Path::new("/proc").join(pid.trim()).join("stat");
        // Gone, or a zombie waiting for init to reap it.
        let running = || {
            std::fs::read_to_string(&stat).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
        };
        let gone = (0..100).any(|_| {
            let alive = running();
            if alive {
                std::thread::sleep(Duration::from_millis(20));
            }
            !alive
        });
        assert!(
            gone,
            "background child {} of {} still runs",
            pid.trim(),
            target.name
        );
    }
}
