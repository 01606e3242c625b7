//! The progress bar (a terminal only, not with -q) and -v / -vv logs
//! (secrets never in them).

use std::process::Command;

use crate::limits::Fleet;
use crate::support::{finish, run};

/// `fanout ARGS` with stdout and stderr on a terminal (util-linux
/// `script`), everything it drew.
fn on_a_terminal(args: &str) -> crate::support::Run {
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_fanout"));
    let out = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("TERM", "xterm")
        .current_dir(crate::support::repo())
        .output()
        .expect("script runs (util-linux)");
    finish(out)
}

#[test]
fn a_terminal_gets_the_progress_bar_a_pipe_and_q_do_not() {
    let r = on_a_terminal("run --synthetic 30 -c 5 sleep 300ms");
    assert_eq!(r.code, 0, "{}", r.stdout);
    for part in [
        "/30 done [",
        "hosts/s ETA",
        "ok ",
        "in flight 5",
        "slowest: host00",
    ] {
        assert!(r.stdout.contains(part), "`{part}` in: {}", r.stdout);
    }
    assert!(r.stdout.contains("30 hosts: 30 ok"), "{}", r.stdout);
    let r = on_a_terminal("run -q --synthetic 10 -c 5 sleep 100ms");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!r.stdout.contains(" done ["), "-q: {}", r.stdout);
    let r = run(&["run", "--synthetic", "10", "-c", "5", "sleep", "100ms"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains(" done ["), "a pipe: {}", r.stderr);
}

#[test]
fn verbose_logs_every_host_and_never_a_secret() {
    const PASSWORD: &str = "pw-Sekr1t-42";
    const SECRET: &str = "en-Sekr1t-43";
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, text) = crate::sim::serve(
        &[
            "-n",
            "2",
            "--latency",
            "5ms",
            "--password",
            PASSWORD,
            "--secret",
            SECRET,
        ],
        &inv,
    );
    let mut fleet = Fleet(Some(child));
    assert!(text.contains(PASSWORD), "the inventory holds the secret");
    let inv = inv.to_str().unwrap();
    for exec in ["seq", "threads", "async", "process"] {
        let r = run(&[
            "run",
            "-i",
            inv,
            "-e",
            exec,
            "-vv",
            "--format",
            "json",
            "cli",
            "--enable",
            "show clock",
        ]);
        assert_eq!(r.code, 0, "{exec}: {}", r.stderr);
        for part in [
            "host started",
            "host finished",
            "status=\"ok\"",
            "host=\"r2\"",
        ] {
            assert!(r.stderr.contains(part), "{exec}: `{part}` in {}", r.stderr);
        }
        if exec != "process" {
            // Attempts run in the worker processes of -e process.
            assert!(r.stderr.contains("attempt started"), "{exec}: {}", r.stderr);
            assert!(
                r.stderr.contains("password: Some(***)"),
                "{exec}: {}",
                r.stderr
            );
        }
        for secret in [PASSWORD, SECRET] {
            assert!(
                !r.stderr.contains(secret) && !r.stdout.contains(secret),
                "{exec}: a secret was printed: {}",
                r.stderr
            );
        }
    }
    // -v: hosts, not attempts or targets.
    let r = run(&["run", "-i", inv, "-v", "exec", "show clock"]);
    assert!(r.stderr.contains("host finished"), "{}", r.stderr);
    assert!(!r.stderr.contains("attempt started") && !r.stderr.contains("DEBUG"));
    // A failure's message is logged, still without the secret.
    let wrong = tmp.path().join("wrong.yaml");
    std::fs::write(&wrong, text.replace(PASSWORD, "not-the-password")).unwrap();
    let r = run(&[
        "run",
        "-i",
        wrong.to_str().unwrap(),
        "-v",
        "exec",
        "show clock",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("kind=\"auth\""), "{}", r.stderr);
    assert!(!r.stderr.contains(PASSWORD) && !r.stderr.contains("not-the-password"));
    let r = crate::sim::stop(fleet.0.take().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
}
