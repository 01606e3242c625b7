//! Writing YAML for `inventory convert`: a small tree and its block-style
//! text, quoting every scalar that YAML would read as something else.

use std::fmt::Write as _;

/// A value to write.
#[derive(Clone, Debug)]
pub(crate) enum Y {
    /// Text, quoted when it would not read back as the same text.
    Str(String),
    /// A number or boolean, written as it is.
    Raw(String),
    /// `~`.
    Null,
    List(Vec<Y>),
    Map(Vec<(String, Y)>),
}

impl Y {
    pub(crate) fn str(s: impl Into<String>) -> Y {
        Y::Str(s.into())
    }

    fn is_empty_collection(&self) -> bool {
        matches!(self, Y::List(l) if l.is_empty()) || matches!(self, Y::Map(m) if m.is_empty())
    }
}

/// Words YAML reads as booleans or null.
const SPECIAL: [&str; 13] = [
    "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n", "nan", "inf", ".inf",
];

/// `s` as a YAML scalar that reads back as the text `s`.
pub(crate) fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./@+-".contains(c))
        && !s.starts_with(['-', '.', '@'])
        && !SPECIAL.contains(&s.to_ascii_lowercase().as_str())
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        // A JSON string is a valid YAML double-quoted scalar.
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

/// A map key: quoted like a value.
fn key(s: &str) -> String {
    scalar(s)
}

fn inline(y: &Y) -> Option<String> {
    match y {
        Y::Str(s) => Some(scalar(s)),
        Y::Raw(s) => Some(s.clone()),
        Y::Null => Some("~".into()),
        Y::List(items) if items.is_empty() => Some("[]".into()),
        Y::Map(items) if items.is_empty() => Some("{}".into()),
        Y::List(items) if items.iter().all(|i| matches!(i, Y::Str(_) | Y::Raw(_))) => {
            let parts: Vec<String> = items.iter().filter_map(inline).collect();
            Some(format!("[{}]", parts.join(", ")))
        }
        _ => None,
    }
}

/// Block-style YAML for a top-level map, with a comment header.
pub(crate) fn document(header: &str, root: &[(String, Y)]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    write_map(&mut out, root, 0);
    if root.is_empty() {
        out.push_str("{}\n");
    }
    out
}

fn write_map(out: &mut String, entries: &[(String, Y)], indent: usize) {
    let pad = " ".repeat(indent);
    for (k, v) in entries {
        match inline(v) {
            Some(text) => {
                let _ = writeln!(out, "{pad}{}: {text}", key(k));
            }
            None => {
                let _ = writeln!(out, "{pad}{}:", key(k));
                write_value(out, v, indent + 2);
            }
        }
    }
}

fn write_value(out: &mut String, v: &Y, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Y::Map(entries) => write_map(out, entries, indent),
        Y::List(items) => {
            for item in items {
                match inline(item) {
                    Some(text) => {
                        let _ = writeln!(out, "{pad}- {text}");
                    }
                    None => {
                        let _ = writeln!(out, "{pad}-");
                        write_value(out, item, indent + 2);
                    }
                }
            }
        }
        other => {
            let text = inline(other).unwrap_or_default();
            let _ = writeln!(out, "{pad}{text}");
        }
    }
}

/// Drops empty maps and lists from `entries`.
pub(crate) fn compact(entries: Vec<(String, Y)>) -> Vec<(String, Y)> {
    entries
        .into_iter()
        .filter(|(_, v)| !v.is_empty_collection())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_that_yaml_would_retype_are_quoted() {
        for s in [
            "true", "No", "~", "null", "1.5", "22", "", "a: b", "x #y", "-x", "${PW}", "é",
        ] {
            assert!(scalar(s).starts_with('"'), "{s}: {}", scalar(s));
        }
        for s in ["r1", "127.0.0.1", "cisco_ios", "keys/id", "a-b", "user@x"] {
            assert_eq!(scalar(s), s);
        }
    }
}
