//! The measured results of `fanout compare`: one run of one executor
//! ([`RunMeasurement`]), an executor over all its runs ([`ExecutorResult`]),
//! and a whole comparison ([`Comparison`]).

use std::collections::BTreeMap;
use std::time::Duration;

use fanout_core::StatusCounts;

use crate::child::ChildMeasurement;
use crate::estimate::Estimate;
use crate::external::{External, external};
use crate::histogram::Percentiles;
use crate::procfs::CpuTime;
use crate::runlog::RunLog;
use crate::verdict::Verdict;

/// One measured `fanout run` child of one executor.
#[derive(Clone, Debug, PartialEq)]
pub struct RunMeasurement {
    /// Executor name (`seq`, `async`, ...).
    pub executor: String,
    /// Hosts in flight at most, as the run reported it.
    pub concurrency: usize,
    /// The run's own wall time: first host starting to last outcome.
    pub wall: Duration,
    /// The child process's whole life (start-up, inventory loading, exit).
    pub process_wall: Duration,
    /// Client CPU: the child and every process it reaped.
    pub cpu: CpuTime,
    /// How long its threads waited, runnable, for a core (a busy machine).
    pub core_wait: Duration,
    /// Peak proportional memory (PSS) of the child's process tree (sampled).
    pub peak_pss_bytes: u64,
    /// Peak resident memory of the child's process tree (sampled).
    pub peak_rss_bytes: u64,
    /// The kernel's max RSS of the child (largest single process).
    pub kernel_maxrss_bytes: u64,
    /// Peak private memory of the tree plus one copy of its shared pages.
    pub peak_private_bytes: u64,
    /// Most processes in the tree at once.
    pub peak_processes: usize,
    /// CPU the simulated fleet spent during this run, if there was one.
    pub fleet_cpu: Option<Duration>,
    /// CPU `fanout compare` spent sampling this run's memory.
    pub sampler_cpu: Duration,
    /// Hosts' results.
    pub log: RunLog,
    /// Set when this was an `--external` program, not a fanout executor.
    pub external: Option<External>,
}

/// Why a run produced no measurement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunProblem {
    /// The child refused the job before running any host (exit code 2: the
    /// executor does not support the task, or a usage error): skip it.
    Refused(String),
    /// The child died, was interrupted, or printed something unreadable.
    Broken(String),
}

pub(crate) fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

impl RunMeasurement {
    /// Interprets a finished `fanout run --format jsonl` child of `executor`.
    /// Exit 0 (all ok) and 1 (some hosts failed) are measurements; exit 2 is
    /// a refusal; anything else is a broken run.
    pub fn from_child(
        executor: &str,
        child: ChildMeasurement,
        fleet_cpu: Option<Duration>,
    ) -> Result<Self, RunProblem> {
        match child.code {
            Some(0 | 1) => {}
            Some(2) => return Err(RunProblem::Refused(first_line(&child.stderr))),
            _ => {
                return Err(RunProblem::Broken(format!(
                    "{}: {}",
                    child.exit_description(),
                    first_line(&child.stderr)
                )));
            }
        }
        let log =
            RunLog::parse(&String::from_utf8_lossy(&child.stdout)).map_err(RunProblem::Broken)?;
        let Some(summary) = log.summary.clone() else {
            return Err(RunProblem::Broken(format!(
                "{} without a summary line: {}",
                child.exit_description(),
                first_line(&child.stderr)
            )));
        };
        Ok(Self {
            executor: executor.to_string(),
            concurrency: summary.concurrency,
            wall: summary.wall,
            process_wall: child.wall,
            cpu: child.cpu,
            core_wait: child.core_wait,
            peak_pss_bytes: child.peak_tree_pss_bytes,
            peak_rss_bytes: child.peak_tree_rss_bytes.max(child.kernel_maxrss_bytes),
            kernel_maxrss_bytes: child.kernel_maxrss_bytes,
            peak_private_bytes: child.peak_private_estimate_bytes,
            peak_processes: child.peak_processes,
            fleet_cpu,
            sampler_cpu: child.sampler_cpu,
            log,
            external: None,
        })
    }

    /// Hosts not ok in this run.
    pub fn failures(&self) -> usize {
        self.log.hosts() - self.log.counts.ok
    }
}

/// One executor over all its runs: medians of wall and CPU, the largest
/// peak RSS, latency percentiles over every host of every run, and the
/// host counts of its worst run.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorResult {
    /// Executor name.
    pub executor: String,
    /// Hosts in flight at most.
    pub concurrency: usize,
    /// Hosts per run.
    pub hosts: usize,
    /// Median wall time over the runs.
    pub wall: Duration,
    /// Every run's wall time, in run order.
    pub wall_runs: Vec<Duration>,
    /// Median process lifetime.
    pub process_wall: Duration,
    /// Median user and system CPU.
    pub cpu: CpuTime,
    /// Median time its threads waited, runnable, for a core.
    pub core_wait: Duration,
    /// Largest sampled peak PSS of the process tree.
    pub peak_pss_bytes: u64,
    /// Largest sampled peak RSS of the process tree.
    pub peak_rss_bytes: u64,
    /// Largest kernel max RSS.
    pub kernel_maxrss_bytes: u64,
    /// Largest peak of private memory plus one copy of the shared pages.
    pub peak_private_bytes: u64,
    /// Most processes in the tree at once.
    pub peak_processes: usize,
    /// Host latencies over all runs.
    pub latency: Percentiles,
    /// Hosts of the worst run per status.
    pub counts: StatusCounts,
    /// Not-ok hosts per error kind, summed over runs.
    pub errors: BTreeMap<String, usize>,
    /// One failing host's message, if any failed.
    pub first_error: Option<String>,
    /// Median fleet CPU per run, when a simulated fleet served the runs.
    pub fleet_cpu: Option<Duration>,
    /// Median CPU spent sampling memory per run (by the measuring process).
    pub sampler_cpu: Duration,
    /// Set for an `--external` program: its first run that did not exit 0,
    /// else its first run (with `left_running` and `other_lines` over all runs).
    pub external: Option<External>,
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    match values.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2,
    }
}

impl ExecutorResult {
    /// Aggregates the runs of one executor; `None` for no runs.
    pub fn aggregate(runs: &[RunMeasurement]) -> Option<Self> {
        let first = runs.first()?;
        let worst = runs.iter().max_by_key(|r| r.failures())?;
        let latencies: Vec<Duration> = runs
            .iter()
            .flat_map(|r| r.log.latencies.iter().copied())
            .collect();
        let mut errors = BTreeMap::new();
        for r in runs {
            for (kind, n) in &r.log.errors {
                *errors.entry(kind.clone()).or_insert(0) += n;
            }
        }
        let fleet: Vec<Duration> = runs.iter().filter_map(|r| r.fleet_cpu).collect();
        Some(Self {
            executor: first.executor.clone(),
            concurrency: runs
                .iter()
                .map(|r| r.concurrency)
                .max()
                .unwrap_or(first.concurrency),
            hosts: worst.log.hosts(),
            wall: median(runs.iter().map(|r| r.wall).collect()),
            wall_runs: runs.iter().map(|r| r.wall).collect(),
            process_wall: median(runs.iter().map(|r| r.process_wall).collect()),
            cpu: CpuTime {
                user: median(runs.iter().map(|r| r.cpu.user).collect()),
                system: median(runs.iter().map(|r| r.cpu.system).collect()),
            },
            core_wait: median(runs.iter().map(|r| r.core_wait).collect()),
            peak_pss_bytes: runs.iter().map(|r| r.peak_pss_bytes).max().unwrap_or(0),
            peak_rss_bytes: runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0),
            kernel_maxrss_bytes: runs
                .iter()
                .map(|r| r.kernel_maxrss_bytes)
                .max()
                .unwrap_or(0),
            peak_private_bytes: runs.iter().map(|r| r.peak_private_bytes).max().unwrap_or(0),
            peak_processes: runs.iter().map(|r| r.peak_processes).max().unwrap_or(0),
            latency: Percentiles::of(&latencies),
            counts: worst.log.counts,
            errors,
            first_error: runs.iter().find_map(|r| r.log.first_error.clone()),
            fleet_cpu: (!fleet.is_empty()).then(|| median(fleet)),
            sampler_cpu: median(runs.iter().map(|r| r.sampler_cpu).collect()),
            external: external(runs),
        })
    }

    /// Whether this is an `--external` program's row.
    pub fn is_external(&self) -> bool {
        self.external.is_some()
    }

    /// An external program that did not exit 0 (in some run).
    pub fn exit_failed(&self) -> bool {
        self.external.as_ref().is_some_and(|x| x.exit_status != 0)
    }

    /// Hosts not ok (worst run).
    pub fn failures(&self) -> usize {
        self.hosts - self.counts.ok
    }

    /// Hosts that were really in flight at most: the run's concurrency,
    /// but never more than there were hosts (`-c 100` on 8 hosts is 8).
    pub fn in_flight(&self) -> usize {
        self.concurrency.min(self.hosts.max(1))
    }

    /// Hosts per second of wall time.
    pub fn hosts_per_s(&self) -> f64 {
        let wall = self.wall.as_secs_f64();
        if wall > 0.0 {
            self.hosts as f64 / wall
        } else {
            0.0
        }
    }

    /// `wall / fastest wall` (1.0 for the fastest).
    pub fn relative_to(&self, fastest: Duration) -> f64 {
        if fastest.is_zero() {
            1.0
        } else {
            self.wall.as_secs_f64() / fastest.as_secs_f64()
        }
    }
}

/// An executor that produced no result, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Executor name.
    pub executor: String,
    /// Why (not in this build, task not supported, crashed: ...).
    pub reason: String,
}

/// Everything `fanout compare` measured at one point (one fleet size or
/// concurrency of a sweep).
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The task as typed (`cli show version`).
    pub task: String,
    /// Hosts each executor ran.
    pub hosts: usize,
    /// Where the hosts came from (`simulated fleet: 100 ios devices, ...`).
    pub source: String,
    /// CPU cores of this machine.
    pub cores: usize,
    /// Runs per executor.
    pub repeat: usize,
    /// The swept parameter and its value at this point, in a sweep.
    pub sweep: Option<(String, u64)>,
    /// One result per executor that ran, in run order.
    pub results: Vec<ExecutorResult>,
    /// Executors that did not run, or whose runs broke.
    pub skipped: Vec<Skipped>,
    /// Fleet CPU over all runs at this point, when a simulated fleet served them.
    pub fleet_cpu: Option<Duration>,
    /// What each executor's run was expected to take, before it ran.
    pub estimates: Vec<Estimate>,
    /// The best executor for this workload and why, or why there is none.
    pub verdict: Verdict,
    /// `--explain`: the verdict's reasoning, one sentence a line.
    pub explanation: Option<Vec<String>>,
}

impl Comparison {
    /// The smallest median wall time among the results.
    pub fn fastest_wall(&self) -> Duration {
        self.results
            .iter()
            .map(|r| r.wall)
            .min()
            .unwrap_or_default()
    }

    /// Whether any executor had a host that was not ok, or an external
    /// program did not exit 0.
    pub fn any_failures(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.failures() > 0 || r.exit_failed())
    }
}

/// The order of runs for `repeat` rounds over `executors` executors:
/// round-robin (every executor once per round), so that slow drifts of the
/// machine (other load, thermal) spread over all executors instead of
/// hitting one executor's runs in a row.
pub fn interleaved(executors: usize, repeat: usize) -> Vec<(usize, usize)> {
    (0..repeat)
        .flat_map(|round| (0..executors).map(move |e| (round, e)))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A result with the given wall, CPU and failures, for tests.
    pub(crate) fn result(
        executor: &str,
        concurrency: usize,
        hosts: usize,
        wall_ms: u64,
        cpu_ms: u64,
        failures: usize,
    ) -> ExecutorResult {
        ExecutorResult {
            executor: executor.to_string(),
            concurrency,
            hosts,
            wall: Duration::from_millis(wall_ms),
            wall_runs: vec![Duration::from_millis(wall_ms)],
            process_wall: Duration::from_millis(wall_ms + 5),
            cpu: CpuTime {
                user: Duration::from_millis(cpu_ms * 4 / 5),
                system: Duration::from_millis(cpu_ms / 5),
            },
            core_wait: Duration::ZERO,
            peak_pss_bytes: 7 << 20,
            peak_rss_bytes: 10 << 20,
            kernel_maxrss_bytes: 8 << 20,
            peak_private_bytes: 9 << 20,
            peak_processes: 1,
            latency: Percentiles::of(&[Duration::from_millis(wall_ms / hosts.max(1) as u64)]),
            counts: StatusCounts {
                ok: hosts - failures,
                failed: failures,
                ..StatusCounts::default()
            },
            errors: if failures > 0 {
                BTreeMap::from([("auth".to_string(), failures)])
            } else {
                BTreeMap::new()
            },
            first_error: (failures > 0).then(|| "r1: auth: rejected".to_string()),
            fleet_cpu: None,
            sampler_cpu: Duration::from_millis(2),
            external: None,
        }
    }

    fn run(wall_ms: u64, cpu_ms: u64, ok: usize, failed: usize, rss: u64) -> RunMeasurement {
        RunMeasurement {
            executor: "threads".into(),
            concurrency: 10,
            wall: Duration::from_millis(wall_ms),
            process_wall: Duration::from_millis(wall_ms + 3),
            cpu: CpuTime {
                user: Duration::from_millis(cpu_ms),
                system: Duration::ZERO,
            },
            core_wait: Duration::ZERO,
            peak_pss_bytes: rss - 1,
            peak_rss_bytes: rss,
            kernel_maxrss_bytes: rss / 2,
            peak_private_bytes: rss,
            peak_processes: 1,
            fleet_cpu: Some(Duration::from_millis(wall_ms / 10)),
            sampler_cpu: Duration::from_millis(1),
            log: RunLog {
                latencies: vec![Duration::from_millis(wall_ms); ok + failed],
                counts: StatusCounts {
                    ok,
                    failed,
                    ..StatusCounts::default()
                },
                errors: if failed > 0 {
                    BTreeMap::from([("auth".into(), failed)])
                } else {
                    BTreeMap::new()
                },
                ..RunLog::default()
            },
            external: None,
        }
    }

    #[test]
    fn aggregate_takes_medians_peaks_and_the_worst_run() {
        let runs = [
            run(300, 30, 10, 0, 5),
            run(100, 10, 9, 1, 7),
            run(200, 20, 10, 0, 6),
        ];
        let r = ExecutorResult::aggregate(&runs).unwrap();
        assert_eq!(r.wall, Duration::from_millis(200));
        assert_eq!(r.wall_runs.len(), 3);
        assert_eq!(r.cpu.user, Duration::from_millis(20));
        assert_eq!(r.peak_rss_bytes, 7);
        assert_eq!(r.peak_pss_bytes, 6);
        assert_eq!(
            (r.hosts, r.counts.ok, r.counts.failed, r.failures()),
            (10, 9, 1, 1)
        );
        assert_eq!(r.latency.count, 30);
        assert_eq!(r.latency.max, Duration::from_millis(300));
        assert_eq!(r.fleet_cpu, Some(Duration::from_millis(20)));
        assert!((r.hosts_per_s() - 50.0).abs() < 1e-9);
        assert!((r.relative_to(Duration::from_millis(100)) - 2.0).abs() < 1e-9);
        assert_eq!(r.in_flight(), 10);
        let few = ExecutorResult {
            hosts: 4,
            ..r.clone()
        };
        assert_eq!(few.in_flight(), 4, "-c 10 on 4 hosts is 4 in flight");
        assert_eq!(ExecutorResult::aggregate(&[]), None);
        let even = ExecutorResult::aggregate(&runs[..2]).unwrap();
        assert_eq!(even.wall, Duration::from_millis(200));
    }

    #[test]
    fn rounds_are_interleaved() {
        let order = interleaved(3, 2);
        assert_eq!(order, vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        assert!(
            order.windows(2).all(|w| w[0].1 != w[1].1),
            "no executor twice in a row"
        );
        assert!(interleaved(4, 0).is_empty());
    }

    pub(crate) fn child(code: Option<i32>, stdout: &str, stderr: &str) -> ChildMeasurement {
        ChildMeasurement {
            code,
            signal: if code.is_none() { Some(9) } else { None },
            wall: Duration::from_millis(80),
            cpu: CpuTime::default(),
            core_wait: Duration::ZERO,
            kernel_maxrss_bytes: 4096,
            peak_tree_rss_bytes: 8192,
            peak_tree_pss_bytes: 5000,
            peak_private_estimate_bytes: 6000,
            peak_processes: 2,
            samples: 3,
            left_running: false,
            sampler_cpu: Duration::from_millis(1),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn child_exits_map_to_measurements_or_problems() {
        let out = "{\"host\":\"h1\",\"status\":\"ok\",\"timings_ms\":{\"total\":10.0}}\n{\"summary\":{\"executor\":\"seq\",\"concurrency\":1,\"hosts\":1,\"ok\":1,\"failed\":0,\"timeout\":0,\"cancelled\":0,\"wall_s\":0.01}}\n";
        let m = RunMeasurement::from_child("seq", child(Some(0), out, ""), None).unwrap();
        assert_eq!(
            (m.concurrency, m.wall, m.peak_rss_bytes, m.peak_pss_bytes),
            (1, Duration::from_millis(10), 8192, 5000)
        );
        let refused = RunMeasurement::from_child(
            "seq",
            child(
                Some(2),
                "",
                "error: the `cli` task is not supported by the `seq` executor yet\n",
            ),
            None,
        );
        assert_eq!(
            refused,
            Err(RunProblem::Refused(
                "the `cli` task is not supported by the `seq` executor yet".into()
            ))
        );
        let killed = RunMeasurement::from_child("seq", child(None, "", ""), None).unwrap_err();
        assert!(
            matches!(&killed, RunProblem::Broken(m) if m.contains("signal 9")),
            "{killed:?}"
        );
        let cut = RunMeasurement::from_child("seq", child(Some(1), &out[..60], "boom"), None)
            .unwrap_err();
        assert!(matches!(cut, RunProblem::Broken(_)));
        let no_summary = RunMeasurement::from_child(
            "seq",
            child(Some(130), out.lines().next().unwrap(), "interrupted"),
            None,
        );
        assert!(matches!(no_summary, Err(RunProblem::Broken(m)) if m.contains("exit code 130")));
    }
}
