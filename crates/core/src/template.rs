//! Per-host templates of the commands a task sends: `{name}`, `{host}`
//! (the address), `{port}`, `{platform}`, `{user}` and `{vars.KEY}` (a host
//! variable, group variables merged). One parser and one renderer for
//! every task that sends text to a device (`exec`, `cli`, later HTTP URLs
//! and bodies), so that every executor sends the same bytes.
//!
//! A template is checked once, before any host starts ([`Template::parse`]:
//! an unknown placeholder or a stray brace is an error naming it), and
//! rendered for each host ([`Template::render`]: a variable the host does
//! not have is that host's error). `{{` and `}}` are literal braces.
//! Secrets are never placeholders: `{password}` is refused.

use std::fmt;

use crate::Target;

/// What a placeholder stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// `{name}`: the host's name.
    Name,
    /// `{host}`: the address connected to.
    Host,
    /// `{port}`: the TCP port.
    Port,
    /// `{platform}`: the canonical platform name (`ios`, `eos`...).
    Platform,
    /// `{user}`: the login user.
    User,
    /// `{vars.KEY}`: a host variable.
    Var(String),
}

/// Every placeholder, as the messages list them.
pub const PLACEHOLDERS: &str =
    "{name}, {host} (address), {port}, {platform}, {user}, {vars.KEY} (a host or group variable)";

/// Names that are secrets: refused as placeholders, so that no template can
/// send or print one.
const SECRETS: [&str; 7] = [
    "password",
    "secret",
    "enable_secret",
    "enable",
    "key_passphrase",
    "passphrase",
    "token",
];

impl Field {
    /// The placeholder for `key` (the text between the braces).
    pub fn from_key(key: &str) -> Option<Field> {
        Some(match key {
            "name" => Field::Name,
            "host" => Field::Host,
            "port" => Field::Port,
            "platform" => Field::Platform,
            "user" => Field::User,
            _ => {
                let var = key.strip_prefix("vars.")?;
                if var.is_empty() || var.contains(['{', '}']) {
                    return None;
                }
                Field::Var(var.to_string())
            }
        })
    }

    /// The value of this field for `target`; `None` when the target has
    /// none (no such variable, no platform, no user).
    pub fn value(&self, target: &Target) -> Option<String> {
        match self {
            Field::Name => Some(target.name.clone()),
            Field::Host => Some(target.address.clone()),
            Field::Port => Some(target.port.to_string()),
            Field::Platform => target.platform.map(|p| p.to_string()),
            Field::User => target.username.clone(),
            Field::Var(key) => target.vars.get(key).cloned(),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Name => f.write_str("{name}"),
            Field::Host => f.write_str("{host}"),
            Field::Port => f.write_str("{port}"),
            Field::Platform => f.write_str("{platform}"),
            Field::User => f.write_str("{user}"),
            Field::Var(key) => write!(f, "{{vars.{key}}}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(Field),
}

/// A parsed command template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// A template that cannot be parsed: what is wrong, at which character.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("in `{template}` at character {column}: {problem}")]
pub struct TemplateError {
    /// The template as written.
    pub template: String,
    /// 1-based character position of the offending brace.
    pub column: usize,
    /// What is wrong and what to do.
    pub problem: String,
}

/// A template that cannot be rendered for one host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("template: host `{host}` has no {what} for {field} in `{template}`; {fix}")]
pub struct RenderError {
    /// The host's name.
    pub host: String,
    /// The placeholder that has no value.
    pub field: Field,
    /// `variable `site`` / `platform` / `user`.
    pub what: String,
    /// What to do.
    pub fix: String,
    /// The template as written.
    pub template: String,
}

impl Template {
    /// Parses `source`: `{KEY}` placeholders (see [`PLACEHOLDERS`]), `{{`
    /// and `}}` literal braces. An unknown placeholder, a secret, an
    /// unclosed `{` or a lone `}` is an error.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let err = |byte: usize, problem: String| TemplateError {
            template: source.to_string(),
            column: source[..byte].chars().count() + 1,
            problem,
        };
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while let Some(off) = source[i..].find(['{', '}']) {
            let at = i + off;
            text.push_str(&source[i..at]);
            let tail = &source[at..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                text.push_str(&tail[..1]);
                i = at + 2;
                continue;
            }
            if tail.starts_with('}') {
                return Err(err(
                    at,
                    "`}` closes no placeholder; write `}}` for a literal brace".into(),
                ));
            }
            let Some(end) = tail[1..].find(['{', '}']).map(|e| e + 1) else {
                return Err(err(
                    at,
                    "`{` is never closed; write `{{` for a literal brace".into(),
                ));
            };
            if tail.as_bytes()[end] == b'{' {
                return Err(err(
                    at,
                    "`{` is never closed; write `{{` for a literal brace".into(),
                ));
            }
            let key = &tail[1..end];
            let field = Field::from_key(key).ok_or_else(|| err(at, unknown(key)))?;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Field(field));
            i = at + end + 1;
        }
        text.push_str(&source[i..]);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            pieces,
        })
    }

    /// Whether the template has no placeholder (it renders to the same
    /// text for every host).
    pub fn is_constant(&self) -> bool {
        !self.pieces.iter().any(|p| matches!(p, Piece::Field(_)))
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The text for `target`; a placeholder the target has no value for
    /// is an error naming the host and the placeholder.
    pub fn render(&self, target: &Target) -> Result<String, RenderError> {
        let mut out = String::with_capacity(self.source.len() + 16);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(field) => match field.value(target) {
                    Some(v) => out.push_str(&v),
                    None => return Err(self.missing(field, target)),
                },
            }
        }
        Ok(out)
    }

    fn missing(&self, field: &Field, target: &Target) -> RenderError {
        let (what, fix) = match field {
            Field::Var(key) => (
                format!("variable `{key}`"),
                format!(
                    "set `vars: {{{key}: ...}}` on the host or one of its groups in the inventory"
                ),
            ),
            Field::Platform => (
                "platform".to_string(),
                "set `platform:` (or device_type) on the host or one of its groups".to_string(),
            ),
            _ => (
                "user".to_string(),
                "set `username:` on the host or one of its groups".to_string(),
            ),
        };
        RenderError {
            host: target.name.clone(),
            field: field.clone(),
            what,
            fix,
            template: self.source.clone(),
        }
    }
}

fn unknown(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    if SECRETS.contains(&lower.as_str()) || lower.starts_with("vars.") && lower.contains("pass") {
        return format!(
            "`{{{key}}}` is a secret, and secrets are never placeholders (they would be sent \
             and printed as command text); use enable mode (cli --enable) or a key file instead"
        );
    }
    let hint = match lower.as_str() {
        "hostname" | "host_name" | "inventory_hostname" => " (the host's name is {name})",
        "address" | "ip" | "ansible_host" => " (the address is {host})",
        "username" | "login" => " (the login user is {user})",
        _ if lower.starts_with("vars.") => " (a variable name follows `vars.`)",
        _ if !lower.is_empty() && !lower.contains('.') => " (a host variable is {vars.NAME})",
        _ => "",
    };
    format!(
        "unknown placeholder `{{{key}}}`{hint}; known placeholders: {PLACEHOLDERS}; \
         write `{{{{` and `}}}}` for literal braces"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Platform;

    fn target() -> Target {
        let mut t = Target::new("r1", "127.0.0.9");
        t.port = 2201;
        t.platform = Some(Platform::Eos);
        t.username = Some("ops".into());
        t.vars.insert("site".into(), "lon".into());
        t
    }

    fn render(s: &str) -> String {
        Template::parse(s).unwrap().render(&target()).unwrap()
    }

    #[test]
    fn every_placeholder_renders() {
        assert_eq!(
            render("hostname lab-{name} {host}:{port} {platform} {user} {vars.site}"),
            "hostname lab-r1 127.0.0.9:2201 eos ops lon"
        );
        assert_eq!(render("awk '{{print $1}}'"), "awk '{print $1}'");
        assert_eq!(render("{{name}}"), "{name}");
        assert_eq!(render("plain"), "plain");
        assert!(Template::parse("plain {{x}}").unwrap().is_constant());
        assert!(!Template::parse("{name}").unwrap().is_constant());
        assert_eq!(render(""), "");
    }

    #[test]
    fn unknown_and_malformed_placeholders_are_located_errors() {
        let e = Template::parse("hostname lab-{nmae}").unwrap_err();
        assert_eq!(e.column, 14, "{e}");
        assert!(e.problem.contains("unknown placeholder `{nmae}`"), "{e}");
        assert!(e.problem.contains("{vars.KEY}"), "lists the known: {e}");
        let e = Template::parse("awk '{print $1}'").unwrap_err();
        assert!(e.problem.contains("`{print $1}`"), "{e}");
        assert!(e.problem.contains("{{"), "says how to escape: {e}");
        let e = Template::parse("a } b").unwrap_err();
        assert_eq!(e.column, 3);
        assert!(e.problem.contains("`}}`"), "{e}");
        for s in ["x {name", "x {na{me}", "{vars.}", "{}"] {
            assert!(Template::parse(s).is_err(), "{s}");
        }
        let e = Template::parse("héllo {hostname}").unwrap_err();
        assert_eq!(e.column, 7, "characters, not bytes: {e}");
        assert!(e.to_string().contains("{name}"), "{e}");
    }

    #[test]
    fn secrets_are_never_placeholders() {
        for s in ["{password}", "{secret}", "{PASSWORD}", "{key_passphrase}"] {
            let e = Template::parse(s).unwrap_err();
            assert!(e.problem.contains("secrets are never placeholders"), "{e}");
        }
    }

    #[test]
    fn a_missing_value_names_the_host_and_the_key() {
        let t = Template::parse("ping {vars.peer}").unwrap();
        let e = t.render(&target()).unwrap_err();
        assert_eq!(e.field, Field::Var("peer".into()));
        let msg = e.to_string();
        assert!(
            msg.contains("host `r1`") && msg.contains("variable `peer`"),
            "{msg}"
        );
        assert!(msg.contains("vars: {peer: ...}"), "{msg}");
        let bare = Target::new("r2", "127.0.0.1");
        let e = Template::parse("{platform}")
            .unwrap()
            .render(&bare)
            .unwrap_err();
        assert!(e.to_string().contains("no platform"), "{e}");
        let e = Template::parse("{user}")
            .unwrap()
            .render(&bare)
            .unwrap_err();
        assert!(e.to_string().contains("no user"), "{e}");
    }
}
