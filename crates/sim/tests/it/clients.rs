//! Real automation clients against the fleet, unchanged: scrapli (asyncssh)
//! and netmiko (paramiko), pinned in tests/clients/requirements.txt and
//! installed by .ci/run into a virtualenv named by FANOUT_PYTHON. Without
//! FANOUT_PYTHON the test is skipped locally (never in CI).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fanout_sim::Fleet;

fn python() -> Option<String> {
    let found = std::env::var("FANOUT_PYTHON").ok();
    assert!(
        found.is_some() || std::env::var_os("CI").is_none(),
        "CI must set FANOUT_PYTHON (see .ci/run) so real clients are tested"
    );
    if found.is_none() {
        eprintln!("FANOUT_PYTHON not set: real-client test skipped");
    }
    found
}

fn client(
    python: &str,
    script: &str,
    fleet: &Fleet,
    device: usize,
    new_name: &str,
) -> serde_json::Value {
    let d = &fleet.devices()[device];
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let out = Command::new(python)
        .arg(&script)
        .args([d.address.to_string(), d.port.to_string()])
        .arg(fleet.known_hosts_path())
        .arg(new_name)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed:\n{stdout}\n{stderr}",
        script.display()
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn scrapli_and_netmiko_work_unchanged() {
    let Some(py) = python() else { return };
    // A little latency, like a real device: both clients must cope.
    let fleet = Fleet::builder()
        .devices(2)
        .latency(Duration::from_millis(20), Duration::from_millis(5))
        .start()
        .unwrap();

    let s = client(&py, "scrapli_ios.py", &fleet, 0, "SCRAPLI1");
    assert_eq!(s["prompt"], "r1#", "{s:?}");
    assert_eq!(s["version_failed"], false, "{s:?}");
    assert_eq!(s["version_has_ios"], true, "{s:?}");
    assert_eq!(
        s["version_has_prompt"], false,
        "prompt stripped from output: {s:?}"
    );
    assert_eq!(
        s["invalid_failed"], true,
        "IOS error text is recognised: {s:?}"
    );
    assert_eq!(s["config_failed"], false, "{s:?}");
    assert_eq!(s["config_prompt"], "SCRAPLI1(config)#", "{s:?}");

    let n = client(&py, "netmiko_ios.py", &fleet, 1, "NETMIKO2");
    assert_eq!(n["prompt"], "r2>", "{n:?}");
    assert_eq!(n["enable_prompt"], "r2#", "{n:?}");
    assert_eq!(n["version_has_ios"], true, "{n:?}");
    assert_eq!(n["version_has_prompt"], false, "{n:?}");
    assert_eq!(n["config_prompt"], "NETMIKO2#", "{n:?}");
    assert_eq!(n["running_has_hostname"], true, "{n:?}");
}
