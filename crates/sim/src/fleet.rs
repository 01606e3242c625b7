//! A running fleet: build it with [`Fleet::builder`], get its inventory,
//! known_hosts and targets, drop it to stop every device.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fanout_core::{Platform, Secret, Target};
use russh::keys::PrivateKey;
use tokio::runtime::Runtime;

use crate::bastion::{Bastion, BastionInfo, BastionStats};
use crate::builder::FleetBuilder;
use crate::console::Console;
use crate::device::Device;
use crate::faults::Fault;
use crate::files::FleetFiles;
use crate::stats::{Stats, StatsSnapshot};
use crate::topology::Topology;

/// One cable: `(device, interface)` at each end.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cable {
    /// One end.
    pub a: (String, String),
    /// The other end.
    pub b: (String, String),
}

/// Where a device listens and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Device name.
    pub name: String,
    /// Listen address.
    pub address: IpAddr,
    /// Listen port.
    pub port: u16,
    /// Platform.
    pub platform: Platform,
    /// Injected faults.
    pub faults: BTreeSet<Fault>,
    /// Its HTTPS port ([`FleetBuilder::http`]).
    pub http_port: Option<u16>,
}

/// A running simulated fleet. Dropping it stops every device.
pub struct Fleet {
    pub(crate) runtime: Option<Runtime>,
    pub(crate) topology: Arc<Topology>,
    pub(crate) served: Vec<Arc<Device>>,
    pub(crate) devices: Vec<DeviceInfo>,
    pub(crate) targets: Vec<Target>,
    pub(crate) files: FleetFiles,
    pub(crate) client_key: PrivateKey,
    pub(crate) client_key_path: Option<PathBuf>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) start_time: Duration,
    pub(crate) telnet: bool,
    pub(crate) fd_limit: u64,
    pub(crate) bastions: Vec<Arc<Bastion>>,
    pub(crate) bastion_infos: Vec<BastionInfo>,
    pub(crate) ssh_config_path: Option<PathBuf>,
    pub(crate) ca_path: Option<PathBuf>,
    pub(crate) ca_pem: Option<String>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("devices", &self.devices.len())
            .field("inventory", &self.files.inventory)
            .field("known_hosts", &self.files.known_hosts)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// A builder with defaults: 1 IOS device on 127.0.0.1, cisco/cisco, seed 1.
    pub fn builder() -> FleetBuilder {
        FleetBuilder::default()
    }

    /// The devices, in order.
    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// The devices as targets with credentials, ready for an executor.
    pub fn targets(&self) -> Vec<Target> {
        self.targets.clone()
    }

    /// The generated inventory (DESIGN.md format).
    pub fn inventory_path(&self) -> &Path {
        &self.files.inventory
    }

    /// known_hosts in OpenSSH format with every device's expected key.
    pub fn known_hosts_path(&self) -> &Path {
        &self.files.known_hosts
    }

    /// The client key every device authorizes.
    pub fn client_key(&self) -> &PrivateKey {
        &self.client_key
    }

    /// Where the client key was written, if asked (`client_key_out`).
    pub fn client_key_path(&self) -> Option<&Path> {
        self.client_key_path.as_deref()
    }

    /// The bastions in chain order (`b1` first; empty without
    /// [`FleetBuilder::bastions`]).
    pub fn bastions(&self) -> &[BastionInfo] {
        &self.bastion_infos
    }

    /// Each bastion's counters, in chain order.
    pub fn bastion_stats(&self) -> Vec<BastionStats> {
        self.bastions.iter().map(|b| b.stats()).collect()
    }

    /// The OpenSSH client config written (`ssh -F PATH r1`), if any: with
    /// bastions, or when [`FleetBuilder::ssh_config_out`] was given.
    pub fn ssh_config_path(&self) -> Option<&Path> {
        self.ssh_config_path.as_deref()
    }

    /// The CA certificate file (PEM) of the HTTPS listeners, if any.
    pub fn ca_path(&self) -> Option<&Path> {
        self.ca_path.as_deref()
    }

    /// The CA certificate (PEM) of the HTTPS listeners, if any.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Device-side counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Restarts the "most sessions at once" counter.
    pub fn reset_max_active(&self) {
        self.stats.reset_max_active();
    }

    /// The most connections each device served at once since the fleet
    /// started, by device name, in fleet order: with `max_sessions` never
    /// above the limit (a queued connection counts once it gets its line;
    /// a refused one never). For checking what a client really did to
    /// each device.
    pub fn peak_sessions(&self) -> Vec<(String, usize)> {
        self.served
            .iter()
            .map(|d| (d.spec.name.clone(), d.peak_sessions()))
            .collect()
    }

    /// About how many sessions can be open at once before the process runs
    /// out of file descriptors (one per listener, one per session).
    pub fn session_capacity(&self) -> u64 {
        self.fd_limit.saturating_sub(self.devices.len() as u64 + 32)
    }

    /// A console session on device `name`, as an SSH shell or exec channel
    /// gets it (its running state, neighbours and figures), without the
    /// network: for checks over many devices at once.
    pub fn console(&self, name: &str) -> Option<Console> {
        let d = self.served.iter().find(|d| d.spec.name == name)?;
        Some(d.console())
    }

    /// Every cable of the fleet, each once, with the interface names the
    /// devices had at start: what a cabling check over `show cdp
    /// neighbors` must find on both ends.
    pub fn cabling(&self) -> Vec<Cable> {
        let c = &self.topology.cabling;
        let port = |d: u32, k: u16| {
            let name = self.devices[d as usize].name.clone();
            let platform = self.devices[d as usize].platform;
            (name, crate::profile::physical_port(platform, k as usize))
        };
        let mut out = Vec::with_capacity(c.cables());
        for i in 0..self.devices.len() {
            for e in c.ends(i) {
                let (a, b) = ((i as u32, e.local), (e.remote, e.remote_port));
                if a < b {
                    out.push(Cable {
                        a: port(a.0, a.1),
                        b: port(b.0, b.1),
                    });
                }
            }
        }
        out
    }

    /// Whether the devices speak telnet (`FleetBuilder::telnet`) rather
    /// than SSH.
    pub fn telnet(&self) -> bool {
        self.telnet
    }

    /// How long [`FleetBuilder::start`] took.
    pub fn start_time(&self) -> Duration {
        self.start_time
    }

    /// Stops every device and closes every session.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn target(d: &Device, port: u16, key: Option<&Path>) -> Target {
    let mut t = Target::new(d.spec.name.clone(), d.spec.address.to_string());
    t.port = port;
    t.username = Some(d.spec.username.clone());
    t.credentials.password = Some(Secret::new(d.spec.password.clone()));
    t.credentials.key_file = key.map(Path::to_path_buf);
    t.secret = d.spec.secret.clone().map(Secret::new);
    t.platform = Some(d.spec.platform);
    if d.telnet {
        t.transport = fanout_core::Transport::Telnet;
    }
    t
}
