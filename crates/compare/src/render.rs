//! `fanout compare` output: an aligned table, a Markdown table, and the
//! JSON document (`{"task", "hosts", "results": [...], "fleet_cpu_s",
//! "recommendation"}` and more, listed in the README's compare section),
//! for one comparison or a sweep.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::result::{Comparison, ExecutorResult};

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn s(d: Duration) -> f64 {
    round(d.as_secs_f64(), 6)
}

fn ms(d: Duration) -> f64 {
    round(d.as_secs_f64() * 1e3, 3)
}

/// One result as the original design's object, plus extra fields.
fn result_json(r: &ExecutorResult, fastest: Duration) -> Value {
    json!({
        "executor": r.executor,
        "concurrency": r.in_flight(),
        "requested_concurrency": r.concurrency,
        "wall_s": s(r.wall),
        "hosts_per_s": round(r.hosts_per_s(), 3),
        "cpu_user_s": s(r.cpu.user),
        "cpu_sys_s": s(r.cpu.system),
        "peak_rss_bytes": r.peak_rss_bytes,
        "p50_ms": ms(r.latency.p50),
        "p95_ms": ms(r.latency.p95),
        "p99_ms": ms(r.latency.p99),
        "ok": r.counts.ok,
        "failed": r.counts.failed,
        "timeout": r.counts.timeout,
        "cancelled": r.counts.cancelled,
        "max_ms": ms(r.latency.max),
        "cpu_s": s(r.cpu.total()),
        "kernel_maxrss_bytes": r.kernel_maxrss_bytes,
        "peak_private_bytes": r.peak_private_bytes,
        "peak_processes": r.peak_processes,
        "process_wall_s": s(r.process_wall),
        "wall_s_runs": r.wall_runs.iter().map(|d| s(*d)).collect::<Vec<_>>(),
        "relative_wall": round(r.relative_to(fastest), 3),
        "fleet_cpu_s": r.fleet_cpu.map(s),
        "sampler_cpu_s": s(r.sampler_cpu),
        "errors": r.errors,
        "first_error": r.first_error,
    })
}

/// The `--format json` document of one comparison.
pub fn comparison_json(c: &Comparison) -> Value {
    let fastest = c.fastest_wall();
    let mut doc = json!({
        "task": c.task,
        "hosts": c.hosts,
        "results": c.results.iter().map(|r| result_json(r, fastest)).collect::<Vec<_>>(),
        "fleet_cpu_s": c.fleet_cpu.map(s),
        "recommendation": c.verdict.recommendation.as_ref().map(ToString::to_string),
        "recommended": c.verdict.recommendation.as_ref().map(|r| r.executor.clone()),
        "workload": c.verdict.recommendation.as_ref().map(|r| r.class),
        "recommendation_withheld": c.verdict.withheld,
        "not_compared": c.verdict.left_out,
        "estimates": c.estimates,
        "source": c.source,
        "cores": c.cores,
        "repeat": c.repeat,
        "skipped": c.skipped.iter().map(|k| json!({"executor": k.executor, "reason": k.reason})).collect::<Vec<_>>(),
    });
    if let (Some((param, value)), Some(map)) = (&c.sweep, doc.as_object_mut()) {
        map.insert("sweep".into(), json!({"param": param, "value": value}));
    }
    doc
}

/// The `--format json` document of a sweep: `{"task", "sweep", "values",
/// "points": [one comparison document per value]}`.
pub fn sweep_json(param: &str, points: &[Comparison]) -> Value {
    json!({
        "task": points.first().map(|c| c.task.clone()),
        "sweep": param,
        "values": points.iter().filter_map(|c| c.sweep.as_ref().map(|s| s.1)).collect::<Vec<_>>(),
        "points": points.iter().map(comparison_json).collect::<Vec<_>>(),
    })
}

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
    if r.failures() == 0 {
        return "0".to_string();
    }
    let kinds: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!("{} ({})", r.failures(), kinds.join(", "))
}

const HEADER: [&str; 11] = [
    "executor",
    "conc",
    "wall",
    "vs fastest",
    "hosts/s",
    "client CPU",
    "peak RSS",
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
            [
                r.executor.clone(),
                r.in_flight().to_string(),
                fmt_time(r.wall),
                format!("{:.2}x", r.relative_to(fastest)),
                fmt_rate(r.hosts_per_s()),
                fmt_time(r.cpu.total()),
                fmt_bytes(r.peak_rss_bytes),
                fmt_time(r.latency.p50),
                fmt_time(r.latency.p95),
                fmt_time(r.latency.p99),
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
            "{}: peak RSS sums {} processes, counting their shared code once each; private memory + one shared copy: {}",
            r.executor,
            r.peak_processes,
            fmt_bytes(r.peak_private_bytes)
        );
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
mod tests {
    use super::*;
    use crate::recommend::{Workload, WorkloadClass};
    use crate::result::Skipped;
    use crate::result::tests::result;
    use crate::verdict::{Rules, Verdict, conclude};

    fn sample() -> Comparison {
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
        }
    }

    /// Every field of the original design's `compare --format json`.
    const DESIGN_FIELDS: [&str; 12] = [
        "executor",
        "concurrency",
        "wall_s",
        "hosts_per_s",
        "cpu_user_s",
        "cpu_sys_s",
        "peak_rss_bytes",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "ok",
        "failed",
    ];

    #[test]
    fn json_has_the_design_shape() {
        let doc = comparison_json(&sample());
        for key in ["task", "hosts", "results", "fleet_cpu_s", "recommendation"] {
            assert!(doc.get(key).is_some(), "missing {key}: {doc}");
        }
        assert_eq!(doc["task"], "cli show version");
        assert_eq!(doc["hosts"], 100);
        assert_eq!(doc["fleet_cpu_s"], 1.234);
        let results = doc["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        for r in results {
            for key in DESIGN_FIELDS {
                assert!(
                    r.get(key).is_some_and(|v| !v.is_null()),
                    "missing {key}: {r}"
                );
            }
        }
        let seq = &results[0];
        assert_eq!(seq["wall_s"], 5.2);
        assert_eq!(seq["cpu_user_s"], 0.048);
        assert_eq!(seq["cpu_sys_s"], 0.012);
        assert_eq!(seq["relative_wall"], 74.286);
        assert_eq!(results[1]["failed"], 2);
        assert_eq!(results[1]["ok"], 98);
        assert_eq!(doc["recommended"], "seq", "async failed hosts");
        assert!(
            doc["recommendation"]
                .as_str()
                .unwrap()
                .starts_with("seq: I/O-bound")
        );
        assert_eq!(doc["skipped"][0]["executor"], "process");
        assert!(doc.get("sweep").is_none());
        assert_eq!(doc["estimates"][0]["executor"], "seq");
        assert_eq!(doc["estimates"][0]["run_s"], 5.2);
        assert_eq!(
            doc["estimates"][0]["basis"],
            "100 hosts x 52.0 ms, 1 at a time"
        );
        assert!(doc["recommendation_withheld"].is_null());
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
        assert!(
            !table.contains("peak RSS sums"),
            "one process each: no note"
        );
        let mut many = c.clone();
        many.results[1].peak_processes = 101;
        many.results[1].peak_private_bytes = 130 << 20;
        assert!(comparison_table(&many).contains(
            "async: peak RSS sums 101 processes, counting their shared code once each; private memory + one shared copy: 130.0 MiB"
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
