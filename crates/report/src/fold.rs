//! Folding identical outputs across hosts, like `clush -b` / `dshbak -c`.

use std::collections::{BTreeMap, BTreeSet};

use fanout_core::HostOutcome;

/// One distinct output and the hosts that printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoldedOutput {
    /// Host names in the order their outcomes arrived.
    pub hosts: Vec<String>,
    /// The output text (commands headed by `--- command` when several).
    pub text: String,
}

/// The text a host printed, as folded and as written to its output file:
/// one command's stdout as is; several commands each headed by `--- CMD`.
/// Standard error, when the transport separates it, follows as `--- stderr`.
pub fn output_text(outcome: &HostOutcome) -> String {
    let several = outcome.outputs.len() > 1;
    let mut text = String::new();
    for out in &outcome.outputs {
        if several {
            // An output that ends mid-line (a device's question) still
            // leaves the next header on a line of its own.
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("--- {}\n", out.command));
        }
        text.push_str(&out.stdout);
        if let Some(err) = out.stderr.as_deref().filter(|e| !e.is_empty()) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str("--- stderr\n");
            text.push_str(err);
        }
    }
    text
}

/// Groups hosts with identical output; hosts without output are left out.
/// Groups are ordered by their first host's arrival.
pub fn fold_outputs(outcomes: &[HostOutcome]) -> Vec<FoldedOutput> {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut folded: Vec<FoldedOutput> = Vec::new();
    for o in outcomes {
        let text = output_text(o);
        if text.is_empty() {
            continue;
        }
        match index.get(&text) {
            Some(&i) => folded[i].hosts.push(o.host.clone()),
            None => {
                index.insert(text.clone(), folded.len());
                folded.push(FoldedOutput {
                    hosts: vec![o.host.clone()],
                    text,
                });
            }
        }
    }
    folded
}

/// Compresses host names the way clush does: `r1,r2,r3,r7` → `r[1-3,7]`.
/// Names are grouped by their prefix before a trailing number (zero-padded
/// numbers only with numbers of the same width); anything else is listed
/// as is.
pub fn fold_names(names: &[String]) -> String {
    let split = |name: &str| -> Option<(String, String)> {
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, num) = name.split_at(name.len() - digits);
        (digits > 0 && digits <= 18).then(|| (prefix.to_string(), num.to_string()))
    };
    // Widths of zero-padded numbers per prefix: h01 makes h10 join width 2.
    let padded: BTreeSet<(String, usize)> = names
        .iter()
        .filter_map(|n| split(n))
        .filter(|(_, num)| num.len() > 1 && num.starts_with('0'))
        .map(|(prefix, num)| (prefix, num.len()))
        .collect();
    let mut groups: BTreeMap<(String, usize), Vec<u64>> = BTreeMap::new();
    let mut plain: Vec<String> = Vec::new();
    for name in names {
        match split(name).and_then(|(p, num)| Some((num.parse::<u64>().ok()?, p, num))) {
            Some((n, prefix, num)) => {
                let key = (prefix, num.len());
                let width = if padded.contains(&key) { num.len() } else { 0 };
                groups.entry((key.0, width)).or_default().push(n);
            }
            None => plain.push(name.clone()),
        }
    }
    let mut parts = plain;
    for ((prefix, width), mut nums) in groups {
        nums.sort_unstable();
        nums.dedup();
        if nums.len() == 1 {
            parts.push(format!("{prefix}{:0width$}", nums[0]));
            continue;
        }
        let mut ranges: Vec<String> = Vec::new();
        let mut start = nums[0];
        let mut prev = nums[0];
        for &n in &nums[1..] {
            if n != prev + 1 {
                ranges.push(range(start, prev, width));
                start = n;
            }
            prev = n;
        }
        ranges.push(range(start, prev, width));
        parts.push(format!("{prefix}[{}]", ranges.join(",")));
    }
    parts.join(",")
}

fn range(a: u64, b: u64, width: usize) -> String {
    if a == b {
        format!("{a:0width$}")
    } else {
        format!("{a:0width$}-{b:0width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::Worker;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn folds_numeric_ranges() {
        assert_eq!(fold_names(&names(&["r1", "r2", "r3", "r7"])), "r[1-3,7]");
        assert_eq!(fold_names(&names(&["h01", "h02", "h10"])), "h[01-02,10]");
        let r: Vec<String> = (1..=12).map(|i| format!("r{i}")).collect();
        assert_eq!(fold_names(&r), "r[1-12]");
        assert_eq!(fold_names(&names(&["core", "r5"])), "core,r5");
        assert_eq!(fold_names(&names(&["sw1", "r1", "r2"])), "r[1-2],sw1");
    }

    #[test]
    fn identical_outputs_fold_together() {
        let o = crate::sample_outcome;
        let folded = fold_outputs(&[
            o("a", "x\n"),
            o("b", "y\n"),
            o("c", "x\n"),
            HostOutcome::ok("d", vec![], Worker::Thread(0)),
        ]);
        assert_eq!(folded.len(), 2);
        assert_eq!(folded[0].hosts, ["a", "c"]);
        assert_eq!(folded[1].text, "y\n");
    }

    #[test]
    fn an_output_ending_mid_line_keeps_the_next_header_on_its_own_line() {
        let out = |command: &str, stdout: &str| fanout_core::CommandOutput {
            command: command.into(),
            stdout: stdout.into(),
            stderr: None,
            exit_status: None,
            ..Default::default()
        };
        let o = HostOutcome::ok(
            "r1",
            vec![
                out("copy run start", "Destination filename [startup-config]?"),
                out("", "[OK]\n"),
            ],
            Worker::Thread(0),
        );
        assert_eq!(
            output_text(&o),
            "--- copy run start\nDestination filename [startup-config]?\n--- \n[OK]\n"
        );
    }
}
