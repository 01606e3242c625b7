//! Ansible inventories (YAML here, INI in `ansible_ini`, which builds the
//! same tree): `all` and other groups with `hosts`, `vars` and `children`.
//!
//! Variables: `ansible_host`, `ansible_port`, `ansible_user`,
//! `ansible_password`, `ansible_become_password` (the enable secret),
//! `ansible_ssh_private_key_file`, `ansible_network_os` (`ios` or a
//! collection name such as `cisco.ios.ios`), `ansible_connection`
//! (network_cli, ssh, paramiko, libssh -> ssh; telnet), host-key checking and
//! timeouts; `fanout_<key>` is any fanout per-host key (`fanout_host_keys`);
//! every other variable is a var. A host without `ansible_host` is reached
//! at its name, as Ansible does. Secrets may be `{{ lookup('env', 'VAR') }}`.
//! Group precedence is Ansible's: deeper groups win, then
//! `ansible_group_priority`, then the name that sorts last.

use std::collections::HashMap;

use fanout_core::{Phase, Transport};

use crate::error::Problems;
use crate::fields::{At, Field, Level, Mode, Scope, index, key_field, parse_entries};
use crate::model::{GroupOrder, Model, Named};
use crate::secret::{SecretSource, template};
use crate::values::{parse_platform, text};
use crate::yaml::{Entry, Kind, Node, Pos};

/// Ansible variables with a meaning of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AnsibleField {
    Connection,
    NetworkOs,
    Priority,
    /// Connection options fanout cannot honour: a warning.
    Unused,
}

impl AnsibleField {
    pub(crate) fn slot(self) -> &'static str {
        match self {
            AnsibleField::Connection => "the transport",
            AnsibleField::NetworkOs => "the platform",
            AnsibleField::Priority => "the group priority",
            AnsibleField::Unused => "an ignored option",
        }
    }
}

/// The `ansible_*` variables fanout reads.
const ANSIBLE_KEYS: &[(&str, Field)] = &[
    ("ansible_host", Field::Hostname),
    ("ansible_ssh_host", Field::Hostname),
    ("ansible_port", Field::Port),
    ("ansible_ssh_port", Field::Port),
    ("ansible_user", Field::Username),
    ("ansible_ssh_user", Field::Username),
    ("ansible_password", Field::Password),
    ("ansible_ssh_pass", Field::Password),
    ("ansible_ssh_password", Field::Password),
    ("ansible_become_password", Field::Secret),
    ("ansible_become_pass", Field::Secret),
    ("ansible_ssh_private_key_file", Field::KeyFile),
    ("ansible_private_key_file", Field::KeyFile),
    (
        "ansible_network_os",
        Field::Ansible(AnsibleField::NetworkOs),
    ),
    (
        "ansible_connection",
        Field::Ansible(AnsibleField::Connection),
    ),
    ("ansible_host_key_checking", Field::StrictKey),
    ("ansible_ssh_host_key_checking", Field::StrictKey),
    ("ansible_connect_timeout", Field::Timeout(Phase::Connect)),
    ("ansible_timeout", Field::Timeout(Phase::Connect)),
    ("ansible_ssh_timeout", Field::Timeout(Phase::Connect)),
    ("ansible_command_timeout", Field::Timeout(Phase::Command)),
    (
        "ansible_group_priority",
        Field::Ansible(AnsibleField::Priority),
    ),
    (
        "ansible_ssh_common_args",
        Field::Ansible(AnsibleField::Unused),
    ),
    (
        "ansible_ssh_extra_args",
        Field::Ansible(AnsibleField::Unused),
    ),
    ("ansible_ssh_args", Field::Ansible(AnsibleField::Unused)),
];

/// What an Ansible variable sets; `None`: it is a var.
pub(crate) fn field(key: &str, scope: Scope) -> Option<Field> {
    static INDEX: std::sync::OnceLock<HashMap<&'static str, Field>> = std::sync::OnceLock::new();
    if let Some(f) = INDEX.get_or_init(|| index(ANSIBLE_KEYS)).get(key) {
        return Some(*f);
    }
    let key = key.strip_prefix("fanout_")?;
    key_field(key).filter(|f| scope.allows(*f) && !matches!(f, Field::Groups | Field::Vars))
}

/// Any other variable: a var when it is a single value.
pub(crate) fn var(level: &mut Level, entry: &Entry, p: &mut Problems) {
    match &entry.value.kind {
        Kind::Scalar { text, .. } => {
            let value = if entry.value.is_null() {
                String::new()
            } else {
                text.to_string()
            };
            level.vars.retain(|(k, _)| *k != entry.key);
            level.vars.push((
                entry.key.to_string(),
                At {
                    value,
                    pos: entry.value.pos,
                },
            ));
        }
        _ => p.warn(
            entry.value.pos,
            format!(
                "variable `{}` is {}: fanout vars hold single values, so it is left out \
                 (filters and templates cannot use it)",
                entry.key,
                entry.value.describe()
            ),
        ),
    }
}

/// A password or become password: text, `${VAR}`, or
/// `{{ lookup('env', 'VAR') }}`; other Jinja and ansible-vault are errors.
pub(crate) fn secret(key: &str, v: &Node, p: &mut Problems) -> Option<SecretSource> {
    let raw = v.text()?;
    if raw.trim_start().starts_with("$ANSIBLE_VAULT;") {
        p.push(
            v.pos,
            format!(
                "`{key}` is encrypted with ansible-vault, which fanout cannot decrypt; \
                 write `{key}: \"{{{{ lookup('env', 'VAR') }}}}\"` and export VAR"
            ),
        );
        return None;
    }
    if !raw.contains("{{") {
        return template(key, v, p);
    }
    if let Some(var) = env_lookup(raw) {
        return Some(SecretSource::Env(var));
    }
    p.push(
        v.pos,
        format!(
            "`{key}` is a Jinja template, which fanout does not evaluate; \
             only `{{{{ lookup('env', 'VAR') }}}}` is read (the environment variable VAR)"
        ),
    );
    None
}

/// `{{ lookup('env', 'VAR') }}` (also `ansible.builtin.env`, double quotes).
fn env_lookup(raw: &str) -> Option<String> {
    let inner = raw.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let args = inner.strip_prefix("lookup(")?.strip_suffix(')')?;
    let (plugin, var) = args.split_once(',')?;
    let unquote = |s: &str| {
        let s = s.trim();
        s.strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
            .or_else(|| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
            .map(str::to_string)
    };
    let plugin = unquote(plugin)?;
    let var = unquote(var)?;
    let valid = var
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (matches!(plugin.as_str(), "env" | "ansible.builtin.env") && valid).then_some(var)
}

/// The Ansible-only fields.
pub(crate) fn apply(level: &mut Level, f: AnsibleField, entry: &Entry, p: &mut Problems) {
    let key = &*entry.key;
    let v = &entry.value;
    match f {
        AnsibleField::Connection => {
            let Some(t) = text(key, v, p) else { return };
            let transport = match t.as_str() {
                "network_cli" | "ansible.netcommon.network_cli" | "ssh" | "ansible.builtin.ssh"
                | "paramiko" | "paramiko_ssh" | "ansible.builtin.paramiko_ssh" | "libssh"
                | "ansible.netcommon.libssh" | "smart" => Transport::Ssh,
                "telnet" => Transport::Telnet,
                other => {
                    p.warn(
                        v.pos,
                        format!(
                            "`{key}: {other}` is not a CLI connection fanout has; these hosts are reached \
                             over SSH (network_cli) instead"
                        ),
                    );
                    return;
                }
            };
            level.transport = Some(At {
                value: transport,
                pos: v.pos,
            });
        }
        AnsibleField::NetworkOs => {
            let Some(t) = text(key, v, p) else { return };
            let short = t.rsplit('.').next().unwrap_or(&t);
            match parse_platform(short) {
                Ok((platform, transport)) => {
                    level.platform = Some(At {
                        value: platform,
                        pos: v.pos,
                    });
                    level.platform_transport = transport.map(|value| At { value, pos: v.pos });
                }
                Err(_) => p.warn(
                    v.pos,
                    format!(
                        "`{key}: {t}` is not a platform fanout knows (ios, iosxe, nxos, eos, junos, iosxr, linux \
                         or their collection names such as cisco.ios.ios); these hosts have no platform"
                    ),
                ),
            }
        }
        AnsibleField::Priority => match text(key, v, p).map(|t| t.parse::<i64>()) {
            Some(Ok(n)) => level.priority = Some(At { value: n, pos: v.pos }),
            Some(Err(_)) => p.push(v.pos, format!("`{key}` must be a whole number, e.g. `{key}: 10`")),
            None => {}
        },
        AnsibleField::Unused => p.warn(
            entry.key_pos,
            format!(
                "`{key}` is ignored: it holds options of the `ssh` command, and fanout runs its own SSH clients"
            ),
        ),
    }
}

/// Whether a parsed YAML document is an Ansible inventory: `all:` at the
/// top, or top-level groups holding only `hosts`, `vars` and `children`.
pub(crate) fn looks_like(root: &Node) -> bool {
    let Kind::Map(entries) = &root.kind else {
        return false;
    };
    if entries.iter().any(|e| e.key == "all") {
        return true;
    }
    !entries.is_empty()
        && entries.iter().all(|e| match &e.value.kind {
            Kind::Map(body) => {
                !body.is_empty()
                    && body
                        .iter()
                        .all(|b| matches!(&*b.key, "hosts" | "vars" | "children"))
            }
            _ => e.value.is_null(),
        })
        && !entries
            .iter()
            .any(|e| matches!(&*e.key, "hosts" | "groups" | "defaults"))
}

/// A group or host as met: name, first place, its variables wherever
/// they were written, and its groups (for a group: its parents).
type Met<'n> = (String, Pos, Vec<&'n Entry<'n>>, Vec<At<String>>);

/// Groups and hosts as they are met.
struct Walk<'n> {
    groups: Vec<Met<'n>>,
    group_index: HashMap<String, usize>,
    hosts: Vec<Met<'n>>,
    host_index: HashMap<String, usize>,
    all_vars: Vec<&'n Entry<'n>>,
}

impl<'n> Walk<'n> {
    fn group(&mut self, name: &str, pos: Pos) -> usize {
        if let Some(&i) = self.group_index.get(name) {
            return i;
        }
        self.group_index.insert(name.to_string(), self.groups.len());
        self.groups
            .push((name.to_string(), pos, Vec::new(), Vec::new()));
        self.groups.len() - 1
    }

    /// One group's body; `group` is `None` for `all`.
    fn body(&mut self, group: Option<usize>, name: &str, body: &'n Node, p: &mut Problems) {
        let entries = match &body.kind {
            _ if body.is_null() => return,
            Kind::Map(entries) => entries,
            _ => {
                p.push(
                    body.pos,
                    format!(
                        "group `{name}` must be a map of hosts, vars and children, not {}",
                        body.describe()
                    ),
                );
                return;
            }
        };
        for entry in entries {
            let v = &entry.value;
            match &*entry.key {
                "vars" => match &v.kind {
                    Kind::Map(vars) => {
                        let list = match group {
                            Some(g) => &mut self.groups[g].2,
                            None => &mut self.all_vars,
                        };
                        list.extend(vars.iter());
                    }
                    _ if v.is_null() => {}
                    _ => p.push(v.pos, format!("`vars` of group `{name}` must be a map of variables")),
                },
                "hosts" => match &v.kind {
                    Kind::Map(hosts) => {
                        for h in hosts {
                            self.host(group, name, h, p);
                        }
                    }
                    _ if v.is_null() => {}
                    _ => p.push(
                        v.pos,
                        format!("`hosts` of group `{name}` must be a map of host names to their variables"),
                    ),
                },
                "children" => match &v.kind {
                    Kind::Map(children) => {
                        for child in children {
                            if child.key == "all" {
                                p.push(child.key_pos, "`all` cannot be a child group; remove it here");
                                continue;
                            }
                            let c = self.group(&child.key, child.key_pos);
                            if let Some(g) = group {
                                let parent = self.groups[g].0.clone();
                                if !self.groups[c].3.iter().any(|p| p.value == parent) {
                                    self.groups[c].3.push(At {
                                        value: parent,
                                        pos: child.key_pos,
                                    });
                                }
                            }
                            let child_name = child.key.clone();
                            self.body(Some(c), &child_name, &child.value, p);
                        }
                    }
                    _ if v.is_null() => {}
                    _ => p.push(v.pos, format!("`children` of group `{name}` must be a map of groups")),
                },
                other => p.warn(
                    entry.key_pos,
                    format!("`{other}` in a group is ignored; a group holds only hosts, vars and children"),
                ),
            }
        }
    }

    fn host(&mut self, group: Option<usize>, group_name: &str, h: &'n Entry, p: &mut Problems) {
        let names = match expand_range(&h.key) {
            Ok(names) => names,
            Err(message) => {
                p.push(
                    h.key_pos,
                    format!(
                        "host pattern `{}` in group `{group_name}`: {message}",
                        h.key
                    ),
                );
                return;
            }
        };
        let vars: Vec<&'n Entry<'n>> = match &h.value.kind {
            Kind::Map(vars) => vars.iter().collect(),
            _ if h.value.is_null() => Vec::new(),
            _ => {
                p.push(
                    h.value.pos,
                    format!(
                        "host `{}` must map to its variables (or nothing), not {}",
                        h.key,
                        h.value.describe()
                    ),
                );
                return;
            }
        };
        for name in names {
            let i = match self.host_index.get(&name) {
                Some(&i) => i,
                None => {
                    self.host_index.insert(name.clone(), self.hosts.len());
                    self.hosts.push((name, h.key_pos, Vec::new(), Vec::new()));
                    self.hosts.len() - 1
                }
            };
            self.hosts[i].2.extend(vars.iter().copied());
            if let Some(g) = group {
                let gname = self.groups[g].0.clone();
                if !self.hosts[i].3.iter().any(|x| x.value == gname) {
                    self.hosts[i].3.push(At {
                        value: gname,
                        pos: h.key_pos,
                    });
                }
            }
        }
    }
}

/// Variables met in several places: the last one wins, as in Ansible
/// (in the order of their last place).
fn last_wins<'n>(vars: &[&'n Entry<'n>]) -> Vec<&'n Entry<'n>> {
    let mut out: Vec<&'n Entry<'n>> = Vec::with_capacity(vars.len());
    for e in vars {
        if let Some(i) = out.iter().position(|o| o.key == e.key) {
            out.remove(i);
        }
        out.push(e);
    }
    out
}

/// One group's or host's variables as a level.
fn vars_level(vars: &[&Entry], scope: Scope, what: &str, mode: &Mode, p: &mut Problems) -> Level {
    let vars = last_wins(vars);
    parse_entries(Level::default(), vars.into_iter(), scope, what, mode, p)
}

/// The model of an Ansible inventory tree.
pub(crate) fn model(root: &Node, p: &mut Problems) -> Model {
    let mut model = Model::new(GroupOrder::Ansible);
    model.name_is_address = true;
    model.groups_home = "as a group";
    let mut walk = Walk {
        groups: Vec::new(),
        group_index: HashMap::new(),
        hosts: Vec::new(),
        host_index: HashMap::new(),
        all_vars: Vec::new(),
    };
    let Kind::Map(entries) = &root.kind else {
        p.push(root.pos, "an Ansible inventory is a map of groups, e.g. `all: {hosts: {r1: {ansible_host: 127.0.0.1}}}`");
        return model;
    };
    for entry in entries {
        if entry.key == "all" {
            walk.body(None, "all", &entry.value, p);
        } else {
            let g = walk.group(&entry.key, entry.key_pos);
            walk.body(Some(g), &entry.key, &entry.value, p);
        }
    }
    let mode = Mode {
        ansible: true,
        ..Mode::default()
    };
    model.defaults = vars_level(&walk.all_vars, Scope::Defaults, "group `all`", &mode, p);
    for (name, pos, vars, parents) in walk.groups {
        let what = format!("group `{name}`");
        let mut level = vars_level(&vars, Scope::Group, &what, &mode, p);
        level.groups = parents;
        model.groups.push(Named { name, pos, level });
    }
    for (name, pos, vars, groups) in walk.hosts {
        let what = format!("host `{name}`");
        let mut level = vars_level(&vars, Scope::Host, &what, &mode, p);
        level.groups = groups;
        model.hosts.push(Named { name, pos, level });
    }
    if model.hosts.is_empty() && p.is_empty() {
        p.push(root.pos, "this Ansible inventory has no hosts; add some under `all: {hosts: ...}` or a group's `hosts:`");
    }
    model
}

/// At most this many hosts from one `name[1:N]` pattern.
const MAX_RANGE: usize = 1_000_000;

/// Ansible host ranges: `r[01:10]`, `r[1:9:2]`, `[a:f]x`, several per name.
pub(crate) fn expand_range(name: &str) -> Result<Vec<String>, String> {
    let Some(open) = name.find('[') else {
        return Ok(vec![name.to_string()]);
    };
    let Some(close) = name[open..].find(']').map(|i| open + i) else {
        return Err("`[` without `]`; write a range as `[01:10]`".into());
    };
    let (head, spec, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let parts: Vec<&str> = spec.split(':').collect();
    let (start, end, step) = match parts.as_slice() {
        [a, b] => (*a, *b, 1usize),
        [a, b, s] => (
            *a,
            *b,
            s.parse::<usize>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or("the step must be a number above 0")?,
        ),
        _ => return Err("a range is `[START:END]` or `[START:END:STEP]`".into()),
    };
    let items: Vec<String> = if let (Ok(a), Ok(b)) = (start.parse::<u64>(), end.parse::<u64>()) {
        if a > b {
            return Err("the range ends before it starts".into());
        }
        let width = if start.len() > 1 && start.starts_with('0') {
            start.len()
        } else {
            0
        };
        if (b - a) / step as u64 >= MAX_RANGE as u64 {
            return Err(format!("the range has more than {MAX_RANGE} hosts"));
        }
        (a..=b)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    } else {
        let (mut sa, mut sb) = (start.chars(), end.chars());
        match (sa.next(), sa.next(), sb.next(), sb.next()) {
            (Some(a), None, Some(b), None)
                if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && a <= b =>
            {
                (a..=b).step_by(step).map(String::from).collect()
            }
            _ => return Err("a range is numbers (`[01:10]`) or single letters (`[a:f]`)".into()),
        }
    };
    let rest = expand_range(tail)?;
    if items.len().saturating_mul(rest.len()) > MAX_RANGE {
        return Err(format!("the pattern has more than {MAX_RANGE} hosts"));
    }
    let mut out = Vec::with_capacity(items.len() * rest.len());
    for item in &items {
        for r in &rest {
            out.push(format!("{head}{item}{r}"));
        }
    }
    Ok(out)
}
