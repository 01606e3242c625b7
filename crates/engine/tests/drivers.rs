//! The engine's two drivers with stand-in transports: the same attempts,
//! retries, connect-rate waits, panics and cancellation whichever driver
//! runs the host.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, CommandOutput, ErrorKind, Job, Phase, Status, Target, Task, Worker,
};
use fanout_engine::adaptive::Signal;
use fanout_engine::blocking::{self, HostRun};
use fanout_engine::nonblocking::{self, AsyncRun, Stop};
use fanout_engine::{
    AsyncTransport, AttemptError, AttemptGate, AttemptResult, BlockingTransport, BoxFuture,
    HostDeadline, Progress, Ticket,
};

/// Refuses the first `fails` connections, then answers `ok`; each attempt
/// spends 1 ms "connecting" (recorded in the host's progress).
#[derive(Debug)]
struct Flaky {
    fails: u32,
    seen: AtomicU32,
}

impl Flaky {
    fn new(fails: u32) -> Self {
        Self {
            fails,
            seen: AtomicU32::new(0),
        }
    }

    fn answer(&self, progress: &mut Progress) -> AttemptResult {
        progress.phase = Some(Phase::Connect);
        progress.timings.connect += Duration::from_millis(1);
        if self.seen.fetch_add(1, Ordering::SeqCst) < self.fails {
            return Err(AttemptError::new(ErrorKind::Connect, None, "refused"));
        }
        Ok(vec![CommandOutput {
            command: "show clock".into(),
            stdout: "12:00\n".into(),
            ..CommandOutput::default()
        }])
    }
}

impl BlockingTransport for Flaky {
    fn attempt(
        &self,
        _job: &Job,
        _target: &Target,
        _host: HostDeadline,
        _cancel: &CancelToken,
        progress: &mut Progress,
    ) -> AttemptResult {
        self.answer(progress)
    }

    fn attempt_budget(&self, _job: &Job, _target: &Target) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }
}

impl AsyncTransport for Flaky {
    fn attempt<'a>(
        &'a self,
        _job: &'a Job,
        _target: &'a Target,
        _host: HostDeadline,
        progress: &'a mut Progress,
    ) -> BoxFuture<'a, AttemptResult> {
        Box::pin(async move { self.answer(progress) })
    }
}

/// Logs in and then never answers: an attempt that only cancellation ends.
#[derive(Debug)]
struct Hangs;

impl AsyncTransport for Hangs {
    fn attempt<'a>(
        &'a self,
        _job: &'a Job,
        _target: &'a Target,
        _host: HostDeadline,
        progress: &'a mut Progress,
    ) -> BoxFuture<'a, AttemptResult> {
        Box::pin(async move {
            progress.timings.connect = Duration::from_millis(5);
            progress.phase = Some(Phase::Auth);
            std::future::pending().await
        })
    }
}

/// A bug in a transport.
#[derive(Debug)]
struct Panics;

impl BlockingTransport for Panics {
    fn attempt(
        &self,
        _job: &Job,
        _target: &Target,
        _host: HostDeadline,
        _cancel: &CancelToken,
        _progress: &mut Progress,
    ) -> AttemptResult {
        panic!("transport bug 42")
    }

    fn attempt_budget(&self, _job: &Job, _target: &Target) -> Option<Duration> {
        None
    }
}

/// Counts the attempts that asked for a slot; refuses them all when
/// `refuse`.
struct Gate {
    asked: AtomicU32,
    refuse: bool,
}

impl AttemptGate for Gate {
    fn acquire(&self, _target: &Target, _cancel: &CancelToken) -> Option<Ticket> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        (!self.refuse).then(|| Ticket::at(Instant::now()))
    }

    fn settle(&self, _target: &Target, _ticket: Ticket, _signal: Signal) {
        unreachable!("a gate that does not adapt is told nothing")
    }

    fn adapts(&self) -> bool {
        false
    }
}

fn exec_job(retries: u32) -> Job {
    let mut job = Job::new(Task::Exec {
        command: "show clock".into(),
    });
    job.retry.retries = retries;
    job.retry.backoff = Duration::from_millis(1);
    job
}

fn target() -> Target {
    Target::new("h1", "127.0.0.1")
}

#[test]
fn the_blocking_driver_retries_through_its_transport_and_every_attempt_takes_a_slot() {
    let job = exec_job(2);
    let cancel = CancelToken::new();
    let flaky = Flaky::new(2);
    let gate = Gate {
        asked: AtomicU32::new(0),
        refuse: false,
    };
    let run = HostRun {
        worker: Worker::Thread(7),
        cancel: &cancel,
        connect_rate: Some(&gate),
        transport: Some(&flaky),
    };
    let o = blocking::run_host(&job, &target(), run);
    assert_eq!(
        (o.status, o.attempts, o.worker),
        (Status::Ok, 3, Worker::Thread(7)),
        "{o:?}"
    );
    assert_eq!(o.outputs[0].stdout, "12:00\n");
    assert_eq!(
        o.timings.connect,
        Duration::from_millis(3),
        "every attempt's time"
    );
    assert_eq!(
        gate.asked.load(Ordering::SeqCst),
        3,
        "first try and both retries"
    );

    let refusing = Gate {
        asked: AtomicU32::new(0),
        refuse: true,
    };
    let run = HostRun {
        connect_rate: Some(&refusing),
        ..run
    };
    let o = blocking::run_host(&job, &target(), run);
    assert_eq!(
        (o.status, o.attempts),
        (Status::Cancelled, 0),
        "no slot, no attempt: {o:?}"
    );
}

#[test]
fn the_blocking_driver_runs_local_tasks_itself_and_a_panic_is_the_hosts_outcome() {
    let cancel = CancelToken::new();
    let local = Job::new(Task::Local {
        argv: vec!["echo".into(), "{name}".into()],
    });
    let run = HostRun {
        worker: Worker::Thread(0),
        cancel: &cancel,
        connect_rate: None,
        transport: None,
    };
    let o = blocking::run_host(&local, &target(), run);
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(
        (o.outputs[0].command.as_str(), o.outputs[0].stdout.as_str()),
        ("echo h1", "h1\n")
    );
    assert!(o.timings.command > Duration::ZERO);

    let run = HostRun {
        transport: Some(&Panics),
        ..run
    };
    let o = blocking::run_host(&exec_job(0), &target(), run);
    assert_eq!(o.error_kind, Some(ErrorKind::WorkerCrashed), "{o:?}");
    let message = o.message.unwrap();
    assert!(
        message.contains("transport bug 42") && message.contains("please report it"),
        "{message}"
    );
}

#[tokio::test]
async fn the_async_driver_retries_through_its_transport_like_the_blocking_one() {
    let run = AsyncRun {
        stop: Arc::default(),
        connect_rate: None,
        transport: Some(Box::new(Flaky::new(2))),
        queued_from: None,
    };
    let o = nonblocking::run_host(&exec_job(2), &target(), Worker::Task(3), &run).await;
    assert_eq!(
        (o.status, o.attempts, o.worker),
        (Status::Ok, 3, Worker::Task(3)),
        "{o:?}"
    );
    assert_eq!(o.timings.connect, Duration::from_millis(3));
    let o = nonblocking::run_host(&exec_job(0), &target(), Worker::Task(3), &run).await;
    assert_eq!(
        (o.status, o.error_kind, o.attempts),
        (Status::Ok, None, 1),
        "{o:?}"
    );
}

#[tokio::test]
async fn a_stopped_async_host_reports_the_phase_it_was_in_and_what_it_did() {
    let stop = Arc::new(Stop::default());
    let run = AsyncRun {
        stop: stop.clone(),
        connect_rate: None,
        transport: Some(Box::new(Hangs)),
        queued_from: None,
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.fire();
    });
    let started = Instant::now();
    let o = nonblocking::run_host(&exec_job(0), &target(), Worker::Task(0), &run).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((o.status, o.attempts), (Status::Cancelled, 1), "{o:?}");
    assert_eq!(
        o.message.as_deref(),
        Some("run cancelled during the auth phase")
    );
    assert_eq!(o.timings.connect, Duration::from_millis(5));
    assert!(o.timings.total >= Duration::from_millis(100));
}
