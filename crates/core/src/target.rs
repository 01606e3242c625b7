use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::{HostKeyPolicy, Rare, StaticDefault};

/// A secret string (password, enable secret, key passphrase).
///
/// `Debug` and `Display` print `***`; the value is only reachable through
/// [`expose`](Self::expose), which transports call when they authenticate.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Never log or print the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to authenticate to a target. Transports try, in order: key file,
/// agent, password (also used for keyboard-interactive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Password (also answers keyboard-interactive prompts).
    pub password: Option<Secret>,
    /// Private key file (OpenSSH format).
    pub key_file: Option<PathBuf>,
    /// Passphrase of an encrypted `key_file`.
    pub key_passphrase: Option<Secret>,
    /// Try the keys of a running ssh-agent (`SSH_AUTH_SOCK`).
    pub agent: bool,
    /// A bearer token for HTTP device APIs (`token_env:`); when set, the
    /// `http` task sends it instead of basic auth.
    pub token: Option<Secret>,
}

/// Device platform: selects prompts, paging and enable/config commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// Cisco IOS.
    Ios,
    /// Cisco IOS-XE.
    Iosxe,
    /// Cisco NX-OS.
    Nxos,
    /// Arista EOS.
    Eos,
    /// Juniper JunOS.
    Junos,
    /// Cisco IOS-XR.
    Iosxr,
    /// A Linux (or any POSIX shell) host.
    Linux,
}

impl Platform {
    /// Every platform, in display order.
    pub const ALL: [Platform; 7] = [
        Platform::Ios,
        Platform::Iosxe,
        Platform::Nxos,
        Platform::Eos,
        Platform::Junos,
        Platform::Iosxr,
        Platform::Linux,
    ];

    /// The canonical name (`ios`, `nxos`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Iosxe => "iosxe",
            Platform::Nxos => "nxos",
            Platform::Eos => "eos",
            Platform::Junos => "junos",
            Platform::Iosxr => "iosxr",
            Platform::Linux => "linux",
        }
    }

    /// Every accepted spelling and its platform: canonical names first, then
    /// netmiko/scrapli aliases. The one table behind parsing and suggestions.
    pub const NAMES: [(&'static str, Platform); 20] = [
        ("ios", Platform::Ios),
        ("iosxe", Platform::Iosxe),
        ("nxos", Platform::Nxos),
        ("eos", Platform::Eos),
        ("junos", Platform::Junos),
        ("iosxr", Platform::Iosxr),
        ("linux", Platform::Linux),
        ("cisco_ios", Platform::Ios),
        ("cisco_iosxe", Platform::Iosxe),
        ("cisco_xe", Platform::Iosxe),
        ("ios-xe", Platform::Iosxe),
        ("cisco_nxos", Platform::Nxos),
        ("nx-os", Platform::Nxos),
        ("cisco_iosxr", Platform::Iosxr),
        ("cisco_xr", Platform::Iosxr),
        ("ios-xr", Platform::Iosxr),
        ("arista_eos", Platform::Eos),
        ("juniper_junos", Platform::Junos),
        ("juniper", Platform::Junos),
        ("linux_ssh", Platform::Linux),
    ];

    /// Every accepted spelling (see [`NAMES`](Self::NAMES)).
    pub fn accepted_names() -> Vec<&'static str> {
        Self::NAMES.iter().map(|(name, _)| *name).collect()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        Platform::NAMES
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                format!(
                    "unknown platform `{s}`: expected one of {}",
                    Platform::accepted_names().join(", ")
                )
            })
    }
}

/// How fanout reaches a device's CLI. The SSH library is the executor's
/// choice; this only selects the protocol.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// SSH (the default).
    #[default]
    Ssh,
    /// Telnet.
    Telnet,
}

impl Transport {
    /// `ssh` or `telnet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Ssh => "ssh",
            Transport::Telnet => "telnet",
        }
    }

    /// The port used when the inventory gives none: 22 for SSH, 23 for telnet.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Ssh => 22,
            Transport::Telnet => 23,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hop of an SSH jump chain (OpenSSH `ProxyJump`), in connection
/// order: the first hop is dialled directly, each next one through the
/// previous, the target through the last.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JumpHop {
    /// The hop's name as the user wrote it (an ssh_config alias such as
    /// `b1`, or an inventory host), for messages; `None`: named by address.
    #[serde(default)]
    pub name: Option<String>,
    /// Address (or ssh_config alias, already resolved to its HostName).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login user on the hop (`None`: the target's).
    #[serde(default)]
    pub user: Option<String>,
    /// Key file for the hop (its own ssh_config `IdentityFile`, or the
    /// inventory's `key_file`); without one the target's key file is tried.
    #[serde(default)]
    pub identity: Option<PathBuf>,
    /// Password on the hop (the inventory's `password_env` / its host
    /// entry). Never serialised here: the process executor's pipe carries
    /// it beside the target, as it does the target's own secrets.
    #[serde(skip)]
    pub password: Option<Secret>,
    /// The hop's own algorithm lists, from its ssh_config `Host` block
    /// (`KexAlgorithms`, `HostKeyAlgorithms`, `Ciphers`, `MACs`), by
    /// [`Reach`] field name (`kex_algorithms`, ...): the list as written and
    /// where it came from (`ssh_config FILE:LINE`). Empty: the defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub algorithms: BTreeMap<String, (String, String)>,
}

impl JumpHop {
    /// How messages name the hop: `b1 (jump@127.0.0.1:2201)`, or only the
    /// endpoint when it has no name of its own.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) if *name != self.host => format!("{name} ({self})"),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for JumpHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How a target is reached beyond address and port: what an OpenSSH
/// client config (`ssh_config`) said for it. Empty unless the host's
/// `ssh_config_file:` or the run's `--ssh-config` was read.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reach {
    /// `ProxyJump` hops, first hop first (empty: connect directly).
    #[serde(default)]
    pub jump: Vec<JumpHop>,
    /// `ProxyCommand`, `%h`/`%p`/`%r` expanded: run with `sh -c`, its
    /// stdin/stdout are the connection to the target.
    #[serde(default)]
    pub proxy_command: Option<String>,
    /// `KexAlgorithms` as written (`+alg,...` adds to the defaults,
    /// `-alg` removes, `^alg` prepends, a plain list replaces).
    #[serde(default)]
    pub kex_algorithms: Option<String>,
    /// `HostKeyAlgorithms`, in the same notation.
    #[serde(default)]
    pub host_key_algorithms: Option<String>,
    /// `Ciphers`, in the same notation.
    #[serde(default)]
    pub ciphers: Option<String>,
    /// `MACs`, in the same notation.
    #[serde(default)]
    pub macs: Option<String>,
    /// `UserKnownHostsFile`: known_hosts files for this host, checked
    /// before the run's.
    #[serde(default)]
    pub known_hosts: Vec<PathBuf>,
    /// Where each algorithm list came from, by field (`kex_algorithms`,
    /// `host_key_algorithms`, `ciphers`, `macs`): `ssh_config FILE:LINE`,
    /// for the message of a list a transport cannot apply.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
}

impl StaticDefault for Reach {
    const DEFAULT: &'static Self = &Reach {
        jump: Vec::new(),
        proxy_command: None,
        kex_algorithms: None,
        host_key_algorithms: None,
        ciphers: None,
        macs: None,
        known_hosts: Vec::new(),
        sources: BTreeMap::new(),
    };
}

impl StaticDefault for Credentials {
    const DEFAULT: &'static Self = &Credentials {
        password: None,
        key_file: None,
        key_passphrase: None,
        agent: false,
        token: None,
    };
}

impl StaticDefault for TimeoutOverrides {
    const DEFAULT: &'static Self = &TimeoutOverrides {
        connect: None,
        auth: None,
        command: None,
        host: None,
    };
}

impl Reach {
    /// Whether nothing was set.
    pub fn is_empty(&self) -> bool {
        *self == Reach::default()
    }

    /// The algorithm list named `field` (`kex_algorithms`,
    /// `host_key_algorithms`, `ciphers` or `macs`).
    pub fn algorithms_mut(&mut self, field: &str) -> Option<&mut Option<String>> {
        match field {
            "kex_algorithms" => Some(&mut self.kex_algorithms),
            "host_key_algorithms" => Some(&mut self.host_key_algorithms),
            "ciphers" => Some(&mut self.ciphers),
            "macs" => Some(&mut self.macs),
            _ => None,
        }
    }
}

/// Per-host timeout overrides (from the inventory); unset fields fall back
/// to the job's [`Timeouts`](crate::Timeouts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeoutOverrides {
    /// TCP connect + SSH handshake.
    pub connect: Option<Duration>,
    /// Authentication.
    pub auth: Option<Duration>,
    /// Each command (or the whole local/sleep/cpu task).
    pub command: Option<Duration>,
    /// The whole host, all phases and retries included.
    pub host: Option<Duration>,
}

/// One host to run the job on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Unique name (inventory key or the device's `host`).
    pub name: String,
    /// Address to connect to (IP or DNS name).
    pub address: String,
    /// TCP port (22 for SSH, 23 for telnet unless the inventory says otherwise).
    pub port: u16,
    /// SSH or telnet.
    pub transport: Transport,
    /// Login user.
    pub username: Option<String>,
    /// How to authenticate (out of line: most hosts of a large fleet
    /// have none of their own; see [`Rare`]).
    pub credentials: Rare<Credentials>,
    /// Enable secret.
    pub secret: Option<Secret>,
    /// Device platform.
    pub platform: Option<Platform>,
    /// Groups the host belongs to, in inheritance order.
    pub groups: Vec<String>,
    /// Free-form variables (scalars rendered as strings).
    pub vars: BTreeMap<String, String>,
    /// Per-host timeouts (out of line, see [`Rare`]).
    pub timeouts: Rare<TimeoutOverrides>,
    /// Per-host host-key policy (`host_keys:` or scrapli's
    /// `auth_strict_key: false`), overriding the job's.
    pub host_keys: Option<HostKeyPolicy>,
    /// An OpenSSH client config file for this host (scrapli's
    /// `ssh_config_file`), resolved relative to the inventory.
    pub ssh_config_file: Option<PathBuf>,
    /// Jump hosts, proxy command, algorithms and known_hosts from
    /// ssh_config (out of line, see [`Rare`]).
    pub reach: Rare<Reach>,
    /// The CA (PEM) that HTTPS device APIs are verified against: the
    /// inventory's top-level `ca_file:`, resolved relative to it.
    pub ca_file: Option<PathBuf>,
}

impl Target {
    /// A target with only a name and address (port 22, no credentials).
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
            port: 22,
            transport: Transport::Ssh,
            username: None,
            credentials: Rare::default(),
            secret: None,
            platform: None,
            groups: Vec::new(),
            vars: BTreeMap::new(),
            timeouts: Rare::default(),
            host_keys: None,
            ssh_config_file: None,
            reach: Rare::default(),
            ca_file: None,
        }
    }

    /// `n` generated targets named `host0001`... on 127.0.0.1, for tasks that
    /// need no device (`sleep`, `cpu`, `local`).
    pub fn synthetic(n: usize) -> Vec<Target> {
        let width = n.max(1).to_string().len().max(4);
        (1..=n)
            .map(|i| {
                let mut t = Target::new(format!("host{i:0width$}"), "127.0.0.1");
                // Exactly one slot (a push reserves four): a million of
                // them in flight at once.
                t.groups = vec!["synthetic".to_string()];
                t
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let mut t = Target::new("r1", "127.0.0.1");
        t.credentials.password = Some(Secret::new("hunter2"));
        t.secret = Some(Secret::new("en-secret"));
        let debug = format!("{t:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("en-secret"),
            "{debug}"
        );
        assert_eq!(Secret::new("x").to_string(), "***");
    }

    #[test]
    fn platform_aliases() {
        assert_eq!("cisco_ios".parse::<Platform>().unwrap(), Platform::Ios);
        assert_eq!(
            "juniper_junos".parse::<Platform>().unwrap(),
            Platform::Junos
        );
        assert_eq!("arista_eos".parse::<Platform>().unwrap(), Platform::Eos);
        assert!("cisco_foo".parse::<Platform>().is_err());
        for (name, platform) in Platform::NAMES {
            assert_eq!(name.parse::<Platform>().unwrap(), platform, "{name}");
        }
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
        }
    }

    #[test]
    fn synthetic_names_are_unique_and_sorted() {
        let t = Target::synthetic(12000);
        assert_eq!(t[0].name, "host00001");
        assert_eq!(t.len(), 12000);
        let mut names: Vec<_> = t.iter().map(|t| t.name.clone()).collect();
        names.dedup();
        assert_eq!(names.len(), 12000);
    }
}
