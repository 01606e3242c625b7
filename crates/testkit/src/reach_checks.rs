//! Checks of what a host is sent and how it is reached, the same on every
//! executor: command templates (`{name}`, `{host}`, `{port}`,
//! `{platform}`, `{vars.KEY}`) are rendered per host in `exec` and `cli`
//! (the simulated device echoes what it got, or its hostname changes), a
//! host missing a variable fails alone, and what no transport can do (exec
//! over telnet) fails before any connection is opened. Jump hosts and
//! ProxyCommand: [`crate::jump_checks`]; telnet: [`crate::telnet_checks`].

use std::collections::BTreeMap;
use std::io::ErrorKind as IoErrorKind;
use std::net::TcpListener;
use std::time::Duration;

use fanout_core::{
    CliMode, ErrorKind, HostKeyPolicy, HostOutcome, Job, Platform, Status, Target, Task, Transport,
};
use fanout_sim::{DeviceSpec, Fleet};

use crate::checks::{MakeExecutor, run_job};

const SHORT: Duration = Duration::from_secs(5);

fn fleet(platform: Platform, names: &[&str]) -> Fleet {
    let specs = names
        .iter()
        .map(|name| DeviceSpec {
            name: (*name).into(),
            address: std::net::Ipv4Addr::LOCALHOST.into(),
            port: 0,
            platform,
            username: "cisco".into(),
            password: "cisco".into(),
            secret: Some("cisco".into()),
            ..DeviceSpec::default()
        })
        .collect();
    Fleet::builder()
        .specs(specs)
        .start()
        .unwrap_or_else(|e| panic!("the simulated fleet did not start: {e}"))
}

fn job(task: Task, fleet: &Fleet) -> Job {
    let mut job = Job::new(task).with_concurrency(4);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    job.host_keys = HostKeyPolicy::Strict;
    job.timeouts.connect = Some(SHORT);
    job.timeouts.auth = Some(SHORT);
    job.timeouts.command = Some(SHORT);
    job
}

fn by_host(exec: MakeExecutor<'_>, job: &Job, targets: &[Target]) -> BTreeMap<String, HostOutcome> {
    let executor = exec();
    let d = run_job(executor.as_ref(), job, targets, None, None);
    let by = d.by_host();
    assert_eq!(
        by.len(),
        targets.len(),
        "every host exactly once: {:?}",
        by.keys()
    );
    by
}

fn stdout(o: &HostOutcome) -> &str {
    o.outputs.first().map_or("", |out| out.stdout.as_str())
}

/// `exec 'echo {name} {host} {port} {platform} {vars.site}'` on two Linux
/// devices: each prints its own values, and the output names the rendered
/// command; a third host without `site` fails `invalid_target` naming the
/// host and the variable, and the others are not affected. Then `cli` does
/// the same through the interactive shell.
pub fn templated_commands_are_rendered(make: MakeExecutor<'_>) {
    let fleet = fleet(Platform::Linux, &["lx-1", "lx-2", "lx-3"]);
    let mut targets = fleet.targets();
    for (t, site) in targets.iter_mut().zip(["lon", "par"]) {
        t.vars.insert("site".into(), site.into());
    }
    let template = "echo {name} {host} {port} {platform} {vars.site}";
    let expected = |t: &Target| {
        format!(
            "echo {} {} {} linux {}",
            t.name, t.address, t.port, t.vars["site"]
        )
    };
    let run = job(
        Task::Exec {
            command: template.into(),
        },
        &fleet,
    );
    let by = by_host(make, &run, &targets);
    for t in &targets[..2] {
        let o = &by[&t.name];
        let want = expected(t);
        assert_eq!(o.status, Status::Ok, "{}: {o:?}", t.name);
        assert_eq!(o.outputs[0].command, want, "{}: the command sent", t.name);
        assert_eq!(
            stdout(o).trim(),
            want.trim_start_matches("echo "),
            "{}: the device must receive the rendered command",
            t.name
        );
    }
    let o = &by["lx-3"];
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::InvalidTarget)),
        "lx-3 has no vars.site: {o:?}"
    );
    let msg = o.message.as_deref().unwrap_or("");
    assert!(
        msg.contains("`lx-3`") && msg.contains("variable `site`"),
        "the message names the host and the key: {msg}"
    );

    let run = job(
        Task::Cli {
            commands: vec!["echo cli-{name}-{vars.site}".into(), "echo {{x}}".into()],
            mode: CliMode::User,
        },
        &fleet,
    );
    let by = by_host(make, &run, &targets[..2]);
    for t in &targets[..2] {
        let o = &by[&t.name];
        assert_eq!(o.status, Status::Ok, "{}: {o:?}", t.name);
        assert_eq!(o.outputs.len(), 2, "{}: {o:?}", t.name);
        assert_eq!(
            o.outputs[0].stdout.trim(),
            format!("cli-{}-{}", t.name, t.vars["site"]),
            "{}: cli must send the rendered command",
            t.name
        );
        assert_eq!(
            o.outputs[1].stdout.trim(),
            "{x}",
            "{}: {{{{ escapes",
            t.name
        );
    }
}

/// The README's example, `cli --config 'hostname lab-{name}'`, on two IOS
/// devices: each device's hostname becomes `lab-` and its own name.
pub fn cli_config_hostname_is_rendered(make: MakeExecutor<'_>) {
    let fleet = fleet(Platform::Ios, &["r1", "r2"]);
    let targets = fleet.targets();
    let rename = job(
        Task::Cli {
            commands: vec!["hostname lab-{name}".into()],
            mode: CliMode::Config,
        },
        &fleet,
    );
    let by = by_host(make, &rename, &targets);
    for t in &targets {
        assert_eq!(by[&t.name].status, Status::Ok, "{:?}", by[&t.name]);
    }
    let show = job(
        Task::Cli {
            commands: vec!["show running-config | include hostname".into()],
            mode: CliMode::Enable,
        },
        &fleet,
    );
    let by = by_host(make, &show, &targets);
    for t in &targets {
        let o = &by[&t.name];
        assert!(
            stdout(o).contains(&format!("hostname lab-{}", t.name)),
            "{}: the device's hostname must be lab-{}: {o:?}",
            t.name,
            t.name
        );
    }
}

/// An `exec` task on a telnet target (telnet runs `cli` only) fails
/// `invalid_target` with a message saying so, and nothing connects to its
/// address (a listener that must see no connection).
pub fn telnet_exec_fails_before_connecting(make: MakeExecutor<'_>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let mut telnet = Target::new("tn-1", "127.0.0.1");
    telnet.transport = Transport::Telnet;
    telnet.port = port;
    telnet.username = Some("cisco".into());
    telnet.credentials.password = Some(fanout_core::Secret::new("cisco"));
    // Telnet runs cli (crate::telnet_checks); exec over telnet is refused.
    let mut run = Job::new(Task::Exec {
        command: "show clock".into(),
    })
    .with_concurrency(2);
    run.host_keys = HostKeyPolicy::Off;
    run.timeouts.connect = Some(SHORT);
    let by = by_host(make, &run, &[telnet]);
    let o = &by["tn-1"];
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::InvalidTarget)),
        "tn-1: {o:?}"
    );
    let says = "exec needs an SSH exec channel; telnet targets run cli";
    assert!(
        o.message.as_deref().unwrap_or("").contains(says),
        "tn-1: the message must say `{says}`: {o:?}"
    );
    listener.set_nonblocking(true).expect("nonblocking");
    match listener.accept() {
        Err(e) if e.kind() == IoErrorKind::WouldBlock => {}
        Ok((_, from)) => panic!("a refused target was connected to (from {from})"),
        Err(e) => panic!("accept: {e}"),
    }
}
