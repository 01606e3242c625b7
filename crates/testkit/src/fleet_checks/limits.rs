//! Limits and cancellation measured from the devices' side: never more
//! sessions open than `-c`, and a cancelled run closes every session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, ErrorKind, Flow, HostOutcome, Platform, Status};
use fanout_sim::DeviceSpec;

use super::fixtures::{all_reported, device, exec_task, ssh_job, start};
use crate::checks::{Delivered, MakeExecutor, run_job};

/// Never more sessions open at the devices than `-c`.
///
/// Measured by the fleet (connections open at the devices), sampled every
/// millisecond while the run goes: the fleet counts a connection until its
/// server task has finished, a few microseconds after the client saw it
/// close, so its all-time maximum can show `-c + 1` at a hand-over even for
/// a correct executor. What must never happen is time spent above `-c`.
pub fn ssh_concurrency_never_exceeded(make: MakeExecutor<'_>) {
    let exec = make();
    let specs: Vec<DeviceSpec> = (1..=9)
        .map(|i| {
            let mut d = device(&format!("c{i}"), Platform::Ios);
            d.latency = Duration::from_millis(150);
            d.jitter = Duration::from_millis(100);
            d
        })
        .collect();
    let fleet = Arc::new(start(specs));
    let targets = fleet.targets();
    let job = ssh_job(exec_task("show version"), &fleet, 3);
    let bound = exec.concurrency(&job);
    assert!(
        (1..=3).contains(&bound),
        "executor claims concurrency {bound} for -c 3"
    );
    fleet.reset_max_active();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (fleet, done) = (fleet.clone(), done.clone());
        std::thread::spawn(move || {
            let (mut samples, mut above) = (0usize, 0usize);
            while !done.load(Ordering::SeqCst) {
                samples += 1;
                if fleet.stats().active > bound {
                    above += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            (samples, above)
        })
    };
    let d = run_job(exec.as_ref(), &job, &targets, None, None);
    done.store(true, Ordering::SeqCst);
    let (samples, above) = sampler.join().expect("the sampler thread");
    let by = all_reported(&d, &targets);
    for o in by.values() {
        assert_eq!(o.status, Status::Ok, "{o:?}");
    }
    let max = fleet.stats().max_active;
    assert!(max >= 1, "the fleet counted no session");
    // A few samples may land in a hand-over; an executor over its bound
    // stays there for whole commands (150 ms each).
    assert!(
        above * 20 <= samples.max(20),
        "more than {bound} sessions were open at the devices in {above} of {samples} samples (most at once: {max}) with -c 3 (rule 5)"
    );
}

/// Cancelling a run mid-SSH: hosts done before stay ok, in-flight and
/// not-started hosts are reported `cancelled`, `run` returns promptly, and
/// the devices see every session closed.
pub fn ssh_cancellation_mid_run(make: MakeExecutor<'_>) {
    let exec = make();
    let specs: Vec<DeviceSpec> = (1..=10)
        .map(|i| {
            let mut d = device(&format!("x{i:02}"), Platform::Ios);
            if i > 2 {
                d.latency = Duration::from_secs(5);
            }
            d
        })
        .collect();
    let fleet = start(specs);
    let targets = fleet.targets();
    let mut job = ssh_job(exec_task("show version"), &fleet, 6);
    job.timeouts.command = Some(Duration::from_secs(10));
    // Cancelled once both fast hosts are in (not on a timer: debug-build
    // handshakes on a loaded machine take what they take); a safety timer
    // cancels anyway if they never come.
    let cancel = CancelToken::new();
    let safety = {
        let token = cancel.clone();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            if rx.recv_timeout(Duration::from_secs(30)).is_err() {
                token.cancel();
            }
        });
        (tx, handle)
    };
    let mut outcomes: Vec<(Instant, HostOutcome)> = Vec::new();
    let mut cancelled_at: Option<Instant> = None;
    let started = Instant::now();
    let result = {
        let mut sink = |o: HostOutcome| {
            outcomes.push((Instant::now(), o));
            let fast_ok = outcomes
                .iter()
                .filter(|(_, o)| (o.host == "x01" || o.host == "x02") && o.status == Status::Ok)
                .count();
            if fast_ok == 2 && cancelled_at.is_none() {
                cancelled_at = Some(Instant::now());
                cancel.cancel();
            }
            Flow::Continue
        };
        exec.run(&job, &targets, &mut sink, &cancel)
    };
    let returned = Instant::now();
    let _ = safety.0.send(());
    let _ = safety.1.join();
    let d = Delivered {
        outcomes,
        result,
        started,
        elapsed: returned - started,
    };
    let by = all_reported(&d, &targets);
    let cancelled_at =
        cancelled_at.unwrap_or_else(|| panic!("the two fast hosts never both reported ok: {by:?}"));
    let stopping = returned - cancelled_at;
    assert!(
        stopping < Duration::from_millis(1500),
        "cancellation took {stopping:?} to stop the run (from the cancel to run's return)"
    );
    for (name, o) in &by {
        let fast = name == "x01" || name == "x02";
        let want = if fast { Status::Ok } else { Status::Cancelled };
        assert_eq!(o.status, want, "{name}: {o:?}");
        if !fast {
            assert_eq!(o.error_kind, Some(ErrorKind::Cancelled), "{o:?}");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while fleet.stats().active > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        fleet.stats().active,
        0,
        "sessions of cancelled hosts must be closed"
    );
}
