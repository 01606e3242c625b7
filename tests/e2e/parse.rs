//! `fanout run --parse`: the simulator's outputs become ntc-templates
//! records; failures are per-host messages, not crashes.

use std::fs;
use std::path::Path;

use fanout_core::Platform;
use serde_json::Value;

use crate::support::{json_lines, run};

/// A fleet of 3 devices of `platform`, its inventory in `dir`.
fn fleet(platform: Platform, dir: &Path) -> (fanout_sim::Fleet, String) {
    let inventory = dir.join(format!("{}.yaml", platform.as_str()));
    let fleet = fanout_sim::Fleet::builder()
        .devices(3)
        .platform(platform)
        .inventory_out(&inventory)
        .start()
        .unwrap();
    (fleet, inventory.to_str().unwrap().to_string())
}

fn parsed(host: &Value, output: usize) -> &[Value] {
    host["outputs"][output]["parsed"]
        .as_array()
        .unwrap_or_else(|| panic!("output {output} not parsed: {host}"))
}

#[test]
fn show_version_and_ip_interface_brief_become_ntc_records_on_ios_nxos_eos() {
    let tmp = tempfile::tempdir().unwrap();
    // (platform, show version fields that must be set, interface table's
    // protocol column)
    let cases = [
        (
            Platform::Ios,
            &[
                "VERSION",
                "HOSTNAME",
                "UPTIME",
                "RUNNING_IMAGE",
                "CONFIG_REGISTER",
            ][..],
            "PROTO",
        ),
        (
            Platform::Nxos,
            &["OS", "HOSTNAME", "UPTIME", "PLATFORM", "SERIAL"][..],
            "PROTO",
        ),
        (
            Platform::Eos,
            &["MODEL", "IMAGE", "UPTIME", "SERIAL_NUMBER", "SYS_MAC"][..],
            "PROTOCOL",
        ),
    ];
    for (platform, version_fields, proto) in cases {
        let (_fleet, inv) = fleet(platform, tmp.path());
        let r = run(&[
            "run",
            "-i",
            &inv,
            "-e",
            "async",
            "--parse",
            "textfsm",
            "--format",
            "json",
            "cli",
            "show version",
            "show ip interface brief",
        ]);
        assert_eq!(r.code, 0, "{platform:?}: {}", r.stderr);
        assert!(!r.stderr.contains("not parsed"), "{}", r.stderr);
        let doc: Value = serde_json::from_str(&r.stdout).unwrap();
        let hosts = doc["hosts"].as_array().unwrap();
        assert_eq!(hosts.len(), 3);
        for host in hosts {
            let name = host["host"].as_str().unwrap();
            let version = parsed(host, 0);
            assert_eq!(version.len(), 1, "{platform:?} {name}: {version:?}");
            for field in version_fields {
                let value = version[0][field].as_str().unwrap_or("");
                assert!(
                    !value.is_empty(),
                    "{platform:?} {name}: {field} empty in {}",
                    version[0]
                );
            }
            if platform != Platform::Eos {
                assert_eq!(version[0]["HOSTNAME"], name, "{platform:?}");
            }
            let brief = parsed(host, 1);
            assert!(brief.len() >= 4, "{platform:?}: {brief:?}");
            let lo = brief
                .iter()
                .find(|r| r["INTERFACE"].as_str().is_some_and(|i| i.starts_with("Lo")))
                .unwrap_or_else(|| panic!("{platform:?}: no loopback in {brief:?}"));
            assert!(
                lo["IP_ADDRESS"]
                    .as_str()
                    .unwrap()
                    .starts_with("203.0.113.1"),
                "{lo}"
            );
            assert_eq!(
                lo["STATUS"].as_str().map(|s| s.contains("up")),
                Some(true),
                "{lo}"
            );
            assert!(lo[proto].as_str().unwrap().contains("up"), "{lo}");
            // The raw output stays next to the records.
            let raw = host["outputs"][1]["stdout"].as_str().unwrap();
            assert!(raw.contains("203.0.113.1"), "{raw}");
        }
    }
}

#[test]
fn exec_outputs_jsonl_and_out_dir_carry_records_too() {
    let tmp = tempfile::tempdir().unwrap();
    let (_fleet, inv) = fleet(Platform::Ios, tmp.path());
    let out = tmp.path().join("out");
    let r = run(&[
        "run",
        "-i",
        &inv,
        "-e",
        "threads",
        "--parse",
        "textfsm",
        "--format",
        "jsonl",
        "--out-dir",
        out.to_str().unwrap(),
        "exec",
        "sh ip int br",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 4);
    for host in &lines[..3] {
        let records = parsed(host, 0);
        assert_eq!(records[0]["INTERFACE"], "Loopback0", "{host}");
        // Fields in the template's order, as ntc-templates defines them.
        let line = serde_json::to_string(&records[0]).unwrap();
        assert!(line.starts_with(r#"{"INTERFACE":"#), "{line}");
    }
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for host in summary["hosts"].as_array().unwrap() {
        assert_eq!(parsed(host, 0)[0]["IP_ADDRESS"], "203.0.113.1");
    }
}

#[test]
fn outputs_without_a_template_are_per_host_messages_not_failures() {
    let r = run(&[
        "run",
        "--synthetic",
        "3",
        "--parse",
        "textfsm",
        "--format",
        "jsonl",
        "local",
        "--",
        "echo",
        "{name}",
    ]);
    // The hosts ran fine: parsing does not change their status.
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    for host in &lines[..3] {
        assert_eq!(host["status"], "ok");
        let err = host["outputs"][0]["parse_error"].as_str().unwrap();
        assert!(err.contains("no template for platform cisco_ios"), "{err}");
        assert!(host["outputs"][0].get("parsed").is_none());
    }
    assert_eq!(
        r.stderr.matches("not parsed: no template").count(),
        3,
        "one line per host: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("3 outputs were not parsed"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_template_file_parses_every_output_and_a_bad_one_stops_before_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("echo.textfsm");
    fs::write(
        &good,
        "Value NAME (\\S+)\nValue N (\\d+)\n\nStart\n  ^${NAME} ${N} -> Record\n",
    )
    .unwrap();
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--parse",
        good.to_str().unwrap(),
        "--format",
        "json",
        "local",
        "--",
        "echo",
        "{name}",
        "42",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    for host in doc["hosts"].as_array().unwrap() {
        let records = parsed(host, 0);
        assert_eq!(records[0]["NAME"], host["host"]);
        assert_eq!(records[0]["N"], "42");
    }

    let bad = tmp.path().join("bad.textfsm");
    fs::write(&bad, "Value NAME (\\S+)\n\nStart\n  ^${NOPE} -> Record\n").unwrap();
    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--parse",
        bad.to_str().unwrap(),
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("bad.textfsm is invalid") && r.stderr.contains("line 4"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "no host ran: {}", r.stdout);

    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--parse",
        "textfsn",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--parse textfsn: no such template file"),
        "{}",
        r.stderr
    );

    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--parse",
        good.to_str().unwrap(),
        "--templates",
        tmp.path().to_str().unwrap(),
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--templates DIR goes with --parse textfsm"),
        "{}",
        r.stderr
    );

    let r = run(&[
        "run",
        "--synthetic",
        "2",
        "--parse",
        "textfsm",
        "--templates",
        tmp.path().to_str().unwrap(),
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("index"), "{}", r.stderr);
}

#[test]
fn a_templates_folder_replaces_the_shipped_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("templates");
    fs::create_dir(&dir).unwrap();
    fs::write(
        dir.join("index"),
        "Template, Hostname, Platform, Command\n\nmy_echo.textfsm, .*, cisco_ios, ec[[ho]]\n",
    )
    .unwrap();
    fs::write(
        dir.join("my_echo.textfsm"),
        "Value WORD (\\S+)\n\nStart\n  ^${WORD} -> Record\n",
    )
    .unwrap();
    let r = run(&[
        "run",
        "--synthetic",
        "1",
        "--parse",
        "textfsm",
        "--templates",
        dir.to_str().unwrap(),
        "--format",
        "jsonl",
        "local",
        "--",
        "echo",
        "hello",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stdout);
    assert_eq!(
        lines[0]["outputs"][0]["parsed"][0]["WORD"], "hello",
        "{}",
        r.stdout
    );
}
