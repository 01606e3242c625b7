//! `fanout compare` output: an aligned table, a Markdown table, and the
//! JSON document (`{"task", "hosts", "results": [...], "fleet_cpu_s",
//! "recommendation"}` and more, listed in the README's compare section;
//! written by `json.rs`), for one comparison or a sweep.

use std::fmt::Write as _;
use std::time::Duration;

use crate::external::External;
use crate::result::{Comparison, ExecutorResult};

pub use crate::json::{comparison_json, sweep_json};

/// A time with three significant digits: `1.23 ms`, `45.3 ms`, `123 ms`,
/// `1.20 s`, `11.2 s`, `123 s`.
pub fn fmt_time(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let (v, unit) = if secs < 1.0 {
        (secs * 1e3, "ms")
    } else {
        (secs, "s")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// `12.3 MiB`.
pub fn fmt_bytes(b: u64) -> String {
    let mib = b as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn failures_cell(r: &ExecutorResult) -> String {
    let hosts = if r.is_external() && r.hosts == 0 {
        "-".to_string()
    } else if r.failures() == 0 {
        "0".to_string()
    } else {
        let kinds: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!("{} ({})", r.failures(), kinds.join(", "))
    };
    match &r.external {
        Some(x) if x.exit_status != 0 => format!("{hosts}; exit {}", x.exit_status),
        _ => hosts,
    }
}

const HEADER: [&str; 11] = [
    "executor",
    "conc",
    "wall",
    "vs fastest",
    "hosts/s",
    "client CPU",
    "peak PSS",
    "p50",
    "p95",
    "p99",
    "failures",
];

fn rows(c: &Comparison) -> Vec<[String; 11]> {
    let fastest = c.fastest_wall();
    c.results
        .iter()
        .map(|r| {
            // What an external program did not report is shown as `-`.
            let unknown = |known: bool, text: String| if known { text } else { "-".into() };
            let hosts = !r.is_external() || r.hosts > 0;
            let conc = !r.is_external() || r.concurrency > 0;
            [
                r.executor.clone(),
                unknown(conc, r.in_flight().to_string()),
                fmt_time(r.wall),
                format!("{:.2}x", r.relative_to(fastest)),
                unknown(hosts, fmt_rate(r.hosts_per_s())),
                fmt_time(r.cpu.total()),
                fmt_bytes(r.peak_pss_bytes),
                unknown(hosts, fmt_time(r.latency.p50)),
                unknown(hosts, fmt_time(r.latency.p95)),
                unknown(hosts, fmt_time(r.latency.p99)),
                failures_cell(r),
            ]
        })
        .collect()
}

/// The one-line title: task, hosts, where they came from, machine, runs.
pub fn title(c: &Comparison) -> String {
    let sweep = c
        .sweep
        .as_ref()
        .map(|(p, v)| format!(" [{p} = {v}]"))
        .unwrap_or_default();
    format!(
        "{} on {} hosts ({}); {} cores, {} run{} per executor{sweep}",
        c.task,
        c.hosts,
        c.source,
        c.cores,
        c.repeat,
        if c.repeat == 1 { "" } else { "s" }
    )
}

fn footer(c: &Comparison, out: &mut String) {
    if let Some(cpu) = c.fleet_cpu {
        let _ = writeln!(
            out,
            "fleet CPU (simulated devices, not billed to any executor): {}",
            fmt_time(cpu)
        );
    }
    for r in c.results.iter().filter(|r| r.peak_processes > 1) {
        let _ = writeln!(
            out,
            "{}: peak PSS of {} processes, each shared page divided among the processes mapping it; their summed RSS was {} (shared code counted once per process)",
            r.executor,
            r.peak_processes,
            fmt_bytes(r.peak_rss_bytes)
        );
    }
    for r in &c.results {
        if let Some(x) = &r.external {
            let _ = writeln!(out, "{}", external_note(r, x));
        }
    }
    for k in &c.skipped {
        let _ = writeln!(out, "skipped {}: {}", k.executor, k.reason);
    }
    for r in c.results.iter().filter(|r| r.failures() > 0) {
        if let Some(e) = &r.first_error {
            let _ = writeln!(out, "{} failures, e.g. {e}", r.executor);
        }
    }
    match (&c.verdict.recommendation, &c.verdict.withheld) {
        (Some(rec), _) => {
            let _ = writeln!(out, "recommendation: {rec}");
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "recommendation: none: {why}");
        }
        (None, None) => {
            let _ = writeln!(out, "recommendation: none (no executor produced a result)");
        }
    }
    if let Some(line) = &c.verdict.left_out {
        let _ = writeln!(out, "{line}");
    }
    if let Some(lines) = &c.explanation {
        let _ = writeln!(out, "why (--explain):");
        for line in lines {
            let _ = writeln!(out, "- {line}");
        }
    }
}

/// `py: external `python3 x.py {inventory}` (sh -c), exit 0; wall from its summary line`.
fn external_note(r: &ExecutorResult, x: &External) -> String {
    let mut line = format!("{}: external `{}` (sh -c), ", r.executor, x.command);
    match &x.exit_problem {
        Some(why) => line.push_str(why),
        None => line.push_str("exit 0"),
    }
    line.push_str(if x.wall_from_summary {
        "; wall from its own summary line (first host to last outcome)"
    } else {
        "; wall is its whole process (it printed no fanout summary line)"
    });
    if r.hosts == 0 {
        line.push_str("; no fanout host lines, so no hosts/s, latencies or failures");
    }
    if x.other_lines > 0 {
        let _ = write!(line, "; {} other output lines passed over", x.other_lines);
    }
    if x.left_running {
        line.push_str("; it left processes running (killed when it exited)");
    }
    line
}

/// The aligned text table with its title and footer lines.
pub fn comparison_table(c: &Comparison) -> String {
    let rows = rows(c);
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            // Names and failure details left, numbers right.
            if i == 0 || i == cells.len() - 1 {
                let _ = write!(text, "{cell:<w$}");
            } else {
                let _ = write!(text, "{cell:>w$}");
            }
        }
        text.trim_end().to_string()
    };
    let mut out = format!("fanout compare: {}\n", title(c));
    out.push_str(&line(&HEADER.map(String::from)));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    footer(c, &mut out);
    out
}

/// A GitHub-flavoured Markdown table with the title and footer.
pub fn comparison_markdown(c: &Comparison) -> String {
    let mut out = format!("**fanout compare**: {}\n\n", title(c));
    out.push_str(&format!("| {} |\n", HEADER.join(" | ")));
    let align: Vec<&str> = (0..HEADER.len())
        .map(|i| {
            if i == 0 || i == HEADER.len() - 1 {
                "---"
            } else {
                "---:"
            }
        })
        .collect();
    out.push_str(&format!("|{}|\n", align.join("|")));
    for row in rows(c) {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push('\n');
    let mut foot = String::new();
    footer(c, &mut foot);
    for l in foot.lines() {
        out.push_str(l);
        out.push_str("  \n");
    }
    out
}

/// For a sweep: executors down, swept values across, median wall in each
/// cell (`-` where an executor did not run at that value).
pub fn sweep_matrix(param: &str, points: &[Comparison], markdown: bool) -> String {
    let mut executors: Vec<String> = Vec::new();
    for c in points {
        for r in &c.results {
            if !executors.contains(&r.executor) {
                executors.push(r.executor.clone());
            }
        }
    }
    let values: Vec<String> = points
        .iter()
        .map(|c| {
            c.sweep
                .as_ref()
                .map_or_else(String::new, |s| format!("{param}={}", s.1))
        })
        .collect();
    let mut table: Vec<Vec<String>> =
        vec![std::iter::once("wall".to_string()).chain(values).collect()];
    for e in &executors {
        let mut row = vec![e.clone()];
        for c in points {
            row.push(
                c.results
                    .iter()
                    .find(|r| &r.executor == e)
                    .map_or_else(|| "-".to_string(), |r| fmt_time(r.wall)),
            );
        }
        table.push(row);
    }
    let mut out = String::new();
    if markdown {
        for (i, row) in table.iter().enumerate() {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
            if i == 0 {
                out.push_str(&format!("|---|{}\n", "---:|".repeat(row.len() - 1)));
            }
        }
    } else {
        let cols = table[0].len();
        let widths: Vec<usize> = (0..cols)
            .map(|i| {
                table
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &table {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    if i == 0 {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::recommend::{Workload, WorkloadClass};
    use crate::result::Skipped;
    use crate::result::tests::result;
    use crate::verdict::{Rules, Verdict, conclude};
    use serde_json::json;

    pub(crate) fn sample() -> Comparison {
        let results = vec![
            result("seq", 1, 100, 5200, 60, 0),
            result("async", 100, 100, 70, 40, 2),
        ];
        let verdict = conclude(
            &results,
            &Workload {
                hosts: 100,
                cores: 2,
                hint: Some(WorkloadClass::IoBound),
            },
            Rules {
                recommend_anyway: true,
                ..Rules::default()
            },
        );
        Comparison {
            task: "cli show version".into(),
            hosts: 100,
            source: "simulated fleet: 100 ios devices, 50ms latency".into(),
            cores: 2,
            repeat: 1,
            sweep: None,
            results,
            skipped: vec![Skipped {
                executor: "process".into(),
                reason: "not available in this build".into(),
            }],
            fleet_cpu: Some(Duration::from_millis(1234)),
            estimates: vec![crate::estimate::estimate(
                "seq",
                1,
                100,
                2,
                crate::estimate::HostCost {
                    wall: Duration::from_millis(52),
                    cpu_bound: false,
                },
            )],
            verdict,
            explanation: None,
        }
    }

    #[test]
    fn in_flight_withheld_and_left_out_are_shown() {
        let mut c = sample();
        // -c 100 on 8 hosts is 8 in flight, in the table and the JSON.
        c.hosts = 8;
        c.results = vec![
            result("threads", 100, 8, 20, 4, 0),
            result("seq", 1, 8, 160, 4, 0),
        ];
        let table = comparison_table(&c);
        let threads = table.lines().find(|l| l.starts_with("threads")).unwrap();
        assert_eq!(threads.split_whitespace().nth(1), Some("8"), "{table}");
        let doc = comparison_json(&c);
        assert_eq!(doc["results"][0]["concurrency"], 8);
        assert_eq!(doc["results"][0]["requested_concurrency"], 100);

        c.verdict = Verdict {
            recommendation: None,
            withheld: Some("hosts failed (seq 8 of 8 (auth 8))".into()),
            left_out: Some("compared at 8 in flight only; not compared: seq (1 in flight)".into()),
        };
        let table = comparison_table(&c);
        assert!(
            table.contains("\nrecommendation: none: hosts failed (seq 8 of 8 (auth 8))\n"),
            "{table}"
        );
        assert!(
            table.ends_with("\ncompared at 8 in flight only; not compared: seq (1 in flight)\n"),
            "{table}"
        );
        let doc = comparison_json(&c);
        assert!(doc["recommendation"].is_null() && doc["recommended"].is_null());
        assert_eq!(
            doc["recommendation_withheld"],
            "hosts failed (seq 8 of 8 (auth 8))"
        );
        assert!(
            doc["not_compared"]
                .as_str()
                .unwrap()
                .contains("seq (1 in flight)")
        );
    }

    #[test]
    fn table_and_markdown_show_every_result() {
        let c = sample();
        let table = comparison_table(&c);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("fanout compare: cli show version on 100 hosts"),
            "{table}"
        );
        assert!(lines[1].starts_with("executor  conc"), "{table}");
        assert!(lines[2].starts_with("seq "), "{table}");
        assert!(lines[2].contains("74.29x"), "{table}");
        assert!(
            lines[3].contains("1.00x") && lines[3].ends_with("2 (auth 2)"),
            "{table}"
        );
        assert!(
            table.contains("fleet CPU (simulated devices, not billed to any executor): 1.23 s")
        );
        assert!(table.contains("skipped process: not available in this build"));
        assert!(!table.contains("summed RSS"), "one process each: no note");
        assert!(
            lines[2].contains(" 7.0 MiB "),
            "PSS is the memory column: {table}"
        );
        let mut many = c.clone();
        many.results[1].peak_processes = 101;
        many.results[1].peak_rss_bytes = 1100 << 20;
        assert!(comparison_table(&many).contains(
            "async: peak PSS of 101 processes, each shared page divided among the processes mapping it; their summed RSS was 1.07 GiB (shared code counted once per process)"
        ));
        assert!(table.contains("async failures, e.g. r1: auth: rejected"));
        assert!(table.contains("recommendation: seq: "));
        // Columns line up: every row as long as the header's first cells.
        let p99 = lines[1].find("p99").unwrap();
        assert!(lines[2].len() > p99 && lines[3].len() > p99);

        let md = comparison_markdown(&c);
        assert!(md.contains("| executor | conc | wall |"), "{md}");
        assert!(md.contains("|---|---:|"), "{md}");
        assert_eq!(md.matches("\n| ").count(), 3, "header + 2 rows: {md}");
    }

    /// An external program's row: `py` printed host lines and a summary,
    /// `bare` printed nothing of ours and exited 3.
    pub(crate) fn with_externals() -> Comparison {
        let mut c = sample();
        let mut py = result("py", 100, 100, 8500, 890, 0);
        py.external = Some(External {
            command: "python3 peer.py {inventory}".into(),
            exit_status: 0,
            exit_problem: None,
            wall_from_summary: true,
            other_lines: 0,
            left_running: false,
        });
        let mut bare = result("bare", 0, 0, 300, 5, 0);
        bare.latency = crate::Percentiles::default();
        bare.external = Some(External {
            command: "sleep 0.3; exit 3".into(),
            exit_status: 3,
            exit_problem: Some("exit code 3".into()),
            wall_from_summary: false,
            other_lines: 2,
            left_running: true,
        });
        c.results.extend([py, bare]);
        c
    }

    #[test]
    fn external_rows_show_what_they_reported() {
        let c = with_externals();
        let table = comparison_table(&c);
        let row = |name: &str| {
            let line = table.lines().find(|l| l.starts_with(name)).unwrap();
            line.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
        };
        let py = row("py ");
        assert_eq!((py[1], py[2], py[4]), ("100", "8.50 s", "11.8"), "{table}");
        assert_eq!(py.last(), Some(&"0"), "{table}");
        let bare = row("bare ");
        assert_eq!(bare[1], "-", "no summary, no concurrency: {table}");
        assert_eq!((bare[4], bare[7], bare[9]), ("-", "-", "-"), "{table}");
        assert_eq!(bare.last(), Some(&"-; exit 3"), "{table}");
        assert!(table.contains(
            "\npy: external `python3 peer.py {inventory}` (sh -c), exit 0; wall from its own summary line (first host to last outcome)\n"
        ), "{table}");
        assert!(table.contains(
            "\nbare: external `sleep 0.3; exit 3` (sh -c), exit code 3; wall is its whole process (it printed no fanout summary line); no fanout host lines, so no hosts/s, latencies or failures; 2 other output lines passed over; it left processes running (killed when it exited)\n"
        ), "{table}");
        assert!(c.any_failures());
    }

    #[test]
    fn sweep_documents_and_matrix() {
        let mut a = sample();
        a.sweep = Some(("hosts".into(), 10));
        let mut b = sample();
        b.sweep = Some(("hosts".into(), 100));
        b.results.remove(0);
        let doc = sweep_json("hosts", &[a.clone(), b.clone()]);
        assert_eq!(doc["values"], json!([10, 100]));
        assert_eq!(doc["points"][1]["sweep"]["value"], 100);
        let m = sweep_matrix("hosts", &[a, b], false);
        let lines: Vec<&str> = m.lines().collect();
        assert!(
            lines[0].starts_with("wall") && lines[0].ends_with("hosts=100"),
            "{m}"
        );
        assert!(
            lines[1].starts_with("seq") && lines[1].ends_with(" -"),
            "{m}"
        );
        assert!(lines[2].starts_with("async"), "{m}");
        assert_eq!(fmt_time(Duration::from_micros(45_260)), "45.3 ms");
        assert_eq!(fmt_time(Duration::from_micros(1_234)), "1.23 ms");
        assert_eq!(fmt_time(Duration::from_millis(1200)), "1.20 s");
        assert_eq!(fmt_time(Duration::from_millis(123_400)), "123 s");
        assert_eq!(fmt_bytes(12 << 20), "12.0 MiB");
    }
}
