//! Output filters after `|`: include, exclude, begin, section, count (and
//! JunOS match / except / find / last), with a small regex matcher.

use fanout_core::Platform;

use super::rules::Filter;

/// A small regular-expression matcher (literals, `.`, `x*`, `^`, `$`): what
/// `| include` patterns in automation jobs use.
fn re_match(re: &[char], text: &[char]) -> bool {
    if let Some(('^', rest)) = re.split_first() {
        return re_here(rest, text);
    }
    (0..=text.len()).any(|i| re_here(re, &text[i..]))
}

fn re_here(re: &[char], text: &[char]) -> bool {
    match re {
        [] => true,
        [c, '*', rest @ ..] => {
            let mut i = 0;
            loop {
                if re_here(rest, &text[i..]) {
                    return true;
                }
                if i < text.len() && (*c == '.' || text[i] == *c) {
                    i += 1;
                } else {
                    return false;
                }
            }
        }
        ['$'] => text.is_empty(),
        [c, rest @ ..] => {
            !text.is_empty() && (*c == '.' || *c == text[0]) && re_here(rest, &text[1..])
        }
    }
}

/// Applies output filters (`| include x`, JunOS `| match x`, ...) in order.
pub(crate) fn apply_filters(
    p: Platform,
    mut lines: Vec<String>,
    filters: &[(Filter, String)],
) -> Vec<String> {
    for (f, arg) in filters {
        let pat: Vec<char> = arg.trim().trim_matches('"').chars().collect();
        let m = |l: &String| re_match(&pat, &l.chars().collect::<Vec<_>>());
        lines = match f {
            Filter::Include => lines.into_iter().filter(|l| m(l)).collect(),
            Filter::Exclude => lines.into_iter().filter(|l| !m(l)).collect(),
            Filter::Begin => lines.into_iter().skip_while(|l| !m(l)).collect(),
            Filter::Section => {
                let mut keep = false;
                lines
                    .into_iter()
                    .filter(|l| {
                        if !l.starts_with(' ') {
                            keep = m(l);
                        }
                        keep
                    })
                    .collect()
            }
            Filter::Count => {
                let n = if pat.is_empty() {
                    lines.len()
                } else {
                    lines.iter().filter(|l| m(l)).count()
                };
                vec![match p {
                    Platform::Junos => format!("Count: {n} lines"),
                    _ => format!("Number of lines which match regexp = {n}"),
                }]
            }
            Filter::Last => {
                let n = arg.trim().parse().unwrap_or(lines.len());
                let skip = lines.len().saturating_sub(n);
                lines.into_iter().skip(skip).collect()
            }
            Filter::NoMore | Filter::DisplaySet => lines,
        };
    }
    lines
}
