//! `-l FILTER`: which hosts of an inventory a job runs on.

use std::fmt;
use std::str::FromStr;

use fanout_core::{Platform, Target};

use crate::error::FilterError;
use crate::suggest::did_you_mean;

/// The fields a term may name before a colon.
const FIELDS: [&str; 3] = ["name", "group", "platform"];

/// A host filter, as given to `fanout run -l FILTER` (repeatable).
///
/// A FILTER is a comma-separated list of terms; a host matches the filter
/// when it matches any term (OR). Several `-l` options must all match (AND).
/// A term prefixed with `!` matches the hosts the term does not match.
///
/// Terms:
/// - `PATTERN` or `name:PATTERN` — the host name matches PATTERN;
/// - `group:PATTERN` — the host is in a matching group, directly or through
///   a parent group;
/// - `platform:NAME` — the host's platform is NAME (netmiko/scrapli aliases
///   accepted: `platform:cisco_ios` is `platform:ios`);
/// - `KEY=PATTERN` — the host's var KEY exists and matches PATTERN.
///
/// Patterns are globs: `*` matches any text, `?` one character, `[abc]`,
/// `[a-z]` one of the listed characters and `[!abc]` any other one. Matching
/// is case-sensitive. Spaces around terms are ignored.
///
/// Examples: `-l 'core*,edge1'` (core* or edge1), `-l group:london -l
/// '!platform:junos'` (in london and not JunOS), `-l site=lon`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    text: String,
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    negated: bool,
    test: Test,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    Name(Glob),
    Group(Glob),
    Platform(Platform),
    Var(String, Glob),
}

impl Filter {
    /// Parses a FILTER expression (see the type's documentation).
    pub fn parse(expr: &str) -> Result<Filter, FilterError> {
        let terms = expr
            .split(',')
            .map(|raw| parse_term(expr, raw))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter {
            text: expr.to_string(),
            terms,
        })
    }

    /// Whether `t` matches any term of this filter.
    pub fn matches(&self, t: &Target) -> bool {
        self.terms.iter().any(|term| term.matches(t))
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The targets that match every filter (all of them when `filters` is empty),
/// in their original order.
pub fn select(targets: &[Target], filters: &[Filter]) -> Vec<Target> {
    targets
        .iter()
        .filter(|t| filters.iter().all(|f| f.matches(t)))
        .cloned()
        .collect()
}

/// [`select`] without copying: the targets that match every filter, moved
/// out of `targets` (in the same order).
pub fn select_from(targets: Vec<Target>, filters: &[Filter]) -> Vec<Target> {
    targets
        .into_iter()
        .filter(|t| filters.iter().all(|f| f.matches(t)))
        .collect()
}

impl Term {
    fn matches(&self, t: &Target) -> bool {
        let hit = match &self.test {
            Test::Name(glob) => glob.matches(&t.name),
            Test::Group(glob) => t.groups.iter().any(|g| glob.matches(g)),
            Test::Platform(platform) => t.platform == Some(*platform),
            Test::Var(key, glob) => t.vars.get(key).is_some_and(|v| glob.matches(v)),
        };
        hit != self.negated
    }
}

fn parse_term(filter: &str, raw: &str) -> Result<Term, FilterError> {
    let raw = raw.trim();
    let (negated, body) = match raw.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, raw),
    };
    let empty = || FilterError::EmptyTerm {
        filter: filter.to_string(),
    };
    if body.is_empty() {
        return Err(empty());
    }
    let glob = |pattern: &str| Glob::parse(filter, pattern);
    let test = match body.find([':', '=']) {
        Some(i) if body[i..].starts_with(':') => {
            let (field, value) = (&body[..i], &body[i + 1..]);
            let field_lower = field.to_ascii_lowercase();
            if !FIELDS.contains(&field_lower.as_str()) {
                let hint = did_you_mean(field, FIELDS)
                    .unwrap_or_else(|| "use name:, group: or platform:".to_string());
                return Err(FilterError::UnknownField {
                    filter: filter.to_string(),
                    field: field.to_string(),
                    hint: format!(
                        "{hint}; to match a host name containing `:`, write `name:{body}`"
                    ),
                });
            }
            if value.is_empty() {
                let example = match field_lower.as_str() {
                    "group" => "core",
                    "platform" => "ios",
                    _ => "r1",
                };
                return Err(FilterError::MissingValue {
                    filter: filter.to_string(),
                    field: field_lower,
                    example: example.to_string(),
                });
            }
            match field_lower.as_str() {
                "group" => Test::Group(glob(value)?),
                "platform" => Test::Platform(
                    crate::values::parse_platform(value)
                        .map(|(platform, _)| platform)
                        .map_err(|message| FilterError::UnknownPlatform {
                            filter: filter.to_string(),
                            message,
                        })?,
                ),
                _ => Test::Name(glob(value)?),
            }
        }
        Some(i) => {
            let (key, value) = (body[..i].trim(), body[i + 1..].trim());
            if key.is_empty() {
                return Err(FilterError::MissingKey {
                    filter: filter.to_string(),
                    value: value.to_string(),
                });
            }
            Test::Var(key.to_string(), glob(value)?)
        }
        None => Test::Name(glob(body)?),
    };
    Ok(Term { negated, test })
}

/// A shell-style glob.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Glob(Vec<Tok>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Char(char),
    /// `?`
    One,
    /// `*`
    Any,
    /// `[...]`: inclusive ranges, negated with `!` or `^`.
    Class(bool, Vec<(char, char)>),
}

impl Glob {
    fn parse(filter: &str, pattern: &str) -> Result<Glob, FilterError> {
        let mut toks = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '*' => Tok::Any,
                '?' => Tok::One,
                '[' => {
                    let negated = chars.next_if(|c| *c == '!' || *c == '^').is_some();
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    let mut first = true;
                    while let Some(c) = chars.next() {
                        if c == ']' && !first {
                            closed = true;
                            break;
                        }
                        first = false;
                        let hi = match chars.peek() {
                            Some('-') => {
                                chars.next();
                                match chars.next_if(|c| *c != ']') {
                                    Some(hi) => hi,
                                    None => {
                                        ranges.push(('-', '-'));
                                        c
                                    }
                                }
                            }
                            _ => c,
                        };
                        ranges.push((c, hi));
                    }
                    if !closed {
                        return Err(FilterError::BadPattern {
                            filter: filter.to_string(),
                            pattern: pattern.to_string(),
                            reason: "`[` is not closed; close it with `]` (write `[[]` to match a literal `[`)"
                                .to_string(),
                        });
                    }
                    Tok::Class(negated, ranges)
                }
                c => Tok::Char(c),
            });
        }
        Ok(Glob(toks))
    }

    fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let toks = &self.0;
        let (mut t, mut s) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while s < text.len() {
            match toks.get(t) {
                Some(Tok::Any) => {
                    star = Some((t, s));
                    t += 1;
                }
                Some(tok) if tok.matches(text[s]) => {
                    t += 1;
                    s += 1;
                }
                _ => match star {
                    Some((st, ss)) => {
                        t = st + 1;
                        s = ss + 1;
                        star = Some((st, ss + 1));
                    }
                    None => return false,
                },
            }
        }
        toks[t.min(toks.len())..].iter().all(|tok| *tok == Tok::Any)
    }
}

impl Tok {
    fn matches(&self, c: char) -> bool {
        match self {
            Tok::Char(x) => *x == c,
            Tok::One => true,
            Tok::Any => false,
            Tok::Class(negated, ranges) => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}
