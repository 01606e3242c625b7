//! The teaching kit's run options: `--order`, `--runtime` and `-e
//! async-ct`, seeded `sleep MIN..MAX`, `--timeline`.

use std::collections::BTreeMap;

use crate::support::{json_lines, run};

/// Each host's `timings_ms.command` of a JSON Lines run, by host.
fn command_ms(stdout: &str) -> BTreeMap<String, f64> {
    json_lines(stdout)
        .iter()
        .filter_map(|l| {
            Some((
                l["host"].as_str()?.to_string(),
                l["timings_ms"]["command"].as_f64()?,
            ))
        })
        .collect()
}

fn hosts_in_output_order(stdout: &str) -> Vec<String> {
    json_lines(stdout)
        .iter()
        .filter_map(|l| l["host"].as_str().map(String::from))
        .collect()
}

#[test]
fn order_inventory_prints_hosts_in_inventory_order_in_every_format() {
    // Seeded durations finish the hosts out of order (seed 1: host0001
    // is not the fastest), all in flight at once.
    let args = |format: &'static str, order: &'static str| {
        vec![
            "run",
            "--synthetic",
            "8",
            "-e",
            "threads",
            "--order",
            order,
            "--format",
            format,
            "sleep",
            "20ms..300ms",
        ]
    };
    let want: Vec<String> = (1..=8).map(|i| format!("host{i:04}")).collect();
    let r = run(&args("jsonl", "completion"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(
        hosts_in_output_order(&r.stdout),
        want,
        "completion order: {}",
        r.stdout
    );
    let r = run(&args("jsonl", "inventory"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(hosts_in_output_order(&r.stdout), want, "{}", r.stdout);
    let r = run(&args("json", "inventory"));
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    let hosts: Vec<&str> = doc["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, want, "{}", r.stdout);
    let r = run(&args("table", "inventory"));
    let table: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok "))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(table, want, "{}", r.stdout);
}

#[test]
fn seeded_sleep_ranges_are_the_same_on_every_executor_and_change_with_the_seed() {
    let durations = |executor: &str, seed: &str| {
        let r = run(&[
            "run",
            "--synthetic",
            "6",
            "-e",
            executor,
            "-c",
            "6",
            "--seed",
            seed,
            "--format",
            "jsonl",
            "sleep",
            "100ms..700ms",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        command_ms(&r.stdout)
    };
    let seq = durations("seq", "5");
    let asy = durations("async", "5");
    let other = durations("async", "6");
    assert_eq!(seq.len(), 6);
    let mut differ = 0;
    for (host, ms) in &seq {
        assert!(
            (100.0..800.0).contains(ms),
            "{host} slept {ms} ms, outside 100ms..700ms"
        );
        // The same host sleeps the same on both executors (timer slack aside).
        assert!(
            (ms - asy[host]).abs() < 80.0,
            "{host}: seq {ms} ms, async {} ms",
            asy[host]
        );
        if (ms - other[host]).abs() > 80.0 {
            differ += 1;
        }
    }
    assert!(
        differ >= 3,
        "seeds 5 and 6 gave almost the same durations: {seq:?} {other:?}"
    );
    let r = run(&["run", "--synthetic", "2", "sleep", "3s..1s"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("backwards") && r.stderr.contains("1s..3s"),
        "{}",
        r.stderr
    );
}

#[test]
fn async_runtime_choice_and_the_async_ct_alias() {
    for args in [
        &["-e", "async-ct"][..],
        &["-e", "async", "--runtime", "current-thread"][..],
    ] {
        let mut full = vec!["run", "--synthetic", "50", "-c", "50", "--format", "jsonl"];
        full.extend_from_slice(args);
        full.extend(["sleep", "300ms"]);
        let r = run(&full);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let lines = json_lines(&r.stdout);
        let summary = &lines.last().unwrap()["summary"];
        assert_eq!(summary["executor"], "async-ct", "{summary}");
        assert_eq!(summary["ok"], 50);
        // One loop still runs every host at once: one wave, not fifty.
        assert!(summary["wall_s"].as_f64().unwrap() < 2.0, "{summary}");
    }
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "-e",
        "threads",
        "--runtime",
        "current-thread",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--runtime") && r.stderr.contains("-e async"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "-e",
        "async-ct",
        "--runtime",
        "multi-thread",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("contradicts"), "{}", r.stderr);
}

#[test]
fn compare_shows_async_and_async_ct_as_rows() {
    let r = run(&[
        "compare",
        "--synthetic",
        "20",
        "-e",
        "async,async-ct",
        "sleep",
        "50ms..100ms",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("async"))
        .collect();
    assert_eq!(rows, ["async", "async-ct"], "{}", r.stdout);
}

#[test]
fn timeline_writes_one_bar_per_host_and_refuses_a_non_svg_path_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("seq.svg");
    let r = run(&[
        "run",
        "--synthetic",
        "5",
        "-e",
        "seq",
        "--timeline",
        svg.to_str().unwrap(),
        "sleep",
        "20ms..60ms",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("wrote the timeline"), "{}", r.stderr);
    let text = std::fs::read_to_string(&svg).unwrap();
    for i in 1..=5 {
        assert!(
            text.contains(&format!("\nhost{i:04}\n")),
            "host{i:04} has no row"
        );
    }
    // The command bars (one per host) plus the legend's swatch.
    let command_bars = text
        .lines()
        .filter(|l| l.contains("<rect") && l.contains("#2D78C8"))
        .count();
    assert_eq!(command_bars, 6, "{text}");
    assert!(text.contains("queued (waiting to start)") && text.contains("wall time"));

    let png = dir.path().join("seq.png");
    let started = std::time::Instant::now();
    let r = run(&[
        "run",
        "--synthetic",
        "3",
        "--timeline",
        png.to_str().unwrap(),
        "sleep",
        "2s",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("--timeline") && r.stderr.contains(".svg"),
        "{}",
        r.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "no host may run first"
    );
    assert!(r.stdout.is_empty() && !png.exists());
}

#[test]
fn compare_timeline_writes_one_picture_per_executor_on_one_scale() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pictures");
    let r = run(&[
        "compare",
        "--synthetic",
        "6",
        "-e",
        "seq,async",
        "--timeline",
        out.to_str().unwrap(),
        "sleep",
        "20ms..60ms",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let read =
        |name: &str| std::fs::read_to_string(out.join(format!("timeline-{name}.svg"))).unwrap();
    let (seq, asy) = (read("seq"), read("async"));
    // The x axis' tick labels: the same on both (seq's run sets the scale).
    let ticks = |svg: &str| -> Vec<String> {
        svg.lines()
            .filter(|l| l.len() <= 6 && l.contains('.') && l.parse::<f64>().is_ok())
            .map(String::from)
            .collect()
    };
    assert!(!ticks(&seq).is_empty());
    assert_eq!(ticks(&seq), ticks(&asy), "one scale for both pictures");
    for svg in [&seq, &asy] {
        assert!((1..=6).all(|i| svg.contains(&format!("\nhost{i:04}\n"))));
    }
}
