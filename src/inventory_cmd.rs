//! `fanout inventory check|list|convert`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use fanout_core::Target;
use serde_json::json;

use crate::cli::{HostSource, InventoryArgs, InventoryConvertArgs, InventoryListArgs, ListFormat};

pub(crate) fn check(args: &InventoryArgs) -> Result<ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let inv = fanout_inventory::load_with(&args.inventory, &args.read.options(), &env)?;
    crate::run_cmd::print_warnings(&inv.warnings);
    crate::outln!(
        "{} ({}): ok, {} host{} in {} group{}",
        args.inventory.display(),
        inv.format,
        inv.targets.len(),
        if inv.targets.len() == 1 { "" } else { "s" },
        inv.groups.len(),
        if inv.groups.len() == 1 { "" } else { "s" },
    )?;
    // The process ends next: freeing 100,000 targets one by one (a tenth
    // of a second) would only delay the exit.
    std::mem::forget(inv);
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn list(args: &InventoryListArgs) -> Result<ExitCode> {
    let source = HostSource {
        inventory: Some(args.inventory.clone()),
        synthetic: None,
        filters: args.filters.clone(),
        read: args.read.clone(),
    };
    let hosts = crate::run_cmd::load_hosts(&source)?;
    let targets = hosts.targets;
    match args.format {
        ListFormat::Json => {
            let hosts: Vec<_> = targets
                .iter()
                .map(|t| host_json(t, hosts.ssh_config_origins.get(&t.name)))
                .collect();
            crate::outln!(
                "{}",
                serde_json::to_string_pretty(&hosts).context("rendering JSON")?
            )?;
        }
        ListFormat::Table => print_table(&targets)?,
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn convert(args: &InventoryConvertArgs) -> Result<ExitCode> {
    let done =
        fanout_inventory::convert(&args.inventory, &args.read.options(), args.to, &args.output)?;
    crate::outln!(
        "{} ({}): {} host{} in {} group{} -> {} ({})",
        args.inventory.display(),
        done.from,
        done.hosts,
        if done.hosts == 1 { "" } else { "s" },
        done.groups,
        if done.groups == 1 { "" } else { "s" },
        args.output.display(),
        args.to,
    )?;
    for file in &done.written {
        crate::outln!("  wrote {}", file.display())?;
    }
    for note in &done.notes {
        crate::outln!("  note: {note}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How a host authenticates, without any secret.
fn auth_methods(t: &Target) -> Vec<&'static str> {
    let c = &t.credentials;
    let mut m = Vec::new();
    if c.key_file.is_some() {
        m.push("key");
    }
    if c.agent {
        m.push("agent");
    }
    if c.password.is_some() {
        m.push("password");
    }
    m
}

fn host_json(t: &Target, origins: Option<&Vec<fanout_inventory::Origin>>) -> serde_json::Value {
    let from: serde_json::Map<String, serde_json::Value> = origins
        .into_iter()
        .flatten()
        .map(|o| (o.field.to_string(), json!(o.from)))
        .collect();
    json!({
        "name": t.name,
        "hostname": t.address,
        "port": t.port,
        "username": t.username,
        "platform": t.platform.map(|p| p.as_str()),
        "groups": t.groups,
        "vars": t.vars,
        "auth": auth_methods(t),
        "key_file": t.credentials.key_file,
        "transport": t.transport.as_str(),
        "ssh_config_file": t.ssh_config_file,
        "enable_secret": t.secret.is_some(),
        "jump": t.reach.jump.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        "proxy_command": t.reach.proxy_command,
        "kex_algorithms": t.reach.kex_algorithms,
        "host_key_algorithms": t.reach.host_key_algorithms,
        "ciphers": t.reach.ciphers,
        "macs": t.reach.macs,
        "known_hosts": t.reach.known_hosts,
        "connect_timeout_ms": t.timeouts.connect.map(|d| d.as_millis() as u64),
        "host_keys": t.host_keys.map(host_keys_name),
        "from_ssh_config": from,
    })
}

fn host_keys_name(h: fanout_core::HostKeyPolicy) -> &'static str {
    match h {
        fanout_core::HostKeyPolicy::Strict => "strict",
        fanout_core::HostKeyPolicy::AcceptNew => "accept-new",
        fanout_core::HostKeyPolicy::Off => "off",
    }
}

/// `fanout inventory show -i INV HOST`: every resolved setting of one
/// host, each with where it came from (the inventory, an ssh_config
/// file:line, or fanout's default).
pub(crate) fn show(args: &crate::cli::InventoryShowArgs) -> Result<ExitCode> {
    let source = HostSource {
        inventory: Some(args.inventory.clone()),
        synthetic: None,
        filters: Vec::new(),
        read: args.read.clone(),
    };
    let hosts = crate::run_cmd::load_hosts(&source)?;
    let Some(t) = hosts.targets.iter().find(|t| t.name == args.host) else {
        let names: Vec<&str> = hosts
            .targets
            .iter()
            .take(10)
            .map(|t| t.name.as_str())
            .collect();
        anyhow::bail!(
            "{} has no host `{}` (its hosts: {}{}); `fanout inventory list -i {}` lists them",
            args.inventory.display(),
            args.host,
            names.join(", "),
            if hosts.targets.len() > 10 {
                ", ..."
            } else {
                ""
            },
            args.inventory.display()
        );
    };
    let origins = hosts.ssh_config_origins.get(&t.name);
    let from = |field: &str, default: &str| {
        origins
            .and_then(|o| o.iter().find(|o| o.field == field))
            .map_or_else(|| default.to_string(), |o| o.from.clone())
    };
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let rows: Vec<(&str, String, String)> = vec![
        ("name", t.name.clone(), "inventory".into()),
        ("address", t.address.clone(), from("address", "inventory")),
        (
            "port",
            t.port.to_string(),
            from("port", "inventory or default"),
        ),
        (
            "transport",
            t.transport.to_string(),
            "inventory or default".into(),
        ),
        ("user", opt(t.username.clone()), from("user", "inventory")),
        (
            "platform",
            opt(t.platform.map(|p| p.to_string())),
            "inventory".into(),
        ),
        ("groups", t.groups.join(","), "inventory".into()),
        ("auth", auth_methods(t).join("+"), "inventory".into()),
        (
            "key_file",
            opt(t
                .credentials
                .key_file
                .as_ref()
                .map(|k| k.display().to_string())),
            from("key_file", "inventory"),
        ),
        (
            "host_keys",
            opt(t.host_keys.map(|h| host_keys_name(h).to_string())),
            from("host_keys", "inventory (else the run's --host-keys)"),
        ),
        (
            "ssh_config_file",
            opt(t.ssh_config_file.as_ref().map(|p| p.display().to_string())),
            "inventory".into(),
        ),
        (
            "jump",
            if t.reach.jump.is_empty() {
                "- (direct)".into()
            } else {
                t.reach
                    .jump
                    .iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            },
            from("jump", "-"),
        ),
        (
            "proxy_command",
            opt(t.reach.proxy_command.clone()),
            from("proxy_command", "-"),
        ),
        (
            "kex_algorithms",
            opt(t.reach.kex_algorithms.clone()),
            from("kex_algorithms", "-"),
        ),
        (
            "host_key_algorithms",
            opt(t.reach.host_key_algorithms.clone()),
            from("host_key_algorithms", "-"),
        ),
        (
            "ciphers",
            opt(t.reach.ciphers.clone()),
            from("ciphers", "-"),
        ),
        ("macs", opt(t.reach.macs.clone()), from("macs", "-")),
        (
            "known_hosts",
            if t.reach.known_hosts.is_empty() {
                "-".into()
            } else {
                t.reach
                    .known_hosts
                    .iter()
                    .map(|k| k.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            from("known_hosts", "-"),
        ),
        (
            "connect_timeout",
            opt(t.timeouts.connect.map(|d| format!("{}s", d.as_secs_f64()))),
            from(
                "connect_timeout",
                "inventory (else the run's --timeout connect=)",
            ),
        ),
    ];
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let vwidth = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    for (field, value, origin) in rows {
        crate::outln!("{field:<width$}  {value:<vwidth$}  {origin}")?;
    }
    for (key, value) in &t.vars {
        crate::outln!(
            "{:<width$}  {value:<vwidth$}  inventory",
            format!("vars.{key}")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(targets: &[Target]) -> Result<()> {
    let rows: Vec<[String; 7]> = targets
        .iter()
        .map(|t| {
            [
                t.name.clone(),
                t.address.clone(),
                t.port.to_string(),
                t.platform
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into()),
                t.username.clone().unwrap_or_else(|| "-".into()),
                if t.groups.is_empty() {
                    "-".into()
                } else {
                    t.groups.join(",")
                },
                auth_methods(t).join("+"),
            ]
        })
        .collect();
    let header = [
        "NAME", "ADDRESS", "PORT", "PLATFORM", "USER", "GROUPS", "AUTH",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        crate::outln!("{}", line.join("  ").trim_end())?;
    }
    crate::outln!(
        "{} host{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )
}
