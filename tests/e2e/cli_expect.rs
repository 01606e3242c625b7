//! `cli 'copy running-config startup-config' --expect 'Destination
//! filename \[startup-config\]\?' --answer ''` against the simulated IOS fleet, on both
//! executor families, and the usage errors of pairs that do not fit.

use crate::support::{json_lines, run};

/// `fanout sim serve` of two IOS devices, killed when the test ends.
fn serve(inventory_out: &std::path::Path) -> crate::templates::Served {
    crate::templates::serve(&["-n", "2", "--profile", "ios"], inventory_out)
}

#[test]
fn copy_run_start_is_answered_on_blocking_and_async_executors() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = tmp.path().join("fleet.yaml");
    let _served = serve(&fleet);
    for exec in ["seq", "async"] {
        let r = run(&[
            "run",
            "-i",
            fleet.to_str().unwrap(),
            "-e",
            exec,
            "--format",
            "jsonl",
            "cli",
            "--enable",
            "copy running-config startup-config",
            "--expect",
            r"Destination filename \[startup-config\]\?",
            "--answer",
            "",
            "show clock",
        ]);
        assert_eq!(r.code, 0, "{exec}: {}{}", r.stdout, r.stderr);
        let lines = json_lines(&r.stdout);
        for host in &lines[..2] {
            assert_eq!(host["status"], "ok", "{exec}: {host}");
            let out = host["outputs"].as_array().unwrap();
            assert_eq!(out.len(), 3, "{exec}: {host}");
            assert_eq!(
                out[0]["stdout"].as_str().unwrap().trim(),
                "Destination filename [startup-config]?",
                "{exec}: {host}"
            );
            assert_eq!(out[1]["command"], "", "{exec}: the answer: {host}");
            assert!(
                out[1]["stdout"].as_str().unwrap().contains("[OK]"),
                "{exec}: the copy completed: {host}"
            );
            assert!(
                out[2]["stdout"].as_str().unwrap().contains("UTC"),
                "{exec}: back at the prompt: {host}"
            );
        }
    }
}

#[test]
fn pairs_that_do_not_fit_are_usage_errors_before_any_host() {
    for (args, says) in [
        (
            vec!["copy run start", "--answer", ""],
            "--answer '' without an --expect",
        ),
        (
            vec!["copy run start", "--expect", "Destination"],
            "needs an --answer right after it",
        ),
        (
            vec!["copy run start", "--expect", "[oops", "--answer", ""],
            "invalid `expect` regex `[oops` for command `copy run start`",
        ),
    ] {
        let mut all = vec!["run", "--synthetic", "2", "cli"];
        all.extend(args.iter().copied());
        let r = run(&all);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: no host ran: {}", r.stdout);
    }
}
