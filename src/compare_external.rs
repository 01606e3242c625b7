//! `fanout compare --external NAME=CMD`: another program as a further row
//! of the table, run with `sh -c` against the same fleet as the executors
//! after its placeholders are replaced, measured like them (wall, CPU of
//! it and what it reaped, peak memory of its process tree).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use fanout_compare::MeasuredChild;

use crate::compare_cmd::{ALL_EXECUTORS, Source};
use crate::compare_task::shell_word;

/// One `--external NAME=CMD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExternalSpec {
    /// The row's name.
    pub(crate) name: String,
    /// The command as given, placeholders and all.
    pub(crate) command: String,
}

/// The fleet's files an external program reads, as absolute paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FleetFiles {
    inventory: PathBuf,
    known_hosts: Option<PathBuf>,
}

const INVENTORY: &str = "{inventory}";
const KNOWN_HOSTS: &str = "{known_hosts}";
const CONCURRENCY: &str = "{concurrency}";

/// `NAME=CMD` of `--external`: NAME is letters, digits, `-`, `_`, `.`
/// (a table row's name), not an executor's name; CMD is not empty.
pub(crate) fn parse_external(s: &str) -> Result<(String, String), String> {
    let Some((name, command)) = s.split_once('=') else {
        return Err(format!(
            "expected NAME=CMD, e.g. asyncssh='python3 peer.py {{inventory}} {{known_hosts}}', got `{s}`"
        ));
    };
    let name = name.trim();
    if name.is_empty()
        || name.len() > 32
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "`{name}` cannot name a row: use 1 to 32 letters, digits, `-`, `_` or `.`"
        ));
    }
    if ALL_EXECUTORS.contains(&name) {
        return Err(format!(
            "`{name}` is one of fanout's executors (select those with -e); give the program another name"
        ));
    }
    if command.trim().is_empty() {
        return Err(format!("--external {name}= has no command to run"));
    }
    Ok((name.to_string(), command.to_string()))
}

/// The externals to run, checked against the host source before anything
/// runs: unique names, no `-l` (the program reads the whole inventory), no
/// file placeholder with `--synthetic` (there is no file), `{known_hosts}`
/// only with an inventory that names one.
pub(crate) fn check(
    externals: &[(String, String)],
    source: &Source,
    filters: &[String],
) -> Result<Vec<ExternalSpec>> {
    let mut specs: Vec<ExternalSpec> = Vec::new();
    for (name, command) in externals {
        if specs.iter().any(|s| s.name == *name) {
            bail!("--external {name} is given twice; give each program its own name");
        }
        specs.push(ExternalSpec {
            name: name.clone(),
            command: command.clone(),
        });
    }
    let Some(first) = specs.first() else {
        return Ok(specs);
    };
    if !filters.is_empty() {
        bail!(
            "-l cannot select hosts for --external {} (the program reads the inventory file itself); write an inventory with just those hosts and pass it with -i",
            first.name
        );
    }
    for spec in &specs {
        let uses = |p: &str| spec.command.contains(p);
        if matches!(source, Source::Synthetic(_)) && (uses(INVENTORY) || uses(KNOWN_HOSTS)) {
            bail!(
                "--external {}: --synthetic hosts have no inventory file for {INVENTORY} or {KNOWN_HOSTS}; use --sim N (a simulated fleet) or -i INVENTORY",
                spec.name
            );
        }
        if let Source::Inventory(path) = source
            && uses(KNOWN_HOSTS)
            && files(source, None)?.and_then(|f| f.known_hosts).is_none()
        {
            bail!(
                "--external {}: {KNOWN_HOSTS} is the inventory's `known_hosts:` file, and {} has none; add `known_hosts: FILE` to it or leave {KNOWN_HOSTS} out",
                spec.name,
                path.display()
            );
        }
    }
    Ok(specs)
}

/// The fleet's inventory (`-i FILE`, or the simulated fleet's
/// `fleet_inventory`) and its `known_hosts:`; `None` for `--synthetic`.
pub(crate) fn files(source: &Source, fleet_inventory: Option<&Path>) -> Result<Option<FleetFiles>> {
    let path = match (source, fleet_inventory) {
        (Source::Synthetic(_), _) => return Ok(None),
        (_, Some(fleet)) => fleet.to_path_buf(),
        (Source::Inventory(path), None) => path.clone(),
        (Source::Sim(_), None) => return Ok(None),
    };
    let inventory = fanout_inventory::load(&path)?;
    let absolute = |p: &Path| {
        std::path::absolute(p).with_context(|| format!("making {} an absolute path", p.display()))
    };
    Ok(Some(FleetFiles {
        inventory: absolute(&path)?,
        known_hosts: inventory.known_hosts.as_deref().map(absolute).transpose()?,
    }))
}

/// `spec`'s command with its placeholders replaced: `{inventory}` and
/// `{known_hosts}` by absolute paths, shell-quoted when they need it (so
/// they are not to be quoted in the command), `{concurrency}` by `-c`.
pub(crate) fn command_line(
    spec: &ExternalSpec,
    files: Option<&FleetFiles>,
    concurrency: usize,
) -> Result<String> {
    let mut line = spec.command.replace(CONCURRENCY, &concurrency.to_string());
    let path_word = |p: &Path| shell_word(&p.to_string_lossy());
    if line.contains(INVENTORY) {
        let Some(files) = files else {
            bail!(
                "--external {}: no inventory file for {INVENTORY}",
                spec.name
            );
        };
        line = line.replace(INVENTORY, &path_word(&files.inventory));
    }
    if line.contains(KNOWN_HOSTS) {
        let Some(known) = files.and_then(|f| f.known_hosts.as_deref()) else {
            bail!(
                "--external {}: no known_hosts file for {KNOWN_HOSTS}",
                spec.name
            );
        };
        line = line.replace(KNOWN_HOSTS, &path_word(known));
    }
    Ok(line)
}

/// Starts `line` under `sh -c` as the leader of its own process group,
/// with the same values in `FANOUT_INVENTORY`, `FANOUT_KNOWN_HOSTS` and
/// `FANOUT_CONCURRENCY`.
pub(crate) fn spawn(
    line: &str,
    files: Option<&FleetFiles>,
    concurrency: usize,
) -> Result<MeasuredChild> {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", line])
        .env("FANOUT_CONCURRENCY", concurrency.to_string());
    if let Some(files) = files {
        cmd.env("FANOUT_INVENTORY", &files.inventory);
        if let Some(known) = &files.known_hosts {
            cmd.env("FANOUT_KNOWN_HOSTS", known);
        }
    }
    Ok(MeasuredChild::spawn_group(&mut cmd)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_commands() {
        assert_eq!(
            parse_external("py=python3 x.py {inventory}"),
            Ok(("py".into(), "python3 x.py {inventory}".into()))
        );
        assert_eq!(
            parse_external("a=b=c").unwrap(),
            ("a".into(), "b=c".into()),
            "the first = splits"
        );
        assert!(
            parse_external("python3 x.py")
                .unwrap_err()
                .contains("NAME=CMD")
        );
        assert!(
            parse_external("my peer=x")
                .unwrap_err()
                .contains("cannot name a row")
        );
        assert!(
            parse_external("async=x")
                .unwrap_err()
                .contains("one of fanout's executors")
        );
        assert!(
            parse_external("py= ")
                .unwrap_err()
                .contains("has no command")
        );
    }

    #[test]
    fn placeholders_become_quoted_absolute_paths() {
        let spec = ExternalSpec {
            name: "py".into(),
            command: "python3 p.py {inventory} --kh {known_hosts} -c {concurrency}".into(),
        };
        let files = FleetFiles {
            inventory: PathBuf::from("/tmp/my fleet/fleet.yaml"),
            known_hosts: Some(PathBuf::from("/tmp/kh")),
        };
        assert_eq!(
            command_line(&spec, Some(&files), 50).unwrap(),
            "python3 p.py '/tmp/my fleet/fleet.yaml' --kh /tmp/kh -c 50"
        );
        let none = FleetFiles {
            known_hosts: None,
            ..files.clone()
        };
        assert!(
            command_line(&spec, Some(&none), 1)
                .unwrap_err()
                .to_string()
                .contains("no known_hosts file")
        );
        let plain = ExternalSpec {
            name: "s".into(),
            command: "sleep 1".into(),
        };
        assert_eq!(command_line(&plain, None, 1).unwrap(), "sleep 1");
    }

    #[test]
    fn checks_before_anything_runs() {
        let ext = vec![("py".to_string(), "python3 p.py {inventory}".to_string())];
        let err = check(&ext, &Source::Synthetic(3), &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("--synthetic hosts have no inventory file"),
            "{err}"
        );
        let err = check(&ext, &Source::Sim(3), &["r1".to_string()]).unwrap_err();
        assert!(err.to_string().contains("-l cannot select hosts"), "{err}");
        let twice = [ext.clone(), ext.clone()].concat();
        let err = check(&twice, &Source::Sim(3), &[]).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
        assert_eq!(check(&ext, &Source::Sim(3), &[]).unwrap()[0].name, "py");
        let plain = vec![("s".to_string(), "sleep 0.1".to_string())];
        assert_eq!(check(&plain, &Source::Synthetic(3), &[]).unwrap().len(), 1);
        // An inventory without known_hosts: {known_hosts} has nothing to name.
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("inv.yaml");
        std::fs::write(&inv, "hosts:\n  r1: {hostname: 127.0.0.1}\n").unwrap();
        let kh = vec![("k".to_string(), "cat {known_hosts}".to_string())];
        let err = check(&kh, &Source::Inventory(inv.clone()), &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("has none; add `known_hosts: FILE`"),
            "{err}"
        );
        std::fs::write(
            &inv,
            "known_hosts: kh\nhosts:\n  r1: {hostname: 127.0.0.1}\n",
        )
        .unwrap();
        check(&kh, &Source::Inventory(inv.clone()), &[]).unwrap();
        let files = files(&Source::Inventory(inv), None).unwrap().unwrap();
        assert_eq!(files.known_hosts, Some(dir.path().join("kh")));
        assert!(files.inventory.is_absolute());
    }
}
