//! The tokio waiter around [`Admission`]: host tasks hold an [`Admitted`]
//! slot and give it back when they drop it; the scheduler waits for a slot
//! without polling.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::admission::Admission;

/// An [`Admission`] shared by a run's scheduler and its host tasks.
#[derive(Debug)]
pub struct AsyncAdmission {
    state: Mutex<Admission>,
    /// One permit per slot given back (at most one stored while nobody
    /// waits): wakes the scheduler.
    freed: Notify,
}

/// What [`AsyncAdmission::try_admit`] found.
#[derive(Debug)]
pub enum Admit {
    /// This host may start now; it holds its slot until the guard drops.
    Host(Admitted),
    /// Hosts wait, but none may start before a running host gives its slot
    /// back ([`AsyncAdmission::freed`]).
    Full,
    /// Every host has been admitted.
    Done,
}

/// A running host's slot (global and per-group): given back when dropped,
/// however the host's task ends.
#[derive(Debug)]
pub struct Admitted {
    index: usize,
    from: Arc<AsyncAdmission>,
}

impl Admitted {
    /// The host's index in the target list.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.from.lock().release(self.index);
        self.from.freed.notify_one();
    }
}

impl AsyncAdmission {
    /// Shares `admission` between a scheduler and its host tasks.
    pub fn new(admission: Admission) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(admission),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Admission> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next host allowed to start, if one is (never waits).
    pub fn try_admit(self: &Arc<Self>) -> Admit {
        let mut state = self.lock();
        match state.next_admissible() {
            Some(index) => Admit::Host(Admitted {
                index,
                from: self.clone(),
            }),
            None if state.waiting() == 0 => Admit::Done,
            None => Admit::Full,
        }
    }

    /// Resolves once a host gave its slot back (at once if one did since
    /// the last call): then [`try_admit`](Self::try_admit) again.
    pub async fn freed(&self) {
        self.freed.notified().await;
    }

    /// Resolves once no admitted host is running any more.
    pub async fn drained(&self) {
        while self.lock().running() > 0 {
            self.freed().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use fanout_core::Target;

    use super::*;

    fn targets(groups: &[&str]) -> Vec<Target> {
        groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let mut t = Target::new(format!("h{i}"), "127.0.0.1");
                t.groups.push(g.to_string());
                t
            })
            .collect()
    }

    #[tokio::test]
    async fn a_dropped_slot_wakes_the_scheduler_and_the_caps_hold() {
        let caps = BTreeMap::from([("core".to_string(), 1)]);
        let admission = AsyncAdmission::new(Admission::new(
            &targets(&["core", "core", "edge"]),
            &caps,
            2,
        ));
        let Admit::Host(first) = admission.try_admit() else {
            panic!("the first host starts")
        };
        let Admit::Host(edge) = admission.try_admit() else {
            panic!("the edge host overtakes the second core host")
        };
        assert_eq!((first.index(), edge.index()), (0, 2));
        assert!(matches!(admission.try_admit(), Admit::Full));
        let waiter = {
            let admission = admission.clone();
            tokio::spawn(async move {
                admission.freed().await;
                match admission.try_admit() {
                    Admit::Host(next) => next.index(),
                    other => panic!("core has room again: {other:?}"),
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "nothing was given back yet");
        drop(first);
        let next = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter is woken")
            .unwrap();
        assert_eq!(next, 1);
        assert!(matches!(admission.try_admit(), Admit::Done));
        drop(edge);
        tokio::time::timeout(Duration::from_secs(5), admission.drained())
            .await
            .expect("every slot was given back");
    }
}
