//! `fanout compare --format json`: one comparison's document, or a sweep's
//! (the fields are listed in the README's compare section).

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

/// One result as the original design's object, plus extra fields. An
/// external program's figures it did not report (no host lines, no
/// summary) are null, not zero.
fn result_json(r: &ExecutorResult, fastest: Duration) -> Value {
    let known_hosts = !r.is_external() || r.hosts > 0;
    let known_conc = !r.is_external() || r.concurrency > 0;
    let latency = |d: Duration| known_hosts.then(|| ms(d));
    let mut doc = json!({
        "executor": r.executor,
        "concurrency": known_conc.then(|| r.in_flight()),
        "requested_concurrency": known_conc.then_some(r.concurrency),
        "wall_s": s(r.wall),
        "hosts_per_s": known_hosts.then(|| round(r.hosts_per_s(), 3)),
        "cpu_user_s": s(r.cpu.user),
        "cpu_sys_s": s(r.cpu.system),
        "peak_rss_bytes": r.peak_rss_bytes,
        "peak_pss_bytes": r.peak_pss_bytes,
        "p50_ms": latency(r.latency.p50),
        "p95_ms": latency(r.latency.p95),
        "p99_ms": latency(r.latency.p99),
        "ok": r.counts.ok,
        "failed": r.counts.failed,
        "timeout": r.counts.timeout,
        "cancelled": r.counts.cancelled,
        "max_ms": latency(r.latency.max),
        "cpu_s": s(r.cpu.total()),
        "core_wait_s": s(r.core_wait),
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
        "external": r.external.as_ref().map(|x| json!({
            "command": x.command,
            "wall_from": if x.wall_from_summary { "summary" } else { "process" },
            "exit_problem": x.exit_problem,
            "other_lines": x.other_lines,
            "left_running": x.left_running,
        })),
    });
    if let (Some(x), Some(map)) = (&r.external, doc.as_object_mut()) {
        map.insert("exit_status".into(), json!(x.exit_status));
    }
    doc
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
        "explanation": c.explanation,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::{sample, with_externals};

    #[test]
    fn externals_are_results_with_an_exit_status() {
        let doc = comparison_json(&with_externals());
        let results = doc["results"].as_array().unwrap();
        assert!(
            results[0].get("exit_status").is_none(),
            "executors have none"
        );
        assert!(results[0]["external"].is_null());
        let py = &results[2];
        assert_eq!(
            (py["executor"].as_str(), py["exit_status"].as_i64()),
            (Some("py"), Some(0))
        );
        for key in DESIGN_FIELDS {
            assert!(
                py.get(key).is_some_and(|v| !v.is_null()),
                "missing {key}: {py}"
            );
        }
        assert_eq!(py["external"]["wall_from"], "summary");
        assert_eq!(py["external"]["command"], "python3 peer.py {inventory}");
        let bare = &results[3];
        assert_eq!(bare["exit_status"], 3);
        assert_eq!(bare["external"]["exit_problem"], "exit code 3");
        assert_eq!(bare["external"]["wall_from"], "process");
        for key in ["concurrency", "hosts_per_s", "p50_ms", "p99_ms", "max_ms"] {
            assert!(bare[key].is_null(), "{key} was not reported: {bare}");
        }
        assert_eq!(bare["wall_s"], 0.3);
        assert_eq!(doc["recommended"], "seq", "never an external");
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
        assert_eq!(seq["peak_pss_bytes"], 7 << 20);
        assert_eq!(seq["peak_rss_bytes"], 10 << 20, "RSS stays in the JSON");
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
}
