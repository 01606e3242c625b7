//! Operator defaults and failure handling (issue 16): `-e auto`, the
//! failure report by kind, `--failed-out` / `-l @FILE`, `--max-fail` and
//! `--fail-fast` on every executor.

use crate::limits::Fleet;
use crate::support::{json_lines, run};

const EXECUTORS: [&str; 5] = ["seq", "threads", "rayon", "process", "async"];

/// A run's summary object (the last JSON line).
fn summary(stdout: &str) -> serde_json::Value {
    json_lines(stdout).pop().expect("a summary line")["summary"].clone()
}

fn counts(s: &serde_json::Value) -> [u64; 4] {
    ["ok", "failed", "timeout", "cancelled"].map(|k| s[k].as_u64().unwrap())
}

#[test]
fn failed_hosts_round_trip_through_failed_out_and_l_at_file() {
    let tmp = tempfile::tempdir().unwrap();
    let faulty = tmp.path().join("faulty.yaml");
    let (child, _) = crate::sim::serve(
        &[
            "-n",
            "6",
            "--latency",
            "5ms",
            "--faults",
            "auth_fail=r3,refuse=r5",
        ],
        &faulty,
    );
    let mut fleet = Fleet(Some(child));
    let failed = tmp.path().join("failed.txt");
    let r = run(&[
        "run",
        "-i",
        faulty.to_str().unwrap(),
        "--failed-out",
        failed.to_str().unwrap(),
        "exec",
        "show clock",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    // The default executor names itself once.
    assert_eq!(
        r.stderr.matches("-e auto chose -e async").count(),
        1,
        "{}",
        r.stderr
    );
    // The table ends with the failures by kind, then the summary.
    let tail: Vec<&str> = r.stdout.lines().rev().take(4).collect();
    assert!(
        tail[0].starts_with("6 hosts: 4 ok, 2 failed"),
        "{}",
        r.stdout
    );
    assert!(tail.contains(&"  auth: 1 (r3)"), "{}", r.stdout);
    assert!(tail.contains(&"  connect: 1 (r5)"), "{}", r.stdout);
    assert_eq!(tail[3], "not ok, by kind:", "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(&failed).unwrap(), "r3\nr5\n");
    let r = crate::sim::stop(fleet.0.take().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The faults cleared (a fresh fleet of the same names): exactly the
    // failed hosts run again, and are ok.
    let fixed = tmp.path().join("fixed.yaml");
    let (child, _) = crate::sim::serve(&["-n", "6", "--latency", "5ms"], &fixed);
    let mut fleet = Fleet(Some(child));
    let at = format!("@{}", failed.display());
    let r = run(&[
        "run",
        "-i",
        fixed.to_str().unwrap(),
        "-l",
        &at,
        "--format",
        "jsonl",
        "exec",
        "show clock",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let lines = json_lines(&r.stdout);
    let mut hosts: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .map(|l| l["host"].as_str().unwrap())
        .collect();
    hosts.sort_unstable();
    assert_eq!(hosts, ["r3", "r5"]);
    assert_eq!(counts(&summary(&r.stdout)), [2, 0, 0, 0]);
    let r = crate::sim::stop(fleet.0.take().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn l_at_file_names_unknown_hosts_and_an_empty_list_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("l.txt");
    std::fs::write(&list, "host0002\nnosuch\n").unwrap();
    let at = format!("@{}", list.display());
    let r = run(&[
        "run",
        "--synthetic",
        "3",
        "-l",
        &at,
        "--format",
        "jsonl",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(counts(&summary(&r.stdout)), [1, 0, 0, 0]);
    assert!(
        r.stderr.contains("does not have, skipped: nosuch"),
        "{}",
        r.stderr
    );
    std::fs::write(&list, "").unwrap();
    let r = run(&["run", "--synthetic", "3", "-l", &at, "sleep", "1ms"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("names no host"), "{}", r.stderr);
}

#[test]
fn auto_picks_process_for_cpu_and_async_otherwise_and_q_hushes_it() {
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--format",
        "jsonl",
        "cpu",
        "1000",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(summary(&r.stdout)["executor"], "process");
    assert!(
        r.stderr.contains("-e auto chose -e process"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--format",
        "jsonl",
        "sleep",
        "1ms",
    ]);
    assert_eq!(summary(&r.stdout)["executor"], "async");
    let r = run(&["run", "-q", "--synthetic", "2", "sleep", "1ms"]);
    assert!(!r.stderr.contains("-e auto"), "{}", r.stderr);
}

/// `local -- sh -c 'CHECK'` on 10 synthetic hosts, one at a time, with
/// `extra` options.
fn one_at_a_time(exec: &str, check: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "run",
        "--synthetic",
        "10",
        "-e",
        exec,
        "-c",
        "1",
        "--format",
        "jsonl",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["local", "--", "sh", "-c", check]);
    run(&args)
}

#[test]
fn fail_fast_and_max_fail_stop_starting_hosts_on_every_executor() {
    for exec in EXECUTORS {
        // host0003 fails: fail-fast stops there, the 7 after it never start.
        let r = one_at_a_time(exec, "test {name} != host0003", &["--fail-fast"]);
        assert_eq!(r.code, 1, "{exec}: {}", r.stderr);
        assert_eq!(
            counts(&summary(&r.stdout)),
            [2, 1, 0, 7],
            "{exec}: {}",
            r.stdout
        );
        for line in json_lines(&r.stdout)
            .iter()
            .filter(|l| l["status"] == "cancelled")
        {
            assert_eq!(line["attempts"], 0, "{exec}: never started: {line}");
        }
        // Even hosts fail; more than 20 % of 10 is 3 failures: hosts 1-6
        // run, 7-10 are cancelled.
        let even = "case {name} in *[02468]) exit 1;; esac";
        let r = one_at_a_time(exec, even, &["--max-fail", "20%"]);
        assert_eq!(
            counts(&summary(&r.stdout)),
            [3, 3, 0, 4],
            "{exec}: {}",
            r.stdout
        );
        let r = one_at_a_time(exec, even, &["--max-fail", "2"]);
        assert_eq!(
            counts(&summary(&r.stdout)),
            [2, 2, 0, 6],
            "{exec}: {}",
            r.stdout
        );
        // Without a limit every host runs.
        let r = one_at_a_time(exec, even, &[]);
        assert_eq!(
            counts(&summary(&r.stdout)),
            [5, 5, 0, 0],
            "{exec}: {}",
            r.stdout
        );
    }
}

#[test]
fn max_fail_lets_hosts_in_flight_finish() {
    // 4 at once, every host fails after a moment: the first wave of 4 all
    // finish (failed, not cancelled), the other 8 never start.
    for exec in ["threads", "process", "async"] {
        let r = run(&[
            "run",
            "--synthetic",
            "12",
            "-e",
            exec,
            "-c",
            "4",
            "--fail-fast",
            "--format",
            "jsonl",
            "local",
            "--",
            "sh",
            "-c",
            "sleep 0.3; exit 1",
        ]);
        let [ok, failed, timeout, cancelled] = counts(&summary(&r.stdout));
        assert_eq!((ok, timeout), (0, 0), "{exec}: {}", r.stdout);
        assert!(
            (1..=4).contains(&failed) && failed + cancelled == 12 && cancelled >= 8,
            "{exec}: in flight finish, none start after: {}",
            r.stdout
        );
    }
}

#[test]
fn max_fail_values_are_checked() {
    let r = run(&["run", "--synthetic", "2", "--max-fail", "0", "sleep", "1ms"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--max-fail 10%"), "{}", r.stderr);
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--max-fail",
        "2",
        "--fail-fast",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
