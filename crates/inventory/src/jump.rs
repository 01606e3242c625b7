//! The `jump:` key (host, group or `defaults`): the jump hosts a host is
//! reached through, first hop first, winning over an ssh_config's
//! `ProxyJump`. Written as OpenSSH's ProxyJump (`jump: ops@10.0.0.5:2222,
//! core-jump`), as a list of such hops, or as a list of maps with a hop's
//! own login:
//!
//! ```yaml
//! jump:
//!   - {host: 127.0.0.1, port: 2201, username: jump, password_env: JUMP_PW}
//!   - {host: 127.0.0.1, port: 2202, username: jump, key_file: keys/jump}
//! ```
//!
//! `jump: none` reaches the host directly even when its ssh_config has a
//! ProxyJump. Hop passwords are secrets like the host's (`password:
//! "${VAR}"` or `password_env`). A hop named by a host of the same
//! inventory (`jump: b1`) takes that host's address, port, username,
//! password and key file, where the hop does not give its own
//! ([`from_inventory`]).

use fanout_core::{JumpHop, Secret};

use crate::error::Problems;
use crate::fields::At;
use crate::secret::{SecretSource, env_name, template};
use crate::values::{port, text};
use crate::yaml::{Kind, Node, Pos};

/// `jump:` as written.
#[derive(Clone, Debug)]
pub(crate) enum JumpSpec {
    /// `jump: none`: directly, whatever the ssh_config says.
    Direct,
    /// The hops, first first.
    Hops(Vec<HopSpec>),
}

/// One hop as written.
#[derive(Clone, Debug)]
pub(crate) struct HopSpec {
    host: String,
    port: Option<u16>,
    user: Option<String>,
    password: Option<At<SecretSource>>,
    key_file: Option<String>,
}

const SHAPE: &str = "write `jump: [user@]host[:port],...`, a list of those, or a list of maps `{host: H, port: P, username: U, password_env: VAR}`";

/// Reads `jump:`.
pub(crate) fn parse(v: &Node, p: &mut Problems) -> Option<JumpSpec> {
    match &v.kind {
        _ if v.is_null() => None,
        Kind::Scalar { text, .. } if text.trim().eq_ignore_ascii_case("none") => {
            Some(JumpSpec::Direct)
        }
        Kind::Scalar { text, .. } => {
            let mut hops = Vec::new();
            for part in text.split(',') {
                hops.push(short(part.trim(), v.pos, p)?);
            }
            Some(JumpSpec::Hops(hops))
        }
        Kind::Seq(items) => {
            let mut hops = Vec::new();
            for item in items {
                let hop = match &item.kind {
                    Kind::Scalar { text, .. } => short(text.trim(), item.pos, p),
                    Kind::Map(_) => long(item, p),
                    _ => {
                        p.push(
                            item.pos,
                            format!(
                                "a `jump:` hop must be a text or a map, not {}; {SHAPE}",
                                item.describe()
                            ),
                        );
                        None
                    }
                };
                hops.push(hop?);
            }
            if hops.is_empty() {
                p.push(
                    v.pos,
                    format!("`jump:` lists no hop; {SHAPE}, or `jump: none`"),
                );
                return None;
            }
            Some(JumpSpec::Hops(hops))
        }
        Kind::Map(_) => Some(JumpSpec::Hops(vec![long(v, p)?])),
    }
}

/// `[user@]host[:port]` (IPv6 in brackets).
fn short(hop: &str, pos: Pos, p: &mut Problems) -> Option<HopSpec> {
    let (user, rest) = match hop.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, hop),
    };
    let (host, port_text) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((h, tail)) => (h.to_string(), tail.strip_prefix(':')),
        None => match rest.rsplit_once(':') {
            Some((h, port)) if !h.contains(':') => (h.to_string(), Some(port)),
            _ => (rest.to_string(), None),
        },
    };
    if host.is_empty() {
        p.push(pos, format!("`jump:` has an empty hop in `{hop}`; {SHAPE}"));
        return None;
    }
    let port = match port_text {
        Some(t) => match t.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                p.push(
                    pos,
                    format!("`jump:` hop `{hop}`: `{t}` is not a port (1-65535)"),
                );
                return None;
            }
        },
        None => None,
    };
    Some(HopSpec {
        host,
        port,
        user,
        password: None,
        key_file: None,
    })
}

/// `{host, port, username, password | password_env, key_file}`.
fn long(v: &Node, p: &mut Problems) -> Option<HopSpec> {
    let Kind::Map(entries) = &v.kind else {
        return None;
    };
    let mut hop = HopSpec {
        host: String::new(),
        port: None,
        user: None,
        password: None,
        key_file: None,
    };
    let mut ok = true;
    for e in entries {
        let value = &e.value;
        match &*e.key {
            "host" | "hostname" => hop.host = text("host", value, p).unwrap_or_default(),
            "port" => hop.port = port(value, p),
            "username" | "user" => hop.user = text("username", value, p),
            "password" => {
                hop.password = template("password", value, p).map(|s| At {
                    value: s,
                    pos: value.pos,
                });
            }
            "password_env" => {
                hop.password = env_name("password_env", value, p).map(|s| At {
                    value: s,
                    pos: value.pos,
                });
            }
            "key_file" => hop.key_file = text("key_file", value, p),
            other => {
                ok = false;
                p.push(
                    e.key_pos,
                    format!("unknown key `{other}` in a `jump:` hop; a hop has host, port, username, password (or password_env) and key_file"),
                );
            }
        }
    }
    if hop.host.is_empty() {
        p.push(v.pos, format!("a `jump:` hop needs `host:`; {SHAPE}"));
        return None;
    }
    ok.then_some(hop)
}

impl JumpSpec {
    /// The hops of a target: secrets resolved with `secret` (`None` when
    /// unset: reported by the caller), key files with `path`.
    pub(crate) fn hops(
        &self,
        mut secret: impl FnMut(&At<SecretSource>) -> Option<Secret>,
        path: impl Fn(&str) -> std::path::PathBuf,
    ) -> Vec<JumpHop> {
        let JumpSpec::Hops(hops) = self else {
            return Vec::new();
        };
        hops.iter()
            .map(|h| JumpHop {
                name: Some(h.host.clone()),
                host: h.host.clone(),
                port: h.port.unwrap_or(22),
                user: h.user.clone(),
                identity: h.key_file.as_deref().map(&path),
                password: h.password.as_ref().and_then(&mut secret),
                algorithms: Default::default(),
            })
            .collect()
    }
}

/// Fills the hops that name a host of the inventory (written as a bare
/// name, so the name is still the address) from that host: its address,
/// and its port, username, password and key file where the hop has none.
pub(crate) fn from_inventory(targets: &mut [fanout_core::Target]) {
    use std::collections::{HashMap, HashSet};
    fn names_host(hop: &fanout_core::JumpHop, t: &fanout_core::Target) -> bool {
        hop.name.as_deref() == Some(hop.host.as_str()) && hop.host != t.name
    }
    // Only the hosts some hop names are looked up (most inventories have
    // none): no copy of every target, which took a third of the load.
    let named: HashSet<&str> = targets
        .iter()
        .flat_map(|t| t.reach.jump.iter().filter(|h| names_host(h, t)))
        .map(|h| h.host.as_str())
        .collect();
    if named.is_empty() {
        return;
    }
    // The last host of a name, as before (duplicates are reported apart).
    let by_name: HashMap<String, usize> = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| named.contains(t.name.as_str()))
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    for i in 0..targets.len() {
        for h in 0..targets[i].reach.jump.len() {
            let hop = &targets[i].reach.jump[h];
            if !names_host(hop, &targets[i]) {
                continue;
            }
            let Some(&j) = by_name.get(&hop.host) else {
                continue;
            };
            let host = &targets[j];
            let (address, port, user, password, identity) = (
                host.address.clone(),
                host.port,
                host.username.clone(),
                host.credentials.password.clone(),
                host.credentials.key_file.clone(),
            );
            let hop = &mut targets[i].reach.jump[h];
            hop.host = address;
            if hop.port == 22 {
                hop.port = port;
            }
            hop.user = hop.user.take().or(user);
            hop.password = hop.password.take().or(password);
            hop.identity = hop.identity.take().or(identity);
        }
    }
}
