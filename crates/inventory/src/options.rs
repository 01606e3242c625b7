//! scrapli's `transport_options`: the options that map to a fanout setting
//! are taken (into the level's unset fields), the rest are located warnings.
//!
//! scrapli passes `transport_options["asyncssh"]` (or `["ssh2"]`, ...) to
//! that SSH library and `open_cmd` to the `ssh` command. fanout runs its own
//! SSH clients, so of those it honours what it has a setting for:
//! `known_hosts: null` (do not verify host keys), `config` (an ssh_config
//! file) and `client_keys` (a private key file).

use fanout_core::HostKeyPolicy;

use crate::error::Problems;
use crate::fields::{At, Level};
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
        match (&entry.value.kind, PLUGINS.contains(&entry.key.as_str())) {
            (Kind::Map(options), true) => {
                for option in options {
                    one(extra, &format!("{}.{}", entry.key, option.key), option, p);
                }
            }
            _ if entry.value.is_null() && PLUGINS.contains(&entry.key.as_str()) => {}
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
