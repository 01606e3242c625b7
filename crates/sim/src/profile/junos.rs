//! JunOS configuration: set-paths, quoting, and `show configuration` in the
//! curly-brace and `| display set` forms.

use fanout_core::Platform;

use super::RenderCtx;
use super::clock::utc;
use super::interfaces::all_ifaces;
use crate::console::DeviceConfig;

/// Splits a JunOS/shell line into words, honouring double and single quotes
/// (the quotes are removed).
pub(crate) fn shell_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Quotes a JunOS value when it holds spaces.
pub(crate) fn jquote(s: &str) -> String {
    if s.is_empty() || s.contains(char::is_whitespace) {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// JunOS top-level configuration statements (for `set`/`delete`/`edit`).
pub(crate) const JUNOS_TOP: &[&str] = &[
    "access",
    "applications",
    "chassis",
    "class-of-service",
    "event-options",
    "firewall",
    "forwarding-options",
    "groups",
    "interfaces",
    "policy-options",
    "protocols",
    "routing-instances",
    "routing-options",
    "security",
    "services",
    "snmp",
    "system",
    "vlans",
];

enum Item {
    Leaf(String),
    Node(String, Vec<Item>),
}

fn insert(items: &mut Vec<Item>, path: &[String], leaf: &str) {
    let Some((head, rest)) = path.split_first() else {
        if !items
            .iter()
            .any(|i| matches!(i, Item::Leaf(l) if l == leaf))
        {
            items.push(Item::Leaf(leaf.to_string()));
        }
        return;
    };
    let pos = items
        .iter()
        .position(|i| matches!(i, Item::Node(n, _) if n == head));
    let at = pos.unwrap_or_else(|| {
        items.push(Item::Node(head.clone(), Vec::new()));
        items.len() - 1
    });
    if let Item::Node(_, children) = &mut items[at] {
        insert(children, rest, leaf);
    }
}

fn render(items: &[Item], depth: usize, out: &mut Vec<String>) {
    let pad = "    ".repeat(depth);
    for i in items {
        match i {
            Item::Leaf(l) => out.push(format!("{pad}{l};")),
            Item::Node(n, c) => {
                out.push(format!("{pad}{n} {{"));
                render(c, depth + 1, out);
                out.push(format!("{pad}}}"));
            }
        }
    }
}

/// Splits a stored generic set-path into `(containers, leaf statement)`.
fn split_generic(line: &str) -> (Vec<String>, String) {
    let w: Vec<String> = shell_words(line).iter().map(|s| jquote(s)).collect();
    let cut = w.len().saturating_sub(if w.len() >= 3 { 2 } else { 1 });
    (w[..cut].to_vec(), w[cut..].join(" "))
}

fn junos_entries(cfg: &DeviceConfig, r: &RenderCtx<'_>) -> Vec<(Vec<String>, String)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut e: Vec<(Vec<String>, String)> = vec![
        (vec![], "version 21.4R1.12".into()),
        (s(&["system"]), format!("host-name {}", cfg.hostname)),
        (
            s(&["system", "root-authentication"]),
            "encrypted-password \"$6$sim$Tq2cW8mE0rLz5\"".into(),
        ),
        (
            vec!["system".into(), "login".into(), format!("user {}", r.user)],
            "uid 2000".into(),
        ),
        (
            vec!["system".into(), "login".into(), format!("user {}", r.user)],
            "class super-user".into(),
        ),
        (
            vec![
                "system".into(),
                "login".into(),
                format!("user {}", r.user),
                "authentication".into(),
            ],
            "encrypted-password \"$6$sim$Hh3pD9sV1kQ7\"".into(),
        ),
        (s(&["system", "services"]), "ssh".into()),
        (s(&["system", "services", "netconf"]), "ssh".into()),
        (s(&["system", "syslog", "user *"]), "any emergency".into()),
        (
            s(&["system", "syslog", "file messages"]),
            "any notice".into(),
        ),
        (
            s(&["system", "syslog", "file messages"]),
            "authorization info".into(),
        ),
        (
            s(&["system", "syslog", "file interactive-commands"]),
            "interactive-commands any".into(),
        ),
    ];
    for i in all_ifaces(Platform::Junos, cfg, r.extra) {
        let base = vec!["interfaces".to_string(), i.name.clone()];
        if let Some(d) = &i.description {
            e.push((base.clone(), format!("description {}", jquote(d))));
        }
        if i.shutdown {
            e.push((base.clone(), "disable".into()));
        }
        for l in &i.lines {
            let (p, leaf) = split_generic(l);
            e.push(([base.clone(), p].concat(), leaf));
        }
        if let Some((a, l)) = i.address {
            e.push((
                [base, s(&["unit 0", "family inet"])].concat(),
                format!("address {a}/{l}"),
            ));
        }
    }
    e.push((
        s(&["routing-options", "static"]),
        "route 0.0.0.0/0 next-hop 192.0.2.129".into(),
    ));
    e.push((s(&["protocols", "lldp"]), "interface all".into()));
    e.extend(cfg.lines.iter().map(|l| split_generic(l)));
    e
}

/// JunOS `show configuration [path]` (`set_form`: `| display set`).
pub(crate) fn junos_config(
    cfg: &DeviceConfig,
    r: &RenderCtx<'_>,
    path: &str,
    set_form: bool,
    header: &str,
) -> Vec<String> {
    let want = shell_words(path);
    let mut out = Vec::new();
    let mut items = Vec::new();
    for (p, leaf) in junos_entries(cfg, r) {
        let flat: Vec<String> = p
            .iter()
            .flat_map(|x| x.split(' '))
            .chain(leaf.split(' '))
            .map(str::to_string)
            .collect();
        if !flat.starts_with(&want) {
            continue;
        }
        if set_form {
            out.push(format!("set {}", flat.join(" ")));
            continue;
        }
        let mut left = want.len();
        let mut k = 0;
        while k < p.len() && p[k].split(' ').count() <= left {
            left -= p[k].split(' ').count();
            k += 1;
        }
        insert(&mut items, &p[k..], &leaf);
    }
    if !set_form {
        if want.is_empty() {
            let when = utc(cfg.last_change.unwrap_or(cfg.booted)).iso();
            out.push(format!("## {header}: {when} by {}", r.user));
        }
        render(&items, 0, &mut out);
    }
    out
}
