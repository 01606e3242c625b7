//! What every fanout transport obeys, per protocol, so that the blocking
//! and the async implementation of a protocol behave and report alike.
//!
//! This crate owns the policy, not the I/O: how a remote command's output
//! is captured and capped ([`CapturedStreams`]), what is checked before a
//! connection is opened (credentials, username), which algorithms are
//! offered and in which order, the order of the authentication methods and
//! the report of a failed login, every message text and the exec verdict,
//! how long an attempt may take, and the constants both implementations use
//! ([`ssh`], [`telnet`]). Each
//! protocol (SSH and telnet now; HTTP next) has one module here, one
//! blocking implementation in `fanout-transport-blocking` and one async
//! implementation in `fanout-transport-async`.
//!
//! It must never open a connection, depend on an SSH library or a socket, a transport
//! implementation or an executor, or know about scheduling.

mod capture;
pub mod http;
pub mod ssh;
pub mod telnet;

pub use capture::{CapturedStreams, last_line};
