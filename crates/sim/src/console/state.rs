//! The running state of one device (hostname, interfaces, blocks, global
//! lines), shared by all its sessions for the fleet's lifetime.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fanout_core::Platform;

/// One interface of a device's running configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Full name (`Ethernet0/0`, `GigabitEthernet1`, `ge-0/0/0`).
    pub name: String,
    /// `description` text.
    pub description: Option<String>,
    /// IPv4 address and prefix length.
    pub address: Option<(Ipv4Addr, u8)>,
    /// Administratively down.
    pub shutdown: bool,
    /// The address was set in a session (IOS `Method manual`), not at boot.
    pub manual: bool,
    /// Other interface-level configuration lines, verbatim.
    pub lines: Vec<String>,
}

/// A configuration block other than an interface (`line vty 0 4`,
/// `router ospf 1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The line that opens the block.
    pub header: String,
    /// The lines inside it, verbatim (without indentation).
    pub lines: Vec<String>,
}

/// Running state of one device, shared by all its sessions for the fleet's
/// lifetime.
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// The hostname shown in prompts and configuration.
    pub hostname: String,
    /// Interfaces (filled with the platform's factory set by the first
    /// [`Console`] when empty).
    pub interfaces: Vec<Interface>,
    /// Other configuration blocks.
    pub blocks: Vec<Block>,
    /// Other global configuration lines, verbatim (JunOS: set-paths without
    /// the leading `set`).
    pub lines: Vec<String>,
    /// When a session last changed (IOS) or committed (IOS-XR, JunOS) it.
    pub last_change: Option<SystemTime>,
    /// Simulated boot time, for uptimes (a little over nine days ago).
    pub booted: SystemTime,
    pub(super) seeded: bool,
    /// Physical ports the fleet's cabling needs (0: the factory ones).
    pub(crate) ports: usize,
}

impl DeviceConfig {
    /// A device called `hostname` with the factory configuration.
    pub fn new(hostname: &str) -> Self {
        let uptime = Duration::from_secs(((9 * 24 + 3) * 60 + 4) * 60 + 12);
        Self {
            hostname: hostname.to_string(),
            interfaces: Vec::new(),
            blocks: Vec::new(),
            lines: Vec::new(),
            last_change: None,
            booted: SystemTime::now().checked_sub(uptime).unwrap_or(UNIX_EPOCH),
            seeded: false,
            ports: 0,
        }
    }

    /// Fills the factory configuration in, once (on a device's first
    /// session, or when a neighbour looks at its ports).
    pub(crate) fn ensure_seeded(&mut self, platform: Platform) {
        if !self.seeded {
            self.seeded = true;
            if self.interfaces.is_empty() {
                crate::profile::seed(platform, self);
            }
        }
    }
}

/// A device's configuration as shared by its sessions.
pub type SharedConfig = Arc<Mutex<DeviceConfig>>;
