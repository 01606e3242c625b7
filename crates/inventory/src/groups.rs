//! The group graph of a Nornir-style inventory: parent references, cycles,
//! and each host's groups in inheritance order.

use std::collections::HashMap;

use crate::error::Problems;
use crate::fields::At;
use crate::resolve::Named;
use crate::suggest::did_you_mean;

/// Every parent group must be defined.
pub(crate) fn check_refs(groups: &[Named], index: &HashMap<&str, usize>, p: &mut Problems) {
    for g in groups {
        for parent in &g.level.groups {
            if !index.contains_key(parent.value.as_str()) {
                let hint =
                    did_you_mean(&parent.value, index.keys().copied()).unwrap_or_else(|| {
                        format!("define it under `groups:` or remove it from `{}`", g.name)
                    });
                p.push(
                    parent.pos,
                    format!(
                        "group `{}` has parent group `{}`, which is not defined; {hint}",
                        g.name, parent.value
                    ),
                );
            }
        }
    }
}

/// Parent references must not loop; each loop is reported once, at the
/// reference that closes it.
pub(crate) fn check_cycles(groups: &[Named], index: &HashMap<&str, usize>, p: &mut Problems) {
    fn visit(
        i: usize,
        groups: &[Named],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        stack: &mut Vec<usize>,
        p: &mut Problems,
    ) {
        state[i] = 1;
        stack.push(i);
        for parent in &groups[i].level.groups {
            let Some(&j) = index.get(parent.value.as_str()) else {
                continue;
            };
            if state[j] == 1 {
                let from = stack.iter().position(|&k| k == j).unwrap_or(0);
                let mut names: Vec<&str> = stack[from..]
                    .iter()
                    .map(|&k| groups[k].name.as_str())
                    .collect();
                names.push(&groups[j].name);
                p.push(
                    parent.pos,
                    format!(
                        "groups form a cycle: {}; remove one of these parent references",
                        names.join(" -> ")
                    ),
                );
            } else if state[j] == 0 {
                visit(j, groups, index, state, stack, p);
            }
        }
        stack.pop();
        state[i] = 2;
    }
    let mut state = vec![0u8; groups.len()];
    let mut stack = Vec::new();
    for i in 0..groups.len() {
        if state[i] == 0 {
            visit(i, groups, index, &mut state, &mut stack, p);
        }
    }
}

/// Nornir order: each group, then its parents depth-first, first seen wins.
pub(crate) fn expand(
    refs: &[At<String>],
    groups: &[Named],
    index: &HashMap<&str, usize>,
    out: &mut Vec<usize>,
) {
    for r in refs {
        if let Some(&i) = index.get(r.value.as_str())
            && !out.contains(&i)
        {
            out.push(i);
            expand(&groups[i].level.groups, groups, index, out);
        }
    }
}
