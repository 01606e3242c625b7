//! Checks against a simulated SSH fleet ([`fanout_sim::Fleet`]): real
//! handshakes, authentication, exec and interactive CLI sessions, every
//! fault knob, host-key policies, limits and cancellation, measured from
//! the devices' side where it matters.
//!
//! Every executor must produce the same outcome for the same fault (every
//! executor runs every task kind: none is skipped), and the same message
//! apart from numbers ([`messages`]). Each check starts its own small fleet
//! with short timeouts and stays within a few seconds.

mod algorithms;
mod cli;
mod exec;
mod faults;
mod fixtures;
mod keys;
mod limits;
mod matrix;
pub mod messages;
mod soak;
mod storms;
mod telnet;

pub use algorithms::{legacy_algorithms_are_recorded, user_known_hosts_file_is_checked};
pub use cli::{cli_error_without_percent, cli_user_enable_config};
pub use exec::exec_every_platform;
pub use faults::{cli_faults, faults_map_to_error_kinds, mixed_faults_every_host_once};
pub use fixtures::{fleet_job, small_fleet};
pub use keys::{host_keys_strict_and_accept_new, key_file_auth};
pub use limits::{ssh_cancellation_mid_run, ssh_concurrency_never_exceeded};
pub use matrix::{
    MatrixProtocol, fault_matrix_at_scale, matrix_devices, matrix_expected, matrix_fault,
    telnet_fault_matrix_at_scale,
};
pub use soak::{SoakRun, soak_leaves_nothing_open, soak_runs};
pub use storms::connect_rate_auto_rides_out_a_storm;
pub use telnet::{telnet_cancellation, telnet_cli_every_platform, telnet_faults};
