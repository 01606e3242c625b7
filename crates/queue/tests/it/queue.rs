//! The queue end to end in one process: submitter, workers, a real server.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use fanout_core::{
    CancelToken, CollectSink, ErrorKind, Executor, HostOutcome, Job, RunSummary, Status, Target,
    Task,
};
use fanout_queue::QueueExecutor;
use futures_util::StreamExt;

use crate::nats_server::NatsServer;
use crate::workers::Workers;

fn sleep_job(ms: u64) -> Job {
    Job::new(Task::Sleep {
        duration: Duration::from_millis(ms),
    })
}

fn submit(url: &str, job: &Job, targets: &[Target]) -> (Vec<HostOutcome>, RunSummary) {
    let mut sink = CollectSink::default();
    let exec = QueueExecutor::builder(url).build().unwrap();
    let summary = exec
        .run(job, targets, &mut sink, &CancelToken::new())
        .unwrap();
    (sink.outcomes, summary)
}

/// Every target exactly once, by name.
fn once_each<'a>(
    targets: &[Target],
    outcomes: &'a [HostOutcome],
) -> BTreeMap<&'a str, &'a HostOutcome> {
    let by_name: BTreeMap<_, _> = outcomes.iter().map(|o| (o.host.as_str(), o)).collect();
    assert_eq!(outcomes.len(), targets.len(), "{outcomes:#?}");
    assert_eq!(by_name.len(), targets.len(), "a host was reported twice");
    for t in targets {
        assert!(by_name.contains_key(t.name.as_str()), "{} missing", t.name);
    }
    by_name
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_host_once_through_two_workers() {
    let server = NatsServer::start();
    let targets = Target::synthetic(40);
    let workers = Workers::start(&server.url(), "default", 2, 5, &targets);
    let (outcomes, summary) = submit(&server.url(), &sleep_job(20), &targets);
    for o in once_each(&targets, &outcomes).values() {
        assert_eq!(o.status, Status::Ok, "{o:?}");
        assert_eq!(o.attempts, 1);
    }
    assert_eq!((summary.hosts, summary.counts.ok), (40, 40));
    assert_eq!(summary.executor, "queue");
    let stats = workers.stop();
    assert_eq!(stats.iter().map(|s| s.hosts).sum::<u64>(), 40, "{stats:?}");
    // Both workers took a share (10 hosts of 20 ms each, 5 at a time).
    assert!(stats.iter().all(|s| s.hosts > 0), "{stats:?}");
}

#[test]
fn hosts_missing_from_a_workers_inventory_fail_by_name() {
    let server = NatsServer::start();
    let targets = Target::synthetic(3);
    let _workers = Workers::start(&server.url(), "default", 1, 2, &targets[..2]);
    let (outcomes, _) = submit(&server.url(), &sleep_job(1), &targets);
    let by_name = once_each(&targets, &outcomes);
    let missing = by_name[targets[2].name.as_str()];
    assert_eq!(
        missing.error_kind,
        Some(ErrorKind::InvalidTarget),
        "{missing:?}"
    );
    assert!(
        missing
            .message
            .as_deref()
            .unwrap()
            .contains("not in this worker's inventory"),
        "{missing:?}"
    );
}

/// Takes every message of the default site without acking it, as a worker
/// that died right after taking its hosts; returns when it holds `n`.
fn take_and_die(url: &str, n: usize) {
    runtime().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = jetstream::new(client);
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            if let Ok(s) = js.get_stream("FANOUT_WORK").await {
                break s;
            }
            assert!(Instant::now() < deadline, "no work stream");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let consumer: jetstream::consumer::PullConsumer = stream
            .get_or_create_consumer(
                "fanout-site-default",
                jetstream::consumer::pull::Config {
                    durable_name: Some("fanout-site-default".into()),
                    filter_subject: "fanout.work.default.>".into(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(2),
                    max_ack_pending: 1_000_000,
                    max_deliver: -1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut taken = 0;
        while taken < n {
            assert!(Instant::now() < deadline, "took only {taken} of {n}");
            let mut batch = consumer
                .fetch()
                .max_messages(n - taken)
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .unwrap();
            while let Some(Ok(_never_acked)) = batch.next().await {
                taken += 1;
            }
        }
    });
}

#[test]
fn a_dead_workers_hosts_are_rerun_only_when_that_cannot_change_a_device() {
    let server = NatsServer::start();
    let targets = Target::synthetic(6);
    for (job, expect) in [
        // May have changed the device: reported, not re-run.
        (
            Job::new(Task::Local {
                argv: vec!["true".into()],
            }),
            Status::Failed,
        ),
        // Read-only: run again by the next worker.
        (sleep_job(1), Status::Ok),
    ] {
        let url = server.url();
        let (job2, targets2) = (job.clone(), targets.clone());
        let submitter = std::thread::spawn(move || submit(&url, &job2, &targets2));
        take_and_die(&server.url(), targets.len());
        let started = Instant::now();
        let workers = Workers::start(&server.url(), "default", 1, 3, &targets);
        let (outcomes, _) = submitter.join().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        for o in once_each(&targets, &outcomes).values() {
            assert_eq!(o.status, expect, "{o:?}");
            if expect == Status::Failed {
                assert_eq!(o.error_kind, Some(ErrorKind::WorkerCrashed), "{o:?}");
                let m = o.message.as_deref().unwrap();
                assert!(m.contains("--retry-commands") && m.contains("local"), "{m}");
            }
        }
        drop(workers);
    }
    // With --retry-commands the local task is run again.
    let url = server.url();
    let mut job = Job::new(Task::Local {
        argv: vec!["true".into()],
    });
    job.retry.retry_commands = true;
    let targets2 = targets.clone();
    let submitter = std::thread::spawn(move || submit(&url, &job, &targets2));
    take_and_die(&server.url(), targets.len());
    let _workers = Workers::start(&server.url(), "default", 1, 3, &targets);
    let (outcomes, _) = submitter.join().unwrap();
    for o in once_each(&targets, &outcomes).values() {
        assert_eq!(o.status, Status::Ok, "{o:?}");
    }
}

#[test]
fn cancel_stops_hosts_in_flight_and_purges_the_rest() {
    let server = NatsServer::start();
    let targets = Target::synthetic(20);
    let workers = Workers::start(&server.url(), "default", 1, 2, &targets);
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            cancel.cancel();
        })
    };
    let mut sink = CollectSink::default();
    let started = Instant::now();
    let summary = QueueExecutor::builder(server.url())
        .build()
        .unwrap()
        .run(&sleep_job(30_000), &targets, &mut sink, &cancel)
        .unwrap();
    canceller.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    for o in once_each(&targets, &sink.outcomes).values() {
        assert_eq!(o.status, Status::Cancelled, "{o:?}");
    }
    assert_eq!(summary.counts.cancelled, 20);
    // Nothing of the run is left for a worker to take.
    runtime().block_on(async {
        let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut stream = js.get_stream("FANOUT_WORK").await.unwrap();
            let left = stream.info().await.unwrap().state.messages;
            if left == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{left} messages left");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let stats = workers.stop();
    assert!(stats[0].hosts <= 20, "{stats:?}");
}

#[test]
fn sites_route_hosts_to_their_own_workers() {
    let server = NatsServer::start();
    let mut targets = Target::synthetic(10);
    for t in targets.iter_mut().step_by(2) {
        t.vars.insert("site".into(), "lon".into());
    }
    let (lon, rest): (Vec<Target>, Vec<Target>) = targets
        .iter()
        .cloned()
        .partition(|t| t.vars.contains_key("site"));
    // Each worker knows only its site's hosts: a host routed to the other
    // site's worker would fail `invalid_target`.
    let lon_workers = Workers::start(&server.url(), "lon", 1, 3, &lon);
    let default_workers = Workers::start(&server.url(), "default", 1, 3, &rest);
    let (outcomes, _) = submit(&server.url(), &sleep_job(5), &targets);
    for o in once_each(&targets, &outcomes).values() {
        assert_eq!(o.status, Status::Ok, "{o:?}");
    }
    assert_eq!(lon_workers.stop()[0].hosts, 5);
    assert_eq!(default_workers.stop()[0].hosts, 5);
}

#[test]
fn survives_a_server_restart_mid_run() {
    let mut server = NatsServer::start();
    let targets = Target::synthetic(60);
    let _workers = Workers::start(&server.url(), "default", 2, 3, &targets);
    let url = server.url();
    let targets2 = targets.clone();
    let submitter = std::thread::spawn(move || submit(&url, &sleep_job(150), &targets2));
    std::thread::sleep(Duration::from_millis(800));
    server.restart(Duration::from_millis(500));
    let (outcomes, summary) = submitter.join().unwrap();
    for o in once_each(&targets, &outcomes).values() {
        assert_eq!(o.status, Status::Ok, "{o:?}");
    }
    assert_eq!(summary.counts.ok, 60);
    assert!(server.store().exists());
}

#[test]
fn what_the_queue_cannot_enforce_is_refused_before_anything_is_sent() {
    let exec = QueueExecutor::builder("nats://127.0.0.1:1")
        .build()
        .unwrap();
    let mut job = sleep_job(1);
    job.limits.per_group.insert("core".into(), 1);
    let err = exec
        .run(
            &job,
            &Target::synthetic(1),
            &mut CollectSink::default(),
            &CancelToken::new(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--per-group") && err.contains("without --queue"),
        "{err}"
    );
    let err = exec
        .run(
            &sleep_job(1),
            &Target::synthetic(1),
            &mut CollectSink::default(),
            &CancelToken::new(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("could not connect to nats://127.0.0.1:1"),
        "{err}"
    );
    assert!(
        QueueExecutor::builder("nats://x")
            .site("a.b")
            .build()
            .is_err()
    );
}

#[test]
fn a_cancel_reports_untaken_hosts_at_once_and_waits_only_for_taken_ones() {
    let server = NatsServer::start();
    let targets = Target::synthetic(10);
    let cancel = CancelToken::new();
    // A "worker" takes 3 hosts and dies holding them; then the run is
    // cancelled. No live worker will ever report those 3.
    let taker = {
        let (url, cancel) = (server.url(), cancel.clone());
        std::thread::spawn(move || {
            take_and_die(&url, 3);
            let at = Instant::now();
            cancel.cancel();
            at
        })
    };
    let grace = Duration::from_secs(2);
    let mut outcomes: Vec<(Instant, HostOutcome)> = Vec::new();
    let mut sink = |o: HostOutcome| {
        outcomes.push((Instant::now(), o));
        fanout_core::Flow::Continue
    };
    let summary = QueueExecutor::builder(server.url())
        .cancel_grace(grace)
        .build()
        .unwrap()
        .run(&sleep_job(1000), &targets, &mut sink, &cancel)
        .unwrap();
    let returned = Instant::now();
    let cancelled_at = taker.join().unwrap();
    assert_eq!(summary.counts.cancelled, 10, "{outcomes:?}");
    let plain: Vec<HostOutcome> = outcomes.iter().map(|(_, o)| o.clone()).collect();
    once_each(&targets, &plain);
    let early = outcomes
        .iter()
        .filter(|(at, _)| at.saturating_duration_since(cancelled_at) < Duration::from_millis(900))
        .count();
    assert_eq!(
        early, 7,
        "the 7 hosts no worker took are reported at once, the 3 taken ones only after the grace: {outcomes:?}"
    );
    let took = returned - cancelled_at;
    assert!(
        took >= grace - Duration::from_millis(100) && took < grace + Duration::from_secs(3),
        "the taken hosts are waited for the grace ({grace:?}), not longer: {took:?}"
    );
}
