//! OpenSSH client configuration (`ssh_config(5)`) for fanout: which
//! settings apply to a host, and the `file:line` each came from.
//!
//! This crate owns reading an ssh_config file ([`SshConfig::load`]):
//! `keyword value` and `keyword=value` lines, quoted arguments, `Host`
//! blocks with `*`/`?` patterns and `!negation`, `Include` (globs; a
//! relative path starts at the including file's directory, which for
//! `~/.ssh/config` is `~/.ssh` as in OpenSSH), and resolving a host
//! ([`SshConfig::resolve`]): for each keyword the first value that applies
//! wins, as in OpenSSH, and `%h`, `%p`, `%r`, `%n`, `%%` and `~` are
//! expanded where OpenSSH expands them ([`Resolved::expand`]). `Match`
//! blocks are not evaluated: they apply to no host, with a warning.
//!
//! It never connects, runs a command (ProxyCommand is only read) or reads a
//! file other than the one it is given and its Includes. It was written
//! rather than taken from `ssh2-config` because fanout must say where each
//! value came from (file:line) and needs ProxyJump, ProxyCommand,
//! UserKnownHostsFile and StrictHostKeyChecking, which that crate does not
//! expose, with OpenSSH's first-value-wins rule.

use std::fmt;
use std::path::{Path, PathBuf};

mod parse;

pub use parse::Error;

/// Where a value was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pos {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A `Host` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub(crate) negated: bool,
    pub(crate) glob: String,
}

/// When the lines of a block apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Condition {
    /// Before any `Host` line, or `Host *`-like: always.
    Always,
    /// `Host PATTERN...`.
    Host(Vec<Pattern>),
    /// A `Match` block: never (not evaluated).
    Never,
}

/// One `keyword args...` line.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Lower-cased keyword.
    pub(crate) keyword: String,
    pub(crate) args: Vec<String>,
    pub(crate) pos: Pos,
    pub(crate) condition: usize,
}

/// A parsed ssh_config file, its Includes expanded in place.
#[derive(Clone, Debug)]
pub struct SshConfig {
    pub(crate) conditions: Vec<Condition>,
    pub(crate) entries: Vec<Entry>,
    /// What was read but is not used (`Match` blocks), each located.
    pub warnings: Vec<String>,
    /// The file it was read from.
    pub path: PathBuf,
}

/// A setting for one host: its arguments and where they were written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The arguments as written (quotes removed).
    pub args: Vec<String>,
    /// Where.
    pub pos: Pos,
}

impl Value {
    /// The arguments joined by spaces.
    pub fn text(&self) -> String {
        self.args.join(" ")
    }
}

/// The settings that apply to one host (first value wins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The name that was matched against the `Host` patterns.
    pub host: String,
    values: Vec<(String, Value)>,
    identity_files: Vec<Value>,
    known_hosts_files: Vec<Value>,
}

impl SshConfig {
    /// Reads `path` and its Includes; `home` is where `~` points.
    pub fn load(path: &Path, home: &Path) -> Result<SshConfig, Error> {
        parse::load(path, home)
    }

    /// Parses `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path, home: &Path) -> Result<SshConfig, Error> {
        parse::parse_text(text, path, home)
    }

    /// The settings that apply to `host` (the name you would type after
    /// `ssh`): for each keyword the first value of a block whose patterns
    /// match. `IdentityFile` and `UserKnownHostsFile` collect every value.
    pub fn resolve(&self, host: &str) -> Resolved {
        let applies: Vec<bool> = self
            .conditions
            .iter()
            .map(|c| match c {
                Condition::Always => true,
                Condition::Never => false,
                Condition::Host(patterns) => matches_host(patterns, host),
            })
            .collect();
        let mut r = Resolved {
            host: host.to_string(),
            values: Vec::new(),
            identity_files: Vec::new(),
            known_hosts_files: Vec::new(),
        };
        for e in self.entries.iter().filter(|e| applies[e.condition]) {
            let value = Value {
                args: e.args.clone(),
                pos: e.pos.clone(),
            };
            match e.keyword.as_str() {
                "identityfile" => r.identity_files.push(value),
                "userknownhostsfile" => {
                    if r.known_hosts_files.is_empty() {
                        r.known_hosts_files.push(value);
                    }
                }
                k => {
                    if !r.values.iter().any(|(key, _)| key == k) {
                        r.values.push((k.to_string(), value));
                    }
                }
            }
        }
        r
    }
}

impl Resolved {
    /// The value of `keyword` (case-insensitive), if one applies.
    pub fn get(&self, keyword: &str) -> Option<&Value> {
        let k = keyword.to_ascii_lowercase();
        self.values
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v)
    }

    /// Every `IdentityFile` that applies, in order.
    pub fn identity_files(&self) -> &[Value] {
        &self.identity_files
    }

    /// The `UserKnownHostsFile` line that applies (several files each).
    pub fn known_hosts_files(&self) -> &[Value] {
        &self.known_hosts_files
    }

    /// Expands OpenSSH's tokens in `text`: `%h` (HostName), `%p` (port),
    /// `%r` (remote user), `%n` (the name as given), `%d` (home), `%%`,
    /// and a leading `~/`. An unknown token is an error naming it.
    pub fn expand(&self, text: &str, pos: &Pos, tokens: &Tokens<'_>) -> Result<String, Error> {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some('h') => out.push_str(tokens.hostname),
                Some('p') => out.push_str(&tokens.port.to_string()),
                Some('r') => out.push_str(tokens.user.unwrap_or("")),
                Some('n') => out.push_str(&self.host),
                Some('d') => out.push_str(&tokens.home.display().to_string()),
                other => {
                    return Err(Error::Invalid {
                        pos: pos.clone(),
                        message: format!(
                            "unknown token `%{}` in `{text}`; fanout expands %h, %p, %r, %n, %d \
                             and %% (write %% for a literal %)",
                            other.map(String::from).unwrap_or_default()
                        ),
                    });
                }
            }
        }
        if let Some(rest) = out.strip_prefix("~/") {
            return Ok(tokens.home.join(rest).display().to_string());
        }
        Ok(out)
    }
}

/// The values `%` tokens expand to.
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'a> {
    /// `%h`: the host name connected to.
    pub hostname: &'a str,
    /// `%p`.
    pub port: u16,
    /// `%r`.
    pub user: Option<&'a str>,
    /// `%d` and `~`.
    pub home: &'a Path,
}

/// OpenSSH's rule: a host matches a pattern list when one positive pattern
/// matches and no negated one does.
fn matches_host(patterns: &[Pattern], host: &str) -> bool {
    let mut hit = false;
    for p in patterns {
        if glob(&p.glob.to_lowercase(), &host.to_lowercase()) {
            if p.negated {
                return false;
            }
            hit = true;
        }
    }
    hit
}

/// OpenSSH's `*` (any run) and `?` (any one character) globbing, case
/// sensitive: host patterns are matched on lowercased names (OpenSSH's
/// rule), algorithm names and `Include` file names as written.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}
