//! `fanout sim serve`: a simulated fleet as its own process, until Ctrl-C.

use std::collections::BTreeSet;
use std::net::{IpAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context, Result, bail};
use fanout_core::{Platform, Target};
use fanout_sim::{DeviceSpec, Fault, Fleet};

use crate::cli::SimServeArgs;

pub(crate) fn serve(args: &SimServeArgs) -> Result<ExitCode> {
    let mut builder = Fleet::builder()
        .platform(args.profile)
        .latency(args.latency, args.jitter)
        .banner_delay(args.banner_delay)
        .slow_banner_delay(args.slow_banner_delay)
        .extra_lines(args.extra_lines)
        .auth_delay(args.auth_delay)
        .faults(args.faults.clone().unwrap_or_default())
        .seed(args.seed)
        .worker_threads(args.threads)
        .address(args.address)
        .base_port(args.base_port)
        .credentials(&args.username, &args.password, Some(args.secret.as_str()));
    if let Some(max) = args.max_sessions {
        builder = builder.max_sessions(max as usize, args.max_sessions_mode);
    }
    if let Some(m) = args.max_startups {
        builder = builder.max_startups(m);
    }
    if args.telnet {
        builder = builder.telnet(true);
    }
    if let Some(n) = args.cables {
        builder = builder.cables(n);
    }
    builder = match &args.inventory {
        Some(path) => {
            let env = |name: &str| std::env::var(name).ok();
            let inv = fanout_inventory::load_with(path, &args.read.options(), &env)?;
            let specs = inv
                .targets
                .iter()
                .map(|t| device_spec(t, args))
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("serving the hosts of {}", path.display()))?;
            builder.specs(specs)
        }
        None => builder.devices(args.devices),
    };
    if let Some(path) = &args.inventory_out {
        builder = builder.inventory_out(path);
    }
    if let Some(path) = &args.known_hosts_out {
        builder = builder.known_hosts_out(path);
    }
    if let Some(path) = &args.client_key_out {
        builder = builder.client_key_out(path);
    }
    builder = builder
        .bastions(args.bastion_count())
        .bastion_credentials(&args.bastion_username, &args.bastion_password);
    if let Some(m) = args.bastion_max_startups {
        builder = builder.bastion_max_startups(m);
    }
    if let Some(path) = &args.ssh_config_out {
        builder = builder.ssh_config_out(path);
    }
    builder = builder.http(args.http);
    if let Some(path) = &args.ca_out {
        builder = builder.ca_out(path);
    }

    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .context("installing the Ctrl-C handler")?;

    let fleet = builder.start()?;
    if let Some(limit) = args.fd_limit {
        fanout_sim::set_fd_limit(limit).context("setting --fd-limit")?;
    }
    // A closed stdout (`fanout sim serve | head`) does not stop the fleet:
    // the listing is informational, serving goes on until Ctrl-C.
    if let Err(e) = print_listening(&fleet, args)
        && !crate::out::is_stdout_closed(&e)
    {
        return Err(e);
    }
    let _ = rx.recv();
    let stats = fleet.stats();
    let bastion_stats = fleet.bastion_stats();
    let bastions = fleet.bastions().to_vec();
    drop(fleet);
    crate::note!("{}", stopped_line(&stats, args));
    for (b, s) in bastions.iter().zip(bastion_stats) {
        crate::note!(
            "fanout sim: bastion {}: {} connections, {} logins, {} auth failures, {} channels forwarded ({} at most at once), {} forwards refused, {} connections dropped by max-startups, {} direct connections refused",
            b.name,
            s.connections,
            s.logins,
            s.auth_failures,
            s.channels,
            s.peak_forwarding,
            s.forwards_refused,
            s.startups_dropped,
            s.direct_refused
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The line `sim serve` ends with: what the fleet served, and the troubles
/// it survived only when there were any.
fn stopped_line(stats: &fanout_sim::StatsSnapshot, args: &SimServeArgs) -> String {
    let mut line = format!(
        "fanout sim: stopped; {} connections, {} logins, {} auth failures, {} commands",
        stats.connections, stats.logins, stats.auth_failures, stats.commands,
    );
    if stats.sessions_refused > 0 || stats.sessions_queued > 0 || args.max_sessions.is_some() {
        line += &format!(
            ", {} sessions refused and {} queued (max-sessions)",
            stats.sessions_refused, stats.sessions_queued
        );
    }
    if stats.startups_dropped > 0 || args.max_startups.is_some() {
        line += &format!(
            ", {} connections dropped by max-startups",
            stats.startups_dropped
        );
    }
    if stats.accept_errors > 0 {
        line += &format!(
            "; accepting a connection failed {} time{} (usually the open-file limit: raise `ulimit -n`), and the fleet kept serving",
            stats.accept_errors,
            if stats.accept_errors == 1 { "" } else { "s" }
        );
    }
    line
}

fn print_listening(fleet: &Fleet, args: &SimServeArgs) -> Result<()> {
    let devices = fleet.devices();
    let platforms: BTreeSet<&str> = devices.iter().map(|d| d.platform.as_str()).collect();
    let addresses: BTreeSet<String> = devices.iter().map(|d| d.address.to_string()).collect();
    let ports = devices.iter().map(|d| d.port);
    let (lo, hi) = (ports.clone().min().unwrap_or(0), ports.max().unwrap_or(0));
    crate::outln!(
        "fanout sim: {} {} device{} listening{} on {} ports {lo}-{hi} (started in {:.2} s, seed {})",
        devices.len(),
        platforms.into_iter().collect::<Vec<_>>().join("/"),
        if devices.len() == 1 { "" } else { "s" },
        if fleet.telnet() { " (telnet)" } else { "" },
        addresses.into_iter().collect::<Vec<_>>().join(","),
        fleet.start_time().as_secs_f64(),
        args.seed
    )?;
    if devices.len() <= 20 {
        for d in devices {
            let faults: Vec<&str> = d.faults.iter().map(|f| f.as_str()).collect();
            crate::outln!(
                "  {:<12} {}:{} {}{}",
                d.name,
                d.address,
                d.port,
                d.platform,
                if faults.is_empty() {
                    String::new()
                } else {
                    format!(" faults: {}", faults.join(","))
                }
            )?;
        }
    } else {
        let faulty = devices.iter().filter(|d| !d.faults.is_empty()).count();
        if faulty > 0 {
            crate::outln!("  {faulty} devices have faults (see the inventory's sim_faults vars)")?;
        }
    }
    crate::outln!("  inventory:   {}", fleet.inventory_path().display())?;
    if !fleet.telnet() {
        crate::outln!("  known_hosts: {}", fleet.known_hosts_path().display())?;
    }
    if let Some(key) = fleet.client_key_path() {
        crate::outln!("  client key:  {}", key.display())?;
    }
    for b in fleet.bastions() {
        crate::outln!(
            "  bastion {}:  {}:{} user {}{}",
            b.name,
            b.address,
            b.port,
            b.username,
            b.via
                .as_ref()
                .map(|v| format!(" (reachable only through {v})"))
                .unwrap_or_default()
        )?;
    }
    if let Some(ca) = fleet.ca_path() {
        crate::outln!(
            "  https:       every device's vars.http_port; CA {}",
            ca.display()
        )?;
    }
    if let Some(path) = fleet.ssh_config_path() {
        let first = devices.first().map_or("r1", |d| d.name.as_str());
        crate::outln!(
            "  ssh_config:  {} (ssh -F {} {first} 'show version')",
            path.display(),
            path.display()
        )?;
    }
    let capacity = fleet.session_capacity();
    if capacity < devices.len() as u64 * 2 {
        crate::outln!(
            "  note: the open-file limit allows about {capacity} sessions at once; more wait until one closes (raise `ulimit -n`)"
        )?;
    }
    crate::outln!("Ctrl-C to stop.")?;
    Ok(())
}

/// A device for one inventory host: its address and port, credentials,
/// platform, and `sim_*` vars (latency, jitter, faults, banner delay,
/// extra_lines, auth_delay, max_sessions[_mode], max_startups) overriding the
/// command-line knobs.
fn device_spec(t: &Target, args: &SimServeArgs) -> Result<DeviceSpec> {
    let address: IpAddr = match t.address.parse() {
        Ok(a) => a,
        Err(_) => (t.address.as_str(), t.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .map(|a| a.ip())
            .with_context(|| format!("host {}: cannot resolve `{}`", t.name, t.address))?,
    };
    if !address.is_loopback() {
        bail!(
            "host {} has address {address}: the simulator only listens on loopback (127.0.0.0/8); use an inventory of 127.x addresses",
            t.name
        );
    }
    let duration = |key: &str, default| -> Result<_> {
        match t.vars.get(key) {
            Some(v) => fanout_core::parse_duration(v)
                .map_err(|e| anyhow::anyhow!("host {}: vars.{key}: {e}", t.name)),
            None => Ok(default),
        }
    };
    let mut faults = BTreeSet::new();
    if let Some(list) = t.vars.get("sim_faults") {
        for f in list.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            faults.insert(
                f.parse::<Fault>()
                    .map_err(|e| anyhow::anyhow!("host {}: vars.sim_faults: {e}", t.name))?,
            );
        }
    }
    let extra_lines = match t.vars.get("sim_extra_lines") {
        Some(v) => v.parse().with_context(|| {
            format!(
                "host {}: vars.sim_extra_lines must be a whole number",
                t.name
            )
        })?,
        None => args.extra_lines,
    };
    let max_sessions = match t.vars.get("sim_max_sessions") {
        Some(v) => {
            let max: usize = v.parse().ok().filter(|n| *n >= 1).with_context(|| {
                format!(
                    "host {}: vars.sim_max_sessions must be a whole number of 1 or more",
                    t.name
                )
            })?;
            let mode = match t.vars.get("sim_max_sessions_mode") {
                Some(m) => m.parse().map_err(|e| {
                    anyhow::anyhow!("host {}: vars.sim_max_sessions_mode: {e}", t.name)
                })?,
                None => args.max_sessions_mode,
            };
            Some(fanout_sim::SessionLimit { max, mode })
        }
        None => args.max_sessions.map(|max| fanout_sim::SessionLimit {
            max: max as usize,
            mode: args.max_sessions_mode,
        }),
    };
    let max_startups = match t.vars.get("sim_max_startups") {
        Some(v) => Some(
            v.parse()
                .map_err(|e| anyhow::anyhow!("host {}: vars.sim_max_startups: {e}", t.name))?,
        ),
        None => args.max_startups,
    };
    Ok(DeviceSpec {
        name: t.name.clone(),
        address,
        port: t.port,
        platform: t.platform.unwrap_or(Platform::Ios),
        username: t.username.clone().unwrap_or_else(|| args.username.clone()),
        password: t
            .credentials
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_else(|| args.password.clone()),
        secret: Some(
            t.secret
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_else(|| args.secret.clone()),
        ),
        faults,
        latency: duration("sim_latency", args.latency)?,
        jitter: duration("sim_jitter", args.jitter)?,
        banner_delay: duration("sim_banner_delay", args.banner_delay)?,
        slow_banner_delay: args.slow_banner_delay,
        extra_lines,
        max_sessions,
        auth_delay: duration("sim_auth_delay", args.auth_delay)?,
        max_startups,
    })
}
