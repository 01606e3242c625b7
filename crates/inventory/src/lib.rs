//! fanout's inventories: which hosts a job runs on.
//!
//! This crate owns reading inventories into [`fanout_core::Target`]s:
//! fanout's YAML (a plain device list in the netmiko/scrapli/asyncssh
//! `devices.yaml` shapes, or Nornir-style `defaults`/`groups`/`hosts`
//! sections), a Nornir SimpleInventory directory, an Ansible inventory (YAML
//! or INI) and a NetBox device export ([`Format`], detected or given in
//! [`LoadOptions`]); group inheritance, secrets from the environment, `-l`
//! host filters ([`Filter`], [`select`]), [`convert`]ing between formats,
//! and problems that point at `FILE:LINE:COL` with what to do ([`Warning`]s
//! for what loads but is not used). YAML is read from the events of
//! `granit-parser` (re-exported by `serde-saphyr`) instead of deserializing
//! with serde, because only the event stream gives a position for every key
//! as well as every value, the scalar text exactly as written, and every
//! duplicate key with both positions, so all problems of a file can be
//! reported at once; JSON positions come from serde_json's raw values.
//!
//! Secrets are written `password: "${LAB_PW}"` (also inside text:
//! `pre${X}post`; `$${` is a literal `${`) or `password_env: LAB_PW`, and the
//! same for `secret` and `key_passphrase`; they are read when the inventory is
//! loaded and never appear in errors, warnings or `Debug` output. This crate
//! never connects to anything: it reads files and the environment only.

mod ansible;
mod ansible_ini;
mod convert;
mod emit;
mod error;
mod events;
mod fields;
mod filter;
mod format;
mod groups;
mod jump;
mod model;
mod netbox;
mod nornir;
mod options;
mod reach;
mod resolve;
mod secret;
mod suggest;
mod values;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fanout_core::Target;

pub use convert::{Converted, convert};
pub use error::{ConvertError, FilterError, InventoryError, Problem, Warning};
pub use filter::{Filter, select, select_from};
pub use format::{Format, LoadOptions};
pub use reach::Origin;
pub use values::parse_platform;

/// A loaded inventory.
#[derive(Clone, Debug)]
pub struct Inventory {
    /// The file (or Nornir directory) it was read from.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Every host, in file order.
    pub targets: Vec<Target>,
    /// The top-level `known_hosts:` file, resolved relative to the
    /// inventory file's directory (`~/` is the home directory).
    pub known_hosts: Option<PathBuf>,
    /// The top-level `ca_file:` (a PEM CA for HTTPS device APIs), resolved
    /// like `known_hosts`; also on every target.
    pub ca_file: Option<PathBuf>,
    /// Group names: those declared under `groups:` in file order, or for a
    /// device list, those its devices list in `groups:`, first seen first.
    pub groups: Vec<String>,
    /// What loads but may not do what was meant (ignored options, missing
    /// key files), in file order. Print them (`Display`) once, on stderr.
    pub warnings: Vec<Warning>,
    /// Host name -> the settings an ssh_config gave it (or the inventory
    /// kept over it), each with its `file:line`.
    pub ssh_config_origins: BTreeMap<String, Vec<Origin>>,
    /// What the ssh_config files read but do not use (`Match` blocks),
    /// each `FILE:LINE: warning: ...`.
    pub ssh_config_warnings: Vec<String>,
}

/// Reads and resolves the inventory at `path` (format detected), taking
/// secrets from the process environment.
pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
    load_with(path, &LoadOptions::default(), &|name| {
        std::env::var(name).ok()
    })
}

/// Reads and resolves the inventory (a file, or a Nornir directory) at
/// `path` as `opts` say, taking environment variables from `env`.
pub fn load_with(
    path: &Path,
    opts: &LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Inventory, InventoryError> {
    resolve_read(path, None, opts, env)
}

/// Resolves inventory `text` as if read from `path` (for messages, format
/// detection and relative paths), taking environment variables from `env`.
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Inventory, InventoryError> {
    parse_with(text, path, &LoadOptions::default(), env)
}

/// [`parse`] as `opts` say.
pub fn parse_with(
    text: &str,
    path: &Path,
    opts: &LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Inventory, InventoryError> {
    resolve_read(path, Some(text), opts, env)
}

fn resolve_read(
    path: &Path,
    text: Option<&str>,
    opts: &LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Inventory, InventoryError> {
    let mut problems = error::Problems::new(path);
    let read = format::read(path, text, opts, &mut problems)?;
    let home = env("HOME").map(PathBuf::from).unwrap_or_default();
    let ssh = reach::SshConfigs::new(opts.ssh_config.clone(), home);
    let cx = resolve::Context {
        dir: &read.dir,
        env,
        extra: &read.extra,
        ssh: Some(&ssh),
    };
    let mut built = match &read.model {
        Some(model) => model::resolve(model, &cx, &mut problems),
        None => resolve::Built::default(),
    };
    // One level per host: freed on another thread for a large inventory.
    let large = read.model.as_ref().is_some_and(|m| m.hosts.len() >= 10_000);
    format::drop_aside(read.model, large);
    jump::from_inventory(&mut built.targets);
    if let Some(message) = ssh.run_error.take() {
        return Err(InventoryError::SshConfig { message });
    }
    if !problems.is_empty() {
        return Err(InventoryError::Invalid {
            path: path.to_path_buf(),
            problems: problems.into_sorted(),
        });
    }
    Ok(Inventory {
        path: path.to_path_buf(),
        format: read.format,
        targets: built.targets,
        known_hosts: built.known_hosts,
        ca_file: built.ca_file,
        groups: built.groups,
        warnings: problems.take_warnings(),
        ssh_config_origins: ssh.origins.take(),
        ssh_config_warnings: ssh.warnings.take(),
    })
}
