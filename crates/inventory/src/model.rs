//! What every inventory format is read into — defaults, groups and hosts,
//! each a [`Level`] of settings as written (secrets unresolved) — and how a
//! model resolves into targets: each host's levels in order of precedence.

use std::collections::{HashMap, HashSet};

use crate::error::Problems;
use crate::fields::{At, Level};
use crate::groups::{check_cycles, check_refs, expand};
use crate::resolve::{Built, Context, Missing, assemble, report_unset};
use crate::suggest::did_you_mean;
use crate::yaml::Pos;

/// A group or a host.
#[derive(Debug)]
pub(crate) struct Named {
    pub(crate) name: String,
    pub(crate) pos: Pos,
    pub(crate) level: Level,
}

/// How a host's groups are ordered (the first one setting a field wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupOrder {
    /// Groups are tags without settings (a device list, NetBox): in the
    /// order the host lists them; they need no definition.
    Tags,
    /// Nornir: each group, then its parents depth-first.
    Nornir,
    /// Ansible: every group the host is in, directly or through children,
    /// deepest first, then by `ansible_group_priority`, then by name (Z-A).
    Ansible,
}

/// An inventory as written, before inheritance.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) defaults: Level,
    pub(crate) groups: Vec<Named>,
    pub(crate) hosts: Vec<Named>,
    /// The top-level `known_hosts:` as written.
    pub(crate) known_hosts: Option<At<String>>,
    /// The top-level `ca_file:` as written.
    pub(crate) ca_file: Option<At<String>>,
    pub(crate) order: GroupOrder,
    /// Where groups are defined, for "not defined" messages.
    pub(crate) groups_home: &'static str,
    /// A host without an address is reached at its name (Ansible).
    pub(crate) name_is_address: bool,
}

impl Model {
    pub(crate) fn new(order: GroupOrder) -> Model {
        Model {
            defaults: Level::default(),
            groups: Vec::new(),
            hosts: Vec::new(),
            known_hosts: None,
            ca_file: None,
            order,
            groups_home: "under `groups:`",
            name_is_address: false,
        }
    }
}

/// Resolves every host of `model`; every problem goes to `p`.
pub(crate) fn resolve(model: &Model, cx: &Context<'_>, p: &mut Problems) -> Built {
    let mut built = Built {
        known_hosts: model.known_hosts.as_ref().map(|k| cx.path(&k.value)),
        ca_file: model.ca_file.as_ref().map(|k| cx.path(&k.value)),
        // Sized once: growing 100,000 targets step by step copies them all twice.
        targets: Vec::with_capacity(model.hosts.len()),
        ..Built::default()
    };
    let mut missing = Missing::default();
    let groups = &model.groups;
    let index: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.as_str(), i))
        .collect();
    let depth = match model.order {
        GroupOrder::Tags => {
            let mut seen: HashSet<&str> = HashSet::new();
            for h in &model.hosts {
                for g in &h.level.groups {
                    if seen.insert(&g.value) {
                        built.groups.push(g.value.clone());
                    }
                }
            }
            Vec::new()
        }
        GroupOrder::Nornir | GroupOrder::Ansible => {
            built.groups = groups.iter().map(|g| g.name.clone()).collect();
            check_refs(groups, &index, p);
            check_cycles(groups, &index, p);
            if model.order == GroupOrder::Ansible {
                depths(groups, &index)
            } else {
                Vec::new()
            }
        }
    };
    let mut scratch: Vec<&Level> = Vec::new();
    for host in &model.hosts {
        let (order, names): (Vec<usize>, Vec<String>) = match model.order {
            GroupOrder::Tags => {
                let mut own: HashSet<&str> = HashSet::new();
                let names = host
                    .level
                    .groups
                    .iter()
                    .filter(|g| own.insert(&g.value))
                    .map(|g| g.value.clone())
                    .collect();
                (Vec::new(), names)
            }
            GroupOrder::Nornir | GroupOrder::Ansible => {
                undefined_groups(model, host, &index, p);
                let order = ordered(model, host, &index, &depth);
                let names = order.iter().map(|&i| groups[i].name.clone()).collect();
                (order, names)
            }
        };
        scratch.clear();
        // Connection options of every level first, then the levels.
        scratch.extend(host.level.conn.as_deref());
        scratch.extend(
            order
                .iter()
                .filter_map(|&i| groups[i].level.conn.as_deref()),
        );
        scratch.extend(model.defaults.conn.as_deref());
        scratch.push(&host.level);
        scratch.extend(order.iter().map(|&i| &groups[i].level));
        scratch.push(&model.defaults);
        scratch.push(cx.extra);
        let address = match scratch.iter().find_map(|l| l.hostname.as_ref()) {
            Some(address) => address.value.as_str(),
            None if model.name_is_address => host.name.as_str(),
            None => {
                if !host.level.address_reported {
                    p.push(
                        host.pos,
                        format!(
                            "host `{}` has no address; add `hostname: ADDRESS` to it, to one of its groups or to defaults",
                            host.name
                        ),
                    );
                }
                continue;
            }
        };
        let mut target = assemble(&host.name, address, &scratch, names, cx, p, &mut missing);
        target.ca_file = built.ca_file.clone();
        built.targets.push(target);
    }
    report_unset(missing, p);
    built
}

/// The groups `host` takes settings from, first one first (Nornir or
/// Ansible order; `depth` is needed for Ansible's).
fn ordered(
    model: &Model,
    host: &Named,
    index: &HashMap<&str, usize>,
    depth: &[usize],
) -> Vec<usize> {
    let groups = &model.groups;
    let mut order = expand(&host.level.groups, groups, index);
    if model.order == GroupOrder::Ansible {
        order.sort_by_key(|&i| {
            let g = &groups[i];
            let priority = g.level.priority.as_ref().map_or(1, |p| p.value);
            std::cmp::Reverse((depth[i], priority, g.name.as_str()))
        });
    }
    order
}

/// Every host's groups in the order it takes settings from them (for
/// writing a model whose group order another format cannot express).
pub(crate) fn host_orders(model: &Model) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = model
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.as_str(), i))
        .collect();
    let depth = if model.order == GroupOrder::Ansible {
        depths(&model.groups, &index)
    } else {
        Vec::new()
    };
    model
        .hosts
        .iter()
        .map(|h| ordered(model, h, &index, &depth))
        .collect()
}

/// A host's groups must be defined.
fn undefined_groups(model: &Model, host: &Named, index: &HashMap<&str, usize>, p: &mut Problems) {
    for g in &host.level.groups {
        if !index.contains_key(g.value.as_str()) {
            let hint = did_you_mean(&g.value, model.groups.iter().map(|g| g.name.as_str()))
                .unwrap_or_else(|| {
                    format!("define it {} (`{}: {{}}`)", model.groups_home, g.value)
                });
            p.push(
                g.pos,
                format!(
                    "host `{}` is in group `{}`, which is not defined {}; {hint}",
                    host.name, g.value, model.groups_home
                ),
            );
        }
    }
}

/// Each group's depth below `all`: 1 + the deepest of its parents (a group
/// without parents is 1). Cycles (reported elsewhere) stop the walk.
fn depths(groups: &[Named], index: &HashMap<&str, usize>) -> Vec<usize> {
    let mut depth = vec![0usize; groups.len()];
    for start in 0..groups.len() {
        if depth[start] != 0 {
            continue;
        }
        // (group, parents followed so far, deepest parent so far)
        let mut stack: Vec<(usize, usize, usize)> = vec![(start, 0, 0)];
        let mut open: HashSet<usize> = HashSet::from([start]);
        while let Some(&mut (i, next, deepest)) = stack.last_mut() {
            let parent = groups[i]
                .level
                .groups
                .get(next)
                .and_then(|g| index.get(g.value.as_str()).copied());
            match (groups[i].level.groups.get(next), parent) {
                (None, _) => {
                    depth[i] = deepest + 1;
                    open.remove(&i);
                    stack.pop();
                    if let Some(top) = stack.last_mut() {
                        top.2 = top.2.max(depth[i]);
                    }
                }
                (Some(_), Some(j)) if depth[j] == 0 && !open.contains(&j) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    open.insert(j);
                    stack.push((j, 0, 0));
                }
                (Some(_), Some(j)) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                        top.2 = top.2.max(depth[j]);
                    }
                }
                (Some(_), None) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                }
            }
        }
    }
    depth
}
