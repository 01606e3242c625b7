//! fanout's async executor: one tokio task per host.
//!
//! This crate owns the `async` executor ([`AsyncExecutor`]) and the native
//! async API it wraps ([`run_stream`]): a [`Stream`](futures_util::Stream)
//! of [`HostOutcome`](fanout_core::HostOutcome)s in completion order, usable
//! from any tokio runtime. It only schedules: the stream's driver task
//! starts host tasks as the engine's admission allows (`-c`, per-group
//! caps) and turns the caller's cancellation into the run's stop signal;
//! each host task runs the engine's async driver
//! (`fanout_engine::nonblocking::run_host`: attempts, timeouts, retries,
//! the connect rate, `sleep`/`cpu`/`local` bodies) with the async transports
//! (`fanout-transport-async`: SSH on russh) for `exec` and `cli`; the
//! stream reports every host exactly once through the engine's ledger.
//! Cancelling the token stops in-flight hosts within about 100 ms.
//!
//! It never formats a host's message, opens a connection or runs a
//! command itself.

mod executor;
mod stream;

pub use executor::{AsyncExecutor, AsyncExecutorBuilder, Runtime};
pub use stream::{HostStream, limits_demand, run_stream};
