//! fanout's blocking executors and the one blocking code path they share.
//!
//! [`run_host`] runs a job on one target, blocking: attempts, retries with
//! backoff, per-phase deadlines, cancellation, and the phase timings of the
//! outcome. Every blocking executor calls it: [`Sequential`] (`-e seq`, one
//! host after another), [`ThreadPool`] (`-e threads`, a fixed pool of OS
//! threads fed by a crossbeam-channel queue), [`Rayon`] (`-e rayon`, tasks
//! on a rayon pool: the CPU-bound counterexample) and the process
//! executor's children.

mod dispatch;
mod rayon_pool;
mod run_host;
mod sequential;
mod settings;
mod ssh;
mod thread_pool;

pub use rayon_pool::{Rayon, RayonBuilder};
pub use run_host::{HostRun, max_host_duration, run_host};
pub use sequential::Sequential;
pub use settings::{BuildError, DEFAULT_STACK_SIZE, MIN_STACK_SIZE};
pub use ssh::SshShared;
pub use thread_pool::{MAX_THREADS, ThreadPool, ThreadPoolBuilder};
