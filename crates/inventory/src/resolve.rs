//! fanout's two YAML shapes -> a [`Model`]; a host's levels -> a target
//! (validation, secrets).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use fanout_core::{Phase, Secret, Target};

use crate::error::Problems;
use crate::fields::{At, Level, Scope, parse_level};
use crate::model::{GroupOrder, Model, Named};
use crate::secret::{SecretSource, is_printable_name};
use crate::suggest::did_you_mean;
use crate::yaml::{Entry, Kind, Node, Pos};

/// The top-level keys of a Nornir-style inventory.
const SECTIONS: [&str; 5] = ["known_hosts", "ca_file", "defaults", "groups", "hosts"];

/// What an inventory resolves to.
#[derive(Default)]
pub(crate) struct Built {
    pub(crate) targets: Vec<Target>,
    pub(crate) known_hosts: Option<PathBuf>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) groups: Vec<String>,
}

/// Where relative paths start, where secrets come from, and the
/// `--inventory-defaults` level every host ends with.
pub(crate) struct Context<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) extra: &'a Level,
    /// The ssh_config files to apply (`None`: none, as when converting).
    pub(crate) ssh: Option<&'a crate::reach::SshConfigs>,
}

impl Context<'_> {
    /// `~/x` under `$HOME`, absolute as is, else relative to the inventory.
    pub(crate) fn path(&self, raw: &str) -> PathBuf {
        if let (Some(rest), Some(home)) = (raw.strip_prefix("~/"), (self.env)("HOME")) {
            return PathBuf::from(home).join(rest);
        }
        self.dir.join(raw)
    }
}

/// What assembling the hosts collects: variables that were not set -> the
/// hosts using them, and the key files already checked for existence.
#[derive(Default)]
pub(crate) struct Missing {
    unset: BTreeMap<Unset, Vec<String>>,
    checked_keys: HashSet<Pos>,
    /// Each secret as written (its place and source) -> what it resolved
    /// to: the `defaults:` password of 100,000 hosts is looked up once.
    resolved: HashMap<Pos, (SecretSource, Result<String, Vec<String>>)>,
}

impl Missing {
    /// `src` resolved from `env`, once per place it is written.
    fn resolve(
        &mut self,
        src: &At<SecretSource>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, Vec<String>> {
        if let Some((source, done)) = self.resolved.get(&src.pos)
            && *source == src.value
        {
            return done.clone();
        }
        let done = src.value.resolve(env);
        self.resolved
            .insert(src.pos, (src.value.clone(), done.clone()));
        done
    }
}

/// An unset variable: where it is named, its name, the field it is for
/// ("password", ...) and that field's key for a literal value.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Unset {
    pos: Pos,
    var: String,
    field: &'static str,
    /// `password`, `secret` or `key_passphrase`.
    key: &'static str,
    /// Written `*_env: VAR` (else `${VAR}` in text).
    env: bool,
}

/// Reads a fanout document into a model; every problem goes to `p`.
pub(crate) fn model(root: Option<&Node>, p: &mut Problems) -> Option<Model> {
    let Some(root) = root else {
        p.push(
            Pos::start(0),
            "the inventory is empty; list devices (`- host: 127.0.0.1`) or add a `hosts:` section",
        );
        return None;
    };
    match &root.kind {
        Kind::Seq(items) => Some(devices(root.pos, items, p)),
        Kind::Map(entries) => Some(sections(root.pos, entries, p)),
        Kind::Scalar { .. } => {
            p.push(
                root.pos,
                "expected a list of devices (`- host: 127.0.0.1`) or a map with a `hosts:` section, \
                 found a single value",
            );
            None
        }
    }
}

/// One problem per unset variable, naming the hosts that need it.
pub(crate) fn report_unset(missing: Missing, p: &mut Problems) {
    for (unset, hosts) in missing.unset {
        let Unset {
            pos,
            var,
            field,
            key,
            env,
        } = unset;
        let users = match hosts.as_slice() {
            [one] => format!("host `{one}`"),
            [a, b] => format!("hosts `{a}` and `{b}`"),
            [a, b, rest @ ..] => format!("hosts `{a}`, `{b}` and {} more", rest.len()),
            [] => "no host".to_string(),
        };
        // A name that does not look like one may be the secret itself
        // (`password_env: hunter2`): it is never printed.
        let message = if is_printable_name(&var) {
            format!(
                "environment variable `{var}` is not set (needed for the {field} of {users}); \
                 run `export {var}=...` before fanout, or write the value in the inventory"
            )
        } else {
            let literal = if env {
                format!("for a literal value use `{key}:` instead of `{key}_env:`")
            } else {
                "for a literal `${` write `$${`".to_string()
            };
            format!(
                "the environment variable named at {} is not set (needed for the {field} of {users}); \
                 its name is not printed because it does not look like a variable name \
                 (upper-case letters, digits and _); {literal}",
                p.at(pos)
            )
        };
        p.push(pos, message);
    }
}

/// Shape 1: a plain list of devices (their groups are tags).
fn devices(pos: Pos, items: &[Node], p: &mut Problems) -> Model {
    let mut model = Model::new(GroupOrder::Tags);
    if items.is_empty() {
        p.push(
            pos,
            "the device list is empty; add at least one device, e.g. `- host: 127.0.0.1`",
        );
        return model;
    }
    let mut names: HashMap<String, Pos> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let Kind::Map(entries) = &item.kind else {
            p.push(
                item.pos,
                format!(
                    "device #{} must be a map of settings, not {}; write e.g. `- {{host: 127.0.0.1, port: 22}}`",
                    i + 1,
                    item.describe()
                ),
            );
            continue;
        };
        let label = device_label(entries, i);
        let mut level = parse_level(item, Scope::Device, &label, p);
        let name = level
            .name
            .as_ref()
            .or(level.host.as_ref())
            .or(level.ip.as_ref())
            .or(level.hostname.as_ref())
            .cloned();
        let address = level
            .hostname
            .as_ref()
            .or(level.ip.as_ref())
            .or(level.host.as_ref())
            .cloned();
        let (Some(name), Some(address)) = (name, address) else {
            if level.address_reported {
                continue;
            }
            p.push(
                item.pos,
                format!("{label} has no address; add `host: ADDRESS` (or `ip: ADDRESS`) to it"),
            );
            continue;
        };
        if let Some(first) = names.get(&name.value) {
            let first = p.at(*first);
            p.push(
                name.pos,
                format!(
                    "duplicate host name `{}` (first at {first}); give each device a unique `name:`",
                    name.value
                ),
            );
            continue;
        }
        names.insert(name.value.clone(), name.pos);
        level.hostname = Some(address);
        model.hosts.push(Named {
            name: name.value,
            pos: name.pos,
            level,
        });
    }
    model
}

/// `device `r1``, from its name/host/ip if it has one, else `device #N`.
fn device_label(entries: &[Entry], i: usize) -> String {
    ["name", "host", "ip", "hostname"]
        .iter()
        .find_map(|k| {
            entries
                .iter()
                .find(|e| e.key == *k)
                .and_then(|e| e.value.text())
        })
        .map(|name| format!("device `{name}`"))
        .unwrap_or_else(|| format!("device #{}", i + 1))
}

/// Shape 2: Nornir-style `defaults` / `groups` / `hosts`.
fn sections(pos: Pos, entries: &[Entry], p: &mut Problems) -> Model {
    let mut model = Model::new(GroupOrder::Nornir);
    let mut hosts: Option<(Pos, Option<Vec<Named>>)> = None;
    let mut unknown_sections = false;
    for entry in entries {
        let v = &entry.value;
        match &*entry.key {
            "known_hosts" => match v.text() {
                Some(path) if matches!(v.kind, Kind::Scalar { .. }) => {
                    model.known_hosts = Some(At {
                        value: path.to_string(),
                        pos: v.pos,
                    })
                }
                _ if v.is_null() => {}
                _ => p.push(
                    v.pos,
                    format!("`known_hosts` must be a file path, not {}", v.describe()),
                ),
            },
            "ca_file" => match v.text() {
                Some(path) if matches!(v.kind, Kind::Scalar { .. }) => {
                    model.ca_file = Some(At {
                        value: path.to_string(),
                        pos: v.pos,
                    })
                }
                _ if v.is_null() => {}
                _ => p.push(
                    v.pos,
                    format!(
                        "`ca_file` must be the path of a PEM CA certificate, not {}",
                        v.describe()
                    ),
                ),
            },
            "defaults" => model.defaults = parse_level(v, Scope::Defaults, "defaults", p),
            "groups" => {
                model.groups = named(v, "groups", p, |name, node, p| {
                    parse_level(node, Scope::Group, &format!("group `{name}`"), p)
                })
                .unwrap_or_default()
            }
            "hosts" => {
                let list = named(v, "hosts", p, |name, node, p| {
                    parse_level(node, Scope::Host, &format!("host `{name}`"), p)
                });
                hosts = Some((entry.key_pos, list));
            }
            other => {
                let hint = did_you_mean(other, SECTIONS).unwrap_or_else(|| {
                    if matches!(&v.kind, Kind::Map(e) if e.iter().any(|e| e.key == "hostname")) {
                        format!("to define host `{other}`, indent it under `hosts:`")
                    } else {
                        "the sections are known_hosts, ca_file, defaults, groups and hosts"
                            .to_string()
                    }
                });
                p.push(entry.key_pos, format!("unknown section `{other}`; {hint}"));
                unknown_sections = true;
            }
        }
    }
    // An unknown section (`host:`, a host outside `hosts:`) or a `hosts:`
    // that is not a map is already reported: "no hosts" would repeat it.
    match hosts {
        None if unknown_sections => {}
        None => p.push(
            pos,
            "no `hosts:` section; add one, e.g. `hosts: {r1: {hostname: 127.0.0.1}}`",
        ),
        Some((_, None)) => {}
        Some((at, Some(list))) if list.is_empty() => p.push(
            at,
            "`hosts:` is empty; add at least one host, e.g. `r1: {hostname: 127.0.0.1}`",
        ),
        Some((_, Some(list))) => model.hosts = list,
    }
    model
}

/// The entries of a `groups:` or `hosts:` map, each parsed with `parse`;
/// `None` (reported) when it is not a map.
fn named(
    v: &Node,
    section: &str,
    p: &mut Problems,
    mut parse: impl FnMut(&str, &Node, &mut Problems) -> Level,
) -> Option<Vec<Named>> {
    match &v.kind {
        _ if v.is_null() => Some(Vec::new()),
        Kind::Map(entries) => Some(
            entries
                .iter()
                .map(|e| Named {
                    name: e.key.to_string(),
                    pos: e.key_pos,
                    level: parse(&e.key, &e.value, p),
                })
                .collect(),
        ),
        _ => {
            p.push(
                v.pos,
                format!(
                    "`{section}` must be a map of names to settings, not {}; write e.g. `{section}: {{r1: {{hostname: 127.0.0.1}}}}`",
                    v.describe()
                ),
            );
            None
        }
    }
}

/// One target from its levels, most specific first.
pub(crate) fn assemble(
    name: &str,
    address: &str,
    levels: &[&Level],
    groups: Vec<String>,
    cx: &Context<'_>,
    p: &mut Problems,
    missing: &mut Missing,
) -> Target {
    let mut t = Target::new(name, address);
    let mut secret = |src: Option<&At<SecretSource>>, field: &'static str, key: &'static str| {
        let src = src?;
        match missing.resolve(src, cx.env) {
            Ok(value) => Some(Secret::new(value)),
            Err(vars) => {
                for var in vars {
                    let unset = Unset {
                        pos: src.pos,
                        var,
                        field,
                        key,
                        env: src.value.is_env(),
                    };
                    missing
                        .unset
                        .entry(unset)
                        .or_default()
                        .push(name.to_string());
                }
                None
            }
        }
    };
    t.credentials.password = secret(
        levels.iter().find_map(|l| l.password.as_ref()),
        "password",
        "password",
    );
    t.secret = secret(
        levels.iter().find_map(|l| l.secret.as_ref()),
        "enable secret",
        "secret",
    );
    t.credentials.key_passphrase = secret(
        levels.iter().find_map(|l| l.key_passphrase.as_ref()),
        "key passphrase",
        "key_passphrase",
    );
    t.credentials.token = secret(
        levels.iter().find_map(|l| l.token.as_ref()),
        "API token",
        "token",
    );
    // `jump:` (applied after the ssh_config, over its ProxyJump).
    let jump = levels.iter().find_map(|l| l.jump.as_ref()).map(|j| {
        j.value.hops(
            |pw| secret(Some(pw), "jump host password", "password"),
            |raw| cx.path(raw),
        )
    });

    t.username = levels
        .iter()
        .find_map(|l| l.username.as_ref())
        .map(|u| u.value.clone());
    if let Some(k) = levels.iter().find_map(|l| l.key_file.as_ref()) {
        let path = cx.path(&k.value);
        if missing.checked_keys.insert(k.pos) && !path.exists() {
            p.warn(
                k.pos,
                format!(
                    "key file `{}` does not exist (looked for {}); create it or fix the path \
                     (a relative path starts at the inventory's directory)",
                    k.value,
                    path.display()
                ),
            );
        }
        t.credentials.key_file = Some(path);
    }
    if let Some(transport) = levels.iter().find_map(|l| l.selected_transport()) {
        t.transport = transport.value;
    }
    t.ssh_config_file = levels
        .iter()
        .find_map(|l| l.ssh_config_file.as_ref())
        .and_then(|c| c.value.as_deref())
        .map(|raw| cx.path(raw));
    t.credentials.agent = levels
        .iter()
        .find_map(|l| l.agent.as_ref())
        .is_some_and(|a| a.value);
    t.platform = levels
        .iter()
        .find_map(|l| l.platform.as_ref())
        .map(|p| p.value);
    t.host_keys = levels
        .iter()
        .find_map(|l| l.host_keys.as_ref())
        .map(|h| h.value);
    // The most specific level first; within a level the last one written
    // wins. Only the values kept are copied.
    for level in levels {
        for (phase, d) in level.timeouts.iter().rev() {
            let slot = match phase {
                Phase::Connect => &mut t.timeouts.connect,
                Phase::Auth => &mut t.timeouts.auth,
                Phase::Command => &mut t.timeouts.command,
                Phase::Host => &mut t.timeouts.host,
            };
            slot.get_or_insert(d.value);
        }
        for (key, value) in level.vars.iter().rev() {
            if !t.vars.contains_key(key) {
                t.vars.insert(key.clone(), value.value.clone());
            }
        }
    }
    t.port = levels
        .iter()
        .find_map(|l| l.port.as_ref())
        .map_or(t.transport.default_port(), |port| port.value);
    t.groups = groups;
    if let Some(ssh) = cx.ssh {
        crate::reach::apply(&mut t, levels, ssh, p);
    }
    if let Some(hops) = jump {
        t.reach.jump = hops;
        if !t.reach.jump.is_empty() {
            t.reach.proxy_command = None;
        }
    }
    t
}
