//! `fanout run` against `fanout sim serve --telnet`: cli over telnet on
//! every executor, a refused login, and exec refused before connecting.

use crate::sim::{serve, stop};
use crate::support::{json_lines, run};

#[test]
fn cli_enable_runs_over_telnet_on_every_executor_and_exec_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let (child, text) = serve(&["-n", "3", "--telnet", "--faults", "auth_fail=r3"], &inv);
    assert_eq!(text.matches("transport: telnet").count(), 3, "{text}");
    let inv = inv.to_str().unwrap();
    for executor in ["seq", "threads", "rayon", "process", "async"] {
        let r = run(&[
            "run",
            "-i",
            inv,
            "-e",
            executor,
            "--format",
            "jsonl",
            "cli",
            "--enable",
            "show version",
        ]);
        assert_eq!(r.code, 1, "{executor}: r3 fails, so exit 1: {}", r.stderr);
        let lines = json_lines(&r.stdout);
        assert_eq!(lines.len(), 4, "{executor}: {}", r.stdout);
        for host in &lines[..3] {
            if host["host"] == "r3" {
                assert_eq!(host["status"], "failed", "{executor}: {host}");
                assert_eq!(host["error_kind"], "auth", "{executor}: {host}");
                let message = host["message"].as_str().unwrap();
                assert!(
                    message.contains("telnet login as cisco") && message.contains("Login invalid"),
                    "{executor}: {message}"
                );
            } else {
                assert_eq!(host["status"], "ok", "{executor}: {host}");
                let out = host["outputs"][0]["stdout"].as_str().unwrap();
                assert!(out.contains("Cisco IOS Software"), "{executor}: {out}");
            }
        }
        assert_eq!(lines[3]["summary"]["executor"], executor);
    }
    for executor in ["seq", "async"] {
        let r = run(&[
            "run",
            "-i",
            inv,
            "-e",
            executor,
            "--format",
            "jsonl",
            "exec",
            "show clock",
        ]);
        assert_eq!(r.code, 1, "{executor}: {}", r.stderr);
        for host in &json_lines(&r.stdout)[..3] {
            assert_eq!(host["error_kind"], "invalid_target", "{executor}: {host}");
            assert!(
                host["message"]
                    .as_str()
                    .unwrap()
                    .contains("exec needs an SSH exec channel; telnet targets run cli"),
                "{executor}: {host}"
            );
            assert_eq!(host["timings_ms"]["connect"].as_f64(), Some(0.0), "{host}");
        }
    }
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
