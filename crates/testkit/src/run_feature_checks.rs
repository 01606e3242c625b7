//! Run features every executor must wire the same way: `--max-fail` /
//! `--fail-fast` (the run's `FailGate`, checked before each host starts)
//! and the run's observer (hosts started and finished while they run).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fanout_core::{HostOutcome, Job, MaxFail, Observer, RunObserver, Status, Task};

use crate::checks::{MakeExecutor, run_job, targets};

fn local_job(script: &str, max_fail: Option<MaxFail>) -> Job {
    let mut job = Job::new(Task::Local {
        argv: vec!["sh".into(), "-c".into(), script.into()],
    })
    .with_concurrency(1);
    job.limits.max_fail = max_fail;
    job
}

fn counts(d: &crate::checks::Delivered) -> [usize; 4] {
    [
        Status::Ok,
        Status::Failed,
        Status::Timeout,
        Status::Cancelled,
    ]
    .map(|s| d.count(s))
}

/// One host at a time: after the failures `--max-fail` allows, no host
/// starts; those never started are `cancelled` with 0 attempts, and every
/// host is still reported once.
pub fn max_fail_stops_starting_hosts(make: MakeExecutor<'_>) {
    let exec = make();
    let t = targets(10);
    let d = run_job(
        &*exec,
        &local_job("test {name} != h03", Some(MaxFail::FIRST)),
        &t,
        None,
        None,
    );
    assert_eq!(counts(&d), [2, 1, 0, 7], "fail-fast: {:?}", d.outcomes);
    assert_eq!(d.by_host().len(), 10, "every host reported once");
    for o in d
        .by_host()
        .values()
        .filter(|o| o.status == Status::Cancelled)
    {
        assert_eq!(o.attempts, 0, "a host after the limit never starts: {o:?}");
    }
    let even = "case {name} in *[02468]) exit 1;; esac";
    let d = run_job(
        &*exec,
        &local_job(even, Some(MaxFail::Count(2))),
        &t,
        None,
        None,
    );
    assert_eq!(counts(&d), [2, 2, 0, 6], "--max-fail 2: {:?}", d.outcomes);
    let d = run_job(
        &*exec,
        &local_job(even, Some(MaxFail::Percent(30.0))),
        &t,
        None,
        None,
    );
    // More than 30 % of 10: the 4th failure (h08) stops the run.
    assert_eq!(counts(&d), [4, 4, 0, 2], "--max-fail 30%: {:?}", d.outcomes);
    let d = run_job(&*exec, &local_job(even, None), &t, None, None);
    assert_eq!(counts(&d), [5, 5, 0, 0], "no limit: {:?}", d.outcomes);
}

/// Host events, by host: (started, finished).
#[derive(Default)]
struct Events(Mutex<BTreeMap<String, (u32, u32)>>);

impl RunObserver for Events {
    fn host_started(&self, host: &str) {
        self.0.lock().unwrap().entry(host.into()).or_default().0 += 1;
    }
    fn host_finished(&self, outcome: &HostOutcome) {
        self.0
            .lock()
            .unwrap()
            .entry(outcome.host.clone())
            .or_default()
            .1 += 1;
    }
}

/// The run's observer hears each host that ran start once and finish once
/// (before the run returns), and nothing of hosts that never started.
pub fn observer_hears_hosts_start_and_finish(make: MakeExecutor<'_>) {
    let exec = make();
    let t = targets(6);
    let events = Arc::new(Events::default());
    let mut job = Job::new(Task::Sleep {
        duration: Duration::from_millis(20),
    })
    .with_concurrency(3);
    job.observer = Observer::new(events.clone());
    let d = run_job(&*exec, &job, &t, None, None);
    assert_eq!(d.count(Status::Ok), 6, "{:?}", d.outcomes);
    let seen = events.0.lock().unwrap().clone();
    let want: BTreeMap<String, (u32, u32)> = t.iter().map(|t| (t.name.clone(), (1, 1))).collect();
    assert_eq!(seen, want, "each host started and finished once");
    // Fail-fast at -c 1: the hosts after the failure are never started.
    let events = Arc::new(Events::default());
    let mut job = local_job("test {name} != h02", Some(MaxFail::FIRST));
    job.observer = Observer::new(events.clone());
    let d = run_job(&*exec, &job, &targets(5), None, None);
    assert_eq!(d.count(Status::Cancelled), 3, "{:?}", d.outcomes);
    let seen: Vec<String> = events.0.lock().unwrap().keys().cloned().collect();
    assert_eq!(seen, ["h01", "h02"], "only started hosts are heard of");
}

/// What an [`idles_before_it_waits`] sink heard, in order.
#[derive(Debug, PartialEq)]
enum Heard {
    Host(String),
    Idle,
}

/// Rule 4's other half: before the executor blocks for the next outcome
/// it calls [`Sink::idle`](fanout_core::Sink::idle), where a sink that
/// buffers its writes (the CLI's stdout) flushes them; a host's line
/// would otherwise wait for the end of the run. Four hosts one at a time,
/// each 150 ms apart: an idle must come between every two outcomes, and
/// after the last one (before the executor's teardown: worker exit grace,
/// runtime shutdown, thread joins).
pub fn idles_before_it_waits(make: MakeExecutor<'_>) {
    struct Recorder(Vec<Heard>);
    impl fanout_core::Sink for Recorder {
        fn accept(&mut self, outcome: HostOutcome) -> fanout_core::Flow {
            self.0.push(Heard::Host(outcome.host));
            fanout_core::Flow::Continue
        }
        fn idle(&mut self) -> fanout_core::Flow {
            // Repeated idles are one: the executor may wake without news.
            if self.0.last() != Some(&Heard::Idle) {
                self.0.push(Heard::Idle);
            }
            fanout_core::Flow::Continue
        }
    }
    let exec = make();
    let t = targets(4);
    let job = Job::new(Task::Sleep {
        duration: Duration::from_millis(150),
    })
    .with_concurrency(1);
    let mut sink = Recorder(Vec::new());
    exec.run(&job, &t, &mut sink, &fanout_core::CancelToken::new())
        .unwrap_or_else(|e| panic!("{}: the run failed: {e}", exec.name()));
    let hosts: Vec<usize> = (0..sink.0.len())
        .filter(|&i| matches!(sink.0[i], Heard::Host(_)))
        .collect();
    assert_eq!(hosts.len(), 4, "{}: {:?}", exec.name(), sink.0);
    for pair in hosts.windows(2) {
        assert!(
            sink.0[pair[0]..pair[1]].contains(&Heard::Idle),
            "{}: no Sink::idle between two outcomes 150 ms apart (a buffered line would wait for the run's end): {:?}",
            exec.name(),
            sink.0
        );
    }
    assert_eq!(
        sink.0.last(),
        Some(&Heard::Idle),
        "{}: no Sink::idle after the last outcome (its buffered line would wait for the executor's teardown): {:?}",
        exec.name(),
        sink.0
    );
}
