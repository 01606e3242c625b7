//! Secrets in an inventory: `${VAR}` references and `*_env: VAR` keys.
//! Messages about them never contain the value.

use std::fmt;

use crate::error::Problems;
use crate::values::text;
use crate::yaml::{Kind, Node};

/// How a secret is written: text with `${VAR}` references, or `*_env: VAR`.
/// `Debug` shows variable names only.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum SecretSource {
    Template(Vec<Piece>),
    Env(String),
}

/// Part of a secret template.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Var(String),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(var) => write!(f, "Env({})", shown_name(var)),
            SecretSource::Template(pieces) => {
                let shown: Vec<&str> = pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Text(_) => "***",
                        Piece::Var(var) => shown_name(var),
                    })
                    .collect();
                write!(f, "Template({shown:?})")
            }
        }
    }
}

/// The variable name if it may be printed, else `***`.
fn shown_name(var: &str) -> &str {
    if is_printable_name(var) { var } else { "***" }
}

/// Whether a variable name may appear in messages: only conventional names
/// (`LAB_PW`: ASCII upper-case letters, digits and `_`, not starting with a
/// digit). Anything else may be a secret written where its variable's name
/// belongs (`password_env: hunter2`), so it is never printed.
pub(crate) fn is_printable_name(var: &str) -> bool {
    is_var_name(var)
        && var
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A secret as `inventory convert` writes it: never resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// `*_env: VAR`.
    Env(String),
    /// Text with `${VAR}` references (`$${` for a literal `${`).
    Text(String),
}

impl SecretSource {
    /// This source as it is written back: the same references, the same
    /// literal text (plain secrets stay plain), no value resolved.
    pub(crate) fn written(&self) -> Written {
        match self {
            SecretSource::Env(var) => Written::Env(var.clone()),
            SecretSource::Template(pieces) => {
                let mut out = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(t) => out.push_str(&t.replace("${", "$${")),
                        Piece::Var(v) => {
                            out.push_str("${");
                            out.push_str(v);
                            out.push('}');
                        }
                    }
                }
                Written::Text(out)
            }
        }
    }

    /// The variable, when the secret is exactly one variable.
    pub(crate) fn single_var(&self) -> Option<&str> {
        match self {
            SecretSource::Env(var) => Some(var),
            SecretSource::Template(pieces) => match pieces.as_slice() {
                [Piece::Var(var)] => Some(var),
                _ => None,
            },
        }
    }

    /// How this source is written, to advise on a literal value.
    pub(crate) fn is_env(&self) -> bool {
        matches!(self, SecretSource::Env(_))
    }

    /// The secret, or the names of the unset variables it needs.
    pub(crate) fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, Vec<String>> {
        let pieces: &[Piece] = match self {
            SecretSource::Template(pieces) => pieces,
            SecretSource::Env(var) => return env(var).ok_or_else(|| vec![var.clone()]),
        };
        let mut out = String::new();
        let mut missing = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Var(var) => match env(var) {
                    Some(value) => out.push_str(&value),
                    None => missing.push(var.clone()),
                },
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(missing)
        }
    }
}

/// `password: text with ${VAR}`; `$${` is a literal `${`. Never echoes the value.
pub(crate) fn template(key: &str, v: &Node, p: &mut Problems) -> Option<SecretSource> {
    let raw = match &v.kind {
        _ if v.is_null() => return None,
        Kind::Scalar { text, .. } => &**text,
        _ => {
            p.push(
                v.pos,
                format!(
                    "`{key}` must be a single value, not {}; quote it if it has special characters",
                    v.describe()
                ),
            );
            return None;
        }
    };
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix("${") {
            text.push_str("${");
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            let Some(end) = r.find('}') else {
                p.push(v.pos, format!("`{key}` has a `${{` without its closing `}}`; write `${{VAR}}` to read a variable, or `$${{` for a literal `${{`"));
                return None;
            };
            let name = &r[..end];
            if !is_var_name(name) {
                p.push(v.pos, format!("`{key}` has a `${{...}}` that is not a variable name (letters, digits and _); write `$${{` for a literal `${{`"));
                return None;
            }
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Var(name.to_string()));
            rest = &r[end + 1..];
        } else {
            text.push('$');
            rest = after;
        }
    }
    text.push_str(rest);
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Some(SecretSource::Template(pieces))
}

/// `password_env: LAB_PW` (also accepts `$LAB_PW` and `${LAB_PW}`).
pub(crate) fn env_name(key: &str, v: &Node, p: &mut Problems) -> Option<SecretSource> {
    let t = text(key, v, p)?;
    let name = t
        .strip_prefix("${")
        .and_then(|s| s.strip_suffix('}'))
        .or_else(|| t.strip_prefix('$'))
        .unwrap_or(&t);
    if is_var_name(name) {
        Some(SecretSource::Env(name.to_string()))
    } else {
        p.push(v.pos, format!("`{key}` must name an environment variable (letters, digits and _), e.g. `{key}: LAB_PW`"));
        None
    }
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_text() {
        let src = SecretSource::Template(vec![
            Piece::Text("hunter2".into()),
            Piece::Var("LAB_PW".into()),
        ]);
        let debug = format!("{src:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("LAB_PW"),
            "{debug}"
        );
    }

    #[test]
    fn debug_hides_unconventional_variable_names() {
        let env = format!("{:?}", SecretSource::Env("hunter2".into()));
        let template = format!(
            "{:?}",
            SecretSource::Template(vec![Piece::Var("cisco".into())])
        );
        assert!(!env.contains("hunter2"), "{env}");
        assert!(!template.contains("cisco"), "{template}");
    }

    #[test]
    fn printable_names() {
        for ok in ["LAB_PW", "_X", "PW2", "A"] {
            assert!(is_printable_name(ok), "{ok}");
        }
        for hidden in ["hunter2", "cisco", "Lab_Pw", "2PW", "", "PW-1", "ÄPW"] {
            assert!(!is_printable_name(hidden), "{hidden}");
        }
    }
}
