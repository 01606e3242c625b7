//! scrapli's `transport_options` and Nornir's `connection_options`: the
//! options that map to a fanout setting are taken, the rest are located
//! warnings.
//!
//! scrapli passes `transport_options["asyncssh"]` (or `["ssh2"]`, ...) to
//! that SSH library and `open_cmd` to the `ssh` command. fanout runs its own
//! SSH clients, so of those it honours what it has a setting for:
//! `known_hosts: null` (do not verify host keys), `config` (an ssh_config
//! file) and `client_keys` (a private key file).

use fanout_core::HostKeyPolicy;

use crate::error::Problems;
use crate::fields::{At, Level, Mode, Scope, parse_level, parse_level_with};
use crate::yaml::{Entry, Kind, Node};

/// The plugin names scrapli keys its options by.
const PLUGINS: [&str; 7] = [
    "asyncssh",
    "asynctelnet",
    "ssh2",
    "paramiko",
    "system",
    "telnet",
    "ptyprocess",
];

/// Algorithm choices of asyncssh/paramiko/ssh2.
const ALGORITHMS: [&str; 6] = [
    "kex_algs",
    "encryption_algs",
    "mac_algs",
    "server_host_key_algs",
    "compression_algs",
    "signature_algs",
];

/// Reads `transport_options` into `extra` (settings the map's own keys
/// override) and warns about what fanout does not use.
pub(crate) fn transport_options(extra: &mut Level, v: &Node, what: &str, p: &mut Problems) {
    let entries = match &v.kind {
        _ if v.is_null() => return,
        Kind::Map(entries) => entries,
        _ => {
            p.push(
                v.pos,
                format!(
                    "`transport_options` of {what} must be a map, not {}; write e.g. \
                     `transport_options: {{asyncssh: {{known_hosts: null}}}}`",
                    v.describe()
                ),
            );
            return;
        }
    };
    for entry in entries {
        match (&entry.value.kind, PLUGINS.contains(&&*entry.key)) {
            (Kind::Map(options), true) => {
                for option in options {
                    one(extra, &format!("{}.{}", entry.key, option.key), option, p);
                }
            }
            _ if entry.value.is_null() && PLUGINS.contains(&&*entry.key) => {}
            _ => one(extra, &entry.key, entry, p),
        }
    }
}

/// One option, `name` being its path below `transport_options`.
fn one(extra: &mut Level, name: &str, entry: &Entry, p: &mut Problems) {
    let v = &entry.value;
    let key = name.rsplit('.').next().unwrap_or(name);
    match key {
        "known_hosts" if v.is_null() => {
            extra.host_keys = Some(At {
                value: HostKeyPolicy::Off,
                pos: v.pos,
            });
        }
        "known_hosts" => p.warn(
            entry.key_pos,
            format!(
                "`transport_options.{name}` is ignored: fanout has no per-host known_hosts file; \
                 name it with the inventory's top-level `known_hosts:` or `fanout run --known-hosts FILE`"
            ),
        ),
        "config" => {
            if let Some(path) = first_path(name, v, p) {
                extra.ssh_config_file = Some(At {
                    value: Some(path.value),
                    pos: path.pos,
                });
            }
        }
        "client_keys" => {
            if let Some(path) = first_path(name, v, p) {
                extra.key_file = Some(path);
            }
        }
        _ if ALGORITHMS.contains(&key) => p.warn(
            entry.key_pos,
            format!(
                "`transport_options.{name}` is ignored: fanout's SSH clients offer modern algorithms first and \
                 the legacy ones (diffie-hellman-group1/14-sha1, aes-cbc, 3des-cbc, hmac-sha1) after them, \
                 so a legacy device connects without it; remove it"
            ),
        ),
        "open_cmd" => p.warn(
            entry.key_pos,
            format!(
                "`transport_options.{name}` is ignored: it holds options of the `ssh` command, \
                 and fanout runs its own SSH clients; remove it"
            ),
        ),
        _ => p.warn(
            entry.key_pos,
            format!("`transport_options.{name}` is not used by fanout and is ignored; remove it"),
        ),
    }
}

/// A path, or the first of a list of paths (the others are warned about).
fn first_path(name: &str, v: &Node, p: &mut Problems) -> Option<At<String>> {
    let items: Vec<&Node> = match &v.kind {
        _ if v.is_null() => return None,
        Kind::Scalar { .. } => vec![v],
        Kind::Seq(items) => items.iter().collect(),
        Kind::Map(_) => {
            p.push(
                v.pos,
                format!(
                    "`transport_options.{name}` must be a file path or a list of them, not a map"
                ),
            );
            return None;
        }
    };
    let mut first = None;
    for item in items {
        match item.text() {
            Some(path) if matches!(item.kind, Kind::Scalar { .. }) => {
                if first.is_none() {
                    first = Some(At {
                        value: path.to_string(),
                        pos: item.pos,
                    });
                } else {
                    p.warn(
                        item.pos,
                        format!(
                            "`transport_options.{name}`: only the first file is used; remove the others"
                        ),
                    );
                }
            }
            _ => p.push(
                item.pos,
                format!(
                    "each entry of `transport_options.{name}` must be a file path, not {}",
                    item.describe()
                ),
            ),
        }
    }
    first
}

/// The connection plugins whose options fanout reads, highest precedence
/// first: the CLI libraries, then napalm (whose IOS driver is netmiko).
const CONNECTIONS: [&str; 3] = ["netmiko", "scrapli", "napalm"];

/// Nornir's `connection_options: {PLUGIN: {hostname, port, username,
/// password, platform, extras}}` -> one level (netmiko over scrapli over
/// napalm). `extras` (and napalm's `extras.optional_args`) take the
/// netmiko/scrapli keys of a device; what fanout has no use for is a warning.
pub(crate) fn connection_options(v: &Node, what: &str, p: &mut Problems) -> Option<Level> {
    let entries = match &v.kind {
        _ if v.is_null() => return None,
        Kind::Map(entries) => entries,
        _ => {
            p.push(
                v.pos,
                format!(
                    "`connection_options` of {what} must be a map of connection plugins, not {}; \
                     write e.g. `connection_options: {{netmiko: {{extras: {{secret: x}}}}}}`",
                    v.describe()
                ),
            );
            return None;
        }
    };
    let mut levels: Vec<(usize, Level)> = Vec::new();
    for entry in entries {
        let Some(rank) = CONNECTIONS.iter().position(|c| *c == entry.key) else {
            p.warn(
                entry.key_pos,
                format!(
                    "`connection_options.{}` is ignored: fanout reads the netmiko, scrapli and napalm options only",
                    entry.key
                ),
            );
            continue;
        };
        levels.push((rank, plugin(&entry.key, &entry.value, what, p)));
    }
    levels.sort_by_key(|(rank, _)| *rank);
    let mut out: Option<Level> = None;
    for (_, level) in levels {
        match &mut out {
            None => out = Some(level),
            Some(o) => o.fill_from(level),
        }
    }
    out
}

/// One plugin's options.
fn plugin(name: &str, v: &Node, what: &str, p: &mut Problems) -> Level {
    let entries = match &v.kind {
        _ if v.is_null() => return Level::default(),
        Kind::Map(entries) => entries,
        _ => {
            p.push(
                v.pos,
                format!(
                    "`connection_options.{name}` of {what} must be a map, not {}",
                    v.describe()
                ),
            );
            return Level::default();
        }
    };
    let mut base = Vec::new();
    let mut extras: Option<&Node> = None;
    for entry in entries {
        match &*entry.key {
            "hostname" | "port" | "username" | "password" | "platform" => {
                base.push(entry.clone());
            }
            "extras" => extras = Some(&entry.value),
            other => p.warn(
                entry.key_pos,
                format!(
                    "`connection_options.{name}.{other}` is not a connection option \
                     (hostname, port, username, password, platform, extras); ignored"
                ),
            ),
        }
    }
    let label = format!("`connection_options.{name}` of {what}");
    let base = Node {
        pos: v.pos,
        kind: Kind::Map(base),
    };
    let mut level = parse_level(&base, Scope::Host, &label, p);
    if let Some(extras) = extras {
        let lenient = Mode {
            warn_unknown: Some(format!("connection_options.{name}.extras.")),
            warn_nested_vars: true,
            ..Mode::default()
        };
        let mut node = extras.clone();
        if name == "napalm"
            && let Kind::Map(entries) = &mut node.kind
            && let Some(i) = entries.iter().position(|e| e.key == "optional_args")
        {
            let args = entries.remove(i).value;
            let args_mode = Mode {
                warn_unknown: Some(format!("connection_options.{name}.extras.optional_args.")),
                warn_nested_vars: true,
                ..Mode::default()
            };
            let from_args = parse_level_with(&args, Scope::Host, &label, &args_mode, p);
            level.fill_from(from_args);
        }
        let from_extras = parse_level_with(&node, Scope::Host, &label, &lenient, p);
        // `extras` are the plugin's own keyword arguments: the base
        // options above win where both set something.
        level.fill_from(from_extras);
    }
    level
}
