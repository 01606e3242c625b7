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
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn list(args: &InventoryListArgs) -> Result<ExitCode> {
    let source = HostSource {
        inventory: Some(args.inventory.clone()),
        synthetic: None,
        filters: args.filters.clone(),
        read: args.read.clone(),
    };
    let (targets, _) = crate::run_cmd::load_targets(&source)?;
    match args.format {
        ListFormat::Json => {
            let hosts: Vec<_> = targets.iter().map(host_json).collect();
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

fn host_json(t: &Target) -> serde_json::Value {
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
    })
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
