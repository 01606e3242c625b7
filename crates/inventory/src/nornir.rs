//! A Nornir SimpleInventory: a directory holding `hosts.yaml` and, when
//! there are any, `groups.yaml` and `defaults.yaml`.
//!
//! Hosts and groups take Nornir's fields (`hostname`, `port`, `username`,
//! `password`, `platform`, `groups`, `data`, `connection_options`) and every
//! fanout per-host key besides; `data` is free-form in Nornir, so lists and
//! maps in it are left out with a warning. `connection_options` of the
//! netmiko, scrapli and napalm plugins win over the plain fields, as they do
//! for those plugins in Nornir.

use std::path::{Path, PathBuf};

use crate::error::{InventoryError, Problems};
use crate::fields::{Mode, Scope, parse_level_with};
use crate::model::{GroupOrder, Model, Named};
use crate::yaml::{self, Kind, Node, Pos};

/// The three files of a directory, `.yaml` or `.yml`.
pub(crate) struct Files {
    pub(crate) hosts: PathBuf,
    pub(crate) groups: Option<PathBuf>,
    pub(crate) defaults: Option<PathBuf>,
}

/// `NAME.yaml` (or `NAME.yml`) in `dir`, if it exists.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    ["yaml", "yml"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
}

/// The files of the inventory at `path`: a directory, or its `hosts.yaml`.
pub(crate) fn files(path: &Path) -> Option<Files> {
    let (dir, hosts) = if path.is_dir() {
        (path, find(path, "hosts")?)
    } else {
        (path.parent().unwrap_or(Path::new("")), path.to_path_buf())
    };
    Some(Files {
        hosts,
        groups: find(dir, "groups"),
        defaults: find(dir, "defaults"),
    })
}

/// Whether `path` looks like a Nornir inventory: a directory with a
/// `hosts.yaml`, or a file named `hosts.yaml` / `hosts.yml`.
pub(crate) fn looks_like(path: &Path) -> bool {
    if path.is_dir() {
        return find(path, "hosts").is_some();
    }
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("hosts.yaml" | "hosts.yml")
    )
}

/// Reads one file of the directory.
fn read(path: &Path) -> Result<String, InventoryError> {
    std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses one file of the directory; `None` when it is empty. The hosts
/// file is file 0, the inventory itself.
fn document<'t>(
    path: &Path,
    text: &'t str,
    hosts: bool,
    p: &mut Problems,
) -> Result<(u32, Option<Node<'t>>), InventoryError> {
    let file = if hosts {
        p.set_main(path)
    } else {
        p.add_file(path)
    };
    let root = yaml::parse(text, file, p).map_err(|e| InventoryError::Syntax {
        path: path.to_path_buf(),
        line: e.pos.line as usize,
        col: e.pos.col as usize,
        message: e.message,
    })?;
    Ok((file, root))
}

/// The model of a Nornir directory; `hosts_text` is the hosts file's text
/// when it is already read.
pub(crate) fn model(
    files: &Files,
    hosts_text: Option<&str>,
    p: &mut Problems,
) -> Result<Model, InventoryError> {
    let mut model = Model::new(GroupOrder::Nornir);
    model.groups_home = "in groups.yaml";
    let mode = Mode {
        warn_unknown: None,
        warn_nested_vars: true,
        ..Mode::default()
    };
    if let Some(path) = &files.defaults {
        let text = read(path)?;
        if let (_, Some(root)) = document(path, &text, false, p)? {
            model.defaults = parse_level_with(&root, Scope::Defaults, "defaults", &mode, p);
        }
    }
    if let Some(path) = &files.groups {
        let text = read(path)?;
        if let (file, Some(root)) = document(path, &text, false, p)? {
            model.groups = entries(&root, file, "groups.yaml", "group", Scope::Group, &mode, p);
        }
    }
    let owned;
    let hosts_text = match hosts_text {
        Some(text) => text,
        None => {
            owned = read(&files.hosts)?;
            owned.as_str()
        }
    };
    let (file, root) = document(&files.hosts, hosts_text, true, p)?;
    match root {
        None => p.push(
            Pos::start(file),
            "hosts.yaml is empty; add at least one host, e.g. `r1: {hostname: 127.0.0.1}`",
        ),
        Some(root) => {
            model.hosts = entries(&root, file, "hosts.yaml", "host", Scope::Host, &mode, p);
            if model.hosts.is_empty() && matches!(root.kind, Kind::Map(_)) {
                p.push(
                    root.pos,
                    "hosts.yaml has no hosts; add at least one, e.g. `r1: {hostname: 127.0.0.1}`",
                );
            }
        }
    }
    Ok(model)
}

/// The `NAME: {settings}` entries of a hosts or groups file.
fn entries(
    root: &Node,
    file: u32,
    file_name: &str,
    what: &str,
    scope: Scope,
    mode: &Mode,
    p: &mut Problems,
) -> Vec<Named> {
    let Kind::Map(entries) = &root.kind else {
        p.push(
            Pos::start(file),
            format!(
                "{file_name} must map each {what} name to its settings, not be {}; \
                 write e.g. `r1: {{hostname: 127.0.0.1}}`",
                root.describe()
            ),
        );
        return Vec::new();
    };
    entries
        .iter()
        .map(|e| Named {
            name: e.key.to_string(),
            pos: e.key_pos,
            level: parse_level_with(&e.value, scope, &format!("{what} `{}`", e.key), mode, p),
        })
        .collect()
}
