//! The secrets audit (issue 17 item 8): login passwords and enable secrets
//! of the inventory — right ones and wrong ones — never appear in anything
//! a run writes, on any executor, in any output format: stdout, stderr with
//! `-vv` logs, `--out-dir` files, `--failed-out`, error messages of every
//! fault, `inventory show`.

use crate::limits::Fleet;
use crate::support::run;

const PASSWORD: &str = "pw-Audit-Sekr1t-51";
const SECRET: &str = "en-Audit-Sekr1t-52";
const WRONG_PASSWORD: &str = "pw-Wrong-Sekr1t-53";
const WRONG_SECRET: &str = "en-Wrong-Sekr1t-54";
const ALL: [&str; 4] = [PASSWORD, SECRET, WRONG_PASSWORD, WRONG_SECRET];

/// Every file under `dir`, with its text.
fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path, text));
        }
    }
    out
}

fn assert_clean(what: &str, text: &str) {
    for secret in ALL {
        assert!(
            !text.contains(secret),
            "{what}: the secret `{secret}` was written:\n{text}"
        );
    }
}

#[test]
fn no_secret_in_anything_a_run_writes_on_any_executor_or_format() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served.yaml");
    let (child, text) = crate::sim::serve(
        &[
            "-n",
            "6",
            "--latency",
            "5ms",
            "--password",
            PASSWORD,
            "--secret",
            SECRET,
            "--faults",
            "auth_fail=r2,hang_on_command=r3,drop_mid_output=r4",
        ],
        &served,
    );
    let _fleet = Fleet(Some(child));
    // r5 has a wrong enable secret, r6 a wrong password: their failures
    // are about exactly the values that must not be shown.
    let mut edited = String::new();
    for line in text.lines() {
        let line = if line.contains("\"r5\"") {
            line.replace(SECRET, WRONG_SECRET)
        } else if line.contains("\"r6\"") {
            line.replace(PASSWORD, WRONG_PASSWORD)
        } else {
            line.to_string()
        };
        edited.push_str(&line);
        edited.push('\n');
    }
    for secret in ALL {
        assert!(edited.contains(secret), "the inventory holds {secret}");
    }
    let inv = tmp.path().join("fleet.yaml");
    std::fs::write(&inv, &edited).unwrap();
    let inv_s = inv.to_str().unwrap();
    let known = tmp.path().join("served_known_hosts");
    let known = known.to_str().unwrap();

    for exec in ["seq", "threads", "rayon", "process", "async"] {
        for format in ["table", "jsonl", "json"] {
            let out_dir = tmp.path().join(format!("out-{exec}-{format}"));
            let failed = tmp.path().join(format!("failed-{exec}-{format}.txt"));
            let r = run(&[
                "run",
                "-i",
                inv_s,
                "--known-hosts",
                known,
                "-e",
                exec,
                "-c",
                "6",
                "-vv",
                "--format",
                format,
                "--timeout",
                "command=1s",
                "--out-dir",
                out_dir.to_str().unwrap(),
                "--failed-out",
                failed.to_str().unwrap(),
                "cli",
                "--enable",
                "show version",
            ]);
            let what = format!("-e {exec} --format {format}");
            assert_eq!(r.code, 1, "{what}: some hosts fail: {}", r.stderr);
            // The faults did produce their failures (so their messages were
            // written and audited), and the clean hosts were ok.
            for needle in ["r2", "r3", "r5", "r6"] {
                assert!(r.stdout.contains(needle), "{what}: {}", r.stdout);
            }
            assert_clean(&format!("{what} stdout"), &r.stdout);
            assert_clean(&format!("{what} stderr"), &r.stderr);
            let written = files(&out_dir);
            assert!(
                written.iter().any(|(p, _)| p.ends_with("summary.json")),
                "{what}: --out-dir wrote {written:?}"
            );
            for (path, text) in written {
                assert_clean(&format!("{what} {}", path.display()), &text);
            }
            let failed = std::fs::read_to_string(&failed).unwrap();
            for host in ["r2", "r3", "r5", "r6"] {
                assert!(failed.lines().any(|l| l == host), "{what}: {failed}");
            }
            assert_clean(&format!("{what} --failed-out"), &failed);
        }
        // exec: the SSH exec channel's errors too.
        let r = run(&[
            "run",
            "-i",
            inv_s,
            "--known-hosts",
            known,
            "-e",
            exec,
            "-vv",
            "--format",
            "json",
            "--timeout",
            "command=1s",
            "exec",
            "show clock",
        ]);
        assert_eq!(r.code, 1, "-e {exec} exec: {}", r.stderr);
        assert_clean(&format!("-e {exec} exec stdout"), &r.stdout);
        assert_clean(&format!("-e {exec} exec stderr"), &r.stderr);
    }
    for host in ["r5", "r6"] {
        let r = run(&["inventory", "show", host, "-i", inv_s]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_clean(
            &format!("inventory show {host}"),
            &format!("{}{}", r.stdout, r.stderr),
        );
    }
}
