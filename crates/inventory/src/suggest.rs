//! "did you mean" suggestions for misspelt keys, groups and filter fields.

/// Optimal-string-alignment (restricted Damerau-Levenshtein) distance:
/// insertions, deletions, substitutions and adjacent transpositions cost 1.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// Words longer than this (in characters) get no suggestion: the distance
/// table grows with the product of the lengths.
const MAX_WORD: usize = 100;

/// The closest candidate within distance 2 (1 for words of 3-4 characters, 0
/// for shorter ones; ties: the first listed), compared case-insensitively.
/// Callers pass candidates in a fixed order (file order, or a constant list)
/// so that the suggestion is the same on every run.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let len = lower.chars().count();
    if len > MAX_WORD {
        return None;
    }
    // Very short words are too easy to "correct" into something unrelated.
    let limit = match len {
        0..=2 => 0,
        3..=4 => 1,
        _ => 2,
    };
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let other = candidate.to_lowercase();
        // The distance is at least the difference in length.
        if other.chars().count().abs_diff(len) > limit {
            continue;
        }
        let d = distance(&lower, &other);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `"did you mean `x`?"` for the closest candidate, if any is close.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("password", "password"), 0);
        assert_eq!(distance("pasword", "password"), 1);
        assert_eq!(distance("passwrod", "password"), 1);
        assert_eq!(distance("hostnmae", "hostname"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_candidate() {
        let keys = ["password", "port", "platform"];
        assert_eq!(closest("pasword", keys), Some("password"));
        assert_eq!(closest("PORT", keys), Some("port"));
        assert_eq!(closest("colour", keys), None);
        assert_eq!(
            did_you_mean("prot", keys).as_deref(),
            Some("did you mean `port`?")
        );
        assert_eq!(did_you_mean("zzzzzz", keys), None);
    }

    #[test]
    fn ties_go_to_the_first_candidate() {
        assert_eq!(closest("cora", ["core", "corb"]), Some("core"));
        assert_eq!(closest("cora", ["corb", "core"]), Some("corb"));
    }

    #[test]
    fn huge_words_get_no_suggestion() {
        let huge = "a".repeat(100_000);
        assert_eq!(closest(&huge, [huge.as_str()]), None);
    }
}
