//! Which executor to use for a workload, from measured results, with the
//! reason in one line of numbers.
//!
//! The rule: among the executors with the fewest failures, take every one
//! whose wall time is within [`TOLERANCE`] of the fastest (closer than
//! that is noise on a shared machine), and pick the one whose model suits
//! the workload best — for CPU-bound work rayon, process, threads; for
//! I/O-bound work async, threads, process. A model that is clearly faster
//! than the tolerance wins regardless: measurements beat expectations.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::render::fmt_time;
use crate::result::ExecutorResult;

/// Wall times within this fraction of the fastest count as a tie.
pub const TOLERANCE: f64 = 0.10;

/// What limits the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadClass {
    /// Hosts mostly compute: more cores help, more waiting tasks do not.
    CpuBound,
    /// Hosts mostly wait (network, device latency, sleep): overlap helps.
    IoBound,
}

impl WorkloadClass {
    /// `CPU-bound` / `I/O-bound`.
    pub fn label(self) -> &'static str {
        match self {
            WorkloadClass::CpuBound => "CPU-bound",
            WorkloadClass::IoBound => "I/O-bound",
        }
    }

    /// Executors in order of how well their model suits this class.
    pub(crate) fn preference(self) -> [&'static str; 5] {
        match self {
            WorkloadClass::CpuBound => ["rayon", "process", "threads", "async", "seq"],
            WorkloadClass::IoBound => ["async", "threads", "process", "rayon", "seq"],
        }
    }
}

/// What the recommendation knows besides the results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Hosts per run.
    pub hosts: usize,
    /// CPU cores of the machine.
    pub cores: usize,
    /// The class the task suggests (a `cpu` task is CPU-bound, `sleep`,
    /// `exec`, `cli` are I/O-bound), used when there is no `seq` run to
    /// measure it from.
    pub hint: Option<WorkloadClass>,
}

/// The executor to use, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommendation {
    /// Executor name.
    pub executor: String,
    /// The workload class it was chosen for.
    pub class: WorkloadClass,
    /// One line with the numbers behind the choice.
    pub reason: String,
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.executor, self.reason)
    }
}

/// How busy `seq` (one host at a time) kept one core while it had one:
/// CPU / (wall - time it waited, runnable, for a core, the run's share of
/// the process's wait), and that wait when it took more than a tenth of
/// the wall time. On a machine busy
/// with other work, seq's CPU-bound hosts wait for a core as much as they
/// compute; that is not waiting on the network, so it is left out.
pub(crate) fn seq_utilisation(results: &[ExecutorResult]) -> Option<(f64, Option<Duration>)> {
    let seq = results.iter().find(|r| r.executor == "seq")?;
    let wall = seq.wall.as_secs_f64();
    if wall <= 0.0 {
        return None;
    }
    // The wait is the whole process's (start-up and exit too) and the wall
    // only the run's: count the share of the wait that fell in the run (a
    // short run on a loaded machine waits mostly while it starts).
    let life = seq.process_wall.as_secs_f64();
    let in_run = if life > wall { wall / life } else { 1.0 };
    let wait = (seq.core_wait.as_secs_f64() * in_run).min(wall * 0.9);
    let u = (seq.cpu.total().as_secs_f64() / (wall - wait)).min(1.0);
    Some((
        u,
        (wait > wall * 0.1).then(|| Duration::from_secs_f64(wait)),
    ))
}

/// The class and the evidence for it: measured from the `seq` run when
/// there is one (one host at a time keeps a core ≥ 50 % busy only if the
/// hosts compute), else the task's hint, else the best executor's CPU use.
pub(crate) fn classify(results: &[ExecutorResult], workload: &Workload) -> (WorkloadClass, String) {
    if let Some((u, waited)) = seq_utilisation(results) {
        let class = if u >= 0.5 {
            WorkloadClass::CpuBound
        } else {
            WorkloadClass::IoBound
        };
        let evidence = match waited {
            None => format!("seq kept a core {:.0} % busy", u * 100.0),
            Some(w) => format!(
                "seq kept a core {:.0} % busy while it had one, after waiting {} for one",
                u * 100.0,
                fmt_time(w)
            ),
        };
        return (class, evidence);
    }
    if let Some(class) = workload.hint {
        return (class, "by task".to_string());
    }
    // Busiest executor: CPU over (wall x cores it could use).
    let busiest = results
        .iter()
        .map(|r| {
            let usable = r.in_flight().clamp(1, workload.cores.max(1)) as f64;
            r.cpu.total().as_secs_f64() / (r.wall.as_secs_f64().max(1e-9) * usable)
        })
        .fold(0.0, f64::max);
    let class = if busiest >= 0.5 {
        WorkloadClass::CpuBound
    } else {
        WorkloadClass::IoBound
    };
    (class, format!("cores {:.0} % busy", busiest * 100.0))
}

fn cpu_per_host_ms(r: &ExecutorResult) -> f64 {
    r.cpu.total().as_secs_f64() * 1e3 / r.hosts.max(1) as f64
}

/// The recommended executor for these results; `None` when nothing ran.
pub fn recommend(results: &[ExecutorResult], workload: &Workload) -> Option<Recommendation> {
    let all: Vec<&ExecutorResult> = results.iter().collect();
    recommend_among(results, &all, workload)
}

/// The recommended executor among `candidates` (a subset of `results`,
/// e.g. those that ran at one concurrency). Every result is evidence for
/// the workload class and the `seq` baseline; only candidates are picked
/// from and compared with each other.
pub fn recommend_among(
    results: &[ExecutorResult],
    candidates: &[&ExecutorResult],
    workload: &Workload,
) -> Option<Recommendation> {
    let fewest_failures = candidates.iter().map(|r| r.failures()).min()?;
    let eligible: Vec<&ExecutorResult> = candidates
        .iter()
        .copied()
        .filter(|r| r.failures() == fewest_failures)
        .collect();
    let fastest = eligible.iter().map(|r| r.wall).min()?;
    let (class, evidence) = classify(results, workload);
    let limit = fastest.as_secs_f64() * (1.0 + TOLERANCE);
    let rank = |r: &ExecutorResult| {
        class
            .preference()
            .iter()
            .position(|n| *n == r.executor)
            .unwrap_or(usize::MAX)
    };
    let pick = eligible
        .iter()
        .filter(|r| r.wall.as_secs_f64() <= limit)
        .min_by_key(|r| (rank(r), r.wall))
        .copied()?;

    let mut parts = vec![format!(
        "{} ({evidence}), {} hosts on {} cores; {} at {} in flight",
        class.label(),
        workload.hosts,
        workload.cores,
        fmt_time(pick.wall),
        pick.in_flight()
    )];
    if let Some(seq) = results
        .iter()
        .find(|r| r.executor == "seq" && r.executor != pick.executor)
    {
        let x = seq.wall.as_secs_f64() / pick.wall.as_secs_f64().max(1e-9);
        parts.push(format!("{x:.1}x faster than seq"));
    }
    // The closest other candidate, and whether it is a tie.
    let runner_up = candidates
        .iter()
        .copied()
        .filter(|r| r.executor != pick.executor)
        .min_by_key(|r| r.wall);
    if let Some(other) = runner_up {
        let diff = (other.wall.as_secs_f64() / pick.wall.as_secs_f64().max(1e-9) - 1.0) * 100.0;
        if diff <= -0.5 && other.failures() > pick.failures() {
            parts.push(format!(
                "{} {:.0} % faster but with more failures",
                other.executor, -diff
            ));
        } else if diff <= -0.5 {
            parts.push(format!(
                "{} {:.0} % faster but within noise, {} suits {} work",
                other.executor,
                -diff,
                pick.executor,
                class.label()
            ));
        } else if diff <= TOLERANCE * 100.0 {
            parts.push(format!(
                "{} within {:.0} %",
                other.executor,
                diff.abs().max(1.0)
            ));
        } else if diff < 100.0 {
            parts.push(format!("next {} {:.0} % slower", other.executor, diff));
        } else {
            parts.push(format!(
                "next {} {:.1}x slower",
                other.executor,
                diff / 100.0 + 1.0
            ));
        }
    }
    // The costliest executor in CPU per host, when clearly costlier.
    let pick_cost = cpu_per_host_ms(pick);
    if let Some(costly) = candidates
        .iter()
        .copied()
        .filter(|r| r.executor != pick.executor)
        .max_by(|a, b| cpu_per_host_ms(a).total_cmp(&cpu_per_host_ms(b)))
        .filter(|r| cpu_per_host_ms(r) > 2.0 * pick_cost + 0.5)
    {
        parts.push(format!(
            "{} pays {:.1} ms client CPU per host ({} {:.1})",
            costly.executor,
            cpu_per_host_ms(costly),
            pick.executor,
            pick_cost
        ));
    }
    if fewest_failures > 0 {
        parts.push(format!("{fewest_failures} hosts failed on every executor"));
    } else if let Some(bad) = candidates.iter().find(|r| r.failures() > 0) {
        parts.push(format!("{} had {} failures", bad.executor, bad.failures()));
    }
    Some(Recommendation {
        executor: pick.executor.clone(),
        class,
        reason: parts.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::tests::result;

    const IO: Workload = Workload {
        hosts: 100,
        cores: 2,
        hint: Some(WorkloadClass::IoBound),
    };
    const CPU: Workload = Workload {
        hosts: 100,
        cores: 2,
        hint: Some(WorkloadClass::CpuBound),
    };

    #[test]
    fn a_wait_while_starting_up_does_not_make_a_short_sleep_run_cpu_bound() {
        // CI under load: 4 x sleep 10ms, seq's run 47.7 ms of a 112 ms
        // process life, 7.3 ms CPU, 66 ms waiting for a core, most of it
        // while the process started. Only the run's share of the wait counts.
        let mut seq = result("seq", 1, 4, 48, 7, 0);
        seq.process_wall = Duration::from_millis(112);
        seq.core_wait = Duration::from_millis(66);
        let unhinted = Workload { hint: None, ..IO };
        let (class, evidence) = classify(&[seq], &unhinted);
        assert_eq!(class, WorkloadClass::IoBound, "{evidence}");
    }

    #[test]
    fn seq_waiting_for_a_busy_machines_cores_is_still_cpu_bound() {
        // Other work held the cores: seq computed 800 ms of its 2 s and
        // waited 1.1 s for a core. Still CPU-bound: it computed whenever
        // it had a core (800 of 900 ms).
        let mut seq = result("seq", 1, 8, 2000, 800, 0);
        seq.core_wait = Duration::from_millis(1100);
        let results = vec![seq.clone(), result("threads", 8, 8, 1500, 820, 0)];
        let unhinted = Workload { hint: None, ..CPU };
        let (class, evidence) = classify(&results, &unhinted);
        assert_eq!(class, WorkloadClass::CpuBound, "{evidence}");
        assert_eq!(
            evidence,
            "seq kept a core 89 % busy while it had one, after waiting 1.10 s for one"
        );
        // The same run without the wait is I/O-bound: 40 % of the wall.
        seq.core_wait = Duration::ZERO;
        let (class, evidence) = classify(&[seq], &unhinted);
        assert_eq!(
            (class, evidence.as_str()),
            (WorkloadClass::IoBound, "seq kept a core 40 % busy")
        );
    }

    #[test]
    fn cpu_bound_on_two_cores_never_picks_async_or_seq() {
        // 100 hosts x 20 ms of CPU: seq 2 s at 100 % of a core; the
        // parallel models halve it, async (one thread busy) does not.
        let results = vec![
            result("seq", 1, 100, 2000, 1995, 0),
            result("async", 100, 100, 1980, 1985, 0),
            result("threads", 100, 100, 1040, 2010, 0),
            result("rayon", 2, 100, 1010, 1995, 0),
            result("process", 100, 100, 1150, 2400, 0),
        ];
        let r = recommend(&results, &CPU).unwrap();
        assert_eq!(r.executor, "rayon", "{r}");
        assert_eq!(r.class, WorkloadClass::CpuBound);
        assert!(r.reason.contains("seq kept a core 100 % busy"), "{r}");
        assert!(r.reason.contains("2.0x faster than seq"), "{r}");
        assert!(r.reason.contains("threads within 3 %"), "{r}");

        // Measured even without a hint: the seq run shows it.
        let unhinted = Workload { hint: None, ..CPU };
        assert_eq!(
            recommend(&results, &unhinted).unwrap().class,
            WorkloadClass::CpuBound
        );

        // Without rayon, a tie between threads and async goes to threads.
        let tie = vec![
            result("async", 100, 100, 1000, 1990, 0),
            result("threads", 100, 100, 1050, 2000, 0),
        ];
        let r = recommend(&tie, &CPU).unwrap();
        assert_eq!(r.executor, "threads", "{r}");
        assert!(
            r.reason.contains("async 5 % faster but within noise"),
            "{r}"
        );
    }

    #[test]
    fn io_bound_with_many_hosts_picks_async_or_threads() {
        // 100 hosts x 50 ms of waiting: seq 5 s and almost no CPU.
        let results = vec![
            result("seq", 1, 100, 5200, 60, 0),
            result("process", 100, 100, 420, 3500, 0),
            result("threads", 100, 100, 75, 90, 0),
            result("rayon", 2, 100, 2600, 70, 0),
            result("async", 100, 100, 70, 40, 0),
        ];
        let r = recommend(&results, &IO).unwrap();
        assert_eq!(r.executor, "async", "{r}");
        assert_eq!(r.class, WorkloadClass::IoBound);
        assert!(
            r.reason
                .starts_with("I/O-bound (seq kept a core 1 % busy), 100 hosts on 2 cores"),
            "{r}"
        );
        assert!(r.reason.contains("74.3x faster than seq"), "{r}");
        assert!(r.reason.contains("threads within 7 %"), "{r}");
        assert!(
            r.reason
                .contains("process pays 35.0 ms client CPU per host (async 0.4)"),
            "{r}"
        );
        assert_eq!(r.to_string(), format!("async: {}", r.reason));

        // When threads is clearly faster, the measurement wins.
        let mut faster_threads = results.clone();
        faster_threads[2] = result("threads", 100, 100, 50, 90, 0);
        assert_eq!(recommend(&faster_threads, &IO).unwrap().executor, "threads");
    }

    #[test]
    fn failures_rule_out_a_faster_executor() {
        let results = vec![
            result("async", 100, 100, 70, 40, 3),
            result("threads", 100, 100, 90, 90, 0),
            result("seq", 1, 100, 5000, 60, 0),
        ];
        let r = recommend(&results, &IO).unwrap();
        assert_eq!(r.executor, "threads", "{r}");
        assert!(r.reason.contains("async had 3 failures"), "{r}");
        assert!(
            r.reason
                .contains("async 22 % faster but with more failures"),
            "not noise: {r}"
        );

        // A runner-up less than 0.5 % faster is "within 1 %", not "0 % faster".
        let even = vec![
            result("threads", 100, 100, 1000, 10, 0),
            result("async", 100, 100, 1003, 10, 0),
        ];
        let r = recommend(&even, &IO).unwrap();
        assert_eq!(r.executor, "async", "{r}");
        assert!(r.reason.contains("threads within 1 %"), "{r}");
    }

    #[test]
    fn hint_or_cpu_use_classifies_without_seq() {
        let busy = vec![
            result("async", 100, 100, 1000, 1000, 0),
            result("rayon", 2, 100, 1000, 1996, 0),
        ];
        let none = Workload { hint: None, ..IO };
        let r = recommend(&busy, &none).unwrap();
        assert_eq!(
            (r.class, r.executor.as_str()),
            (WorkloadClass::CpuBound, "rayon"),
            "{r}"
        );
        assert!(r.reason.contains("cores 100 % busy"), "{r}");
        let r = recommend(&busy, &IO).unwrap();
        assert_eq!(
            (r.class, r.executor.as_str()),
            (WorkloadClass::IoBound, "async"),
            "{r}"
        );
        assert!(r.reason.contains("(by task)"), "{r}");
        assert_eq!(recommend(&[], &IO), None);
        let alone = recommend(&[result("seq", 1, 3, 300, 1, 0)], &IO).unwrap();
        assert_eq!(alone.executor, "seq");
    }
}
