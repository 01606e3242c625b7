//! `fanout inventory convert`: an inventory of any format written as
//! fanout's YAML, a Nornir directory or an Ansible YAML inventory.
//!
//! The model is written, not the resolved hosts, so secrets stay as they
//! were written: `${VAR}` and `*_env: VAR` remain references (Ansible gets
//! `{{ lookup('env', 'VAR') }}`), and only secrets that were plain text in
//! the source are written as text. Relative paths (key files, ssh_config
//! files, known_hosts) are written absolute, since the output may be
//! elsewhere. What the target format has no field for is written with
//! fanout's key names (Nornir ignores unknown keys; Ansible gets
//! `fanout_<key>` variables), so that fanout reads the output back to the
//! same hosts.

use std::path::{Path, PathBuf};

use fanout_core::{HostKeyPolicy, Phase, Platform, Transport};

use crate::emit::{Y, compact, document};
use crate::error::{ConvertError, InventoryError, Problems};
use crate::fields::{At, Level};
use crate::format::{self, Format, LoadOptions};
use crate::model::{self, GroupOrder, Model};
use crate::resolve::Context;
use crate::secret::{SecretSource, Written};

/// What `convert` wrote.
#[derive(Clone, Debug)]
pub struct Converted {
    /// The source's format.
    pub from: Format,
    /// Hosts written.
    pub hosts: usize,
    /// Groups written.
    pub groups: usize,
    /// Files written.
    pub written: Vec<PathBuf>,
    /// What the output cannot say, and how the secrets were written.
    pub notes: Vec<String>,
}

/// Converts the inventory at `src` to `to`, written at `out` (a file, or a
/// directory for Nornir). The source must be valid; secrets need not be set.
pub fn convert(
    src: &Path,
    opts: &LoadOptions,
    to: Format,
    out: &Path,
) -> Result<Converted, ConvertError> {
    let mut p = Problems::new(src);
    let read = format::read(src, None, opts, &mut p)?;
    // Validate everything but the secrets' values, which are not needed.
    let any = |_: &str| Some(String::new());
    let cx = Context {
        dir: &read.dir,
        env: &any,
        extra: &read.extra,
        ssh: None,
    };
    if let Some(model) = &read.model {
        model::resolve(model, &cx, &mut p);
    }
    if !p.is_empty() {
        return Err(InventoryError::Invalid {
            path: src.to_path_buf(),
            problems: p.into_sorted(),
        }
        .into());
    }
    let Some(mut model) = read.model else {
        return Err(InventoryError::Format {
            path: src.to_path_buf(),
            message: "nothing to convert".into(),
        }
        .into());
    };
    model.defaults.fill_from(read.extra.clone());
    prepare(&mut model, to);
    let w = Writer { dir: &read.dir };
    let mut notes = vec![secrets_note(to)];
    let written = match to {
        Format::Fanout => vec![write(out, &w.fanout(&model))?],
        Format::Nornir => w.nornir(&model, out, &mut notes)?,
        Format::Ansible => vec![write(out, &w.ansible(&model, &mut notes))?],
        Format::Netbox => {
            return Err(ConvertError::Unsupported(
                "NetBox is read only: fanout does not write NetBox exports; use --to fanout, nornir or ansible".into(),
            ));
        }
    };
    if model.ca_file.is_some() && to != Format::Fanout {
        notes.push(format!(
            "{to} has no place for the inventory's ca_file: the converted hosts do not name it"
        ));
    }
    if model.known_hosts.is_some() && to != Format::Fanout {
        notes.push(format!(
            "{to} has no place for the inventory's known_hosts file: pass it with `fanout run --known-hosts FILE`"
        ));
    }
    Ok(Converted {
        from: read.format,
        hosts: model.hosts.len(),
        groups: model.groups.len(),
        written,
        notes,
    })
}

fn secrets_note(to: Format) -> String {
    match to {
        Format::Ansible => "secrets: `${VAR}` and `*_env` references are written as `{{ lookup('env', 'VAR') }}` \
                            (or kept as `${VAR}` inside text); only secrets written as plain text in the source are plain text here"
            .into(),
        _ => "secrets: `${VAR}` and `*_env` references are kept as references (Nornir itself does not expand \
              `${VAR}`; fanout does); only secrets written as plain text in the source are plain text here"
            .into(),
    }
}

/// Makes the model expressible in `to`: a host without an address gets its
/// name (Ansible's rule), and a group order `to` cannot express is written
/// as each host listing all its groups in order, without parent links.
fn prepare(model: &mut Model, to: Format) {
    if model.name_is_address {
        for host in &mut model.hosts {
            let has = host.level.hostname.is_some()
                || host
                    .level
                    .conn
                    .as_ref()
                    .is_some_and(|c| c.hostname.is_some());
            if !has {
                host.level.hostname = Some(At {
                    value: host.name.clone(),
                    pos: host.pos,
                });
            }
        }
    }
    let flatten = match (model.order, to) {
        (GroupOrder::Ansible, Format::Fanout | Format::Nornir) => true,
        (GroupOrder::Nornir, Format::Ansible) => false,
        _ => false,
    };
    if flatten {
        let orders = model::host_orders(model);
        for (host, order) in model.hosts.iter_mut().zip(orders) {
            host.level.groups = order
                .iter()
                .map(|&i| At {
                    value: model.groups[i].name.clone(),
                    pos: host.pos,
                })
                .collect();
        }
        for g in &mut model.groups {
            g.level.groups.clear();
        }
    }
    // Tags (a device list, NetBox) become defined, empty groups.
    if model.order == GroupOrder::Tags {
        let mut seen = std::collections::HashSet::new();
        for host in &model.hosts {
            for g in &host.level.groups {
                if seen.insert(g.value.clone()) {
                    model.groups.push(model::Named {
                        name: g.value.clone(),
                        pos: g.pos,
                        level: Level::default(),
                    });
                }
            }
        }
    }
}

fn write(path: &Path, text: &str) -> Result<PathBuf, ConvertError> {
    std::fs::write(path, text).map_err(|source| ConvertError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(path.to_path_buf())
}

const HEADER: &str = "Written by `fanout inventory convert`.";

struct Writer<'a> {
    dir: &'a Path,
}

impl Writer<'_> {
    /// A path as written in the source, absolute unless it is `~/...`.
    fn path(&self, raw: &str) -> String {
        if raw.starts_with("~/") || Path::new(raw).is_absolute() {
            return raw.to_string();
        }
        let joined = self.dir.join(raw);
        std::path::absolute(&joined)
            .unwrap_or(joined)
            .display()
            .to_string()
    }

    /// fanout's keys for one level (`vars_key`: `vars`, or Nornir's `data`).
    fn keys(&self, l: &Level, vars_key: &str, with_groups: bool) -> Vec<(String, Y)> {
        let mut out: Vec<(String, Y)> = Vec::new();
        let mut put = |k: &str, v: Y| out.push((k.to_string(), v));
        if let Some(h) = &l.hostname {
            put("hostname", Y::str(&h.value));
        }
        if let Some(port) = &l.port {
            put("port", Y::Raw(port.value.to_string()));
        }
        if let Some(u) = &l.username {
            put("username", Y::str(&u.value));
        }
        for (key, src) in [
            ("password", &l.password),
            ("secret", &l.secret),
            ("key_passphrase", &l.key_passphrase),
        ] {
            match src.as_ref().map(|s| s.value.written()) {
                Some(Written::Env(var)) => put(&format!("{key}_env"), Y::Str(var)),
                Some(Written::Text(text)) => put(key, Y::Str(text)),
                None => {}
            }
        }
        // Only ever an environment variable's name (`token_env:`).
        if let Some(Written::Env(var)) = l.token.as_ref().map(|t| t.value.written()) {
            put("token_env", Y::Str(var));
        }
        if let Some(k) = &l.key_file {
            put("key_file", Y::Str(self.path(&k.value)));
        }
        if let Some(a) = &l.agent {
            put("agent", Y::Raw(a.value.to_string()));
        }
        if let Some(pl) = &l.platform {
            put("platform", Y::str(pl.value.as_str()));
        }
        if let Some(t) = l.selected_transport() {
            put("transport", Y::str(t.value.as_str()));
        }
        if let Some(h) = &l.host_keys {
            put("host_keys", Y::str(policy(h.value)));
        }
        if let Some(c) = &l.ssh_config_file {
            put(
                "ssh_config_file",
                c.value
                    .as_ref()
                    .map_or(Y::Raw("false".into()), |raw| Y::Str(self.path(raw))),
            );
        }
        if !l.timeouts.is_empty() {
            put("timeouts", timeouts(&l.timeouts));
        }
        if with_groups && !l.groups.is_empty() {
            put(
                "groups",
                Y::List(l.groups.iter().map(|g| Y::str(&g.value)).collect()),
            );
        }
        if !l.vars.is_empty() {
            put(vars_key, vars(&l.vars));
        }
        if let Some(conn) = &l.conn {
            let mut base = Vec::new();
            let mut extras = Vec::new();
            for (k, v) in self.keys(conn, "vars", false) {
                if matches!(
                    k.as_str(),
                    "hostname" | "port" | "username" | "password" | "platform"
                ) {
                    base.push((k, v));
                } else {
                    extras.push((k, v));
                }
            }
            if !extras.is_empty() {
                base.push(("extras".into(), Y::Map(extras)));
            }
            put(
                "connection_options",
                Y::Map(vec![("netmiko".into(), Y::Map(base))]),
            );
        }
        out
    }

    fn fanout(&self, m: &Model) -> String {
        let mut root = Vec::new();
        if let Some(k) = &m.known_hosts {
            root.push(("known_hosts".to_string(), Y::Str(self.path(&k.value))));
        }
        if let Some(k) = &m.ca_file {
            root.push(("ca_file".to_string(), Y::Str(self.path(&k.value))));
        }
        root.push((
            "defaults".into(),
            Y::Map(self.keys(&m.defaults, "vars", false)),
        ));
        let groups = m
            .groups
            .iter()
            .map(|g| (g.name.clone(), Y::Map(self.keys(&g.level, "vars", true))));
        root.push(("groups".into(), Y::Map(groups.collect())));
        let hosts = m
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Y::Map(self.keys(&h.level, "vars", true))));
        root.push(("hosts".into(), Y::Map(hosts.collect())));
        document(HEADER, &compact(root))
    }

    fn nornir(
        &self,
        m: &Model,
        out: &Path,
        notes: &mut Vec<String>,
    ) -> Result<Vec<PathBuf>, ConvertError> {
        std::fs::create_dir_all(out).map_err(|source| ConvertError::Write {
            path: out.to_path_buf(),
            source,
        })?;
        notes.push(
            "Nornir: secret, key_file, timeouts, transport, host_keys and ssh_config_file are written with fanout's \
             key names, which Nornir ignores and fanout reads"
                .into(),
        );
        let hosts: Vec<(String, Y)> = m
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Y::Map(self.keys(&h.level, "data", true))))
            .collect();
        let groups: Vec<(String, Y)> = m
            .groups
            .iter()
            .map(|g| (g.name.clone(), Y::Map(self.keys(&g.level, "data", true))))
            .collect();
        let mut written = vec![write(&out.join("hosts.yaml"), &document(HEADER, &hosts))?];
        if !groups.is_empty() {
            written.push(write(&out.join("groups.yaml"), &document(HEADER, &groups))?);
        }
        let defaults = self.keys(&m.defaults, "data", false);
        if !defaults.is_empty() {
            written.push(write(
                &out.join("defaults.yaml"),
                &document(HEADER, &defaults),
            )?);
        }
        Ok(written)
    }

    /// Ansible variables for one level (its connection options merged in:
    /// Ansible has no such tier).
    fn ansible_vars(&self, level: &Level) -> Vec<(String, Y)> {
        let merged;
        let l = match &level.conn {
            Some(conn) => {
                let mut c = (**conn).clone();
                let mut base = level.clone();
                base.conn = None;
                c.fill_from(base);
                merged = c;
                &merged
            }
            None => level,
        };
        let mut out: Vec<(String, Y)> = Vec::new();
        let mut put = |k: &str, v: Y| out.push((k.to_string(), v));
        if let Some(h) = &l.hostname {
            put("ansible_host", Y::str(&h.value));
        }
        if let Some(port) = &l.port {
            put("ansible_port", Y::Raw(port.value.to_string()));
        }
        if let Some(u) = &l.username {
            put("ansible_user", Y::str(&u.value));
        }
        for (key, src) in [
            ("ansible_password", &l.password),
            ("ansible_become_password", &l.secret),
        ] {
            if let Some(src) = src {
                put(key, Y::Str(ansible_secret(&src.value)));
            }
        }
        match l.key_passphrase.as_ref().map(|s| s.value.written()) {
            Some(Written::Env(var)) => put("fanout_key_passphrase_env", Y::Str(var)),
            Some(Written::Text(text)) => put("fanout_key_passphrase", Y::Str(text)),
            None => {}
        }
        if let Some(Written::Env(var)) = l.token.as_ref().map(|t| t.value.written()) {
            put("fanout_token_env", Y::Str(var));
        }
        if let Some(k) = &l.key_file {
            put("ansible_ssh_private_key_file", Y::Str(self.path(&k.value)));
        }
        if let Some(a) = &l.agent {
            put("fanout_agent", Y::Raw(a.value.to_string()));
        }
        if let Some(pl) = &l.platform {
            match network_os(pl.value) {
                Some(os) => put("ansible_network_os", Y::str(os)),
                None => put("fanout_platform", Y::str(pl.value.as_str())),
            }
        }
        match l.selected_transport().map(|t| t.value) {
            Some(Transport::Ssh) => put(
                "ansible_connection",
                Y::str("ansible.netcommon.network_cli"),
            ),
            Some(Transport::Telnet) => put("fanout_transport", Y::str("telnet")),
            None => {}
        }
        match l.host_keys.as_ref().map(|h| h.value) {
            Some(HostKeyPolicy::Strict) => put("ansible_host_key_checking", Y::Raw("true".into())),
            Some(HostKeyPolicy::Off) => put("ansible_host_key_checking", Y::Raw("false".into())),
            Some(HostKeyPolicy::AcceptNew) => put("fanout_host_keys", Y::str("accept-new")),
            None => {}
        }
        if let Some(c) = &l.ssh_config_file {
            put(
                "fanout_ssh_config_file",
                c.value
                    .as_ref()
                    .map_or(Y::Raw("false".into()), |raw| Y::Str(self.path(raw))),
            );
        }
        if !l.timeouts.is_empty() {
            put("fanout_timeouts", timeouts(&l.timeouts));
        }
        if let Some(pr) = &l.priority {
            put("ansible_group_priority", Y::Raw(pr.value.to_string()));
        }
        for (k, v) in &l.vars {
            put(k, Y::str(&v.value));
        }
        out
    }

    fn ansible(&self, m: &Model, notes: &mut Vec<String>) -> String {
        if m.order != GroupOrder::Ansible && m.groups.iter().any(|g| !g.level.groups.is_empty()) {
            notes.push(
                "Ansible: where a host's groups set the same variable, Ansible's precedence applies \
                 (deeper groups first, then ansible_group_priority, then the name that sorts last), \
                 which may differ from Nornir's order"
                    .into(),
            );
        }
        // Every host with its variables under `all` (in the source's
        // order); the groups list their members by name.
        let mut children: Vec<(String, Y)> = Vec::new();
        for g in &m.groups {
            let hosts: Vec<(String, Y)> = m
                .hosts
                .iter()
                .filter(|h| h.level.groups.iter().any(|x| x.value == g.name))
                .map(|h| (h.name.clone(), Y::Null))
                .collect();
            let kids: Vec<(String, Y)> = m
                .groups
                .iter()
                .filter(|c| c.level.groups.iter().any(|x| x.value == g.name))
                .map(|c| (c.name.clone(), Y::Map(Vec::new())))
                .collect();
            let body = compact(vec![
                ("vars".into(), Y::Map(self.ansible_vars(&g.level))),
                ("hosts".into(), Y::Map(hosts)),
                ("children".into(), Y::Map(kids)),
            ]);
            children.push((
                g.name.clone(),
                if body.is_empty() {
                    Y::Null
                } else {
                    Y::Map(body)
                },
            ));
        }
        let hosts: Vec<(String, Y)> = m
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Y::Map(self.ansible_vars(&h.level))))
            .collect();
        let all = compact(vec![
            ("vars".into(), Y::Map(self.ansible_vars(&m.defaults))),
            ("hosts".into(), Y::Map(hosts)),
            ("children".into(), Y::Map(children)),
        ]);
        document(HEADER, &[("all".into(), Y::Map(all))])
    }
}

fn policy(h: HostKeyPolicy) -> &'static str {
    match h {
        HostKeyPolicy::Strict => "strict",
        HostKeyPolicy::AcceptNew => "accept-new",
        HostKeyPolicy::Off => "off",
    }
}

fn timeouts(list: &[(Phase, At<std::time::Duration>)]) -> Y {
    Y::Map(
        list.iter()
            .map(|(phase, d)| {
                (
                    phase.as_str().to_string(),
                    Y::Str(fanout_core::format_duration(d.value)),
                )
            })
            .collect(),
    )
}

fn vars(list: &[(String, At<String>)]) -> Y {
    Y::Map(
        list.iter()
            .map(|(k, v)| (k.clone(), Y::str(&v.value)))
            .collect(),
    )
}

/// Ansible's network OS names; IOS-XE and Linux have none of their own.
fn network_os(p: Platform) -> Option<&'static str> {
    match p {
        Platform::Ios => Some("cisco.ios.ios"),
        Platform::Nxos => Some("cisco.nxos.nxos"),
        Platform::Eos => Some("arista.eos.eos"),
        Platform::Junos => Some("junipernetworks.junos.junos"),
        Platform::Iosxr => Some("cisco.iosxr.iosxr"),
        Platform::Iosxe | Platform::Linux => None,
    }
}

fn ansible_secret(src: &SecretSource) -> String {
    if let Some(var) = src.single_var() {
        return format!("{{{{ lookup('env', '{var}') }}}}");
    }
    match src.written() {
        Written::Env(var) => format!("{{{{ lookup('env', '{var}') }}}}"),
        Written::Text(text) => text,
    }
}
