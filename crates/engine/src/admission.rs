//! Which waiting host may start next: the one admission rule of every
//! executor, sans I/O.
//!
//! Hosts (by index in the target list) wait in inventory order. The next
//! host is the earliest one whose capped groups (`--per-group`) all have
//! room, as long as fewer than the global cap (`-c`) run: a host whose
//! group is full waits without taking a global slot, and later hosts of
//! other groups overtake it. Hosts wait in buckets keyed by the set of
//! capped groups they belong to (hosts in no capped group share one
//! bucket, always admissible), so a step costs one look per distinct
//! bucket, not per waiting host. Counting a host in all its groups at once
//! means hosts in several capped groups can never deadlock.
//!
//! A scheduler whose workers keep warm state between hosts (the process
//! pool: each worker's HTTP keep-alive pool) can give hosts an affinity
//! key ([`set_affinity`](Admission::set_affinity)): a worker that ran a
//! host of key K is then offered the next waiting host of K first
//! ([`next_admissible_after`](Admission::next_admissible_after)), if its
//! groups have room, so one worker serves a device's hosts over the
//! connection it already has instead of every worker opening its own.
//!
//! `--per-jump N` adds no scheduling of its own: each distinct first jump
//! hop ([`jump_key`], address:port) is one more capped group, of cap N,
//! holding the hosts reached through it.
//!
//! [`Admission`] only counts; who waits for a slot and how is the
//! scheduler's: the thread pools and the process executor drive it from
//! their event loops, the async executor through
//! [`AsyncAdmission`](crate::nonblocking::AsyncAdmission).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;

use fanout_core::{Limits, Target};

/// The implicit group of `--per-jump` a target belongs to:
/// `jump:ADDRESS:PORT` of its first jump hop (`[v6]:PORT` for IPv6), the
/// connection a bastion's `MaxStartups` counts; `None` when it is dialled
/// directly (or through a ProxyCommand only).
pub fn jump_key(target: &Target) -> Option<String> {
    let hop = target.reach.jump.first()?;
    Some(if hop.host.contains(':') {
        format!("jump:[{}]:{}", hop.host, hop.port)
    } else {
        format!("jump:{}:{}", hop.host, hop.port)
    })
}

/// Which waiting host may start next under the global and per-group caps.
#[derive(Clone, Debug)]
pub struct Admission {
    /// Hosts allowed to run at once.
    global: usize,
    /// Hosts admitted and not released.
    running: usize,
    /// Hosts not admitted yet.
    waiting: usize,
    /// Each capped group's cap, by group id.
    caps: Vec<usize>,
    /// Hosts of each capped group running now, by group id.
    running_in: Vec<usize>,
    buckets: Vec<Bucket>,
    /// The bucket of each host.
    bucket_of: Vec<usize>,
    /// Hosts by affinity key, when the scheduler gave keys.
    affinity: Option<Affinity>,
}

/// The waiting hosts of each affinity key. A host taken through one queue
/// stays in the other (its bucket's or its key's) until it reaches the
/// front and is found not waiting: queues may hold stale and repeated
/// entries, `waiting` is the truth.
#[derive(Clone, Debug)]
struct Affinity {
    /// Each host's key id ([`NO_KEY`]: none).
    key_of: Vec<u32>,
    /// Waiting hosts of each key, in inventory order.
    queues: Vec<VecDeque<usize>>,
    /// Whether each host is waiting.
    waiting: Vec<bool>,
}

/// The key id of a host without an affinity key.
const NO_KEY: u32 = u32::MAX;

impl Affinity {
    fn is_waiting(&self, index: usize) -> bool {
        self.waiting[index]
    }
}

/// Whether the hosts of `groups` may start: each of their groups has room.
fn room(caps: &[usize], running_in: &[usize], groups: &[usize]) -> bool {
    groups.iter().all(|g| running_in[*g] < caps[*g])
}

/// Hosts waiting that belong to the same capped groups.
#[derive(Clone, Debug)]
struct Bucket {
    /// The capped groups (ids), sorted, without duplicates.
    groups: Vec<usize>,
    /// Waiting hosts, in inventory order.
    queue: VecDeque<usize>,
}

impl Admission {
    /// Every target waiting, none running: at most `global` hosts at once,
    /// and at most `caps[group]` of a group's hosts (`job.limits.per_group`).
    pub fn new(targets: &[Target], caps: &BTreeMap<String, usize>, global: usize) -> Self {
        Self::build(targets, caps, None, global)
    }

    /// [`new`](Self::new) under all of a job's caps: `limits.per_group`,
    /// and `limits.per_jump`, which makes each distinct first jump hop
    /// ([`jump_key`]) an implicit capped group of the hosts reached
    /// through it. Hosts dialled directly are in no jump group.
    pub fn for_limits(targets: &[Target], limits: &Limits, global: usize) -> Self {
        Self::build(targets, &limits.per_group, limits.per_jump, global)
    }

    fn build(
        targets: &[Target],
        caps: &BTreeMap<String, usize>,
        per_jump: Option<usize>,
        global: usize,
    ) -> Self {
        let ids: BTreeMap<&str, usize> = caps
            .keys()
            .enumerate()
            .map(|(i, g)| (g.as_str(), i))
            .collect();
        let mut cap_of: Vec<usize> = caps.values().copied().collect();
        // Jump groups are numbered after the named groups, in a namespace
        // of their own: a `--per-group` group spelled `jump:...` is not one.
        let mut jump_ids: HashMap<String, usize> = HashMap::new();
        let mut buckets = Vec::new();
        let mut bucket_of = Vec::with_capacity(targets.len());
        if caps.is_empty() && per_jump.is_none() {
            buckets.push(Bucket {
                groups: Vec::new(),
                queue: (0..targets.len()).collect(),
            });
            bucket_of.resize(targets.len(), 0);
        } else {
            let mut by_key: HashMap<Vec<usize>, usize> = HashMap::new();
            for (index, target) in targets.iter().enumerate() {
                let mut key: Vec<usize> = target
                    .groups
                    .iter()
                    .filter_map(|g| ids.get(g.as_str()).copied())
                    .collect();
                if let (Some(cap), Some(jump)) = (per_jump, jump_key(target)) {
                    let id = *jump_ids.entry(jump).or_insert_with(|| {
                        cap_of.push(cap);
                        cap_of.len() - 1
                    });
                    key.push(id);
                }
                key.sort_unstable();
                key.dedup();
                let bucket = *by_key.entry(key).or_insert_with_key(|key| {
                    buckets.push(Bucket {
                        groups: key.clone(),
                        queue: VecDeque::new(),
                    });
                    buckets.len() - 1
                });
                buckets[bucket].queue.push_back(index);
                bucket_of.push(bucket);
            }
        }
        Self {
            global,
            running: 0,
            waiting: targets.len(),
            running_in: vec![0; cap_of.len()],
            caps: cap_of,
            buckets,
            bucket_of,
            affinity: None,
        }
    }

    /// Gives every host (in target order) its affinity key, `None` for a
    /// host that shares nothing with others; see the module docs. Call
    /// before the first host is taken.
    pub fn set_affinity<K: Hash + Eq>(&mut self, keys: impl IntoIterator<Item = Option<K>>) {
        let mut ids: HashMap<K, u32> = HashMap::new();
        let mut queues: Vec<VecDeque<usize>> = Vec::new();
        let mut key_of = Vec::with_capacity(self.bucket_of.len());
        for (index, key) in keys.into_iter().take(self.bucket_of.len()).enumerate() {
            let id = match key {
                Some(key) => *ids.entry(key).or_insert_with(|| {
                    queues.push(VecDeque::new());
                    (queues.len() - 1) as u32
                }),
                None => NO_KEY,
            };
            if id != NO_KEY {
                queues[id as usize].push_back(index);
            }
            key_of.push(id);
        }
        key_of.resize(self.bucket_of.len(), NO_KEY);
        if queues.is_empty() {
            self.affinity = None;
            return;
        }
        self.affinity = Some(Affinity {
            key_of,
            queues,
            waiting: vec![true; self.bucket_of.len()],
        });
    }

    /// Hosts still waiting.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Hosts admitted and not released yet.
    pub fn running(&self) -> usize {
        self.running
    }

    fn has_room(&self, bucket: &Bucket) -> bool {
        room(&self.caps, &self.running_in, &bucket.groups)
    }

    /// Counts host `index` (of `bucket`) as running: globally, in its
    /// groups, and no longer waiting.
    fn admit(&mut self, index: usize, bucket: usize) {
        for g in &self.buckets[bucket].groups {
            self.running_in[*g] += 1;
        }
        self.running += 1;
        self.waiting -= 1;
        if let Some(affinity) = &mut self.affinity {
            affinity.waiting[index] = false;
        }
    }

    /// [`next_admissible`](Self::next_admissible), preferring the earliest
    /// waiting host with the affinity key of `previous` (the host the
    /// asking worker ran last) when its groups have room.
    pub fn next_admissible_after(&mut self, previous: Option<usize>) -> Option<usize> {
        if self.running >= self.global {
            return None;
        }
        if let (Some(previous), Some(affinity)) = (previous, &mut self.affinity) {
            let key = affinity.key_of.get(previous).copied().unwrap_or(NO_KEY);
            if key != NO_KEY {
                let queue = &mut affinity.queues[key as usize];
                while queue.front().is_some_and(|i| !affinity.waiting[*i]) {
                    queue.pop_front();
                }
                if let Some(&index) = queue.front() {
                    let bucket = self.bucket_of[index];
                    if room(&self.caps, &self.running_in, &self.buckets[bucket].groups) {
                        queue.pop_front();
                        self.admit(index, bucket);
                        return Some(index);
                    }
                }
            }
        }
        self.next_admissible()
    }

    /// The earliest waiting host allowed to start now, counted as running
    /// (in the global count and in each of its capped groups); `None` when
    /// the global cap is reached, nothing waits, or every waiting host
    /// belongs to a full group.
    pub fn next_admissible(&mut self) -> Option<usize> {
        if self.running >= self.global {
            return None;
        }
        if let Some(affinity) = &self.affinity {
            // Hosts taken by key leave their bucket's queue here.
            for b in &mut self.buckets {
                while b.queue.front().is_some_and(|i| !affinity.is_waiting(*i)) {
                    b.queue.pop_front();
                }
            }
        }
        let bucket = self
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| self.has_room(b))
            .filter_map(|(i, b)| Some((*b.queue.front()?, i)))
            .min()?
            .1;
        let index = self.buckets[bucket].queue.pop_front()?;
        self.admit(index, bucket);
        Some(index)
    }

    /// Host `index` stopped running: the global count and its groups get
    /// their slot back.
    pub fn release(&mut self, index: usize) {
        let bucket = &self.buckets[self.bucket_of[index]];
        for g in &bucket.groups {
            self.running_in[*g] = self.running_in[*g].saturating_sub(1);
        }
        self.running = self.running.saturating_sub(1);
    }

    /// Undoes [`next_admissible`](Self::next_admissible) for host `index`,
    /// which could not start after all: it waits again, first in line.
    pub fn put_back(&mut self, index: usize) {
        self.release(index);
        self.buckets[self.bucket_of[index]].queue.push_front(index);
        self.waiting += 1;
        if let Some(affinity) = &mut self.affinity {
            affinity.waiting[index] = true;
            let key = affinity.key_of[index];
            if key != NO_KEY {
                affinity.queues[key as usize].push_front(index);
            }
        }
    }

    /// Takes every waiting host, in inventory order (none is counted as
    /// running): on cancellation, or to hand every host out at once when
    /// the scheduler bounds concurrency by itself.
    pub fn take_all(&mut self) -> Vec<usize> {
        let mut all: Vec<usize> = self
            .buckets
            .iter_mut()
            .flat_map(|b| std::mem::take(&mut b.queue))
            .collect();
        if let Some(affinity) = &mut self.affinity {
            all.retain(|i| affinity.waiting[*i]);
            affinity.waiting.fill(false);
            affinity.queues.iter_mut().for_each(VecDeque::clear);
        }
        all.sort_unstable();
        all.dedup();
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

    fn behind(name: &str, groups: &[&str], hops: &[(&str, u16)]) -> Target {
        let mut t = target(name, groups);
        t.reach.jump = hops
            .iter()
            .map(|(host, port)| fanout_core::JumpHop {
                host: host.to_string(),
                port: *port,
                user: Some(format!("user-of-{name}")),
                ..fanout_core::JumpHop::default()
            })
            .collect();
        t
    }

    #[test]
    fn per_jump_caps_each_first_hop_by_address_and_port() {
        let targets = vec![
            behind("a1", &[], &[("127.0.0.1", 2201)]),
            // Same first hop (another user, another second hop): same group.
            behind("a2", &[], &[("127.0.0.1", 2201), ("127.0.0.1", 2202)]),
            behind("a3", &[], &[("127.0.0.1", 2201)]),
            behind("b1", &[], &[("127.0.0.1", 2202)]),
            behind("b2", &[], &[("127.0.0.1", 2202)]),
            target("direct1", &[]),
            target("direct2", &[]),
        ];
        assert_eq!(
            jump_key(&targets[1]).as_deref(),
            Some("jump:127.0.0.1:2201")
        );
        assert_eq!(jump_key(&targets[5]), None, "no hop, no jump group");
        assert_eq!(
            jump_key(&behind("v6", &[], &[("::1", 22)])).as_deref(),
            Some("jump:[::1]:22")
        );
        let limits = Limits {
            per_jump: Some(2),
            ..Limits::default()
        };
        let mut adm = Admission::for_limits(&targets, &limits, usize::MAX);
        let mut first: Vec<usize> = std::iter::from_fn(|| adm.next_admissible()).collect();
        first.sort_unstable();
        assert_eq!(
            first,
            vec![0, 1, 3, 4, 5, 6],
            "two through 2201, two through 2202, the direct hosts uncapped"
        );
        adm.release(3);
        assert_eq!(
            adm.next_admissible(),
            None,
            "2202's slot does not serve 2201"
        );
        adm.release(1);
        assert_eq!(adm.next_admissible(), Some(2));
        assert_eq!(adm.waiting(), 0);
        // Without --per-jump the hops are not groups at all.
        let mut free = Admission::for_limits(&targets, &Limits::default(), usize::MAX);
        assert_eq!(std::iter::from_fn(|| free.next_admissible()).count(), 7);
    }

    #[test]
    fn per_jump_and_per_group_both_hold_and_do_not_share_names() {
        let targets = vec![
            behind("c1", &["core"], &[("10.0.0.1", 22)]),
            behind("c2", &["core"], &[("10.0.0.1", 22)]),
            behind("e1", &["jump:10.0.0.1:22"], &[("10.0.0.9", 22)]),
            behind("e2", &["jump:10.0.0.1:22"], &[("10.0.0.9", 22)]),
        ];
        let limits = Limits {
            per_group: BTreeMap::from([
                ("core".to_string(), 1),
                ("jump:10.0.0.1:22".to_string(), 5),
            ]),
            per_jump: Some(1),
            ..Limits::default()
        };
        let mut adm = Admission::for_limits(&targets, &limits, usize::MAX);
        assert_eq!(adm.next_admissible(), Some(0));
        assert_eq!(
            adm.next_admissible(),
            Some(2),
            "e1's group named like c1's hop is not that hop's cap"
        );
        assert_eq!(adm.next_admissible(), None, "core=1 and one per hop");
        adm.release(2);
        assert_eq!(adm.next_admissible(), Some(3));
        adm.release(0);
        assert_eq!(adm.next_admissible(), Some(1));
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
        let mut adm = Admission::new(&targets, &caps, usize::MAX);
        assert_eq!(adm.next_admissible(), Some(0));
        // b and d wait for core; c and e overtake them.
        assert_eq!(adm.next_admissible(), Some(2));
        assert_eq!(adm.next_admissible(), Some(4));
        assert_eq!(adm.next_admissible(), None);
        adm.release(0);
        assert_eq!(adm.next_admissible(), Some(1));
        assert_eq!(adm.next_admissible(), None);
        adm.release(1);
        assert_eq!(adm.next_admissible(), Some(3));
        assert_eq!(adm.next_admissible(), None);
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
        let mut adm = Admission::new(&targets, &caps, usize::MAX);
        assert_eq!(adm.waiting(), 3);
        assert_eq!(adm.next_admissible(), Some(0));
        assert_eq!(adm.waiting(), 2);
        adm.put_back(0);
        assert_eq!(adm.waiting(), 3);
        assert_eq!(
            adm.next_admissible(),
            Some(0),
            "first in line again, and core has room"
        );
        assert_eq!(adm.next_admissible(), Some(2));
        assert_eq!(adm.take_all(), vec![1]);
        assert_eq!(adm.waiting(), 0);
    }

    #[test]
    fn a_worker_is_offered_its_last_hosts_key_first() {
        // Two devices, their hosts interleaved as an inventory lists them.
        let targets: Vec<Target> = (0..6).map(|i| target(&format!("h{i}"), &[])).collect();
        let device = |i: usize| Some(i % 2);
        let mut adm = Admission::new(&targets, &BTreeMap::new(), 2);
        adm.set_affinity((0..6).map(device));
        assert_eq!(adm.next_admissible_after(None), Some(0));
        assert_eq!(adm.next_admissible_after(None), Some(1));
        adm.release(1);
        // The worker that ran h1 (device 1) gets h3, not h2 (device 0).
        assert_eq!(adm.next_admissible_after(Some(1)), Some(3));
        adm.release(0);
        assert_eq!(adm.next_admissible_after(Some(0)), Some(2));
        adm.release(3);
        adm.release(2);
        // In inventory order without a previous host; the keyed host taken
        // earlier is not offered twice.
        assert_eq!(adm.next_admissible_after(None), Some(4));
        assert_eq!(
            adm.next_admissible_after(Some(4)),
            Some(5),
            "device 0 has none left"
        );
        assert_eq!(adm.next_admissible_after(None), None);
        assert_eq!(adm.waiting(), 0);
    }

    #[test]
    fn affinity_keeps_caps_put_back_and_take_all_exact() {
        let targets = vec![
            target("a", &["core"]),
            target("b", &["core"]),
            target("c", &[]),
            target("d", &[]),
            target("e", &[]),
        ];
        let caps = BTreeMap::from([("core".to_string(), 1)]);
        let mut adm = Admission::new(&targets, &caps, usize::MAX);
        // a, b and d share a key; c and e have none.
        adm.set_affinity([Some("x"), Some("x"), None, Some("x"), None]);
        assert_eq!(adm.next_admissible_after(None), Some(0));
        // b shares a's key but core is full: the next admissible instead.
        assert_eq!(adm.next_admissible_after(Some(0)), Some(2));
        assert_eq!(adm.next_admissible_after(Some(0)), Some(3));
        adm.put_back(3);
        assert_eq!(adm.waiting(), 3);
        adm.release(0);
        assert_eq!(
            adm.next_admissible_after(Some(0)),
            Some(3),
            "a host put back is first in line for its key too"
        );
        assert_eq!(adm.next_admissible_after(Some(3)), Some(1), "core has room");
        adm.put_back(1);
        assert_eq!(adm.waiting(), 2);
        assert_eq!(adm.take_all(), vec![1, 4], "each waiting host once");
        assert_eq!(adm.waiting(), 0);
        assert_eq!(adm.next_admissible_after(Some(0)), None);
    }

    #[test]
    fn no_keys_is_no_affinity() {
        let targets: Vec<Target> = (0..3).map(|i| target(&format!("h{i}"), &[])).collect();
        let mut adm = Admission::new(&targets, &BTreeMap::new(), usize::MAX);
        adm.set_affinity([None::<u8>, None, None]);
        assert!(adm.affinity.is_none());
        assert_eq!(adm.next_admissible_after(Some(2)), Some(0));
    }

    #[test]
    fn no_caps_keeps_order_and_take_all_empties() {
        let targets: Vec<Target> = (0..5).map(|i| target(&format!("h{i}"), &["x"])).collect();
        let caps = BTreeMap::new();
        let mut adm = Admission::new(&targets, &caps, usize::MAX);
        assert_eq!(adm.next_admissible(), Some(0));
        assert_eq!(adm.next_admissible(), Some(1));
        assert_eq!(adm.take_all(), vec![2, 3, 4]);
        assert_eq!(adm.next_admissible(), None);
    }

    #[test]
    fn the_global_cap_holds_and_a_blocked_host_takes_no_global_slot() {
        let targets = vec![
            target("a", &["core"]),
            target("b", &["core"]),
            target("c", &["edge"]),
            target("d", &["edge"]),
        ];
        let caps = BTreeMap::from([("core".to_string(), 1)]);
        let mut adm = Admission::new(&targets, &caps, 2);
        assert_eq!(adm.next_admissible(), Some(0));
        // b waits for core without holding a global slot: c gets it.
        assert_eq!(adm.next_admissible(), Some(2));
        assert_eq!(adm.running(), 2);
        assert_eq!(adm.next_admissible(), None, "-c 2 reached");
        adm.release(2);
        assert_eq!(adm.next_admissible(), Some(3), "core is still full");
        adm.release(0);
        assert_eq!(adm.next_admissible(), Some(1));
        assert_eq!((adm.running(), adm.waiting()), (2, 0));
    }

    #[test]
    fn hosts_in_several_capped_groups_count_in_each_once() {
        let targets = vec![
            target("ab1", &["a", "b"]),
            target("ba1", &["b", "a"]),
            target("a1", &["a"]),
            target("b1", &["b"]),
            target("ab2", &["b", "a", "b"]),
            target("free", &[]),
        ];
        let caps = BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 2)]);
        let mut adm = Admission::new(&targets, &caps, usize::MAX);
        assert_eq!(adm.next_admissible(), Some(0), "a=1, b=1");
        assert_eq!(adm.next_admissible(), Some(3), "b1 fits b's second slot");
        assert_eq!(adm.next_admissible(), Some(5), "then the free host");
        assert_eq!(adm.next_admissible(), None);
        adm.release(0);
        assert_eq!(adm.next_admissible(), Some(1), "ba1: same groups as ab1");
        adm.release(1);
        adm.release(3);
        assert_eq!(adm.next_admissible(), Some(2));
        assert_eq!(adm.next_admissible(), None, "a is full: ab2 waits");
        adm.release(2);
        assert_eq!(
            adm.next_admissible(),
            Some(4),
            "ab2's duplicate b counts once"
        );
        assert_eq!(adm.waiting(), 0);
    }
}
