//! Checks of what the teaching kit relies on, run against every executor:
//! results handed on in inventory order (`fanout run --order inventory`,
//! through [`InOrder`]) and seeded per-host sleep durations
//! (`sleep MIN..MAX`, [`Task::SleepRange`]).

use std::time::{Duration, Instant};

use fanout_core::{
    CancelToken, Flow, HostOutcome, InOrder, Job, Sink, Status, Target, Task, seeded_duration,
};

use crate::checks::{MakeExecutor, targets};

fn range(min_ms: u64, max_ms: u64, seed: u64) -> Task {
    Task::SleepRange {
        min: Duration::from_millis(min_ms),
        max: Duration::from_millis(max_ms),
        seed,
    }
}

/// Outcomes as they arrived (raw) and as the [`InOrder`] adapter handed
/// them on, with their times.
#[derive(Default)]
struct Ordered {
    raw: Vec<(Instant, String)>,
    delivered: Vec<(Instant, HostOutcome)>,
    peak: usize,
}

/// Runs `job` with its outcomes going through [`InOrder`], cancelling
/// after `cancel_after` if given.
fn run_in_order(
    make: MakeExecutor<'_>,
    job: &Job,
    targets: &[Target],
    cancel_after: Option<Duration>,
) -> Ordered {
    let exec = make();
    let cancel = CancelToken::new();
    let canceller = cancel_after.map(|after| {
        let token = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            token.cancel();
        })
    });
    let mut delivered = Vec::new();
    let mut collect = |o: HostOutcome| {
        delivered.push((Instant::now(), o));
        Flow::Continue
    };
    let mut raw = Vec::new();
    let peak;
    {
        let mut order = InOrder::new(targets, &mut collect);
        let mut tap = |o: HostOutcome| {
            raw.push((Instant::now(), o.host.clone()));
            order.accept(o)
        };
        let result = exec.run(job, targets, &mut tap as &mut dyn Sink, &cancel);
        if let Err(e) = result {
            panic!("{}: run returned Err for a valid job: {e}", exec.name());
        }
        peak = order.peak_pending();
        assert_eq!(
            order.pending(),
            0,
            "{}: outcomes still held back after the run: a host was never reported",
            exec.name()
        );
        order.finish();
    }
    if let Some(handle) = canceller {
        cancel.cancel();
        let _ = handle.join();
    }
    Ordered {
        raw,
        delivered,
        peak,
    }
}

fn assert_inventory_order(name: &str, got: &Ordered, targets: &[Target]) {
    let names: Vec<&str> = got.delivered.iter().map(|(_, o)| o.host.as_str()).collect();
    let want: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names, want,
        "{name}: with --order inventory every host comes once, in inventory order"
    );
    // Each outcome goes on as soon as it and every host before it are in.
    for (k, (at, o)) in got.delivered.iter().enumerate() {
        let ready = got
            .raw
            .iter()
            .filter(|(_, h)| want[..=k].contains(&h.as_str()))
            .map(|(t, _)| *t)
            .max()
            .expect("raw outcomes were seen");
        assert!(
            *at >= ready && at.duration_since(ready) < Duration::from_millis(50),
            "{name}: {} was held back {:?} after its turn came",
            o.host,
            at.saturating_duration_since(ready)
        );
    }
}

/// `--order inventory`: hosts finishing out of order (seeded sleeps of
/// 50-400 ms, all in flight at once) come out in inventory order, each
/// as soon as its turn comes; the adapter holds back only what is
/// pending. A cancelled run (hosts never started, reported `cancelled` by
/// the executor at the end) comes out in inventory order too.
pub fn results_in_inventory_order(make: MakeExecutor<'_>) {
    let name = make().name().to_string();
    let t = targets(8);
    let job = Job::new(range(50, 400, 3)).with_concurrency(8);
    let got = run_in_order(make, &job, &t, None);
    assert_inventory_order(&name, &got, &t);
    assert!(
        got.delivered.iter().all(|(_, o)| o.status == Status::Ok),
        "{name}: {:?}",
        got.delivered
    );
    assert!(
        got.peak < t.len(),
        "{name}: held back {} of {}",
        got.peak,
        t.len()
    );

    // Cancelled part-way, two at a time: started hosts finish or are
    // cancelled, the rest are reported cancelled; the order still holds.
    let t = targets(10);
    let job = Job::new(range(200, 300, 3)).with_concurrency(2);
    let got = run_in_order(make, &job, &t, Some(Duration::from_millis(350)));
    assert_inventory_order(&name, &got, &t);
    let cancelled = got
        .delivered
        .iter()
        .filter(|(_, o)| o.status == Status::Cancelled)
        .count();
    assert!(
        cancelled >= 4,
        "{name}: only {cancelled} of 10 hosts cancelled"
    );
}

/// `sleep MIN..MAX`: every host sleeps its own duration, the one
/// [`seeded_duration`] gives for `(seed, host name)` — whichever executor
/// runs it and in whatever order — within the bounds.
pub fn seeded_sleep_range(make: MakeExecutor<'_>) {
    let exec = make();
    let name = exec.name().to_string();
    let t = targets(8);
    let (min, max) = (Duration::from_millis(100), Duration::from_millis(500));
    let seed = 11;
    let job = Job::new(range(100, 500, seed)).with_concurrency(8);
    let mut outcomes = Vec::new();
    let mut sink = |o: HostOutcome| {
        outcomes.push(o);
        Flow::Continue
    };
    exec.run(&job, &t, &mut sink, &CancelToken::new())
        .unwrap_or_else(|e| panic!("{name}: run returned Err for a valid job: {e}"));
    assert_eq!(outcomes.len(), t.len(), "{name}: {outcomes:?}");
    let expected: Vec<Duration> = t
        .iter()
        .map(|h| seeded_duration(min, max, seed, &h.name))
        .collect();
    let spread = expected.iter().max().copied().unwrap_or_default()
        - expected.iter().min().copied().unwrap_or_default();
    assert!(
        spread > Duration::from_millis(100),
        "the seed gives these hosts too similar durations to tell apart: {expected:?}"
    );
    for o in &outcomes {
        let i = t
            .iter()
            .position(|h| h.name == o.host)
            .unwrap_or_else(|| panic!("{name}: unknown host {}", o.host));
        let want = expected[i];
        let slept = o.timings.command;
        assert_eq!(o.status, Status::Ok, "{name}: {o:?}");
        // A timer never fires early; a busy machine may make it late.
        assert!(
            slept + Duration::from_millis(2) >= want && slept < want + Duration::from_millis(400),
            "{name}: {} slept {slept:?}, its seeded duration is {want:?}",
            o.host
        );
        assert!(
            slept + Duration::from_millis(2) >= min,
            "{name}: below the range: {slept:?}"
        );
    }
}
