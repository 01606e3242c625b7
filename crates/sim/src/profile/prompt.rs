//! Prompts and configuration sub-mode labels, and the hostname rule that
//! keeps prompts matchable by client regexes.

use fanout_core::Platform;

use super::interfaces::short_iface;

/// Where a session is, for prompt purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level<'a> {
    User,
    Privileged,
    Config(&'a str),
}

/// The prompt for `level` (no trailing space except Linux's `$ `).
pub(crate) fn prompt(p: Platform, host: &str, user: &str, level: Level<'_>) -> String {
    match (p, level) {
        (Platform::Linux, _) if user == "root" => format!("root@{host}:~# "),
        (Platform::Linux, _) => format!("{user}@{host}:~$ "),
        (Platform::Junos, Level::Config(_)) => format!("{user}@{host}#"),
        (Platform::Junos, _) => format!("{user}@{host}>"),
        (Platform::Iosxr, Level::Config(l)) => format!("RP/0/RP0/CPU0:{host}({l})#"),
        (Platform::Iosxr, _) => format!("RP/0/RP0/CPU0:{host}#"),
        (_, Level::User) => format!("{host}>"),
        (_, Level::Privileged) => format!("{host}#"),
        (_, Level::Config(l)) => format!("{host}({l})#"),
    }
}

/// The config sub-mode label for interface `name` (`config-if`, EOS
/// `config-if-Et1`).
pub(crate) fn if_label(p: Platform, name: &str) -> String {
    match p {
        Platform::Eos => format!("config-if-{}", short_iface(p, name)),
        _ => "config-if".to_string(),
    }
}

/// The config sub-mode label for a block such as `line vty 0 4` or
/// `router ospf 1`.
pub(crate) fn block_label(p: Platform, header: &str) -> String {
    let mut w = header.split(' ');
    let first = w.next().unwrap_or("");
    let second = w.next().unwrap_or("");
    match (p, first) {
        (_, "line") => "config-line".to_string(),
        (Platform::Iosxr, _) => format!("config-{second}"),
        (Platform::Eos, _) => format!("config-router-{second}"),
        _ => "config-router".to_string(),
    }
}

/// The platform's hostname rule (keeps prompts matchable by client regexes).
pub(crate) fn valid_hostname(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
