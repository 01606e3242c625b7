//! `--group similar`: outputs that differ only in the host's own name,
//! addresses, numbers and times are folded under one representative, the
//! fields that vary between the hosts marked `«…»` (clush#165).

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::Ipv6Addr;
use std::ops::Range;
use std::sync::OnceLock;

use fanout_core::{HostOutcome, RunSummary};
use regex::Regex;

use crate::{Reporter, TableReporter, fold_names, output_text, summary_line};

/// Hosts whose outputs are equal once their variable fields are masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimilarGroup {
    /// Host names in the order their outcomes arrived.
    pub hosts: Vec<String>,
    /// The first host's output (the representative).
    pub text: String,
    /// Byte ranges of `text` whose value is not the same on every host.
    pub varying: Vec<Range<usize>>,
}

impl SimilarGroup {
    /// The representative with each varying field in `«…»`.
    pub fn marked(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 4 * self.varying.len());
        let mut at = 0;
        for r in &self.varying {
            out.push_str(&self.text[at..r.start]);
            out.push('«');
            out.push_str(&self.text[r.clone()]);
            out.push('»');
            at = r.end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

/// The kinds of field that are masked; a field matches only one of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Host,
    Time,
    Date,
    Mac,
    Ipv6,
    Ipv4,
    Duration,
    Number,
}

impl Kind {
    fn tag(self) -> char {
        match self {
            Kind::Host => 'h',
            Kind::Time => 't',
            Kind::Date => 'd',
            Kind::Mac => 'm',
            Kind::Ipv6 => '6',
            Kind::Ipv4 => '4',
            Kind::Duration => 'u',
            Kind::Number => 'n',
        }
    }
}

/// One pattern, alternatives in priority order (the regex crate takes the
/// first alternative that matches at the leftmost position).
fn fields_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
            (?P<time>\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b)
          | (?P<date>\b\d{4}-\d{2}-\d{2}(?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b
              | \b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?[\ \t]+
                  (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*[\ \t]+\d{1,2}\b)
          | (?P<mac>\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}\b
              | \b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\b)
          | (?P<ipv6>[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:/\d{1,3})?)
          | (?P<ipv4>\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b)
          | (?P<duration>\b\d+[\ \t]*
              (?:(?:day|hour|minute|second)\(s\)
                | (?:years?|weeks?|days?|hours?|minutes?|seconds?)\b))
          | (?P<number>\b[0-9A-Za-z]*[0-9][0-9A-Za-z]*\b)",
        )
        .expect("the field pattern is valid")
    })
}

/// Words with a digit, for an IPv6-looking span that is not an address.
fn number_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\b[0-9A-Za-z]*[0-9][0-9A-Za-z]*\b").expect("valid"))
}

/// The variable fields of `text` (in order, not overlapping) for host
/// `host`, and the text with each replaced by its kind: equal keys mean
/// outputs that differ only in such fields.
fn mask(text: &str, host: &str) -> (String, Vec<(Range<usize>, Kind)>) {
    let own = host_spans(text, host);
    let mut fields: Vec<(Range<usize>, Kind)> = Vec::new();
    let re = fields_regex();
    for caps in re.captures_iter(text) {
        let (m, kind) = [
            ("time", Kind::Time),
            ("date", Kind::Date),
            ("mac", Kind::Mac),
            ("ipv6", Kind::Ipv6),
            ("ipv4", Kind::Ipv4),
            ("duration", Kind::Duration),
            ("number", Kind::Number),
        ]
        .into_iter()
        .find_map(|(name, kind)| caps.name(name).map(|m| (m, kind)))
        .expect("one alternative matched");
        if kind == Kind::Ipv6 && !is_ipv6(text, m.range()) {
            for n in number_regex().find_iter(m.as_str()) {
                fields.push((m.start() + n.start()..m.start() + n.end(), Kind::Number));
            }
            continue;
        }
        fields.push((m.range(), kind));
    }
    // The host's own name wins over whatever else matched there.
    fields.retain(|(r, _)| !own.iter().any(|o| r.start < o.end && o.start < r.end));
    fields.extend(own.into_iter().map(|r| (r, Kind::Host)));
    fields.sort_by_key(|(r, _)| r.start);

    let mut key = String::with_capacity(text.len());
    let mut at = 0;
    for (r, kind) in &fields {
        key.push_str(&text[at..r.start]);
        key.push('\0');
        key.push(kind.tag());
        at = r.end;
    }
    key.push_str(&text[at..]);
    (key, fields)
}

/// `text[r]` is an IPv6 address (optionally /len) standing on its own, with
/// at least one digit: `::`, `std::io` or `a::b` in prose are not.
fn is_ipv6(text: &str, r: Range<usize>) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let s = &text[r.clone()];
    let addr = s.split_once('/').map_or(s, |(a, _)| a);
    !word(text[..r.start].chars().next_back())
        && !word(text[r.end..].chars().next())
        && addr.chars().any(|c| c.is_ascii_digit())
        && addr.parse::<Ipv6Addr>().is_ok()
}

/// Where the host's own name appears as a whole word (ASCII case ignored).
fn host_spans(text: &str, host: &str) -> Vec<Range<usize>> {
    if host.len() < 2 {
        return Vec::new();
    }
    let (hay, needle) = (text.to_ascii_lowercase(), host.to_ascii_lowercase());
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    hay.match_indices(&needle)
        .map(|(i, _)| i..i + needle.len())
        .filter(|r| {
            !word(text[..r.start].chars().next_back()) && !word(text[r.end..].chars().next())
        })
        .collect()
}

/// Groups hosts whose outputs differ only in masked fields (the host's own
/// name, IPv4/IPv6 and MAC addresses, times, dates, uptimes, numbers and
/// other words with digits such as serial numbers). Hosts without output
/// are left out; groups are ordered by their first host's arrival.
pub fn group_similar(outcomes: &[HostOutcome]) -> Vec<SimilarGroup> {
    struct Building {
        group: SimilarGroup,
        fields: Vec<Range<usize>>,
        varies: Vec<bool>,
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Building> = Vec::new();
    for o in outcomes {
        let text = output_text(o);
        if text.is_empty() {
            continue;
        }
        let (key, fields) = mask(&text, &o.host);
        match index.get(&key) {
            Some(&i) => {
                let g = &mut groups[i];
                g.group.hosts.push(o.host.clone());
                for (j, (r, _)) in fields.iter().enumerate() {
                    if text[r.clone()] != g.group.text[g.fields[j].clone()] {
                        g.varies[j] = true;
                    }
                }
            }
            None => {
                index.insert(key, groups.len());
                groups.push(Building {
                    varies: vec![false; fields.len()],
                    fields: fields.into_iter().map(|(r, _)| r).collect(),
                    group: SimilarGroup {
                        hosts: vec![o.host.clone()],
                        text,
                        varying: Vec::new(),
                    },
                });
            }
        }
    }
    groups
        .into_iter()
        .map(|mut b| {
            b.group.varying = b
                .fields
                .into_iter()
                .zip(b.varies)
                .filter_map(|(r, v)| v.then_some(r))
                .collect();
            b.group
        })
        .collect()
}

/// `--format table --group similar`: the table's status line per host as
/// it completes, then each group of similar outputs once, varying fields
/// marked, then the summary line.
pub struct SimilarTableReporter<'a> {
    out: Box<dyn Write + 'a>,
    outcomes: Vec<HostOutcome>,
}

impl<'a> SimilarTableReporter<'a> {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + 'a>) -> Self {
        Self {
            out,
            outcomes: Vec::new(),
        }
    }
}

impl Reporter for SimilarTableReporter<'_> {
    fn host(&mut self, o: &HostOutcome) -> io::Result<()> {
        // The status line is the table's own: rendered by a TableReporter
        // of one host (its outputs are folded here, not there).
        let mut line = Vec::new();
        TableReporter::new(Box::new(&mut line)).host(o)?;
        self.out.write_all(&line)?;
        self.outcomes.push(o.clone());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        for group in group_similar(&self.outcomes) {
            let mut title = format!("{} ({})", fold_names(&group.hosts), group.hosts.len());
            match group.varying.len() {
                0 => {}
                1 => title.push_str(": similar, 1 field varies «marked»"),
                n => title.push_str(&format!(": similar, {n} fields vary «marked»")),
            }
            let rule = "-".repeat(title.chars().count().clamp(15, 79));
            let text = group.marked();
            writeln!(self.out, "{rule}\n{title}\n{rule}")?;
            self.out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                writeln!(self.out)?;
            }
        }
        crate::write_failures(&mut self.out, &self.outcomes)?;
        writeln!(self.out, "{}", summary_line(summary))?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, host: &str) -> Vec<(&'static str, String)> {
        let (_, fields) = mask(text, host);
        fields
            .into_iter()
            .map(|(r, k)| {
                let name = match k {
                    Kind::Host => "host",
                    Kind::Time => "time",
                    Kind::Date => "date",
                    Kind::Mac => "mac",
                    Kind::Ipv6 => "ipv6",
                    Kind::Ipv4 => "ipv4",
                    Kind::Duration => "duration",
                    Kind::Number => "number",
                };
                (name, text[r].to_string())
            })
            .collect()
    }

    #[test]
    fn masks_each_kind_of_variable_field() {
        let got = kinds(
            "R1 up 1 week, 3 day(s) at *10:51:27.635 UTC Tue Dec 1 2026 from 192.0.2.1/26 \
             fe80::1 5254.0012.3456 00:1b:2c:3d:4e:5f serial 9SAGBHTUEE9 2026-12-01T10:51 \
             counter 42",
            "r1",
        );
        let want: Vec<(&str, String)> = [
            ("host", "R1"),
            ("duration", "1 week"),
            ("duration", "3 day(s)"),
            ("time", "10:51:27.635"),
            ("date", "Tue Dec 1"),
            ("number", "2026"),
            ("ipv4", "192.0.2.1/26"),
            ("ipv6", "fe80::1"),
            ("mac", "5254.0012.3456"),
            ("mac", "00:1b:2c:3d:4e:5f"),
            ("number", "9SAGBHTUEE9"),
            ("date", "2026-12-01T10:51"),
            ("number", "42"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn words_that_only_look_like_fields_stay_text() {
        // `a::b` is not an address; the host name inside a word is not the host.
        assert_eq!(
            kinds("std::io x r12 core1x", "r1"),
            [
                ("number", "r12".to_string()),
                ("number", "core1x".to_string())
            ]
        );
        assert!(kinds("Status: up\nProtocol: down\n", "r1").is_empty());
        assert_eq!(
            kinds("fe80::1::2", "x"),
            [
                ("number", "fe80".to_string()),
                ("number", "1".to_string()),
                ("number", "2".to_string())
            ]
        );
    }
}
