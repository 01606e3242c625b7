//! `fanout run ... http URL` against `fanout sim serve --http` on every
//! executor: the fleet's CA checked, status and parsed body in the JSON
//! Lines, a 5xx failing its host with the body kept, an inventory without
//! the CA failing clearly, and `--insecure` warned about once.

use crate::sim::{serve, stop};
use crate::support::{json_lines, run};

const URL: &str =
    "https://{host}:{vars.http_port}/restconf/data/Cisco-IOS-XE-native:native/hostname";

#[test]
fn http_get_on_every_executor_against_sim_serve_http() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("fleet.yaml");
    let ca = tmp.path().join("fleet_ca.pem");
    let (child, text) = serve(
        &[
            "-n",
            "3",
            "--http",
            "--ca-out",
            ca.to_str().unwrap(),
            "--faults",
            "http_5xx=r3",
        ],
        &inv,
    );
    assert!(text.contains("ca_file:"), "{text}");
    let inv_s = inv.to_str().unwrap();
    for executor in ["seq", "threads", "rayon", "process", "async"] {
        let r = run(&[
            "run", "-i", inv_s, "-e", executor, "--format", "jsonl", "http", URL,
        ]);
        assert_eq!(r.code, 1, "{executor}: r3 answers 503: {}", r.stderr);
        let lines = json_lines(&r.stdout);
        assert_eq!(lines.len(), 4, "{}", r.stdout);
        for host in &lines[..3] {
            let name = host["host"].as_str().unwrap();
            let out = &host["outputs"][0];
            if name == "r3" {
                assert_eq!(host["status"], "failed", "{executor}: {host}");
                assert_eq!(host["error_kind"], "command_failed", "{executor}: {host}");
                assert_eq!(out["status"], 503, "{executor}: {host}");
                assert!(out["body"]["errors"].is_object(), "kept as JSON: {host}");
            } else {
                assert_eq!(host["status"], "ok", "{executor}: {host}");
                assert_eq!(out["status"], 200);
                assert_eq!(
                    out["body"]["Cisco-IOS-XE-native:hostname"], name,
                    "{executor}: parsed JSON, not a string: {host}"
                );
            }
        }
        assert_eq!(lines[3]["summary"]["executor"], executor);
    }
    // Without the fleet's CA, the certificates are not trusted...
    let bare = tmp.path().join("no_ca.yaml");
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("ca_file:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&bare, without).unwrap();
    let bare_s = bare.to_str().unwrap();
    for executor in ["seq", "async"] {
        let r = run(&[
            "run", "-i", bare_s, "-e", executor, "-l", "r1", "--format", "jsonl", "http", URL,
        ]);
        let lines = json_lines(&r.stdout);
        let m = lines[0]["message"].as_str().unwrap_or_default();
        assert_eq!(
            lines[0]["error_kind"], "connect",
            "{executor}: {}",
            r.stdout
        );
        assert!(
            m.contains("is not trusted (UnknownIssuer)") && m.contains("no `ca_file:`"),
            "{executor}: {m}"
        );
        // ...unless the check is turned off, which is said once.
        let r = run(&[
            "run",
            "-i",
            bare_s,
            "-e",
            executor,
            "-l",
            "r1,r2",
            "--format",
            "jsonl",
            "http",
            "--insecure",
            URL,
        ]);
        assert_eq!(r.code, 0, "{executor}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stderr.matches("--insecure").count(), 1, "{}", r.stderr);
    }
    let r = stop(child);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
