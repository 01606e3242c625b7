//! The `http` task against the simulated fleet's HTTPS device APIs
//! ([`fanout_sim::FleetBuilder::http`]): RESTCONF GET and eAPI POST with
//! the fleet's CA checked, the URL and body templated per host, and every
//! HTTP fault mapped to the same error kind on every executor.

use std::collections::BTreeMap;
use std::time::Duration;

use fanout_core::{ErrorKind, HostOutcome, HttpMethod, Job, Phase, Platform, Status, Target, Task};
use fanout_sim::{DeviceSpec, Fleet};

use crate::checks::{MakeExecutor, run_job};

const HOSTNAME: &str = "/restconf/data/Cisco-IOS-XE-native:native/hostname";

fn device(name: &str, faults: &str) -> DeviceSpec {
    let mut d = DeviceSpec {
        name: name.into(),
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        platform: Platform::Iosxe,
        username: "cisco".into(),
        password: "pw-Xq7-never-printed".into(),
        secret: Some("cisco".into()),
        latency: Duration::ZERO,
        jitter: Duration::ZERO,
        banner_delay: Duration::ZERO,
        slow_banner_delay: Duration::from_millis(400),
        ..DeviceSpec::default()
    };
    for f in faults.split(',').filter(|f| !f.is_empty()) {
        d.faults.insert(f.parse().expect("a fault name"));
    }
    d
}

fn fleet(specs: Vec<DeviceSpec>) -> Fleet {
    Fleet::builder()
        .specs(specs)
        .http(true)
        .start()
        .unwrap_or_else(|e| panic!("the simulated HTTPS fleet did not start: {e}"))
}

/// The fleet's targets with `vars.http_port` and the fleet's CA as `ca_file`.
fn targets(fleet: &Fleet) -> Vec<Target> {
    let ca = fleet.ca_path().expect("an HTTPS fleet writes its CA");
    fleet
        .targets()
        .into_iter()
        .zip(fleet.devices())
        .map(|(mut t, d)| {
            if let Some(port) = d.http_port {
                t.vars.insert("http_port".into(), port.to_string());
            }
            t.ca_file = Some(ca.to_path_buf());
            t
        })
        .collect()
}

fn http_job(method: HttpMethod, path: &str, body: Option<&str>, concurrency: usize) -> Job {
    let mut job = Job::new(Task::Http {
        method,
        url: format!("https://{{host}}:{{vars.http_port}}{path}"),
        headers: vec![("X-Fanout-Host".into(), "{name}".into())],
        body: body.map(str::to_string),
    })
    .with_concurrency(concurrency);
    job.timeouts.connect = Some(Duration::from_secs(5));
    job.timeouts.command = Some(Duration::from_secs(5));
    job
}

fn by_name(outcomes: Vec<HostOutcome>, targets: &[Target]) -> BTreeMap<String, HostOutcome> {
    let mut by = BTreeMap::new();
    for o in outcomes {
        assert!(
            by.insert(o.host.clone(), o).is_none(),
            "a host was reported twice"
        );
    }
    for t in targets {
        assert!(by.contains_key(&t.name), "{} was never reported", t.name);
    }
    by
}

fn run(make: MakeExecutor<'_>, job: &Job, targets: &[Target]) -> BTreeMap<String, HostOutcome> {
    let exec = make();
    job.validate().expect("a valid http job");
    let d = run_job(exec.as_ref(), job, targets, None, None);
    d.result.as_ref().expect("the run completes");
    by_name(d.outcomes.into_iter().map(|(_, o)| o).collect(), targets)
}

/// RESTCONF GET of each device's hostname (URL templated per host, the
/// fleet's CA checked): `ok`, status 200, the body parsed JSON naming the
/// host; eAPI `POST /command-api` `show version` with the JSON-RPC id
/// templated in the body; a CA that did not sign the certificates is a
/// `connect` failure naming the certificate problem.
pub fn http_restconf_and_eapi(make: MakeExecutor<'_>) {
    let fleet = fleet(vec![device("r1", ""), device("r2", ""), device("r3", "")]);
    let targets = targets(&fleet);
    let by = run(
        make,
        &http_job(HttpMethod::Get, HOSTNAME, None, 3),
        &targets,
    );
    for t in &targets {
        let o = &by[&t.name];
        assert_eq!(o.status, Status::Ok, "{}: {:?}", t.name, o.message);
        let out = &o.outputs[0];
        assert_eq!(out.status, Some(200), "{}", t.name);
        let port = &t.vars["http_port"];
        assert_eq!(
            out.command,
            format!("GET https://127.0.0.1:{port}{HOSTNAME}"),
            "the URL is rendered per host"
        );
        let body = out.body.as_ref().expect("a body");
        assert_eq!(
            body.get("Cisco-IOS-XE-native:hostname")
                .and_then(|v| v.as_str()),
            Some(t.name.as_str()),
            "{}: the body is parsed JSON, not a string: {body}",
            t.name
        );
    }
    let rpc = r#"{"jsonrpc": "2.0", "method": "runCmds", "params": {"version": 1, "cmds": ["show version"], "format": "json"}, "id": "{name}"}"#;
    let by = run(
        make,
        &http_job(HttpMethod::Post, "/command-api", Some(rpc), 3),
        &targets,
    );
    for t in &targets {
        let o = &by[&t.name];
        assert_eq!(o.status, Status::Ok, "{}: {:?}", t.name, o.message);
        let body = o.outputs[0].body.as_ref().expect("a body");
        assert_eq!(
            body.get("id").and_then(|v| v.as_str()),
            Some(t.name.as_str()),
            "the body's {{name}} is rendered per host: {body}"
        );
        let version = &body["result"][0];
        assert_eq!(
            version["hostname"].as_str(),
            Some(t.name.as_str()),
            "{body}"
        );
        assert_eq!(version["version"].as_str(), Some("4.28.3M"), "{body}");
    }
    // Another CA: every certificate is refused, clearly.
    let other = fleet_with_other_ca();
    let mut wrong = targets.clone();
    for t in &mut wrong {
        t.ca_file = other.ca_path().map(|p| p.to_path_buf());
    }
    let by = run(make, &http_job(HttpMethod::Get, HOSTNAME, None, 3), &wrong);
    for t in &wrong {
        let o = &by[&t.name];
        assert_eq!(
            (o.status, o.error_kind),
            (Status::Failed, Some(ErrorKind::Connect)),
            "{}: {:?}",
            t.name,
            o.message
        );
        let m = o.message.as_deref().unwrap_or("");
        assert!(
            // rustls's reason: UnknownIssuer, or BadSignature when the
            // other CA bears the same name.
            m.contains("TLS: the certificate of 127.0.0.1:")
                && m.contains("is not trusted (")
                && m.contains("ca_file"),
            "{}: {m}",
            t.name
        );
    }
}

fn fleet_with_other_ca() -> Fleet {
    fleet(vec![device("x1", "")])
}

/// Every HTTP fault on every executor: `refuse` → failed/connect (and
/// retried when asked), `hang_on_connect` → timeout in the connect phase,
/// `hang_on_command` → timeout in the command phase, `auth_fail` (401) →
/// failed/auth, `http_5xx` (503) → failed/command_failed with the JSON
/// body kept, `wrong_host_key` (another CA's certificate) → failed/connect
/// naming the certificate, `drop_mid_output` → failed/channel.
pub fn http_faults_map_to_error_kinds(make: MakeExecutor<'_>) {
    let names = [
        ("refuse", "refuse"),
        ("hang-connect", "hang_on_connect"),
        ("hang-command", "hang_on_command"),
        ("auth-fail", "auth_fail"),
        ("five-xx", "http_5xx"),
        ("wrong-cert", "wrong_host_key"),
        ("drop", "drop_mid_output"),
        ("clean", ""),
    ];
    let fleet = fleet(names.iter().map(|(n, f)| device(n, f)).collect());
    let targets = targets(&fleet);
    let mut job = http_job(HttpMethod::Get, HOSTNAME, None, targets.len());
    job.timeouts.connect = Some(Duration::from_secs(1));
    job.timeouts.command = Some(Duration::from_secs(1));
    job.retry.retries = 1;
    job.retry.backoff = Duration::from_millis(10);
    let by = run(make, &job, &targets);
    let check = |name: &str, status: Status, kind: Option<ErrorKind>, text: &str| {
        let o = &by[name];
        let m = o.message.as_deref().unwrap_or("");
        assert_eq!(
            (o.status, o.error_kind),
            (status, kind),
            "{name}: {m} ({:?})",
            o.phase
        );
        assert!(m.contains(text), "{name}: `{text}` not in: {m}");
        assert!(!m.contains("pw-Xq7"), "{name}: the password leaked: {m}");
        o
    };
    let o = check(
        "refuse",
        Status::Failed,
        Some(ErrorKind::Connect),
        "refused",
    );
    assert_eq!(o.attempts, 2, "a refused connection is retried");
    let o = check(
        "hang-connect",
        Status::Timeout,
        Some(ErrorKind::Timeout),
        "",
    );
    assert_eq!(o.phase, Some(Phase::Connect));
    let o = check(
        "hang-command",
        Status::Timeout,
        Some(ErrorKind::Timeout),
        "",
    );
    assert_eq!(o.phase, Some(Phase::Command));
    let o = check(
        "auth-fail",
        Status::Failed,
        Some(ErrorKind::Auth),
        "HTTP 401",
    );
    assert_eq!(o.outputs[0].status, Some(401));
    assert_eq!(o.attempts, 1, "a rejected login is not retried");
    let o = check(
        "five-xx",
        Status::Failed,
        Some(ErrorKind::CommandFailed),
        "HTTP 503 Service Unavailable from GET",
    );
    assert!(
        o.message
            .as_deref()
            .unwrap_or("")
            .contains("five-xx is in maintenance"),
        "the body is in the message"
    );
    let body = o.outputs[0].body.as_ref().expect("the 503's body is kept");
    assert!(
        body["errors"]["error"][0]["error-message"].is_string(),
        "kept as parsed JSON: {body}"
    );
    check(
        "wrong-cert",
        Status::Failed,
        Some(ErrorKind::Connect),
        "is not trusted",
    );
    check("drop", Status::Failed, Some(ErrorKind::Channel), "broke");
    let o = check("clean", Status::Ok, None, "");
    assert_eq!(o.outputs[0].status, Some(200));
}

/// Hosts of one device reuse its connections: 56 inventory entries on 7
/// devices (interleaved, as an inventory lists them), `-c 6`, all `ok`,
/// and the devices accept at most three connections each — every
/// executor keeps a device's connections alive between its hosts (the
/// process pool by offering a worker the hosts of the device it last
/// served: without that each of its 6 workers reaches most devices, about
/// 30 connections). A process per host keeps nothing: there, one
/// connection per host.
pub fn http_hosts_of_a_device_reuse_its_connections(make: MakeExecutor<'_>) {
    const DEVICES: usize = 7;
    const ENTRIES: usize = 56;
    let fleet = fleet(
        (1..=DEVICES)
            .map(|i| device(&format!("r{i}"), ""))
            .collect(),
    );
    let devices = targets(&fleet);
    let entries: Vec<Target> = (0..ENTRIES)
        .map(|i| {
            let mut t = devices[i % DEVICES].clone();
            t.name = format!("e{i:02}");
            t
        })
        .collect();
    let before = fleet.stats().https_connections;
    let by = run(
        make,
        &http_job(HttpMethod::Get, HOSTNAME, None, 6),
        &entries,
    );
    for o in by.values() {
        assert_eq!(o.status, Status::Ok, "{}: {:?}", o.host, o.message);
    }
    let opened = fleet.stats().https_connections - before;
    let pids: std::collections::BTreeSet<u32> = by
        .values()
        .filter_map(|o| match o.worker {
            fanout_core::Worker::Pid(pid) => Some(pid),
            _ => None,
        })
        .collect();
    if pids.len() == ENTRIES {
        assert_eq!(opened, ENTRIES, "a process per host: one connection each");
    } else {
        assert!(
            (DEVICES..=3 * DEVICES).contains(&opened),
            "{opened} connections for {ENTRIES} requests to {DEVICES} devices: \
             hosts of a device should reuse its kept-alive connections"
        );
    }
}
