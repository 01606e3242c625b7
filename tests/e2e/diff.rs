//! `fanout diff OLD NEW` and `fanout run --diff-against DIR`.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::support::{json_lines, run};

/// `fanout run` of 3 synthetic hosts, each printing the file named after it
/// in `data` (so a test changes one host's output by writing its file).
fn run_into(data: &Path, out: &Path, extra: &[&str]) -> crate::support::Run {
    let pattern = format!("{}/{{name}}", data.display());
    let mut args = vec![
        "run",
        "--synthetic",
        "3",
        "--out-dir",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["local", "--", "cat", &pattern]);
    run(&args)
}

fn write_data(data: &Path, values: &[(&str, &str)]) {
    fs::create_dir_all(data).unwrap();
    for (host, text) in values {
        fs::write(data.join(host), text).unwrap();
    }
}

const HOSTS: [&str; 3] = ["host0001", "host0002", "host0003"];

#[test]
fn diff_of_two_out_dirs_shows_per_host_changes_and_exits_like_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_data(&data, &HOSTS.map(|h| (h, "uptime 1\nsame\n")));
    assert_eq!(run_into(&data, &a, &[]).code, 0);
    write_data(&data, &[("host0002", "uptime 2\nsame\n")]);
    fs::remove_file(data.join("host0003")).unwrap();
    // host0003 now fails (cat: no such file): a status change.
    assert_eq!(run_into(&data, &b, &[]).code, 1);

    let r = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(r.code, 1, "differences: exit 1\n{}{}", r.stdout, r.stderr);
    let a_file = a.join("host0002.txt");
    let b_file = b.join("host0002.txt");
    let want = format!(
        "host0002: output changed\n--- {}\n+++ {}\n@@ -1,2 +1,2 @@\n-uptime 1\n+uptime 2\n same\n",
        a_file.display(),
        b_file.display()
    );
    assert!(r.stdout.starts_with(&want), "{}", r.stdout);
    assert!(
        r.stdout.contains("host0003: status ok -> failed"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("host0001"),
        "unchanged hosts are not listed: {}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with(&format!(
            "2 hosts changed, 0 only in {}, 0 only in {}, 1 same\n",
            b.display(),
            a.display()
        )),
        "{}",
        r.stdout
    );
    // Not a terminal: no colour, unless asked for.
    assert!(!r.stdout.contains('\x1b'));
    let coloured = run(&[
        "diff",
        "--color",
        "always",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(
        coloured.stdout.contains("\x1b[32m+uptime 2\x1b[0m"),
        "{}",
        coloured.stdout
    );

    let same = run(&["diff", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    assert_eq!(
        same.stdout,
        "0 hosts changed, 0 only in {a}, 0 only in {a}, 3 same\n"
            .replace("{a}", &a.display().to_string())
    );

    let missing = run(&[
        "diff",
        a.to_str().unwrap(),
        tmp.path().join("nope").to_str().unwrap(),
    ]);
    assert_eq!(missing.code, 2, "errors exit 2");
    assert!(
        missing.stderr.contains("not a fanout output folder"),
        "{}",
        missing.stderr
    );
}

#[test]
fn diff_names_hosts_only_on_one_side() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_data(&data, &HOSTS.map(|h| (h, "x\n")));
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_eq!(run_into(&data, &a, &["-l", "host000[12]"]).code, 0);
    assert_eq!(run_into(&data, &b, &["-l", "host000[23]"]).code, 0);
    let r = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains(&format!("host0001: only in {} (ok)\n", a.display())),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("host0003: only in {} (ok)\n", b.display())),
        "{}",
        r.stdout
    );
}

#[test]
fn run_diff_against_its_own_previous_out_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let last = tmp.path().join("last");
    write_data(&data, &HOSTS.map(|h| (h, "v1\n")));
    assert_eq!(run_into(&data, &last, &[]).code, 0);
    write_data(&data, &[("host0001", "v2\n")]);

    // Table: the report after the summary line; DIR is read before the run,
    // so the same folder can be replaced by this run's results.
    let last_s = last.to_str().unwrap();
    let r = run_into(&data, &last, &["--diff-against", last_s]);
    assert_eq!(
        r.code, 0,
        "differences do not change run's exit status: {}",
        r.stderr
    );
    let report = r
        .stdout
        .split(&format!("--- changes against {last_s} ---\n"))
        .nth(1);
    let report = report.unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(report.starts_with("host0001: output changed\n"), "{report}");
    assert!(report.contains("-v1\n+v2\n"), "{report}");
    assert!(
        report.ends_with(&format!(
            "1 host changed, 0 only in this run, 0 only in {last_s}, 2 same\n"
        )),
        "{report}"
    );
    assert_eq!(
        fs::read_to_string(last.join("host0001.txt")).unwrap(),
        "v2\n"
    );

    // JSON: "changed" (and "diff") per host; the count line on stderr.
    write_data(&data, &[("host0003", "v3\n")]);
    let r = run_into(
        &data,
        &last,
        &["--diff-against", last_s, "--format", "jsonl"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    let by_host = |name: &str| -> &Value { lines.iter().find(|l| l["host"] == name).unwrap() };
    assert_eq!(by_host("host0001")["changed"], false);
    assert!(by_host("host0001").get("diff").is_none());
    assert_eq!(by_host("host0003")["changed"], true);
    let diff = by_host("host0003")["diff"].as_str().unwrap();
    assert!(
        diff.contains("-v1\n+v3\n") && diff.contains("+++ this run/host0003"),
        "{diff}"
    );
    assert!(
        r.stderr
            .contains(&format!("fanout: against {last_s}: 1 host changed")),
        "{}",
        r.stderr
    );

    let r = run(&[
        "run",
        "--synthetic",
        "1",
        "--diff-against",
        tmp.path().join("none").to_str().unwrap(),
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not a fanout output folder"),
        "{}",
        r.stderr
    );
}
