//! fanout's async engine: one tokio task per host, SSH over russh.
//!
//! This crate owns the `async` executor ([`AsyncExecutor`]) and the native
//! async API it wraps ([`run_stream`]): a [`Stream`](futures_util::Stream)
//! of [`HostOutcome`](fanout_core::HostOutcome)s in completion order, usable
//! from any tokio runtime. Scheduling (global concurrency, per-group caps,
//! connection-open rate, per-phase timeouts, retries, cancellation) lives in
//! the stream; hosts run `sleep` (a tokio timer), `cpu` (on the blocking
//! pool, so the reactor never stalls), `local` (tokio::process, in its own
//! process group, killed with it), `exec` and `cli` (russh client: host keys
//! through `fanout-hostkeys`, the device dialog through `fanout-netcli`).
//! Cancelling the token stops in-flight hosts within about 100 ms and
//! reports every host exactly once.

mod executor;
mod stream;

pub use executor::{AsyncExecutor, AsyncExecutorBuilder};
pub use stream::{HostStream, run_stream};
