//! Matching a command line against the rules: IOS-style unique-prefix
//! abbreviations (`sh ip int br`), and the platform's error texts for lines
//! that do not match (caret under the error column).

use fanout_core::Platform;

use super::Profile;
use super::interfaces::normalize_iface;
use super::rules::{Act, RULES, platform_bit};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Kw(&'static str),
    Num(u64, u64),
    Word,
    Iface,
    Rest,
    OptRest,
}

fn tokens(pattern: &'static str) -> Vec<Tok> {
    pattern
        .split(' ')
        .map(|t| match t {
            "<word>" => Tok::Word,
            "<if>" => Tok::Iface,
            "<line>" => Tok::Rest,
            "<line?>" => Tok::OptRest,
            t if t.starts_with('<') => {
                let (a, b) = t[1..t.len() - 1].split_once('-').unwrap_or(("0", "0"));
                Tok::Num(a.parse().unwrap_or(0), b.parse().unwrap_or(0))
            }
            kw => Tok::Kw(kw),
        })
        .collect()
}

/// The result of matching one command line against the grammar. Columns are
/// byte offsets in the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Empty,
    Ok {
        act: Act,
        args: Vec<String>,
        canon: String,
    },
    Ambiguous {
        col: usize,
        word: String,
        options: Vec<&'static str>,
    },
    Incomplete {
        col: usize,
    },
    Invalid {
        col: usize,
        index: usize,
    },
}

impl Parsed {
    /// Moves error columns right by `by` (for a sub-command such as `do ...`).
    pub(crate) fn shifted(self, by: usize) -> Parsed {
        match self {
            Parsed::Ambiguous { col, word, options } => Parsed::Ambiguous {
                col: col + by,
                word,
                options,
            },
            Parsed::Incomplete { col } => Parsed::Incomplete { col: col + by },
            Parsed::Invalid { col, index } => Parsed::Invalid {
                col: col + by,
                index,
            },
            other => other,
        }
    }
}

/// Splits a line into `(byte column, word)` pairs.
pub(crate) fn words(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

/// Matches `line` against the rules of `platform` visible in `ctx`. Every
/// keyword may be abbreviated to a unique prefix; an exact keyword wins over
/// longer ones (`ip` vs `ipv6`), and keywords win over placeholders.
pub(crate) fn parse(line: &str, platform: Platform, ctx: u8) -> Parsed {
    let bit = platform_bit(platform);
    let rules: Vec<(Act, Vec<Tok>)> = RULES
        .iter()
        .filter(|r| r.2 & bit != 0 && r.3 & ctx != 0)
        .map(|r| (r.1, tokens(r.0)))
        .collect();
    let ws = words(line);
    if ws.is_empty() {
        return Parsed::Empty;
    }
    let mut alive: Vec<usize> = (0..rules.len()).collect();
    let mut args: Vec<Vec<String>> = vec![Vec::new(); rules.len()];
    let mut canon: Vec<Vec<String>> = vec![Vec::new(); rules.len()];
    let mut absorbed: Option<usize> = None;
    for (i, &(col, w)) in ws.iter().enumerate() {
        let at = |r: usize| rules[r].1.get(i).copied();
        let lw = w.to_ascii_lowercase();
        let exact: Vec<usize> = alive
            .iter()
            .copied()
            .filter(|&r| matches!(at(r), Some(Tok::Kw(k)) if k == lw))
            .collect();
        let mut kws: Vec<&'static str> = Vec::new();
        for &r in &alive {
            if let Some(Tok::Kw(k)) = at(r)
                && !kws.contains(&k)
            {
                kws.push(k);
            }
        }
        let prefixed: Vec<&'static str> =
            kws.iter().copied().filter(|k| k.starts_with(&lw)).collect();
        let next: Vec<usize> = if !exact.is_empty() {
            exact
        } else if prefixed.len() > 1 {
            if let Some(r) = absorbed {
                return ok(rules[r].0, &args[r], &canon[r]);
            }
            return Parsed::Ambiguous {
                col,
                word: w.to_string(),
                options: prefixed,
            };
        } else if let [k] = prefixed[..] {
            alive
                .iter()
                .copied()
                .filter(|&r| at(r) == Some(Tok::Kw(k)))
                .collect()
        } else {
            let rest = &ws[i..];
            alive
                .iter()
                .copied()
                .filter(|&r| match at(r) {
                    Some(Tok::Num(a, b)) => w.parse::<u64>().is_ok_and(|n| n >= a && n <= b),
                    Some(Tok::Word | Tok::Rest | Tok::OptRest) => true,
                    Some(Tok::Iface) => normalize_iface(platform, &join_words(rest)).is_some(),
                    _ => false,
                })
                .collect()
        };
        if next.is_empty() {
            if let Some(r) = absorbed {
                return ok(rules[r].0, &args[r], &canon[r]);
            }
            let offset = kws
                .iter()
                .map(|k| {
                    k.bytes()
                        .zip(lw.bytes())
                        .take_while(|(a, b)| a == b)
                        .count()
                })
                .max()
                .unwrap_or(0)
                .min(w.len().saturating_sub(1));
            return Parsed::Invalid {
                col: col + offset,
                index: i,
            };
        }
        let mut cont = Vec::new();
        for r in next {
            match at(r) {
                Some(Tok::Kw(k)) => {
                    canon[r].push(k.to_string());
                    cont.push(r);
                }
                Some(Tok::Num(..) | Tok::Word) => {
                    args[r].push(w.to_string());
                    canon[r].push(w.to_string());
                    cont.push(r);
                }
                Some(Tok::Iface) => {
                    let name = join_words(&ws[i..]);
                    canon[r].push(normalize_iface(platform, &name).unwrap_or_else(|| name.clone()));
                    args[r].push(name);
                    absorbed.get_or_insert(r);
                }
                _ => {
                    let rest = line[col..].trim_end().to_string();
                    canon[r].push(rest.clone());
                    args[r].push(rest);
                    absorbed.get_or_insert(r);
                }
            }
        }
        alive = cont;
        if alive.is_empty() {
            break;
        }
    }
    let n = ws.len();
    let done = alive.iter().copied().find(|&r| {
        let t = &rules[r].1;
        t.len() == n || (t.len() == n + 1 && t[n] == Tok::OptRest)
    });
    if let Some(r) = absorbed.filter(|_| done.is_none() || alive.is_empty()) {
        return ok(rules[r].0, &args[r], &canon[r]);
    }
    match done {
        Some(r) => {
            let mut a = args[r].clone();
            if rules[r].1.len() == n + 1 {
                a.push(String::new());
            }
            ok(rules[r].0, &a, &canon[r])
        }
        None => Parsed::Incomplete {
            col: line.trim_end().len() + 1,
        },
    }
}

fn ok(act: Act, args: &[String], canon: &[String]) -> Parsed {
    Parsed::Ok {
        act,
        args: args.to_vec(),
        canon: canon.join(" "),
    }
}

fn join_words(ws: &[(usize, &str)]) -> String {
    ws.iter().map(|w| w.1).collect()
}

/// The platform's error text for a failed parse of `line`, typed after a
/// prompt `prompt_len` characters long (the caret line accounts for it).
pub(crate) fn error_lines(
    p: Platform,
    parsed: &Parsed,
    line: &str,
    prompt_len: usize,
) -> Vec<String> {
    let caret = |col: usize| format!("{}^", " ".repeat(prompt_len + col));
    let prof = Profile::get(p);
    let text = |s: &str| s.to_string();
    match (p, parsed) {
        (Platform::Ios | Platform::Iosxe, Parsed::Ambiguous { .. }) => {
            vec![format!("{}  \"{}\"", prof.ambiguous_text, line.trim())]
        }
        (Platform::Ios | Platform::Iosxe, Parsed::Incomplete { .. })
            if words(line).len() == 1 && "show".starts_with(&line.trim().to_ascii_lowercase()) =>
        {
            vec![text("% Type \"show ?\" for a list of subcommands")]
        }
        (Platform::Ios | Platform::Iosxe, Parsed::Incomplete { .. }) => {
            vec![text(prof.incomplete_text), String::new()]
        }
        (Platform::Ios | Platform::Iosxe, Parsed::Invalid { col, .. }) => {
            vec![caret(*col), text(prof.invalid_text), String::new()]
        }
        (Platform::Eos, Parsed::Ambiguous { .. }) => vec![text(prof.ambiguous_text)],
        (Platform::Eos, Parsed::Incomplete { .. }) => vec![text(prof.incomplete_text)],
        (Platform::Eos, _) => vec![text(prof.invalid_text)],
        (Platform::Junos, Parsed::Ambiguous { col, word, options }) => {
            let mut v = vec![
                caret(*col),
                format!("'{word}' is ambiguous."),
                text("Possible completions:"),
            ];
            v.extend(options.iter().map(|o| format!("  {o}")));
            v
        }
        (Platform::Junos, Parsed::Invalid { col, index: 0 }) => {
            vec![caret(*col), text("unknown command.")]
        }
        (Platform::Junos, Parsed::Invalid { col, .. } | Parsed::Incomplete { col }) => {
            vec![caret(*col), text(prof.invalid_text)]
        }
        (_, Parsed::Ambiguous { col, .. }) => vec![caret(*col), text(prof.ambiguous_text)],
        (_, Parsed::Incomplete { col }) => vec![caret(*col), text(prof.incomplete_text)],
        (_, Parsed::Invalid { col, .. }) => vec![caret(*col), text(prof.invalid_text)],
        (_, _) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::rules::{CX_CONF, CX_IF, CX_PRIV, CX_USER};

    #[test]
    fn prefix_matching() {
        let ok = |l: &str| match parse(l, Platform::Ios, CX_USER | CX_PRIV) {
            Parsed::Ok { act, args, .. } => (act, args),
            other => panic!("{l}: {other:?}"),
        };
        assert_eq!(ok("sh ver").0, Act::ShowVersion);
        assert_eq!(ok("sh ip int br").0, Act::ShowIpIntBrief);
        assert_eq!(ok("conf t").0, Act::ConfigTerminal);
        assert_eq!(ok("conf").0, Act::ConfigAsk);
        assert_eq!(ok("term len 0"), (Act::TermLength, vec!["0".to_string()]));
        assert!(matches!(
            parse("te", Platform::Ios, CX_USER),
            Parsed::Ambiguous { .. }
        ));
        assert!(matches!(
            parse("terminal length", Platform::Ios, CX_USER),
            Parsed::Incomplete { .. }
        ));
        assert_eq!(
            parse("terminal width 600", Platform::Ios, CX_USER),
            Parsed::Invalid { col: 15, index: 2 }
        );
        assert_eq!(
            parse("shw run", Platform::Ios, CX_USER),
            Parsed::Invalid { col: 2, index: 0 }
        );
        assert_eq!(
            parse("show run", Platform::Ios, CX_USER),
            Parsed::Invalid { col: 5, index: 1 }
        );
        let conf = |l: &str| parse(l, Platform::Ios, CX_IF);
        assert_eq!(
            conf("ip add 192.0.2.9 255.255.255.0"),
            Parsed::Ok {
                act: Act::IfAddress,
                args: vec!["192.0.2.9".into(), "255.255.255.0".into()],
                canon: "ip address 192.0.2.9 255.255.255.0".into()
            }
        );
        assert!(matches!(
            conf("ip ospf cost 5"),
            Parsed::Ok {
                act: Act::IfLine,
                ..
            }
        ));
        assert_eq!(
            parse("interface gi 0/1", Platform::Ios, CX_CONF),
            Parsed::Ok {
                act: Act::Interface,
                args: vec!["gi0/1".into()],
                canon: "interface GigabitEthernet0/1".into()
            }
        );
    }
}
