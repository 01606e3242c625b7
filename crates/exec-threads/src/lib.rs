//! fanout's blocking executors: [`Sequential`] (`-e seq`, one host after
//! another), [`ThreadPool`] (`-e threads`, a fixed pool of OS threads fed by
//! a crossbeam-channel queue) and [`Rayon`] (`-e rayon`, tasks on a rayon
//! pool: the CPU-bound counterexample). Each host runs through the engine's
//! blocking driver (`fanout_engine::blocking::run_host`), the same code path
//! as the process executor's children.

mod dispatch;
mod rayon_pool;
mod sequential;
mod settings;
mod thread_pool;

pub use rayon_pool::{Rayon, RayonBuilder};
pub use sequential::Sequential;
pub use settings::{
    BuildError, DEFAULT_STACK_SIZE, MIN_STACK_SIZE, pool_demand, sequential_demand,
};
pub use thread_pool::{MAX_THREADS, ThreadPool, ThreadPoolBuilder};
