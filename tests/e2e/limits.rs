//! Open-file limits: every executor raises a low soft limit toward the hard
//! one, or refuses a `-c` that cannot fit before any host starts, saying
//! how far to lower it (issue 19 items 2-3).

use crate::support::{finish, repo};

/// `prlimit --nofile=LIMITS fanout ARGS`.
fn limited(limits: &str, args: &[&str]) -> crate::support::Run {
    let out = std::process::Command::new("prlimit")
        .arg(format!("--nofile={limits}"))
        .arg(env!("CARGO_BIN_EXE_fanout"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("prlimit runs (util-linux)");
    finish(out)
}

const EXECUTORS: [&str; 5] = ["seq", "threads", "rayon", "process", "async"];

#[test]
fn a_c_that_cannot_fit_is_refused_up_front_on_every_executor() {
    for exec in EXECUTORS {
        if exec == "seq" {
            continue; // one host at a time always fits 64 files
        }
        let run = limited(
            "64:64",
            &[
                "run",
                "--synthetic",
                "200",
                "-e",
                exec,
                "-c",
                "100",
                "local",
                "--",
                "true",
            ],
        );
        assert_eq!(run.code, 2, "{exec}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{exec}: no host ran: {}", run.stdout);
        assert!(
            run.stderr
                .contains("open-file limit (ulimit -n) is 64; lower -c to ")
                && run.stderr.contains("only an administrator can raise it"),
            "{exec}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_low_soft_limit_is_raised_toward_the_hard_one_on_every_executor() {
    for exec in EXECUTORS {
        let run = limited(
            "64:4096",
            &[
                "run",
                "--synthetic",
                "150",
                "-e",
                exec,
                "-c",
                "100",
                "--format",
                "jsonl",
                "local",
                "--",
                "true",
            ],
        );
        assert_eq!(run.code, 0, "{exec}: {}", run.stderr);
        assert!(
            run.stdout.contains(r#""ok":150"#),
            "{exec}: every host ok: {}",
            run.stdout.lines().last().unwrap_or("")
        );
    }
}

/// Issue 19 item 2: `-e async -c 100` on a low soft limit gave 54 ok and
/// 46 "Too many open files ... check the address and port". Now every
/// executor raises the limit first, so every SSH host is ok.
#[test]
fn ssh_hosts_past_a_low_soft_limit_all_succeed_on_every_executor() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, _) = crate::sim::serve(&["-n", "60", "--latency", "5ms"], &inv);
    let mut fleet = Fleet(Some(child));
    let inv = inv.to_str().unwrap();
    for exec in ["threads", "rayon", "process", "async"] {
        let run = limited(
            "64:4096",
            &[
                "run",
                "-i",
                inv,
                "-e",
                exec,
                "-c",
                "60",
                "--format",
                "jsonl",
                "exec",
                "show clock",
            ],
        );
        let summary = run.stdout.lines().last().unwrap_or("").to_string();
        assert_eq!(run.code, 0, "{exec}: {summary}\n{}", run.stderr);
        assert!(summary.contains(r#""ok":60"#), "{exec}: {summary}");
        assert!(
            !run.stdout.contains("open files"),
            "{exec}: no host ran out of descriptors"
        );
    }
    let refused = limited(
        "64:64",
        &[
            "run",
            "-i",
            inv,
            "-e",
            "async",
            "-c",
            "60",
            "exec",
            "show clock",
        ],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("exec hosts in flight need about")
            && refused.stderr.contains("lower -c to "),
        "{}",
        refused.stderr
    );
    let r = crate::sim::stop(fleet.0.take().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A `fanout sim serve` child, killed and reaped if the test fails first.
pub(crate) struct Fleet(pub(crate) Option<std::process::Child>);

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
