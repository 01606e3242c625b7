//! Ansible's INI inventory -> the same tree as its YAML form, every key and
//! value with its line and column.
//!
//! Ansible's INI is not standard INI (host lines are `NAME key=value ...`
//! with shell-style quoting; `[g:vars]` and `[g:children]` sections), so it
//! is read here line by line rather than with an INI library. Hosts before
//! any section are ungrouped (in `all`).

use crate::error::Problems;
use crate::yaml::{Entry, Kind, Node, Pos, small};

/// What the lines of the current section are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Hosts,
    Vars,
    Children,
}

/// One group's body as it is read.
struct Body {
    name: String,
    pos: Pos,
    hosts: Vec<Entry<'static>>,
    vars: Vec<Entry<'static>>,
    children: Vec<Entry<'static>>,
}

fn scalar(pos: Pos, text: String, plain: bool) -> Node<'static> {
    Node {
        pos,
        kind: Kind::Scalar {
            text: text.into(),
            plain,
        },
    }
}

fn map(pos: Pos, entries: Vec<Entry<'static>>) -> Node<'static> {
    Node {
        pos,
        kind: Kind::Map(entries),
    }
}

/// Whether `text` looks like an Ansible INI inventory: its first line that
/// is not blank or a comment is a `[section]` or a `host key=value` line.
pub(crate) fn looks_like(text: &str) -> bool {
    let Some(line) = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
    else {
        return false;
    };
    if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
        return !inner.is_empty() && !inner.contains([',', ' ', '{', '[', '"', '\'']);
    }
    let first = line.split_whitespace().next().unwrap_or("");
    !first.ends_with(':')
        && !first.starts_with(['-', '{', '[', '"', '\''])
        && line
            .split_whitespace()
            .skip(1)
            .any(|t| t.contains('=') && !t.starts_with('='))
}

/// The tree of an INI inventory in file `file`.
pub(crate) fn parse(text: &str, file: u32, p: &mut Problems) -> Node<'static> {
    let mut bodies: Vec<Body> = vec![Body {
        name: "all".into(),
        pos: Pos::start(file),
        hosts: Vec::new(),
        vars: Vec::new(),
        children: Vec::new(),
    }];
    let mut current = 0usize;
    let mut section = Section::Hosts;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let pos = Pos {
            file,
            line: small(line_no),
            col: small(indent + 1),
        };
        if let Some(inner) = line.strip_prefix('[') {
            let Some(inner) = inner.strip_suffix(']') else {
                p.push(pos, "this section header has no closing `]`; write `[group]`, `[group:vars]` or `[group:children]`");
                continue;
            };
            let (name, kind) = match inner.split_once(':') {
                None => (inner, Section::Hosts),
                Some((name, "vars")) => (name, Section::Vars),
                Some((name, "children")) => (name, Section::Children),
                Some((_, other)) => {
                    p.push(
                        pos,
                        format!("unknown section kind `:{other}`; the kinds are `[group]`, `[group:vars]` and `[group:children]`"),
                    );
                    continue;
                }
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                p.push(
                    pos,
                    "a group name is one word (letters, digits, _), e.g. `[routers]`",
                );
                continue;
            }
            current = match bodies.iter().position(|b| b.name == name) {
                Some(i) => i,
                None => {
                    bodies.push(Body {
                        name: name.to_string(),
                        pos: Pos {
                            col: pos.col + 1,
                            ..pos
                        },
                        hosts: Vec::new(),
                        vars: Vec::new(),
                        children: Vec::new(),
                    });
                    bodies.len() - 1
                }
            };
            section = kind;
            continue;
        }
        match section {
            Section::Hosts => host_line(line, pos, &mut bodies[current], p),
            Section::Vars => match line.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => {
                    let key_text = key.trim();
                    let value_col = pos.col
                        + small(
                            line.find('=').unwrap_or(0)
                                + 1
                                + (value.len() - value.trim_start().len()),
                        );
                    let (value, plain) = unquote(value.trim());
                    bodies[current].vars.push(Entry {
                        key: key_text.to_string().into(),
                        key_pos: pos,
                        value: scalar(
                            Pos {
                                col: value_col,
                                ..pos
                            },
                            value,
                            plain,
                        ),
                    });
                }
                _ => p.push(pos, "a `[group:vars]` line is `name=value`"),
            },
            Section::Children => {
                if line.contains(char::is_whitespace) {
                    p.push(pos, "a `[group:children]` line is one group name");
                    continue;
                }
                bodies[current].children.push(Entry {
                    key: line.to_string().into(),
                    key_pos: pos,
                    value: scalar(pos, String::new(), true),
                });
            }
        }
    }
    let root_pos = Pos::start(file);
    let entries = bodies
        .into_iter()
        .filter(|b| {
            b.name != "all" || !b.hosts.is_empty() || !b.vars.is_empty() || !b.children.is_empty()
        })
        .map(|b| {
            let mut body = Vec::new();
            for (key, list) in [
                ("hosts", b.hosts),
                ("vars", b.vars),
                ("children", b.children),
            ] {
                if !list.is_empty() {
                    body.push(Entry {
                        key: key.to_string().into(),
                        key_pos: b.pos,
                        value: map(b.pos, list),
                    });
                }
            }
            Entry {
                key: b.name.into(),
                key_pos: b.pos,
                value: map(b.pos, body),
            }
        })
        .collect();
    map(root_pos, entries)
}

/// `NAME key=value key="quoted value"  # comment`.
fn host_line(line: &str, pos: Pos, body: &mut Body, p: &mut Problems) {
    let tokens = match split(line) {
        Ok(tokens) => tokens,
        Err(col) => {
            p.push(
                Pos {
                    col: pos.col + small(col),
                    ..pos
                },
                "this quote is not closed; close it",
            );
            return;
        }
    };
    let mut tokens = tokens.into_iter();
    let Some((name, _, _)) = tokens.next() else {
        return;
    };
    let mut vars = Vec::new();
    for (token, col, quoted_from) in tokens {
        let at = Pos {
            col: pos.col + small(col),
            ..pos
        };
        let Some(eq) = token
            .find('=')
            .filter(|&i| i > 0 && quoted_from.is_none_or(|q| q > i))
        else {
            p.push(at, format!("`{token}` is not `name=value`; host variables are written `ansible_host=127.0.0.1`"));
            continue;
        };
        let key = token[..eq].to_string();
        let value = token[eq + 1..].to_string();
        vars.push(Entry {
            key: key.into(),
            key_pos: at,
            value: scalar(
                Pos {
                    col: at.col + small(eq + 1),
                    ..at
                },
                value,
                quoted_from.is_none(),
            ),
        });
    }
    body.hosts.push(Entry {
        key: name.into(),
        key_pos: pos,
        value: map(pos, vars),
    });
}

/// Shell-like words: (text without quotes, column offset, offset in the
/// word where a quote started). Stops at ` #`. `Err(col)`: unclosed quote.
fn split(line: &str) -> Result<Vec<(String, usize, Option<usize>)>, usize> {
    let mut out = Vec::new();
    let mut chars = line.chars().enumerate().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' || c == ';' {
            break;
        }
        let mut word = String::new();
        let mut quoted = None;
        while let Some(&(j, c)) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '"' || c == '\'' {
                quoted.get_or_insert(word.len());
                let mut closed = false;
                for (_, d) in chars.by_ref() {
                    if d == c {
                        closed = true;
                        break;
                    }
                    word.push(d);
                }
                if !closed {
                    return Err(j);
                }
            } else {
                word.push(c);
            }
        }
        out.push((word, i, quoted));
    }
    Ok(out)
}

/// A `[vars]` value: quotes removed (then it is text), else plain.
fn unquote(value: &str) -> (String, bool) {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return (value[1..value.len() - 1].to_string(), false);
        }
    }
    (value.to_string(), true)
}
