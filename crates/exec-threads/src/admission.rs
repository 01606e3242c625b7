//! Which waiting host may start next under `--per-group` caps.
//!
//! Hosts wait in buckets keyed by the capped groups they belong to (hosts in
//! no capped group share the empty key, which is always admissible). The
//! next host is the earliest-queued head of any bucket whose groups all have
//! room, so hosts keep their inventory order wherever the caps allow, and
//! one full group never holds back hosts of other groups. A scan costs one
//! step per distinct bucket, not per waiting host.
//!
//! Shared by every executor that meters hosts itself: the thread pools and
//! the process executor's scheduler.

use std::collections::{BTreeMap, VecDeque};

use fanout_core::Target;

/// Which waiting host may start next under `--per-group` caps: hosts (by
/// index in the target list) wait in inventory order; the next one is the
/// earliest whose capped groups all have room, so a full group never holds
/// back hosts of other groups.
#[derive(Debug)]
pub struct Admission<'a> {
    caps: &'a BTreeMap<String, usize>,
    targets: &'a [Target],
    running: BTreeMap<&'a str, usize>,
    buckets: BTreeMap<Vec<&'a str>, VecDeque<usize>>,
    waiting: usize,
}

impl<'a> Admission<'a> {
    /// Every target (by index) waiting, none running; `caps` is
    /// `job.limits.per_group`.
    pub fn new(caps: &'a BTreeMap<String, usize>, targets: &'a [Target]) -> Self {
        let mut buckets: BTreeMap<Vec<&'a str>, VecDeque<usize>> = BTreeMap::new();
        for (index, target) in targets.iter().enumerate() {
            buckets
                .entry(Self::key(caps, target))
                .or_default()
                .push_back(index);
        }
        Self {
            caps,
            targets,
            running: BTreeMap::new(),
            buckets,
            waiting: targets.len(),
        }
    }

    /// Hosts still waiting.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// The capped groups of `target`, sorted and without duplicates.
    fn key(caps: &BTreeMap<String, usize>, target: &'a Target) -> Vec<&'a str> {
        let mut key: Vec<&'a str> = target
            .groups
            .iter()
            .map(String::as_str)
            .filter(|g| caps.contains_key(*g))
            .collect();
        key.sort_unstable();
        key.dedup();
        key
    }

    fn has_room(&self, key: &[&str]) -> bool {
        key.iter().all(|g| {
            let cap = self.caps.get(*g).copied().unwrap_or(usize::MAX);
            self.running.get(g).copied().unwrap_or(0) < cap
        })
    }

    /// Takes the next host allowed to start, counting it as running.
    pub fn admit(&mut self) -> Option<usize> {
        let (key, _) = self
            .buckets
            .iter()
            .filter(|(key, queue)| !queue.is_empty() && self.has_room(key))
            .filter_map(|(key, queue)| Some((key, *queue.front()?)))
            .min_by_key(|(_, index)| *index)?;
        let key = key.clone();
        let index = self.buckets.get_mut(&key)?.pop_front()?;
        for group in key {
            *self.running.entry(group).or_insert(0) += 1;
        }
        self.waiting -= 1;
        Some(index)
    }

    /// `target` stopped running: its groups get their slot back.
    pub fn finished(&mut self, target: &'a Target) {
        for group in Self::key(self.caps, target) {
            if let Some(n) = self.running.get_mut(group) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Undoes [`admit`](Self::admit) for host `index`, which could not start
    /// after all: it waits again, first in line.
    pub fn put_back(&mut self, index: usize) {
        let target = &self.targets[index];
        self.finished(target);
        self.buckets
            .entry(Self::key(self.caps, target))
            .or_default()
            .push_front(index);
        self.waiting += 1;
    }

    /// Takes every waiting host, in inventory order (none is counted as running).
    pub fn take_all(&mut self) -> Vec<usize> {
        let mut all: Vec<usize> = std::mem::take(&mut self.buckets)
            .into_values()
            .flatten()
            .collect();
        all.sort_unstable();
        self.waiting = 0;
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, groups: &[&str]) -> Target {
        let mut t = Target::new(name, "127.0.0.1");
        t.groups = groups.iter().map(|g| g.to_string()).collect();
        t
    }

    #[test]
    fn caps_hold_and_other_groups_overtake() {
        let targets = vec![
            target("a", &["core"]),
            target("b", &["core"]),
            target("c", &["edge"]),
            target("d", &["core", "lon"]),
            target("e", &[]),
        ];
        let caps = BTreeMap::from([("core".to_string(), 1), ("lon".to_string(), 5)]);
        let mut adm = Admission::new(&caps, &targets);
        assert_eq!(adm.admit(), Some(0));
        // b and d wait for core; c and e overtake them.
        assert_eq!(adm.admit(), Some(2));
        assert_eq!(adm.admit(), Some(4));
        assert_eq!(adm.admit(), None);
        adm.finished(&targets[0]);
        assert_eq!(adm.admit(), Some(1));
        assert_eq!(adm.admit(), None);
        adm.finished(&targets[1]);
        assert_eq!(adm.admit(), Some(3));
        assert_eq!(adm.admit(), None);
        assert_eq!(adm.waiting(), 0);
    }

    #[test]
    fn a_host_put_back_is_next_again_and_frees_its_group() {
        let targets = vec![
            target("a", &["core"]),
            target("b", &["core"]),
            target("c", &[]),
        ];
        let caps = BTreeMap::from([("core".to_string(), 1)]);
        let mut adm = Admission::new(&caps, &targets);
        assert_eq!(adm.waiting(), 3);
        assert_eq!(adm.admit(), Some(0));
        assert_eq!(adm.waiting(), 2);
        adm.put_back(0);
        assert_eq!(adm.waiting(), 3);
        assert_eq!(
            adm.admit(),
            Some(0),
            "first in line again, and core has room"
        );
        assert_eq!(adm.admit(), Some(2));
        assert_eq!(adm.take_all(), vec![1]);
        assert_eq!(adm.waiting(), 0);
    }

    #[test]
    fn no_caps_keeps_order_and_take_all_empties() {
        let targets: Vec<Target> = (0..5).map(|i| target(&format!("h{i}"), &["x"])).collect();
        let caps = BTreeMap::new();
        let mut adm = Admission::new(&caps, &targets);
        assert_eq!(adm.admit(), Some(0));
        assert_eq!(adm.admit(), Some(1));
        assert_eq!(adm.take_all(), vec![2, 3, 4]);
        assert_eq!(adm.admit(), None);
    }
}
