//! fanout's blocking executors.
//!
//! [`run_host`] is the one blocking code path that runs a job on one target:
//! attempts, retries with backoff, per-phase deadlines, cancellation, and the
//! phase timings of the outcome. Every blocking executor calls it: the
//! [`Sequential`] executor here (and, as they land, the thread-pool and rayon
//! executors and the process executor's children). Only `sleep`, `cpu` and
//! `local` tasks run so far; `exec` and `cli` arrive with the ssh2 transport.

mod local;
mod run_host;
mod sequential;

pub use local::kill_all_local_commands;
pub use run_host::{HostRun, run_host};
pub use sequential::Sequential;
