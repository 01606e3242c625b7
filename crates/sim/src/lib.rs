//! fanout-sim: a simulated fleet of SSH network devices on loopback.
//!
//! [`Fleet::builder`] starts N devices, each with its own listener on
//! 127.0.0.0/8, its own deterministic ed25519 host key, hostname, platform
//! profile (IOS, NX-OS, EOS, JunOS, IOS-XR, Linux) and credentials, served
//! by a russh server on the fleet's own tokio runtime — so any executor,
//! blocking or async, can use it from tests. It writes an inventory and an
//! OpenSSH known_hosts file, and injects latency and faults ([`Fault`]).
//! The device CLI itself ([`console`]) is a pure byte-in/byte-out state
//! machine that echoes, pages and prompts the way real devices do, so that
//! scrapli, netmiko and OpenSSH work against it unchanged.

mod accept;
mod bastion;
mod builder;
pub mod console;
mod device;
mod faults;
mod fdlimit;
mod files;
mod fleet;
mod http;
mod keys;
mod limits;
pub mod profile;
mod session;
mod ssh;
mod stats;
mod telnet;
mod topology;
mod wire;

pub use bastion::{BastionInfo, BastionStats};
pub use builder::FleetBuilder;
pub use device::DeviceSpec;
pub use faults::{Fault, FaultSpec, FaultTargets};
pub use fdlimit::{raise_fd_limit, set_fd_limit};
pub use fleet::{Cable, DeviceInfo, Fleet};
pub use limits::{MaxStartups, SessionLimit, SessionLimitMode};
pub use stats::StatsSnapshot;

/// Why a fleet could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A setting that cannot work (message says which and what to do).
    #[error("{0}")]
    Config(String),
    /// The OS refused something (binding a port, writing a file).
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}
