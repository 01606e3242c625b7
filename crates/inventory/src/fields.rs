//! One settings map (a device, a host, a group or `defaults`) -> typed
//! fields, each with the position it came from.

use std::time::Duration;

use fanout_core::{HostKeyPolicy, Phase, Platform, Transport};

use crate::ansible::{self, AnsibleField};
use crate::error::Problems;
use crate::options::{connection_options, transport_options};
use crate::secret::{SecretSource, env_name, template};
use crate::suggest::did_you_mean;
use crate::values::{
    at, boolean, duration, groups, host_keys, platform, port, ssh_config_file, text, transport,
    vars,
};
use crate::yaml::{Entry, Kind, Node, Pos};

/// A value and where it was written.
#[derive(Clone, Debug)]
pub(crate) struct At<T> {
    pub(crate) value: T,
    pub(crate) pos: Pos,
}

/// Where a map sits, which decides the keys it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// An entry of a plain device list.
    Device,
    /// A host under `hosts:`.
    Host,
    /// A group under `groups:`.
    Group,
    /// The `defaults:` section.
    Defaults,
}

/// Every [`Phase`], in order, for suggestions and messages. `Phase` is the
/// authority (keys are parsed with `Phase::from_str`); the exhaustive match
/// makes a new variant a compile error here until it is placed in the order.
fn phases() -> impl Iterator<Item = Phase> {
    std::iter::successors(Some(Phase::Connect), |phase| match phase {
        Phase::Connect => Some(Phase::Auth),
        Phase::Auth => Some(Phase::Command),
        Phase::Command => Some(Phase::Host),
        Phase::Host => None,
    })
}

/// Every setting one map can hold. Unset fields inherit.
#[derive(Clone, Debug, Default)]
pub(crate) struct Level {
    pub(crate) name: Option<At<String>>,
    pub(crate) host: Option<At<String>>,
    pub(crate) ip: Option<At<String>>,
    pub(crate) hostname: Option<At<String>>,
    pub(crate) port: Option<At<u16>>,
    pub(crate) username: Option<At<String>>,
    pub(crate) password: Option<At<SecretSource>>,
    pub(crate) secret: Option<At<SecretSource>>,
    pub(crate) key_passphrase: Option<At<SecretSource>>,
    /// `token_env:`: a bearer token for HTTP device APIs.
    pub(crate) token: Option<At<SecretSource>>,
    pub(crate) key_file: Option<At<String>>,
    pub(crate) agent: Option<At<bool>>,
    pub(crate) platform: Option<At<Platform>>,
    pub(crate) groups: Vec<At<String>>,
    pub(crate) vars: Vec<(String, At<String>)>,
    /// Timeouts per phase, each phase at most once.
    pub(crate) timeouts: Vec<(Phase, At<Duration>)>,
    pub(crate) host_keys: Option<At<HostKeyPolicy>>,
    /// `transport:` (scrapli) or `ansible_connection`.
    pub(crate) transport: Option<At<Transport>>,
    /// The transport a netmiko `device_type` ends in (`cisco_ios_telnet`).
    pub(crate) platform_transport: Option<At<Transport>>,
    /// `ssh_config_file:` as written; `None` inside for `false`.
    pub(crate) ssh_config_file: Option<At<Option<String>>>,
    /// `jump:` as written.
    pub(crate) jump: Option<At<crate::jump::JumpSpec>>,
    /// Nornir's `connection_options` (netmiko, then scrapli, then napalm):
    /// they win over the plain fields of every level.
    pub(crate) conn: Option<Box<Level>>,
    /// Ansible's `ansible_group_priority` (groups only).
    pub(crate) priority: Option<At<i64>>,
    /// An address was written, maybe wrongly (or the map itself is wrong):
    /// "no address" would only repeat a problem already reported.
    pub(crate) address_reported: bool,
}

impl Level {
    /// Takes every setting `self` lacks from `other` (vars and timeouts key
    /// by key).
    pub(crate) fn fill_from(&mut self, other: Level) {
        fn fill<T>(slot: &mut Option<T>, other: Option<T>) {
            if slot.is_none() {
                *slot = other;
            }
        }
        fill(&mut self.name, other.name);
        fill(&mut self.host, other.host);
        fill(&mut self.ip, other.ip);
        fill(&mut self.hostname, other.hostname);
        fill(&mut self.port, other.port);
        fill(&mut self.username, other.username);
        fill(&mut self.password, other.password);
        fill(&mut self.secret, other.secret);
        fill(&mut self.key_passphrase, other.key_passphrase);
        fill(&mut self.token, other.token);
        fill(&mut self.key_file, other.key_file);
        fill(&mut self.agent, other.agent);
        fill(&mut self.platform, other.platform);
        fill(&mut self.host_keys, other.host_keys);
        fill(&mut self.transport, other.transport);
        fill(&mut self.platform_transport, other.platform_transport);
        fill(&mut self.ssh_config_file, other.ssh_config_file);
        fill(&mut self.jump, other.jump);
        fill(&mut self.priority, other.priority);
        match (&mut self.conn, other.conn) {
            (Some(mine), Some(theirs)) => mine.fill_from(*theirs),
            (slot @ None, theirs) => *slot = theirs,
            (Some(_), None) => {}
        }
        if self.groups.is_empty() {
            self.groups = other.groups;
        }
        for (key, value) in other.vars {
            if !self.vars.iter().any(|(k, _)| *k == key) {
                self.vars.push((key, value));
            }
        }
        for (phase, value) in other.timeouts {
            if !self.timeouts.iter().any(|(p, _)| *p == phase) {
                self.timeouts.push((phase, value));
            }
        }
        self.address_reported |= other.address_reported;
    }

    /// The transport this level selects: `transport:`, else the one its
    /// platform name ends in.
    pub(crate) fn selected_transport(&self) -> Option<&At<Transport>> {
        self.transport.as_ref().or(self.platform_transport.as_ref())
    }

    /// Sets (or replaces) the timeout of `phase`.
    fn set_timeout(&mut self, phase: Phase, value: At<Duration>) {
        self.timeouts.retain(|(p, _)| *p != phase);
        self.timeouts.push((phase, value));
    }
}

/// What a key sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Name,
    Host,
    Ip,
    Hostname,
    Port,
    Username,
    Password,
    PasswordEnv,
    Secret,
    SecretEnv,
    KeyFile,
    KeyPassphrase,
    KeyPassphraseEnv,
    TokenEnv,
    Agent,
    Platform,
    Groups,
    Vars,
    Timeouts,
    Timeout(Phase),
    HostKeys,
    StrictKey,
    Transport,
    TransportOptions,
    SshConfigFile,
    Jump,
    ConnectionOptions,
    /// An Ansible variable with its own meaning.
    Ansible(AnsibleField),
}

/// Every accepted key: Nornir names first, then netmiko/scrapli spellings.
pub(crate) const KEYS: &[(&str, Field)] = &[
    ("hostname", Field::Hostname),
    ("port", Field::Port),
    ("username", Field::Username),
    ("password", Field::Password),
    ("password_env", Field::PasswordEnv),
    ("secret", Field::Secret),
    ("secret_env", Field::SecretEnv),
    ("key_file", Field::KeyFile),
    ("key_passphrase", Field::KeyPassphrase),
    ("key_passphrase_env", Field::KeyPassphraseEnv),
    ("token_env", Field::TokenEnv),
    ("agent", Field::Agent),
    ("platform", Field::Platform),
    ("groups", Field::Groups),
    ("vars", Field::Vars),
    ("connection_options", Field::ConnectionOptions),
    ("timeouts", Field::Timeouts),
    ("host_keys", Field::HostKeys),
    ("name", Field::Name),
    ("host", Field::Host),
    ("ip", Field::Ip),
    ("data", Field::Vars),
    ("auth_username", Field::Username),
    ("auth_password", Field::Password),
    ("auth_secondary", Field::Secret),
    ("auth_private_key", Field::KeyFile),
    ("auth_private_key_passphrase", Field::KeyPassphrase),
    ("auth_strict_key", Field::StrictKey),
    ("allow_agent", Field::Agent),
    ("device_type", Field::Platform),
    ("transport", Field::Transport),
    ("transport_options", Field::TransportOptions),
    ("ssh_config_file", Field::SshConfigFile),
    ("jump", Field::Jump),
    ("enable_password", Field::Secret),
    ("timeout", Field::Timeout(Phase::Connect)),
    ("conn_timeout", Field::Timeout(Phase::Connect)),
    ("timeout_socket", Field::Timeout(Phase::Connect)),
    ("timeout_transport", Field::Timeout(Phase::Auth)),
    ("timeout_ops", Field::Timeout(Phase::Command)),
];

/// What `key` sets, from [`KEYS`], by hash: every key of every host is
/// looked up.
pub(crate) fn key_field(key: &str) -> Option<Field> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<&'static str, Field>> =
        std::sync::OnceLock::new();
    INDEX.get_or_init(|| index(KEYS)).get(key).copied()
}

/// A table of keys as a map (the first entry of a key wins, as a scan
/// of the table finds it).
pub(crate) fn index(
    table: &[(&'static str, Field)],
) -> std::collections::HashMap<&'static str, Field> {
    let mut index = std::collections::HashMap::new();
    for (k, f) in table {
        index.entry(*k).or_insert(*f);
    }
    index
}

impl Field {
    /// What the field sets, to name conflicts between spellings.
    fn slot(self) -> &'static str {
        match self {
            Field::Name => "the name",
            Field::Host => "the host",
            Field::Ip | Field::Hostname => "the address",
            Field::Port => "the port",
            Field::Username => "the username",
            Field::Password | Field::PasswordEnv => "the password",
            Field::Secret | Field::SecretEnv => "the enable secret",
            Field::KeyFile => "the key file",
            Field::KeyPassphrase | Field::KeyPassphraseEnv => "the key passphrase",
            Field::TokenEnv => "the API token",
            Field::Agent => "agent use",
            Field::Platform => "the platform",
            Field::Groups => "the groups",
            Field::Vars => "the vars",
            Field::Timeouts => "the timeouts",
            Field::Timeout(Phase::Connect) => "the connect timeout",
            Field::Timeout(Phase::Auth) => "the auth timeout",
            Field::Timeout(Phase::Command) => "the command timeout",
            Field::Timeout(Phase::Host) => "the host timeout",
            Field::HostKeys | Field::StrictKey => "the host-key policy",
            Field::Transport => "the transport",
            Field::TransportOptions => "the transport options",
            Field::SshConfigFile => "the ssh_config file",
            Field::Jump => "the jump hosts",
            Field::ConnectionOptions => "the connection options",
            Field::Ansible(f) => f.slot(),
        }
    }
}

impl Scope {
    pub(crate) fn allows(self, field: Field) -> bool {
        match field {
            Field::Name | Field::Host | Field::Ip => self == Scope::Device,
            Field::Groups => self != Scope::Defaults,
            _ => true,
        }
    }

    /// A hint for a key that exists, but not here.
    fn misplaced(self, key: &str) -> Option<&'static str> {
        match (self, key) {
            (Scope::Defaults, "groups") => Some(
                "defaults cannot belong to groups; list `groups:` on each host (or a parent group)",
            ),
            (_, "host" | "ip") => Some("the address key here is `hostname:`"),
            (Scope::Host, "name") => {
                Some("the key under `hosts:` is the host's name; remove `name:`")
            }
            (_, "name") => Some("remove `name:`; only devices and hosts have names"),
            _ => None,
        }
    }
}

/// How lenient a map is read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mode {
    /// Unknown keys are warnings naming them as `{prefix}{key}` (plugin
    /// arguments fanout has no use for) instead of errors.
    pub(crate) warn_unknown: Option<String>,
    /// Lists and maps in `vars`/`data` are left out with a warning (Nornir
    /// data is free-form) instead of being errors.
    pub(crate) warn_nested_vars: bool,
    /// Ansible variables: `ansible_*` keys and `fanout_<key>` are settings,
    /// any other key is a var.
    pub(crate) ansible: bool,
}

/// Reads one settings map. `what` names it in messages ("host `r1`").
pub(crate) fn parse_level(node: &Node, scope: Scope, what: &str, p: &mut Problems) -> Level {
    parse_level_with(node, scope, what, &Mode::default(), p)
}

/// [`parse_level`], as lenient as `mode` says.
pub(crate) fn parse_level_with(
    node: &Node,
    scope: Scope,
    what: &str,
    mode: &Mode,
    p: &mut Problems,
) -> Level {
    let mut level = Level::default();
    let entries = match &node.kind {
        _ if node.is_null() => return level,
        Kind::Map(entries) => entries,
        _ => {
            level.address_reported = true;
            p.push(
                node.pos,
                format!(
                    "{what} must be a map of settings, not {}; write e.g. `{{hostname: 127.0.0.1, port: 22}}`",
                    node.describe()
                ),
            );
            return level;
        }
    };
    parse_entries(level, entries.iter(), scope, what, mode, p)
}

/// The entries of one settings map (already known to be a map) into
/// `level`.
pub(crate) fn parse_entries<'e>(
    mut level: Level,
    entries: impl Iterator<Item = &'e Entry<'e>>,
    scope: Scope,
    what: &str,
    mode: &Mode,
    p: &mut Problems,
) -> Level {
    let mut seen: Vec<(&'static str, &str, Pos)> = Vec::new();
    let mut extra = Level::default();
    for entry in entries {
        let key = &*entry.key;
        level.address_reported |= matches!(key, "hostname" | "host" | "ip");
        let found = if mode.ansible {
            match ansible::field(key, scope) {
                Some(field) => Some(field),
                None => {
                    ansible::var(&mut level, entry, p);
                    continue;
                }
            }
        } else {
            key_field(key).filter(|f| scope.allows(*f))
        };
        let Some(field) = found else {
            match &mode.warn_unknown {
                Some(prefix) => p.warn(
                    entry.key_pos,
                    format!("`{prefix}{key}` is not used by fanout and is ignored"),
                ),
                None => unknown_key(entry, scope, what, p),
            }
            continue;
        };
        if let Some((_, other, at)) = seen.iter().find(|(slot, _, _)| *slot == field.slot()) {
            let at = p.at(*at);
            p.push(
                entry.key_pos,
                format!(
                    "`{key}` and `{other}` (at {at}) both set {} of {what}; keep only one",
                    field.slot()
                ),
            );
            continue;
        }
        seen.push((field.slot(), key, entry.key_pos));
        if mode.ansible
            && !matches!(field, Field::Password | Field::Secret)
            && entry.value.text().is_some_and(|t| t.contains("{{"))
        {
            p.push(
                entry.value.pos,
                format!(
                    "`{key}` is a Jinja template, which fanout does not evaluate; write the value itself"
                ),
            );
            continue;
        }
        apply(&mut level, &mut extra, field, entry, what, mode, p);
    }
    if let (Some(t), Some(pt)) = (&level.transport, &level.platform_transport)
        && t.value != pt.value
    {
        let at = p.at(pt.pos);
        p.push(
            t.pos,
            format!(
                "{what}: the transport says {} but the platform name (at {at}) says {}; \
                 keep only one of them (e.g. drop the `_{}` from the platform)",
                t.value, pt.value, pt.value
            ),
        );
    }
    // What `transport_options` sets counts only where no key of this map does.
    level.fill_from(extra);
    level
}

fn unknown_key(entry: &Entry, scope: Scope, what: &str, p: &mut Problems) {
    let key = &entry.key;
    let hint = scope.misplaced(key).map(str::to_string).unwrap_or_else(|| {
        let allowed = KEYS.iter().filter(|(_, f)| scope.allows(*f)).map(|(k, _)| *k);
        did_you_mean(key, allowed).unwrap_or_else(|| {
            "remove it, or put free-form data under `vars:` \
             (accepted keys: hostname, port, username, password, secret, key_file, platform, groups, vars, timeouts, ...)"
                .to_string()
        })
    });
    p.push(
        entry.key_pos,
        format!("unknown key `{key}` in {what}; {hint}"),
    );
}

fn apply(
    level: &mut Level,
    extra: &mut Level,
    field: Field,
    entry: &Entry,
    what: &str,
    mode: &Mode,
    p: &mut Problems,
) {
    let key = &*entry.key;
    let v = &entry.value;
    match field {
        Field::Name => level.name = text(key, v, p).map(at(v)),
        Field::Host => level.host = text(key, v, p).map(at(v)),
        Field::Ip => level.ip = text(key, v, p).map(at(v)),
        Field::Hostname => level.hostname = text(key, v, p).map(at(v)),
        Field::Username => level.username = text(key, v, p).map(at(v)),
        Field::KeyFile => level.key_file = text(key, v, p).map(at(v)),
        Field::Port => level.port = port(v, p).map(at(v)),
        Field::Password if mode.ansible => level.password = ansible::secret(key, v, p).map(at(v)),
        Field::Secret if mode.ansible => level.secret = ansible::secret(key, v, p).map(at(v)),
        Field::Password => level.password = template(key, v, p).map(at(v)),
        Field::Secret => level.secret = template(key, v, p).map(at(v)),
        Field::KeyPassphrase => level.key_passphrase = template(key, v, p).map(at(v)),
        Field::PasswordEnv => level.password = env_name(key, v, p).map(at(v)),
        Field::SecretEnv => level.secret = env_name(key, v, p).map(at(v)),
        Field::KeyPassphraseEnv => level.key_passphrase = env_name(key, v, p).map(at(v)),
        Field::TokenEnv => level.token = env_name(key, v, p).map(at(v)),
        Field::Agent => level.agent = boolean(key, v, p).map(at(v)),
        Field::Platform => {
            if let Some((platform, transport)) = platform(key, v, p) {
                level.platform = Some(at(v)(platform));
                level.platform_transport = transport.map(at(v));
            }
        }
        Field::Groups => level.groups = groups(key, v, p),
        Field::Vars => level.vars = vars(key, v, mode.warn_nested_vars, p),
        Field::ConnectionOptions => {
            level.conn = connection_options(v, what, p).map(Box::new);
        }
        Field::Ansible(f) => ansible::apply(level, f, entry, p),
        Field::Timeouts => timeouts(level, v, what, p),
        Field::Timeout(phase) => {
            if let Some(d) = duration(key, v, p) {
                level.set_timeout(phase, at(v)(d));
            }
        }
        Field::HostKeys => level.host_keys = host_keys(key, v, p).map(at(v)),
        Field::StrictKey => {
            level.host_keys = boolean(key, v, p)
                .map(|strict| {
                    if strict {
                        HostKeyPolicy::Strict
                    } else {
                        HostKeyPolicy::Off
                    }
                })
                .map(at(v));
        }
        Field::Transport => level.transport = transport(key, v, p).map(at(v)),
        Field::TransportOptions => transport_options(extra, v, what, p),
        Field::SshConfigFile => level.ssh_config_file = ssh_config_file(key, v, p).map(at(v)),
        Field::Jump => level.jump = crate::jump::parse(v, p).map(at(v)),
    }
}

fn timeouts(level: &mut Level, v: &Node, what: &str, p: &mut Problems) {
    let entries = match &v.kind {
        _ if v.is_null() => return,
        Kind::Map(entries) => entries,
        _ => {
            p.push(
                v.pos,
                format!("`timeouts` must be a map, not {}; write e.g. `timeouts: {{connect: 5s, command: 30s}}`", v.describe()),
            );
            return;
        }
    };
    for entry in entries {
        let Ok(phase) = entry.key.parse::<Phase>() else {
            let hint = did_you_mean(&entry.key, phases().map(Phase::as_str)).unwrap_or_else(|| {
                let names: Vec<&str> = phases().map(Phase::as_str).collect();
                format!("the phases are {}", names.join(", "))
            });
            p.push(
                entry.key_pos,
                format!("unknown timeout `{}` in {what}; {hint}", entry.key),
            );
            continue;
        };
        let key = format!("timeouts.{}", entry.key);
        if let Some(d) = duration(&key, &entry.value, p) {
            level.set_timeout(
                phase,
                At {
                    value: d,
                    pos: entry.value.pos,
                },
            );
        }
    }
}
