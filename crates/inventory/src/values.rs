//! Single YAML values -> typed settings, reporting what is wrong with them.

use std::str::FromStr;
use std::time::Duration;

use fanout_core::{HostKeyPolicy, MAX_DURATION, Platform, Transport};

use crate::error::Problems;
use crate::fields::At;
use crate::suggest::did_you_mean;
use crate::yaml::{Kind, Node};

/// Wraps a value with the position of `v`.
pub(crate) fn at<T>(v: &Node) -> impl FnOnce(T) -> At<T> {
    let pos = v.pos;
    move |value| At { value, pos }
}

/// A single value as text; empty values count as unset.
pub(crate) fn text(key: &str, v: &Node, p: &mut Problems) -> Option<String> {
    match &v.kind {
        _ if v.is_null() => None,
        Kind::Scalar { text, .. } => Some(text.to_string()),
        _ => {
            p.push(
                v.pos,
                format!(
                    "`{key}` must be a single value, not {}; write `{key}: VALUE`",
                    v.describe()
                ),
            );
            None
        }
    }
}

/// A port, 1..=65535 (quoted digits accepted).
pub(crate) fn port(v: &Node, p: &mut Problems) -> Option<u16> {
    let t = text("port", v, p)?;
    let digits = t.strip_prefix(['-', '+']).unwrap_or(&t);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        p.push(
            v.pos,
            format!("port must be a number from 1 to 65535, not `{t}`; e.g. `port: 22`"),
        );
        return None;
    }
    match t.parse::<u16>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            p.push(
                v.pos,
                format!(
                    "port {t} is out of range; use a number from 1 to 65535 (SSH is usually 22)"
                ),
            );
            None
        }
    }
}

/// true/false (also yes/no, on/off).
pub(crate) fn boolean(key: &str, v: &Node, p: &mut Problems) -> Option<bool> {
    let t = text(key, v, p)?;
    match t.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" => Some(false),
        _ => {
            p.push(v.pos, format!("`{key}` must be true or false, not `{t}`"));
            None
        }
    }
}

/// A platform name or alias, with a did-you-mean; a netmiko name ending in
/// `_ssh` or `_telnet` (`cisco_ios_telnet`) also selects the transport.
pub(crate) fn platform(
    key: &str,
    v: &Node,
    p: &mut Problems,
) -> Option<(Platform, Option<Transport>)> {
    let t = text(key, v, p)?;
    parse_platform(&t)
        .map_err(|message| {
            let hint = did_you_mean(&t, Platform::accepted_names().iter().copied())
                .unwrap_or_else(|| "use one of them".to_string());
            p.push(v.pos, format!("{message}; {hint}"));
        })
        .ok()
}

/// `ios`, `cisco_ios`, `cisco_ios_ssh`, `cisco_ios_telnet`: the platform,
/// and the transport a netmiko suffix names.
pub fn parse_platform(name: &str) -> Result<(Platform, Option<Transport>), String> {
    let err = match Platform::from_str(name) {
        Ok(platform) => return Ok((platform, None)),
        Err(message) => message,
    };
    let lower = name.to_ascii_lowercase();
    for (suffix, transport) in [("_ssh", Transport::Ssh), ("_telnet", Transport::Telnet)] {
        if let Some(base) = lower.strip_suffix(suffix)
            && let Ok(platform) = Platform::from_str(base)
        {
            return Ok((platform, Some(transport)));
        }
    }
    Err(format!(
        "{err} (netmiko's `_ssh` and `_telnet` endings are accepted too, e.g. cisco_ios_telnet)"
    ))
}

/// strict | accept-new | off.
pub(crate) fn host_keys(key: &str, v: &Node, p: &mut Problems) -> Option<HostKeyPolicy> {
    let t = text(key, v, p)?;
    match t.to_ascii_lowercase().as_str() {
        "strict" => Some(HostKeyPolicy::Strict),
        "accept-new" | "accept_new" => Some(HostKeyPolicy::AcceptNew),
        "off" | "false" | "no" => Some(HostKeyPolicy::Off),
        _ => {
            p.push(
                v.pos,
                format!("unknown host-key policy `{t}`; use strict, accept-new or off"),
            );
            None
        }
    }
}

/// The protocol: scrapli's transports name the SSH library (system,
/// asyncssh, ssh2, paramiko), which fanout leaves to the executor, so they
/// all mean SSH; telnet and asynctelnet mean telnet.
pub(crate) fn transport(key: &str, v: &Node, p: &mut Problems) -> Option<Transport> {
    let t = text(key, v, p)?;
    transport_name(&t).or_else(|| {
        p.push(
            v.pos,
            format!(
                "unknown {key} `{t}`; use ssh or telnet (scrapli's system, asyncssh, ssh2 and paramiko mean ssh, \
                 asynctelnet means telnet)"
            ),
        );
        None
    })
}

/// A transport name, any spelling fanout accepts.
pub(crate) fn transport_name(name: &str) -> Option<Transport> {
    match name.to_ascii_lowercase().as_str() {
        "ssh" | "asyncssh" | "ssh2" | "paramiko" | "system" => Some(Transport::Ssh),
        "telnet" | "asynctelnet" => Some(Transport::Telnet),
        _ => None,
    }
}

/// scrapli's `ssh_config_file`: a path, `true` for `~/.ssh/config`, or
/// `false` for none.
pub(crate) fn ssh_config_file(key: &str, v: &Node, p: &mut Problems) -> Option<Option<String>> {
    let t = text(key, v, p)?;
    if v.plain_text().is_some() {
        match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => return Some(Some("~/.ssh/config".to_string())),
            "false" | "no" | "off" => return Some(None),
            _ => {}
        }
    }
    Some(Some(t))
}

/// Seconds as a number, or a human duration (`5s`, `1m30s`), more than 0
/// and at most [`MAX_DURATION`] (100 years, so that `Instant + timeout`
/// cannot overflow).
pub(crate) fn duration(key: &str, v: &Node, p: &mut Problems) -> Option<Duration> {
    let t = text(key, v, p)?;
    let out_of_range = || {
        format!(
            "`{key}`: timeout `{t}` is out of range; use e.g. 30s \
             (a timeout is more than 0 and at most 100 years)"
        )
    };
    let parsed = match v.plain_text().and_then(|s| s.parse::<f64>().ok()) {
        // Negative, NaN, infinite or too large for a `Duration`: an error.
        Some(secs) => Duration::try_from_secs_f64(secs).map_err(|_| out_of_range()),
        // `parse_duration` (humantime) panics on sums that reach u64::MAX
        // seconds, so anything that may be that long never gets there.
        None if upper_bound_secs(&t) > u128::from(MAX_DURATION.as_secs()) => Err(out_of_range()),
        None => fanout_core::parse_duration(&t)
            .map_err(|message| format!("`{key}`: {message}; a plain number means seconds")),
    };
    match parsed {
        Ok(d) if d.is_zero() => {
            p.push(
                v.pos,
                format!("`{key}` must be longer than 0; e.g. `{key}: 5s` (or a number of seconds)"),
            );
            None
        }
        Ok(d) if d > MAX_DURATION => {
            p.push(v.pos, out_of_range());
            None
        }
        Ok(d) => Some(d),
        Err(message) => {
            p.push(v.pos, message);
            None
        }
    }
}

/// An upper bound of the seconds in a humantime duration (`1h 30m`, `2d`),
/// read the way `humantime` reads it: numbers (spaces inside ignored), an
/// optional fraction (counted as one more unit) and a unit. Unknown units
/// count 0: the parser stops there with an error.
fn upper_bound_secs(text: &str) -> u128 {
    let mut total: u128 = 0;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let mut n: u128 = 0;
        let mut number = false;
        while let Some(c) = chars.next_if(|c| c.is_ascii_digit() || c.is_whitespace()) {
            if let Some(d) = c.to_digit(10) {
                n = n.saturating_mul(10).saturating_add(u128::from(d));
                number = true;
            }
        }
        if chars.next_if_eq(&'.').is_some() {
            while chars
                .next_if(|c| c.is_ascii_digit() || c.is_whitespace())
                .is_some()
            {}
            n = n.saturating_add(1);
            number = true;
        }
        let mut unit = String::new();
        while let Some(c) = chars.next_if(|c| c.is_ascii_alphabetic() || *c == 'µ') {
            unit.push(c);
        }
        if !number && unit.is_empty() {
            chars.next(); // anything else: the parser rejects it
            continue;
        }
        let secs = match unit.as_str() {
            "nanos" | "nsec" | "ns" => n / 1_000_000_000 + 1,
            "usec" | "us" | "µs" => n / 1_000_000 + 1,
            "millis" | "msec" | "ms" => n / 1_000 + 1,
            "seconds" | "second" | "secs" | "sec" | "s" => n,
            "minutes" | "minute" | "min" | "mins" | "m" => n.saturating_mul(60),
            "hours" | "hour" | "hr" | "hrs" | "h" => n.saturating_mul(3_600),
            "days" | "day" | "d" => n.saturating_mul(86_400),
            "weeks" | "week" | "wk" | "wks" | "w" => n.saturating_mul(604_800),
            "months" | "month" | "M" => n.saturating_mul(2_630_016),
            "years" | "year" | "yr" | "yrs" | "y" => n.saturating_mul(31_557_600),
            _ => 0,
        };
        total = total.saturating_add(secs);
    }
    total
}

/// A list of group names.
pub(crate) fn groups(key: &str, v: &Node, p: &mut Problems) -> Vec<At<String>> {
    let items = match &v.kind {
        _ if v.is_null() => return Vec::new(),
        Kind::Seq(items) => items,
        Kind::Scalar { text, .. } => {
            p.push(
                v.pos,
                format!("`{key}` must be a list, not a single value; write `{key}: [{text}]`"),
            );
            return Vec::new();
        }
        Kind::Map(_) => {
            p.push(v.pos, format!("`{key}` must be a list of group names, not a map; write e.g. `{key}: [core, london]`"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for item in items {
        match item.text() {
            Some(name) if matches!(item.kind, Kind::Scalar { .. }) => out.push(At {
                value: name.to_string(),
                pos: item.pos,
            }),
            _ => p.push(
                item.pos,
                format!(
                    "each entry of `{key}` must be a group name, not {}",
                    item.describe()
                ),
            ),
        }
    }
    out
}

/// A map of names to single values, kept as written (empty for null).
/// Lists and maps are errors, or with `warn_nested` left out with a warning.
pub(crate) fn vars(
    key: &str,
    v: &Node,
    warn_nested: bool,
    p: &mut Problems,
) -> Vec<(String, At<String>)> {
    let entries = match &v.kind {
        _ if v.is_null() => return Vec::new(),
        Kind::Map(entries) => entries,
        _ => {
            p.push(
                v.pos,
                format!("`{key}` must be a map of names to values, not {}; write e.g. `{key}: {{site: lon, rack: 4}}`", v.describe()),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        match &entry.value.kind {
            Kind::Scalar { text, .. } => {
                let value = if entry.value.is_null() { String::new() } else { text.to_string() };
                out.push((entry.key.to_string(), At { value, pos: entry.value.pos }));
            }
            _ if warn_nested => p.warn(
                entry.value.pos,
                format!(
                    "`{key}.{}` is {}: fanout vars hold single values, so it is left out \
                     (filters and templates cannot use it)",
                    entry.key,
                    entry.value.describe()
                ),
            ),
            _ => p.push(
                entry.value.pos,
                format!(
                    "`{key}.{}` is {}; vars hold single values (text, numbers, true/false): quote it or split it into several vars",
                    entry.key,
                    entry.value.describe()
                ),
            ),
        }
    }
    out
}
