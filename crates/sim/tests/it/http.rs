//! The HTTPS device APIs against a real HTTP client (curl): the CA
//! verifies, another CA fails, basic auth, RESTCONF hostname GET / PUT
//! shared with the SSH console, eAPI runCmds, and faults.

use std::process::Command;

use fanout_sim::Fleet;

use crate::support::lab;

fn have_curl() -> bool {
    let ok = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "curl must be installed in CI"
    );
    ok
}

/// `curl -sS --cacert CA -u cisco:cisco ARGS https://127.0.0.1:PORT/PATH`:
/// (exit code, HTTP status line code, body).
fn curl(ca: &std::path::Path, port: u16, path: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code}",
            "--cacert",
        ])
        .arg(ca)
        .args(args)
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    (
        out.status.code().unwrap_or(-1),
        code.to_string(),
        format!("{body}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

const HOST: &str = "/restconf/data/Cisco-IOS-XE-native:native/hostname";

#[test]
fn restconf_and_eapi_over_https_with_the_fleet_ca() {
    if !have_curl() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(3)
        .http(true)
        .faults("auth_fail=r3".parse().unwrap()));
    let ca = lab.fleet.ca_path().expect("a CA is written").to_path_buf();
    let inv = std::fs::read_to_string(lab.fleet.inventory_path()).unwrap();
    assert!(inv.contains("ca_file: \"fleet_ca.pem\""), "{inv}");
    let port = |n: usize| lab.fleet.devices()[n].http_port.expect("an HTTPS port");
    assert!(
        inv.contains(&format!("http_port: \"{}\"", port(0))),
        "{inv}"
    );
    let auth = ["-u", "cisco:cisco"];

    let (code, status, body) = curl(&ca, port(0), HOST, &auth);
    assert_eq!((code, status.as_str()), (0, "200"), "{body}");
    let v: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(v, serde_json::json!({"Cisco-IOS-XE-native:hostname": "r1"}));

    // Wrong password, and an auth_fail device: 401.
    assert_eq!(curl(&ca, port(0), HOST, &["-u", "cisco:nope"]).1, "401");
    assert_eq!(curl(&ca, port(2), HOST, &auth).1, "401");
    // Another CA does not verify the device.
    let other = lab.dir.path().join("other.pem");
    let other_fleet = Fleet::builder()
        .http(true)
        .inventory_out(lab.dir.path().join("other.yaml"))
        .ca_out(&other)
        .start()
        .unwrap();
    let (code, _, body) = curl(&other, port(0), HOST, &auth);
    // 60 (certificate problem) or, as OpenSSL 3 reports some chain
    // failures, 35 (TLS handshake failed): never an answer.
    assert!(
        code == 60 || code == 35,
        "certificate problem: {code} {body}"
    );
    drop(other_fleet);

    // PUT the hostname over HTTPS: the SSH console's prompt follows.
    let (code, status, body) = curl(
        &ca,
        port(1),
        HOST,
        &[
            "-u",
            "cisco:cisco",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/yang-data+json",
            "-d",
            r#"{"Cisco-IOS-XE-native:hostname": "EDGE-2"}"#,
        ],
    );
    assert_eq!((code, status.as_str()), (0, "204"), "{body}");
    let console = lab.fleet.console("r2").unwrap();
    assert_eq!(console.prompt(), "EDGE-2>");
    // ... and a hostname set over SSH shows over HTTPS and eAPI.
    let mut c = lab.fleet.console("r1").unwrap();
    c.exec("configure terminal");
    let _ = c.input(b"enable\ncisco\nconfigure terminal\nhostname CORE-1\nend\n");
    let (_, _, body) = curl(&ca, port(0), HOST, &auth);
    assert!(body.contains("\"CORE-1\""), "{body}");
    let rpc = r#"{"jsonrpc":"2.0","method":"runCmds","params":{"version":1,"cmds":["show version","show clock"],"format":"text"},"id":7}"#;
    let (code, status, body) = curl(
        &ca,
        port(0),
        "/command-api",
        &["-u", "cisco:cisco", "-d", rpc],
    );
    assert_eq!((code, status.as_str()), (0, "200"), "{body}");
    let v: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(v["id"], 7);
    let out = v["result"][0]["output"].as_str().unwrap();
    assert!(out.contains("CORE-1 uptime is"), "{out}");
    assert_eq!(v["result"].as_array().unwrap().len(), 2);
    let rpc = r#"{"jsonrpc":"2.0","method":"runCmds","params":{"cmds":["show hostname"],"format":"json"},"id":1}"#;
    let (_, _, body) = curl(
        &ca,
        port(0),
        "/command-api",
        &["-u", "cisco:cisco", "-d", rpc],
    );
    let v: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(v["result"][0]["hostname"], "CORE-1");
    // Interfaces, from the same running config.
    let (_, status, body) = curl(
        &ca,
        port(0),
        "/restconf/data/ietf-interfaces:interfaces",
        &auth,
    );
    assert_eq!(status, "200");
    assert!(body.contains("\"name\": \"Ethernet0/0\""), "{body}");
}

#[test]
fn http_faults_refuse_hang_drop_wrong_certificate() {
    if !have_curl() {
        return;
    }
    let lab = lab(Fleet::builder().devices(4).http(true).faults(
        "refuse=r1,hang_on_command=r2,drop_mid_output=r3,wrong_host_key=r4"
            .parse()
            .unwrap(),
    ));
    let ca = lab.fleet.ca_path().unwrap().to_path_buf();
    let port = |n: usize| lab.fleet.devices()[n].http_port.unwrap();
    let auth = ["-u", "cisco:cisco", "--max-time", "2"];
    assert_eq!(curl(&ca, port(0), HOST, &auth).0, 7, "connection refused");
    assert_eq!(curl(&ca, port(1), HOST, &auth).0, 28, "timed out");
    let (code, _, body) = curl(&ca, port(2), HOST, &auth);
    assert!(
        code == 18 || code == 56 || code == 92,
        "partial body then reset: {code} {body}"
    );
    assert_eq!(
        curl(&ca, port(3), HOST, &auth).0,
        60,
        "another CA's certificate"
    );
}

#[test]
fn http_5xx_answers_503_with_a_json_error_after_authentication() {
    if !have_curl() {
        return;
    }
    let lab = lab(Fleet::builder()
        .devices(2)
        .http(true)
        .faults("http_5xx=r1".parse().unwrap()));
    let ca = lab.fleet.ca_path().unwrap().to_path_buf();
    let port = |n: usize| lab.fleet.devices()[n].http_port.unwrap();
    let (code, status, body) = curl(&ca, port(0), HOST, &["-u", "cisco:cisco"]);
    assert_eq!((code, status.as_str()), (0, "503"), "{body}");
    let v: serde_json::Value = serde_json::from_str(body.trim()).expect("a JSON body");
    let message = v["errors"]["error"][0]["error-message"].as_str().unwrap();
    assert!(message.contains("r1 is in maintenance"), "{body}");
    // Authentication is checked first; the other device is fine.
    let (_, status, _) = curl(&ca, port(0), HOST, &["-u", "cisco:wrong"]);
    assert_eq!(status, "401");
    let (_, status, body) = curl(&ca, port(1), HOST, &["-u", "cisco:cisco"]);
    assert_eq!(status, "200", "{body}");
}
