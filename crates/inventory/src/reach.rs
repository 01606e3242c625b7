//! Applying an OpenSSH client config (`fanout-sshconfig`) to a host: the
//! host's `ssh_config_file:`, else the run's `--ssh-config FILE`.
//!
//! Precedence, highest first: the inventory (host, its groups, defaults),
//! then the ssh_config, then fanout's defaults (port 22, the job's
//! host-key policy). The ssh_config `Host` patterns are matched against the
//! host's address as the inventory gives it (what you would type after
//! `ssh`), and its `HostName` replaces that address (an inventory address
//! is then an ssh_config alias, as on the `ssh` command line).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use fanout_core::{HostKeyPolicy, JumpHop, Target};
use fanout_sshconfig::{Resolved, SshConfig, Tokens, Value};

use crate::error::Problems;
use crate::fields::Level;

/// Where a resolved setting of a host came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The setting (`address`, `port`, `user`, `key_file`, `host_keys`,
    /// `jump`, `proxy_command`, `kex_algorithms`, ...).
    pub field: &'static str,
    /// Its value, as fanout uses it.
    pub value: String,
    /// `ssh_config FILE:LINE`, or `inventory (over ssh_config FILE:LINE)`
    /// when the inventory's own value won.
    pub from: String,
}

/// The ssh_config files of one inventory load, each read once.
#[derive(Debug, Default)]
pub(crate) struct SshConfigs {
    /// `--ssh-config FILE`: for hosts without `ssh_config_file:`.
    pub(crate) run_config: Option<PathBuf>,
    pub(crate) home: PathBuf,
    cache: RefCell<HashMap<PathBuf, Result<Rc<SshConfig>, Failed>>>,
    /// Host name -> where its settings came from.
    pub(crate) origins: RefCell<BTreeMap<String, Vec<Origin>>>,
    /// An error of the run's `--ssh-config` file (no inventory position).
    pub(crate) run_error: RefCell<Option<String>>,
    /// The files' own warnings (`Match` blocks), once each.
    pub(crate) warnings: RefCell<Vec<String>>,
}

impl SshConfigs {
    pub(crate) fn new(run_config: Option<PathBuf>, home: PathBuf) -> Self {
        Self {
            run_config,
            home,
            ..Self::default()
        }
    }

    fn load(&self, path: &Path) -> Result<Rc<SshConfig>, Failed> {
        if let Some(done) = self.cache.borrow().get(path) {
            return done.clone();
        }
        let loaded = SshConfig::load(path, &self.home)
            .map(Rc::new)
            .map_err(|e| Failed {
                missing: matches!(&e, fanout_sshconfig::Error::Read { source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound),
                message: e.to_string(),
            });
        if let Ok(c) = &loaded {
            self.warnings
                .borrow_mut()
                .extend(c.warnings.iter().cloned());
        }
        self.cache
            .borrow_mut()
            .insert(path.to_path_buf(), loaded.clone());
        loaded
    }
}

/// Why an ssh_config could not be used.
#[derive(Clone, Debug)]
struct Failed {
    /// The file does not exist (a warning for `ssh_config_file:`, as
    /// scrapli ignores a missing one; an error for `--ssh-config`).
    missing: bool,
    message: String,
}

/// Applies the host's ssh_config to `t` (assembled from `levels`).
pub(crate) fn apply(t: &mut Target, levels: &[&Level], ssh: &SshConfigs, p: &mut Problems) {
    let from_inventory = levels
        .iter()
        .find_map(|l| l.ssh_config_file.as_ref())
        .filter(|c| c.value.is_some())
        .map(|c| c.pos);
    let path = match (&t.ssh_config_file, &ssh.run_config) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => path.clone(),
        (None, None) => return,
    };
    let config = match ssh.load(&path) {
        Ok(c) => c,
        Err(e) => {
            match from_inventory {
                Some(pos) if e.missing => p.warn(
                    pos,
                    format!(
                        "ssh_config file {} does not exist, so none is applied; create it or \
                         fix the path (a relative path starts at the inventory's directory)",
                        path.display()
                    ),
                ),
                Some(pos) => p.push(pos, format!("ssh_config_file: {}", e.message)),
                None => {
                    ssh.run_error.borrow_mut().get_or_insert(e.message);
                }
            }
            return;
        }
    };
    let r = config.resolve(&t.address);
    let mut origins = Vec::new();
    if let Err(e) = resolve_into(t, levels, &r, &config, ssh, &mut origins) {
        match from_inventory {
            Some(pos) => p.push(pos, format!("ssh_config_file: {e}")),
            None => {
                ssh.run_error.borrow_mut().get_or_insert(e);
            }
        }
        return;
    }
    if !origins.is_empty() {
        ssh.origins.borrow_mut().insert(t.name.clone(), origins);
    }
}

fn resolve_into(
    t: &mut Target,
    levels: &[&Level],
    r: &Resolved,
    config: &SshConfig,
    ssh: &SshConfigs,
    origins: &mut Vec<Origin>,
) -> Result<(), String> {
    let mut note = |field: &'static str, value: String, v: &Value, won: bool| {
        let from = if won {
            format!("ssh_config {}", v.pos)
        } else {
            format!("inventory (over ssh_config {})", v.pos)
        };
        origins.push(Origin { field, value, from });
    };
    if let Some(v) = r.get("hostname") {
        let tokens = tokens(t, ssh);
        let host = r
            .expand(
                &v.text(),
                &v.pos,
                &Tokens {
                    hostname: &t.address,
                    ..tokens
                },
            )
            .map_err(|e| e.to_string())?;
        t.address = host;
        note("address", t.address.clone(), v, true);
    }
    if let Some(v) = r.get("port") {
        let inventory = levels.iter().any(|l| l.port.is_some());
        if !inventory {
            // Checked when the file was read.
            t.port = v.text().parse().unwrap_or(t.port);
        }
        note("port", t.port.to_string(), v, !inventory);
    }
    if let Some(v) = r.get("user") {
        let inventory = t.username.is_some();
        if !inventory {
            t.username = Some(v.text());
        }
        note(
            "user",
            t.username.clone().unwrap_or_default(),
            v,
            !inventory,
        );
    }
    if let Some(v) = r.identity_files().first() {
        let inventory = t.credentials.key_file.is_some();
        if !inventory {
            let path = r
                .expand(&v.text(), &v.pos, &tokens(t, ssh))
                .map_err(|e| e.to_string())?;
            t.credentials.key_file = Some(relative(&path, &config.path));
        }
        let shown = t
            .credentials
            .key_file
            .as_ref()
            .map(|k| k.display().to_string())
            .unwrap_or_default();
        note("key_file", shown, v, !inventory);
    }
    if let Some(v) = r.get("connecttimeout") {
        let inventory = t.timeouts.connect.is_some();
        if !inventory {
            // Checked when the file was read.
            let secs = v.text().parse::<u64>().unwrap_or(0);
            t.timeouts.connect =
                Some(std::time::Duration::from_secs(secs)).filter(|d| !d.is_zero());
        }
        let shown = t
            .timeouts
            .connect
            .map(|d| format!("{}s", d.as_secs_f64()))
            .unwrap_or_default();
        note("connect_timeout", shown, v, !inventory);
    }
    if let Some(v) = r.get("stricthostkeychecking") {
        let inventory = t.host_keys.is_some();
        if !inventory {
            t.host_keys = Some(match v.text().to_ascii_lowercase().as_str() {
                "no" | "off" => HostKeyPolicy::Off,
                "accept-new" => HostKeyPolicy::AcceptNew,
                _ => HostKeyPolicy::Strict,
            });
        }
        let shown = t.host_keys.map(|h| format!("{h:?}")).unwrap_or_default();
        note("host_keys", shown.to_ascii_lowercase(), v, !inventory);
    }
    if let Some(v) = r.known_hosts_files().first() {
        let mut files = Vec::new();
        let tk = tokens(t, ssh);
        for file in &v.args {
            let path = r.expand(file, &v.pos, &tk).map_err(|e| e.to_string())?;
            files.push(relative(&path, &config.path));
        }
        t.reach.known_hosts = files;
        let shown: Vec<String> = t
            .reach
            .known_hosts
            .iter()
            .map(|k| k.display().to_string())
            .collect();
        note("known_hosts", shown.join(" "), v, true);
    }
    for (keyword, field) in ALGORITHM_KEYWORDS {
        if let Some(v) = r.get(keyword) {
            let text = v.text();
            if let Some(list) = t.reach.algorithms_mut(field) {
                *list = Some(text.clone());
            }
            t.reach
                .sources
                .insert(field.to_string(), format!("ssh_config {}", v.pos));
            note(field, text, v, true);
        }
    }
    // ProxyJump wins over ProxyCommand when both apply (the first of them
    // in the file, as OpenSSH; fanout takes ProxyJump, which it can show).
    if let Some(v) = r.get("proxyjump") {
        if !v.text().eq_ignore_ascii_case("none") {
            t.reach.jump = jump_chain(&v.text(), v, config, t, ssh)?;
            let shown: Vec<String> = t.reach.jump.iter().map(|h| h.to_string()).collect();
            note("jump", shown.join(" -> "), v, true);
        }
    } else if let Some(v) = r.get("proxycommand")
        && !v.text().eq_ignore_ascii_case("none")
    {
        let cmd = r
            .expand(&v.text(), &v.pos, &tokens(t, ssh))
            .map_err(|e| e.to_string())?;
        t.reach.proxy_command = Some(cmd.clone());
        note("proxy_command", cmd, v, true);
    }
    Ok(())
}

fn tokens<'a>(t: &'a Target, ssh: &'a SshConfigs) -> Tokens<'a> {
    Tokens {
        hostname: &t.address,
        port: t.port,
        user: t.username.as_deref(),
        home: &ssh.home,
    }
}

/// `[user@]host[:port]` hops, comma-separated, each resolved through the
/// same config (its HostName, Port, User, IdentityFile), as OpenSSH does.
fn jump_chain(
    spec: &str,
    v: &Value,
    config: &SshConfig,
    t: &Target,
    ssh: &SshConfigs,
) -> Result<Vec<JumpHop>, String> {
    let mut hops = Vec::new();
    for hop in spec.split(',') {
        let hop = hop.trim().strip_prefix("ssh://").unwrap_or(hop.trim());
        let (user, rest) = match hop.rsplit_once('@') {
            Some((u, r)) => (Some(u.to_string()), r),
            None => (None, hop),
        };
        let (host, port) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((h, tail)) => (h.to_string(), tail.strip_prefix(':')),
            None => match rest.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
                _ => (rest.to_string(), None),
            },
        };
        if host.is_empty() {
            return Err(format!(
                "{}: ProxyJump `{spec}` has an empty hop; write [user@]host[:port], comma-separated",
                v.pos
            ));
        }
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                format!(
                    "{}: ProxyJump `{spec}`: `{p}` is not a port; write [user@]host[:port]",
                    v.pos
                )
            })?),
            None => None,
        };
        let own = config.resolve(&host);
        let address = own.get("hostname").map_or(host.clone(), |h| h.text());
        let port = port
            .or_else(|| own.get("port").and_then(|p| p.text().parse().ok()))
            .unwrap_or(22);
        let user = user.or_else(|| own.get("user").map(|u| u.text()));
        let identity = match own.identity_files().first() {
            Some(id) => {
                let tk = Tokens {
                    hostname: &address,
                    port,
                    user: user.as_deref().or(t.username.as_deref()),
                    home: &ssh.home,
                };
                let path = own
                    .expand(&id.text(), &id.pos, &tk)
                    .map_err(|e| e.to_string())?;
                Some(relative(&path, &config.path))
            }
            None => None,
        };
        // The hop's own algorithm lists (a legacy bastion needs its own).
        let algorithms = ALGORITHM_KEYWORDS
            .iter()
            .filter_map(|(keyword, field)| {
                let v = own.get(keyword)?;
                Some((
                    field.to_string(),
                    (v.text(), format!("ssh_config {}", v.pos)),
                ))
            })
            .collect();
        hops.push(JumpHop {
            name: Some(host),
            host: address,
            port,
            user,
            identity,
            password: None,
            algorithms,
        });
    }
    Ok(hops)
}

/// ssh_config's algorithm keywords and the [`Reach`] field each sets.
const ALGORITHM_KEYWORDS: [(&str, &str); 4] = [
    ("kexalgorithms", "kex_algorithms"),
    ("hostkeyalgorithms", "host_key_algorithms"),
    ("ciphers", "ciphers"),
    ("macs", "macs"),
];

/// A relative path in an ssh_config starts at the file's directory.
fn relative(path: &str, config: &Path) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        return p;
    }
    config.parent().unwrap_or(Path::new(".")).join(p)
}
