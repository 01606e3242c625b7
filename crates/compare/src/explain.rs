//! `fanout compare --explain`: the recommendation's reasoning in plain
//! words, every claim with the measured figure behind it — what kind of
//! work the hosts are, what dominated each row's time (waiting, CPU,
//! process start), why the pick won, and what would change the answer.

use std::time::Duration;

use crate::estimate::PROCESS_START_CPU;
use crate::recommend::{TOLERANCE, Workload, WorkloadClass, classify, seq_utilisation};
use crate::render::fmt_time;
use crate::result::{Comparison, ExecutorResult};

/// What took most of a row's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dominant {
    /// Hosts waited (on the network, the devices, a timer): the cores idled.
    Waiting,
    /// The client computed: the cores it could use were at least half busy.
    Cpu,
    /// Starting processes: outside the run (start-up, exit) or its worker
    /// processes' start-up inside it.
    ProcessStart,
}

impl Dominant {
    fn words(self) -> &'static str {
        match self {
            Dominant::Waiting => "waiting dominated",
            Dominant::Cpu => "CPU dominated",
            Dominant::ProcessStart => "process start dominated",
        }
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn per_host(d: Duration, hosts: usize) -> Duration {
    d / u32::try_from(hosts.max(1)).unwrap_or(u32::MAX)
}

/// Cores the row could keep busy: hosts in flight up to the cores. An
/// external program's threads are unknown, so it is judged against one
/// core (most scripts compute on one thread).
fn usable_cores(r: &ExecutorResult, cores: usize) -> usize {
    if r.is_external() {
        1
    } else {
        r.in_flight().clamp(1, cores.max(1))
    }
}

/// CPU spent starting worker processes, estimated for the process executor
/// from its measured peak process count.
fn worker_start_cpu(r: &ExecutorResult) -> Option<(usize, Duration)> {
    let workers = r.peak_processes.saturating_sub(1);
    (r.executor == "process" && !r.is_external() && workers > 0).then(|| {
        (
            workers,
            PROCESS_START_CPU.saturating_mul(u32::try_from(workers).unwrap_or(u32::MAX)),
        )
    })
}

/// The dominant cost of a row and its figures: busy share of the usable
/// cores over the whole process, and the time outside the run.
fn dominant(r: &ExecutorResult, cores: usize) -> (Dominant, f64, Duration) {
    let life = secs(r.process_wall).max(1e-9);
    let busy = secs(r.cpu.total()) / (life * usable_cores(r, cores) as f64);
    let outside = r.process_wall.saturating_sub(r.wall);
    let starting = worker_start_cpu(r).map_or(0.0, |(_, cpu)| secs(cpu));
    let d = if secs(outside) >= 0.5 * life || starting >= 0.5 * secs(r.cpu.total()).max(1e-9) {
        Dominant::ProcessStart
    } else if busy >= 0.5 {
        Dominant::Cpu
    } else {
        Dominant::Waiting
    };
    (d, busy, outside)
}

/// One line per row: its wall time, what dominated it, and the figures.
fn row_line(r: &ExecutorResult, c: &Comparison, seq_host: Option<Duration>) -> String {
    let (d, busy, outside) = dominant(r, c.cores);
    let usable = usable_cores(r, c.cores);
    let share = if r.is_external() {
        format!("on average {:.2} of the {} cores busy", busy, c.cores)
    } else if usable == 1 {
        format!(
            "on average {:.0} % of the 1 core it could use",
            busy * 100.0
        )
    } else {
        format!(
            "on average {:.0} % of the {usable} cores it could use",
            busy * 100.0
        )
    };
    let mut line = format!(
        "{}{}: {} wall, {}: client CPU {} ({} per host), {share}",
        r.executor,
        if r.is_external() { " (external)" } else { "" },
        fmt_time(r.wall),
        d.words(),
        fmt_time(r.cpu.total()),
        fmt_time(per_host(r.cpu.total(), r.hosts)),
    );
    line.push_str(&format!(
        "; {} of its {} process life outside the run (start-up, exit)",
        fmt_time(outside),
        fmt_time(r.process_wall)
    ));
    if let Some((workers, cpu)) = worker_start_cpu(r) {
        line.push_str(&format!(
            "; starting its {workers} worker processes costs about {} of CPU ({:.0} % of its CPU)",
            fmt_time(cpu),
            100.0 * secs(cpu) / secs(r.cpu.total()).max(1e-9)
        ));
    }
    // Against pure waiting: rounds of `in flight` hosts, one seq host each.
    if let Some(host) = seq_host.filter(|_| r.concurrency > 0 && r.hosts > 0) {
        let rounds = r.hosts.div_ceil(r.in_flight().max(1));
        let ideal = host.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX));
        line.push_str(&format!(
            "; {rounds} round{} of {} in flight x {} (one host alone) would be {}: it took {:.1}x that",
            if rounds == 1 { "" } else { "s" },
            r.in_flight(),
            fmt_time(host),
            fmt_time(ideal),
            secs(r.wall) / secs(ideal).max(1e-9)
        ));
    }
    if r.peak_processes > 1 && r.is_external() {
        line.push_str(&format!("; {} processes at most", r.peak_processes));
    }
    line
}

/// What the hosts are, from the seq run when there is one.
fn workload_line(executors: &[ExecutorResult], workload: &Workload) -> String {
    let (class, evidence) = classify(executors, workload);
    let Some(seq) = executors.iter().find(|r| r.executor == "seq") else {
        return format!(
            "The work is {} ({evidence}): no seq run measured one host at a time, so this is the task's kind, not a measurement.",
            class.label()
        );
    };
    let host = per_host(seq.wall, seq.hosts);
    let cpu = per_host(seq.cpu.total(), seq.hosts);
    // Waiting for a core on a busy machine is neither computing nor the
    // hosts' own waiting.
    let waiting = host
        .saturating_sub(cpu)
        .saturating_sub(per_host(seq.core_wait, seq.hosts));
    let ratio = if cpu.is_zero() {
        String::new()
    } else if waiting < host / 100 {
        ", nearly all of it computing".to_string()
    } else if waiting >= cpu {
        format!(
            ", {:.0}x as long waiting as computing",
            secs(waiting) / secs(cpu)
        )
    } else {
        format!(
            ", {:.1}x as long computing as waiting",
            secs(cpu) / secs(waiting).max(1e-9)
        )
    };
    format!(
        "The work is {}: seq, one host at a time, took {} per host of which {} was client CPU ({evidence}{ratio}).",
        class.label(),
        fmt_time(host),
        fmt_time(cpu),
    )
}

/// Why the pick won against the others, and what would change that.
fn decision_lines(
    c: &Comparison,
    executors: &[ExecutorResult],
    class: WorkloadClass,
) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(rec) = &c.verdict.recommendation else {
        lines.push(match &c.verdict.withheld {
            Some(why) => format!("No recommendation: {why}."),
            None => "No recommendation: no executor produced a result.".to_string(),
        });
        return lines;
    };
    let Some(pick) = executors.iter().find(|r| r.executor == rec.executor) else {
        return lines;
    };
    let fewest = executors
        .iter()
        .map(ExecutorResult::failures)
        .min()
        .unwrap_or(0);
    let eligible: Vec<&ExecutorResult> = executors
        .iter()
        .filter(|r| r.failures() == fewest)
        .collect();
    let fastest = eligible.iter().map(|r| r.wall).min().unwrap_or(pick.wall);
    let limit = secs(fastest) * (1.0 + TOLERANCE);
    let ties: Vec<&str> = eligible
        .iter()
        .filter(|r| secs(r.wall) <= limit && r.executor != pick.executor)
        .map(|r| r.executor.as_str())
        .collect();
    let order = class.preference().join(", ");
    if ties.is_empty() {
        lines.push(format!(
            "{} is recommended because it was fastest by more than {:.0} % (the noise band of a shared machine): the measurement decided, not the model.",
            pick.executor,
            TOLERANCE * 100.0
        ));
    } else {
        lines.push(format!(
            "{} is recommended: {} within {:.0} % of the fastest ({}) count{} as a tie, and a tie goes to the model that suits {} work ({order}).",
            pick.executor,
            ties.join(", "),
            TOLERANCE * 100.0,
            fmt_time(fastest),
            if ties.len() == 1 { "s" } else { "" },
            class.label()
        ));
    }
    // What would change it: the closest other executor, by time.
    let rank = |name: &str| class.preference().iter().position(|n| *n == name);
    if let Some(other) = eligible
        .iter()
        .filter(|r| r.executor != pick.executor)
        .min_by_key(|r| r.wall)
    {
        let preferred = rank(&other.executor) < rank(&pick.executor);
        if preferred {
            lines.push(format!(
                "{} suits {} work better; it would be picked if it came within {:.0} % of {}: at most {}, it took {}.",
                other.executor,
                class.label(),
                TOLERANCE * 100.0,
                pick.executor,
                fmt_time(pick.wall.mul_f64(1.0 + TOLERANCE)),
                fmt_time(other.wall)
            ));
        } else {
            lines.push(format!(
                "{} would be picked only if it were more than {:.0} % faster than {}: under {}, it took {}.",
                other.executor,
                TOLERANCE * 100.0,
                pick.executor,
                fmt_time(pick.wall.div_f64(1.0 + TOLERANCE)),
                fmt_time(other.wall)
            ));
        }
    }
    lines
}

/// What would turn the workload class, and what more hosts in flight or
/// more cores would do.
fn change_lines(c: &Comparison, executors: &[ExecutorResult], class: WorkloadClass) -> Vec<String> {
    let mut lines = Vec::new();
    let seq_busy = seq_utilisation(executors).map(|(u, _)| u);
    let other = match class {
        WorkloadClass::IoBound => WorkloadClass::CpuBound,
        WorkloadClass::CpuBound => WorkloadClass::IoBound,
    };
    let now = seq_busy.map_or_else(String::new, |u| format!(" (now {:.0} %)", u * 100.0));
    lines.push(format!(
        "If the hosts {} (seq {} 50 % busy{now}), the work would be {} and the order {}.",
        match class {
            WorkloadClass::IoBound => "computed at least as long as they wait",
            WorkloadClass::CpuBound => "waited longer than they compute",
        },
        match class {
            WorkloadClass::IoBound => "at least",
            WorkloadClass::CpuBound => "under",
        },
        other.label(),
        other.preference().join(", ")
    ));
    let Some(pick) = c
        .verdict
        .recommendation
        .as_ref()
        .and_then(|rec| executors.iter().find(|r| r.executor == rec.executor))
    else {
        return lines;
    };
    match class {
        WorkloadClass::IoBound if pick.in_flight() < c.hosts => lines.push(format!(
            "{} had {} of {} hosts in flight: a larger -c (up to {}) would overlap more of the waiting.",
            pick.executor,
            pick.in_flight(),
            c.hosts,
            c.hosts
        )),
        WorkloadClass::IoBound => lines.push(format!(
            "Every host was in flight at once ({}): a larger -c changes nothing here; with more hosts than -c, rounds of waiting add up.",
            pick.in_flight()
        )),
        WorkloadClass::CpuBound => lines.push(format!(
            "More hosts in flight than the {} cores do not help CPU-bound hosts; more cores would.",
            c.cores
        )),
    }
    if let Some(fleet) = pick.fleet_cpu {
        let share = secs(fleet) / (secs(pick.process_wall).max(1e-9) * c.cores.max(1) as f64);
        lines.push(format!(
            "The simulated fleet used {} of CPU during the {} run, {:.0} % of the {} cores the client ran on: {}",
            fmt_time(fleet),
            pick.executor,
            share * 100.0,
            c.cores,
            if share >= 0.3 {
                "real devices would leave those cores to the client, and the parallel executors would gain most."
            } else {
                "little enough that real devices would change the figures little."
            }
        ));
    }
    lines
}

/// External programs against the pick: time and CPU per host ratios.
fn external_lines(c: &Comparison, executors: &[ExecutorResult]) -> Vec<String> {
    let pick = c
        .verdict
        .recommendation
        .as_ref()
        .and_then(|rec| executors.iter().find(|r| r.executor == rec.executor))
        .or_else(|| executors.iter().min_by_key(|r| r.wall));
    let Some(pick) = pick else {
        return Vec::new();
    };
    c.results
        .iter()
        .filter(|r| r.is_external() && r.hosts > 0)
        .map(|x| {
            let cpu_x = secs(per_host(x.cpu.total(), x.hosts));
            let cpu_p = secs(per_host(pick.cpu.total(), pick.hosts)).max(1e-9);
            let busy = secs(x.cpu.total()) / secs(x.process_wall).max(1e-9);
            format!(
                "{} took {:.1}x the wall time of {} and {:.1}x its client CPU per host; it kept {:.2} cores busy on average{}.",
                x.executor,
                secs(x.wall) / secs(pick.wall).max(1e-9),
                pick.executor,
                cpu_x / cpu_p,
                busy,
                if (0.8..1.2).contains(&busy) && c.cores > 1 {
                    ": one core's worth, the mark of a single-threaded interpreter (Python's GIL) doing the work"
                } else {
                    ""
                }
            )
        })
        .collect()
}

/// The reasoning behind `c`'s verdict, one plain sentence a line.
pub fn explain(c: &Comparison, workload: &Workload) -> Vec<String> {
    let executors: Vec<ExecutorResult> = c
        .results
        .iter()
        .filter(|r| !r.is_external())
        .cloned()
        .collect();
    if executors.is_empty() {
        return vec!["Nothing to explain: no executor produced a result.".to_string()];
    }
    let (class, _) = classify(&executors, workload);
    let seq_host = executors
        .iter()
        .find(|r| r.executor == "seq")
        .map(|s| s.latency.p50)
        .filter(|_| class == WorkloadClass::IoBound);
    let mut lines = vec![workload_line(&executors, workload)];
    lines.extend(c.results.iter().map(|r| row_line(r, c, seq_host)));
    lines.extend(decision_lines(c, &executors, class));
    lines.extend(change_lines(c, &executors, class));
    lines.extend(external_lines(c, &executors));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::external::External;
    use crate::render::tests::sample;
    use crate::result::tests::result;
    use crate::verdict::{Rules, conclude};

    fn comparison(results: Vec<ExecutorResult>, workload: &Workload) -> Comparison {
        let verdict = conclude(&results, workload, Rules::default());
        Comparison {
            hosts: workload.hosts,
            results,
            verdict,
            ..sample()
        }
    }

    const IO: Workload = Workload {
        hosts: 100,
        cores: 2,
        hint: Some(WorkloadClass::IoBound),
    };

    #[test]
    fn io_bound_reasons_with_measured_ratios() {
        let mut process = result("process", 100, 100, 420, 3500, 0);
        process.peak_processes = 101;
        let mut asy = result("async", 100, 100, 70, 40, 0);
        asy.fleet_cpu = Some(Duration::from_millis(60));
        let mut py = result("py", 100, 100, 8500, 8400, 0);
        py.external = Some(External {
            command: "python3 peer.py".into(),
            exit_status: 0,
            exit_problem: None,
            wall_from_summary: true,
            other_lines: 0,
            left_running: false,
        });
        let c = comparison(
            vec![
                result("seq", 1, 100, 5200, 60, 0),
                process,
                result("threads", 100, 100, 75, 90, 0),
                asy,
                py,
            ],
            &IO,
        );
        let lines = explain(&c, &IO);
        let text = lines.join("\n");
        assert_eq!(
            lines[0],
            "The work is I/O-bound: seq, one host at a time, took 52.0 ms per host of which 0.60 ms was client CPU (seq kept a core 1 % busy, 86x as long waiting as computing)."
        );
        let line = |prefix: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no line {prefix}: {text}"))
                .as_str()
        };
        assert_eq!(
            line("async: "),
            "async: 70.0 ms wall, waiting dominated: client CPU 40.0 ms (0.40 ms per host), on average 27 % of the 2 cores it could use; 5.00 ms of its 75.0 ms process life outside the run (start-up, exit); 1 round of 100 in flight x 52.0 ms (one host alone) would be 52.0 ms: it took 1.3x that"
        );
        assert!(
            line("seq: ").contains("100 rounds of 1 in flight x 52.0 ms"),
            "{text}"
        );
        assert!(
            line("process: ").contains(
                "starting its 100 worker processes costs about 800 ms of CPU (23 % of its CPU)"
            ),
            "{text}"
        );
        assert!(line("process: ").contains("CPU dominated"), "{text}");
        assert!(
            line("py (external): ").starts_with(
                "py (external): 8.50 s wall, CPU dominated: client CPU 8.40 s (84.0 ms per host), on average 0.99 of the 2 cores busy; 5.00 ms of its 8.51 s process life"
            ),
            "{text}"
        );
        assert_eq!(
            line("async is recommended"),
            "async is recommended: threads within 10 % of the fastest (70.0 ms) counts as a tie, and a tie goes to the model that suits I/O-bound work (async, threads, process, rayon, seq)."
        );
        assert_eq!(
            line("threads would be picked"),
            "threads would be picked only if it were more than 10 % faster than async: under 63.6 ms, it took 75.0 ms."
        );
        assert_eq!(
            line("If the hosts"),
            "If the hosts computed at least as long as they wait (seq at least 50 % busy (now 1 %)), the work would be CPU-bound and the order rayon, process, threads, async, seq."
        );
        assert!(
            line("Every host was in flight at once (100)").contains("a larger -c changes nothing"),
            "{text}"
        );
        assert!(
            line(
                "The simulated fleet used 60.0 ms of CPU during the async run, 40 % of the 2 cores"
            )
            .ends_with("the parallel executors would gain most."),
            "{text}"
        );
        assert_eq!(
            line("py took"),
            "py took 121.4x the wall time of async and 210.0x its client CPU per host; it kept 0.99 cores busy on average: one core's worth, the mark of a single-threaded interpreter (Python's GIL) doing the work."
        );
    }

    #[test]
    fn a_measured_win_and_what_would_turn_it() {
        // threads clearly faster: the measurement decides; async (preferred)
        // would need to come within 10 %.
        let c = comparison(
            vec![
                result("threads", 10, 100, 500, 90, 0),
                result("async", 10, 100, 700, 40, 0),
            ],
            &IO,
        );
        let lines = explain(&c, &IO);
        let text = lines.join("\n");
        assert!(
            lines[0].starts_with("The work is I/O-bound (by task): no seq run"),
            "{text}"
        );
        assert!(
            text.contains("threads is recommended because it was fastest by more than 10 %"),
            "{text}"
        );
        assert!(
            text.contains("async suits I/O-bound work better; it would be picked if it came within 10 % of threads: at most 550 ms, it took 700 ms."),
            "{text}"
        );
        assert!(
            text.contains("threads had 10 of 100 hosts in flight: a larger -c (up to 100) would overlap more of the waiting."),
            "{text}"
        );
    }

    #[test]
    fn cpu_bound_and_withheld() {
        let cpu = Workload {
            hosts: 8,
            cores: 2,
            hint: Some(WorkloadClass::CpuBound),
        };
        let c = comparison(
            vec![
                result("seq", 1, 8, 4350, 4350, 0),
                result("rayon", 2, 8, 2250, 4400, 0),
                result("threads", 8, 8, 2260, 4440, 0),
            ],
            &cpu,
        );
        let text = explain(&c, &cpu).join("\n");
        assert!(text.starts_with("The work is CPU-bound: seq, one host at a time, took 544 ms per host of which 544 ms was client CPU (seq kept a core 100 % busy, nearly all of it computing)."), "{text}");
        assert!(text.contains("rayon: 2.25 s wall, CPU dominated"), "{text}");
        assert!(
            !text.contains("round"),
            "no waiting rounds for CPU-bound work: {text}"
        );
        assert!(text.contains("More hosts in flight than the 2 cores do not help CPU-bound hosts; more cores would."), "{text}");
        assert!(text.contains("If the hosts waited longer than they compute (seq under 50 % busy (now 100 %)), the work would be I/O-bound"), "{text}");

        let failed = comparison(
            vec![result("seq", 1, 2, 40, 25, 2)],
            &Workload { hosts: 2, ..IO },
        );
        let text = explain(&failed, &IO).join("\n");
        assert!(
            text.contains("No recommendation: hosts failed (seq 2 of 2 (auth 2))"),
            "{text}"
        );
        assert_eq!(
            explain(&comparison(Vec::new(), &IO), &IO),
            ["Nothing to explain: no executor produced a result."]
        );
    }
}
