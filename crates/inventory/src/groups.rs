//! The group graph of a Nornir-style inventory: parent references, cycles,
//! and each host's groups in inheritance order.
//!
//! The walks keep their own stacks instead of recursing, so that a long
//! chain of parent groups cannot overflow the thread's stack.

use std::collections::HashMap;

use crate::error::Problems;
use crate::fields::At;
use crate::model::Named;
use crate::suggest::did_you_mean;

/// A cycle longer than this is shown by its first groups only.
const CYCLE_SHOWN: usize = 8;

/// Every parent group must be defined.
pub(crate) fn check_refs(groups: &[Named], index: &HashMap<&str, usize>, p: &mut Problems) {
    for g in groups {
        for parent in &g.level.groups {
            if !index.contains_key(parent.value.as_str()) {
                // Candidates in file order, so ties are broken the same way every run.
                let hint = did_you_mean(&parent.value, groups.iter().map(|g| g.name.as_str()))
                    .unwrap_or_else(|| {
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
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; groups.len()];
    // Where an open group sits on the stack.
    let mut depth = vec![0usize; groups.len()];
    for start in 0..groups.len() {
        if state[start] != NEW {
            continue;
        }
        state[start] = OPEN;
        // (group, how many of its parents have been followed)
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(top) = stack.last_mut() {
            let (i, next) = *top;
            let Some(parent) = groups[i].level.groups.get(next) else {
                state[i] = DONE;
                stack.pop();
                continue;
            };
            top.1 += 1;
            let Some(&j) = index.get(parent.value.as_str()) else {
                continue;
            };
            match state[j] {
                NEW => {
                    state[j] = OPEN;
                    depth[j] = stack.len();
                    stack.push((j, 0));
                }
                OPEN => {
                    let cycle = &stack[depth[j]..];
                    let mut names: Vec<&str> = cycle
                        .iter()
                        .take(CYCLE_SHOWN)
                        .map(|&(k, _)| groups[k].name.as_str())
                        .collect();
                    let more;
                    if cycle.len() > CYCLE_SHOWN {
                        more = format!("... ({} groups in all)", cycle.len());
                        names.push(&more);
                    }
                    names.push(&groups[j].name);
                    p.push(
                        parent.pos,
                        format!(
                            "groups form a cycle: {}; remove one of these parent references",
                            names.join(" -> ")
                        ),
                    );
                }
                _ => {}
            }
        }
    }
}

/// Nornir order: each group, then its parents depth-first, first seen wins.
pub(crate) fn expand(
    refs: &[At<String>],
    groups: &[Named],
    index: &HashMap<&str, usize>,
) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen = vec![false; groups.len()];
    // (a list of group references, how many of them have been followed)
    let mut stack: Vec<(&[At<String>], usize)> = vec![(refs, 0)];
    while let Some(top) = stack.last_mut() {
        let (list, next) = *top;
        let Some(r) = list.get(next) else {
            stack.pop();
            continue;
        };
        top.1 += 1;
        if let Some(&i) = index.get(r.value.as_str())
            && !seen[i]
        {
            seen[i] = true;
            out.push(i);
            stack.push((&groups[i].level.groups, 0));
        }
    }
    out
}
