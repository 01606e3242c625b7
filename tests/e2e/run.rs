//! `fanout run`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{fanout, inventory, json_lines, read_then_close, run};

#[test]
fn synthetic_sleep_table_streams_and_summarises() {
    let r = run(&["run", "--synthetic", "3", "-e", "seq", "sleep", "100ms"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ok_lines = r.stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(ok_lines, 3, "{}", r.stdout);
    let last = r.stdout.lines().last().unwrap();
    let rest = last
        .strip_prefix("3 hosts: 3 ok, 0 failed, 0 timeout, 0 cancelled in ")
        .expect(last);
    let wall: f64 = rest.split(' ').next().unwrap().parse().unwrap();
    assert!(wall >= 0.3, "three 100 ms hosts one after another: {last}");
    assert!(last.ends_with(" s (seq, concurrency 1)"), "{last}");
}

#[test]
fn jsonl_emits_host_lines_then_summary_with_design_fields() {
    let r = run(&[
        "run",
        "--synthetic",
        "3",
        "-e",
        "seq",
        "--format",
        "jsonl",
        "sleep",
        "20ms",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    for host in &lines[..3] {
        for key in [
            "host",
            "status",
            "outputs",
            "timings_ms",
            "attempts",
            "worker",
        ] {
            assert!(host.get(key).is_some(), "missing {key}: {host}");
        }
        for key in ["queued", "connect", "auth", "command", "total"] {
            assert!(
                host["timings_ms"][key].is_number(),
                "timings_ms.{key}: {host}"
            );
        }
        assert_eq!(host["status"], "ok");
        assert_eq!(host["worker"], "thread:0");
    }
    let summary = lines[3]["summary"].as_object().expect("summary object");
    let mut keys: Vec<_> = summary.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "cancelled",
            "concurrency",
            "executor",
            "failed",
            "hosts",
            "ok",
            "timeout",
            "wall_s"
        ]
    );
    assert_eq!(summary["hosts"], 3);
    assert!(summary["wall_s"].as_f64().unwrap() >= 0.06);
}

#[test]
fn json_is_one_document() {
    let r = run(&["run", "--synthetic", "2", "--format", "json", "cpu", "1000"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["hosts"].as_array().unwrap().len(), 2);
    assert_eq!(doc["summary"]["ok"], 2);
    assert_eq!(doc["hosts"][0]["outputs"][0]["command"], "cpu 1000");
}

#[test]
fn seed_inventory_local_echo_folds_identical_output() {
    let inv = inventory("seed-devices.yaml");
    let r = run(&[
        "run",
        "-i",
        inv.to_str().unwrap(),
        "-e",
        "seq",
        "local",
        "--",
        "echo",
        "{host}",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // r1 and r2 share 127.0.0.1: one folded block for both.
    assert!(r.stdout.contains("r[1-2] (2)\n"), "{}", r.stdout);
    assert!(r.stdout.contains("127.0.0.11 (1)\n"), "{}", r.stdout);
    assert!(r.stdout.contains("4 hosts: 4 ok"), "{}", r.stdout);
}

#[test]
fn failed_hosts_exit_1_and_keep_their_output() {
    let r = run(&[
        "run",
        "--synthetic",
        "3",
        "--format",
        "jsonl",
        "local",
        "--",
        "sh",
        "-c",
        "case {name} in *2) echo bad; exit 4;; esac; echo good",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    let failed: Vec<_> = lines.iter().filter(|l| l["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["host"], "host0002");
    assert_eq!(failed[0]["error_kind"], "command_failed");
    assert_eq!(failed[0]["outputs"][0]["stdout"], "bad\n");
    assert_eq!(failed[0]["outputs"][0]["exit_status"], 4);
    assert_eq!(lines[3]["summary"]["failed"], 1);
}

#[test]
fn timeouts_and_retries_from_the_command_line() {
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--format",
        "jsonl",
        "--timeout",
        "command=50ms",
        "--retries",
        "2",
        "--retry-backoff",
        "10ms",
        "sleep",
        "5s",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    for host in &lines[..2] {
        assert_eq!(host["status"], "timeout");
        assert_eq!(host["phase"], "command");
        assert_eq!(host["attempts"], 3);
        assert!(
            host["message"]
                .as_str()
                .unwrap()
                .contains("--timeout command=")
        );
    }
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let r = run(&["run", "--synthetic", "2", "-c", "0", "sleep", "1ms"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("-c N with N >= 1"), "{}", r.stderr);
    let r = run(&["run", "--synthetic", "2", "sleep", "5"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("add a unit"), "{}", r.stderr);
    let r = run(&["run", "--synthetic", "2", "-l", "nomatch*", "sleep", "1ms"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("matched none of the 2 hosts"),
        "{}",
        r.stderr
    );
    let r = run(&["run", "sleep", "1ms"]);
    assert_eq!(r.code, 2, "no host source is a usage error");
}

#[test]
fn filters_select_hosts() {
    let inv = inventory("synthetic.example.yaml");
    let r = run(&[
        "run",
        "-i",
        inv.to_str().unwrap(),
        "-l",
        "rack=b",
        "-l",
        "!node05",
        "--format",
        "jsonl",
        "local",
        "--",
        "echo",
        "{name}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut hosts: Vec<String> = json_lines(&r.stdout)
        .iter()
        .filter_map(|l| l["host"].as_str().map(String::from))
        .collect();
    hosts.sort();
    assert_eq!(hosts, ["node04", "node06"]);
}

#[test]
fn out_dir_gets_one_file_per_host_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("results");
    let dir_s = dir.to_str().unwrap();
    let r = run(&[
        "run",
        "--synthetic",
        "3",
        "--out-dir",
        dir_s,
        "local",
        "--",
        "echo",
        "hello {name}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("host0002.txt")).unwrap(),
        "hello host0002\n"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["summary"]["hosts"], 3);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 4);
    // A second, smaller run replaces the folder whole.
    let r = run(&[
        "run",
        "--synthetic",
        "1",
        "--out-dir",
        dir_s,
        "local",
        "--",
        "echo",
        "again",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    // A folder that is not ours is never touched.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep").unwrap();
    let r = run(&[
        "run",
        "--synthetic",
        "1",
        "--out-dir",
        mine.to_str().unwrap(),
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not a fanout output folder"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn ctrl_c_cancels_prints_partial_results_and_exits_130() {
    let mut child = fanout()
        .args([
            "run",
            "--synthetic",
            "20",
            "-c",
            "1",
            "--format",
            "jsonl",
            "sleep",
            "300ms",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("\"status\":\"ok\""), "{first}");
    let sent = Instant::now();
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "cancel took {:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(130));
    let lines = json_lines(&format!("{first}{rest}"));
    assert_eq!(lines.len(), 21, "20 hosts and a summary, each once");
    let summary = &lines[20]["summary"];
    assert_eq!(summary["hosts"], 20);
    assert!(summary["cancelled"].as_u64().unwrap() >= 15, "{summary}");
    assert!(summary["ok"].as_u64().unwrap() >= 1, "{summary}");
}

#[test]
fn help_teaches_the_tasks_and_exit_codes() {
    let r = run(&["run", "--help"]);
    for needle in [
        "exec",
        "cli",
        "sleep",
        "cpu",
        "local",
        "--per-group",
        "--connect-rate",
        "PHASE=DUR",
    ] {
        assert!(
            r.stdout.contains(needle),
            "--help lacks {needle}:\n{}",
            r.stdout
        );
    }
    let r = run(&["--help"]);
    assert!(r.stdout.contains("Exit codes"), "{}", r.stdout);
}

#[test]
fn closed_stdout_stops_starting_hosts_and_exits_0_quietly() {
    // 2,000 hosts x 10 ms one at a time would take 20 s; `| head -2` ends it.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let (r, after_close) = read_then_close(
        &[
            "run",
            "--synthetic",
            "2000",
            "-e",
            "seq",
            "--out-dir",
            dir.to_str().unwrap(),
            "sleep",
            "10ms",
        ],
        2,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    for bad in ["error", "panicked", "Broken pipe", "could not be written"] {
        assert!(!r.stderr.contains(bad), "{bad}: {}", r.stderr);
    }
    assert!(
        after_close < Duration::from_secs(10),
        "kept running {after_close:?} after stdout closed"
    );
    // No new host started once stdout was gone; the folder still has them all.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["summary"]["hosts"], 2000, "{}", summary["summary"]);
    assert!(
        summary["summary"]["cancelled"].as_u64().unwrap() > 1500,
        "{}",
        summary["summary"]
    );
    for format in ["jsonl", "json"] {
        let (r, _) = read_then_close(
            &[
                "run",
                "--synthetic",
                "3000",
                "--format",
                format,
                "-e",
                "threads",
                "-c",
                "100",
                "sleep",
                "1ms",
            ],
            1,
        );
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{format}: {}", r.stderr);
    }
}

#[test]
fn the_table_shows_the_start_of_long_outputs_json_keeps_all() {
    // -e seq: the summary line below names it (the default is -e auto).
    let args = [
        "run",
        "--synthetic",
        "2",
        "-e",
        "seq",
        "local",
        "--",
        "seq",
        "1",
        "5000",
    ];
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("\n100\n[... 4,900 more lines ("),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("\n101\n"), "{}", r.stdout);
    assert!(r.stdout.ends_with("(seq, concurrency 1)\n"), "{}", r.stdout);
    let mut all = args.to_vec();
    all.splice(1..1, ["--table-lines", "0"]);
    let r = run(&all);
    assert!(r.stdout.contains("\n5000\n") && !r.stdout.contains("not shown"));
    let mut jsonl = args.to_vec();
    jsonl.splice(1..1, ["--format", "jsonl"]);
    let r = run(&jsonl);
    let lines = json_lines(&r.stdout);
    assert_eq!(
        lines[0]["outputs"][0]["stdout"]
            .as_str()
            .unwrap()
            .lines()
            .count(),
        5000
    );
}

#[test]
fn small_truths_of_run() {
    // No host source: the error names both ways to give hosts.
    let r = run(&["run", "sleep", "1ms"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--inventory") && r.stderr.contains("--synthetic"),
        "{}",
        r.stderr
    );
    // A cap on a group that does not exist is an error listing the groups.
    let inv = inventory("synthetic.example.yaml");
    let r = run(&[
        "run",
        "-i",
        inv.to_str().unwrap(),
        "--per-group",
        "nosuch=1",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("has no group `nosuch` (its groups are: rack_a, rack_b)"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--per-group",
        "synthetic=1",
        "sleep",
        "1ms",
    ]);
    assert_eq!(
        r.code, 0,
        "--synthetic hosts are in group synthetic: {}",
        r.stderr
    );
    // seq says once that -c does nothing for it.
    let r = run(&[
        "run",
        "--synthetic",
        "3",
        "-e",
        "seq",
        "-c",
        "4",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr
            .matches("-e seq runs one host at a time, so -c 4 has no effect")
            .count(),
        1,
        "{}",
        r.stderr
    );
    let r = run(&["run", "--synthetic", "3", "-e", "seq", "sleep", "1ms"]);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    // local: placeholders replaced, {{ }} escape braces, other braces kept.
    let r = run(&[
        "run",
        "--synthetic",
        "1",
        "--format",
        "jsonl",
        "local",
        "--",
        "echo",
        "{{name}}",
        "{name}",
        "{x}",
        "}{",
    ]);
    assert_eq!(
        json_lines(&r.stdout)[0]["outputs"][0]["stdout"],
        "{name} host0001 {x} }{\n"
    );
    // -c's help states the process pool's default, and it is true.
    let help = run(&["run", "--help"]).stdout;
    assert!(help.contains("-e process (pool): one worker"), "{help}");
    let cores = std::thread::available_parallelism().unwrap().get();
    let r = run(&[
        "run",
        "--synthetic",
        "4",
        "-e",
        "process",
        "--format",
        "json",
        "sleep",
        "1ms",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["summary"]["concurrency"], cores, "{doc}");
}

#[test]
fn out_dir_under_a_file_is_refused_before_any_host() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("report");
    std::fs::write(&file, "mine").unwrap();
    let started = Instant::now();
    let r = run(&[
        "run",
        "--synthetic",
        "20",
        "-e",
        "seq",
        "--out-dir",
        file.join("out").to_str().unwrap(),
        "sleep",
        "1s",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("--out-dir") && r.stderr.contains("is a file"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "no host ran: {}", r.stdout);
    assert!(started.elapsed() < Duration::from_secs(5));
}
