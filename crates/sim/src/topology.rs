//! The fleet's cabling: which port of which device is wired to which port
//! of which other device, so that `show cdp neighbors` (and LLDP, ARP) on
//! every device agree with each other and a cabling check over the whole
//! fleet can be verified.
//!
//! Generation (seeded, so the same seed gives the same wiring): the devices
//! are shuffled; the first `n - 1` cables chain them in that order (so the
//! fleet is connected) and the `n`-th closes the ring; every further cable
//! joins two distinct devices drawn at random (parallel cables between the
//! same two devices can happen, as port-channel members do). Each cable
//! takes the next free physical port on both ends: the factory ports that
//! are up first, then new ports, which the device gets in its interfaces.
//! Default: a ring (`n` cables for 3 devices and more, 1 for 2).

use std::net::Ipv4Addr;
use std::sync::{Arc, PoisonError};

use fanout_core::Platform;

use crate::console::SharedConfig;
use crate::faults::SplitMix;
use crate::profile::{self, Mac, Neighbor};

/// Most cables per device on average (`--cables` beyond that is refused).
pub(crate) const MAX_CABLES_PER_DEVICE: usize = 64;

/// One end of a cable, as seen from the device it plugs into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct End {
    /// Physical port number on this device.
    pub(crate) local: u16,
    /// The device on the other end (fleet index).
    pub(crate) remote: u32,
    /// Its physical port number.
    pub(crate) remote_port: u16,
}

/// Every device's cable ends, packed: device `i` has
/// `ends[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cabling {
    offsets: Vec<u32>,
    ends: Vec<End>,
}

impl Cabling {
    /// Wires `platforms.len()` devices with `cables` cables (`None`: a
    /// ring), seeded.
    pub(crate) fn generate(
        platforms: &[Platform],
        cables: Option<usize>,
        seed: u64,
    ) -> Result<Self, String> {
        let n = platforms.len();
        let cables = cables.unwrap_or(match n {
            0 | 1 => 0,
            2 => 1,
            n => n,
        });
        if cables > 0 && n < 2 {
            return Err(format!(
                "{cables} cables need at least two devices to connect"
            ));
        }
        if cables > n * MAX_CABLES_PER_DEVICE {
            return Err(format!(
                "{cables} cables for {n} devices is more than {MAX_CABLES_PER_DEVICE} per device: use fewer cables"
            ));
        }
        let mut rng = SplitMix(seed ^ 0x6361_626c_6573);
        let mut order: Vec<u32> = (0..n as u32).collect();
        for k in (1..order.len()).rev() {
            let j = (rng.next() % (k as u64 + 1)) as usize;
            order.swap(k, j);
        }
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(cables);
        for w in order.windows(2).take(cables) {
            pairs.push((w[0], w[1]));
        }
        if cables >= n && n >= 3 {
            pairs.push((order[n - 1], order[0]));
        }
        while pairs.len() < cables {
            let a = (rng.next() % n as u64) as u32;
            let mut b = (rng.next() % (n as u64 - 1)) as u32;
            if b >= a {
                b += 1;
            }
            pairs.push((a, b));
        }
        let mut degree = vec![0u32; n];
        for &(a, b) in &pairs {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(n + 1);
        let mut total = 0u32;
        offsets.push(0);
        for d in &degree {
            total += d;
            offsets.push(total);
        }
        let blank = End {
            local: 0,
            remote: 0,
            remote_port: 0,
        };
        let mut ends = vec![blank; total as usize];
        let mut used = vec![0u32; n];
        let mut take = |dev: u32| -> (usize, u16) {
            let d = dev as usize;
            let nth = used[d];
            used[d] += 1;
            let port = profile::cable_port(platforms[d], nth as usize);
            (offsets[d] as usize + nth as usize, port as u16)
        };
        for &(a, b) in &pairs {
            let (slot_a, port_a) = take(a);
            let (slot_b, port_b) = take(b);
            ends[slot_a] = End {
                local: port_a,
                remote: b,
                remote_port: port_b,
            };
            ends[slot_b] = End {
                local: port_b,
                remote: a,
                remote_port: port_a,
            };
        }
        Ok(Self { offsets, ends })
    }

    /// The cable ends of device `index`.
    pub(crate) fn ends(&self, index: usize) -> &[End] {
        match (self.offsets.get(index), self.offsets.get(index + 1)) {
            (Some(&a), Some(&b)) => &self.ends[a as usize..b as usize],
            _ => &[],
        }
    }

    /// How many physical ports device `index` needs for its cables.
    pub(crate) fn ports_needed(&self, index: usize) -> usize {
        self.ends(index)
            .iter()
            .map(|e| e.local as usize + 1)
            .max()
            .unwrap_or(0)
    }

    /// Number of cables.
    pub(crate) fn cables(&self) -> usize {
        self.ends.len() / 2
    }
}

/// The cabling plus every device's running state: what a device needs to
/// see its neighbours as they are now (hostname, ports up or shut).
pub(crate) struct Topology {
    pub(crate) cabling: Cabling,
    pub(crate) nodes: Vec<(SharedConfig, Platform)>,
}

/// Where one device sits in the fleet's topology.
#[derive(Clone)]
pub(crate) struct Site {
    pub(crate) topology: Arc<Topology>,
    pub(crate) index: u32,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site").field("index", &self.index).finish()
    }
}

/// What one end of a cable shows now: its interface name, whether it is up,
/// its address, and the device's hostname.
struct PortView {
    name: String,
    up: bool,
    address: Option<Ipv4Addr>,
    hostname: String,
}

impl Topology {
    fn view(&self, index: u32, port: u16) -> Option<PortView> {
        let (config, platform) = self.nodes.get(index as usize)?;
        let mut c = config.lock().unwrap_or_else(PoisonError::into_inner);
        c.ensure_seeded(*platform);
        let name = profile::physical_port(*platform, port as usize);
        let iface = c.interfaces.iter().find(|i| i.name == name);
        Some(PortView {
            up: iface.is_some_and(|i| !i.shutdown),
            address: iface.and_then(|i| i.address.map(|(a, _)| a)),
            hostname: c.hostname.clone(),
            name,
        })
    }
}

impl Site {
    /// The neighbours of this device: every cable whose two ends are up
    /// now (an interface shut or removed on either end hides the link on
    /// both). Never holds two devices' locks at once.
    pub(crate) fn neighbors(&self) -> Vec<Neighbor> {
        let t = &self.topology;
        let mut out = Vec::new();
        for (n, end) in t.cabling.ends(self.index as usize).iter().enumerate() {
            let (Some(local), Some(remote)) = (
                t.view(self.index, end.local),
                t.view(end.remote, end.remote_port),
            ) else {
                continue;
            };
            if !(local.up && remote.up) {
                continue;
            }
            let platform = t.nodes[end.remote as usize].1;
            out.push(Neighbor {
                local_port: local.name,
                device_id: remote.hostname,
                platform,
                remote_port: remote.name,
                remote_address: remote.address,
                remote_mac: Mac::of(end.remote, Some(end.remote_port as usize)),
                chassis_mac: Mac::of(end.remote, None),
                holdtime: 120 + ((self.index as usize * 7 + n * 13) % 60) as u16,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platforms(n: usize) -> Vec<Platform> {
        vec![Platform::Ios; n]
    }

    #[test]
    fn every_cable_has_two_matching_ends() {
        let c = Cabling::generate(&platforms(100), Some(700), 3).unwrap();
        assert_eq!(c.cables(), 700);
        for i in 0..100 {
            let mut ports = std::collections::BTreeSet::new();
            for e in c.ends(i) {
                assert_ne!(e.remote as usize, i, "no cable loops back");
                assert!(ports.insert(e.local), "one cable per port");
                let back = c
                    .ends(e.remote as usize)
                    .iter()
                    .filter(|b| b.local == e.remote_port)
                    .collect::<Vec<_>>();
                assert_eq!(back.len(), 1);
                assert_eq!((back[0].remote as usize, back[0].remote_port), (i, e.local));
                assert_ne!(e.local, 2, "the factory shut port stays free");
            }
        }
        assert_eq!(c, Cabling::generate(&platforms(100), Some(700), 3).unwrap());
        assert_ne!(c, Cabling::generate(&platforms(100), Some(700), 4).unwrap());
    }

    #[test]
    fn default_is_a_connected_ring() {
        let c = Cabling::generate(&platforms(10), None, 1).unwrap();
        assert_eq!(c.cables(), 10);
        for i in 0..10 {
            assert_eq!(c.ends(i).len(), 2);
            assert_eq!(c.ports_needed(i), 2, "ports 0 and 1: factory ones");
        }
        // Reach everyone from device 0.
        let mut seen = [false; 10];
        let mut stack = vec![0usize];
        while let Some(d) = stack.pop() {
            if !std::mem::replace(&mut seen[d], true) {
                stack.extend(c.ends(d).iter().map(|e| e.remote as usize));
            }
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(
            Cabling::generate(&platforms(2), None, 1).unwrap().cables(),
            1
        );
        assert_eq!(
            Cabling::generate(&platforms(1), None, 1).unwrap().cables(),
            0
        );
        assert!(Cabling::generate(&platforms(1), Some(3), 1).is_err());
        assert!(Cabling::generate(&platforms(2), Some(1000), 1).is_err());
    }
}
