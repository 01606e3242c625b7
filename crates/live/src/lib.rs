//! fanout's live view: `fanout run --serve ADDR` and `fanout compare
//! --serve ADDR` serve one page and a websocket that streams every host
//! outcome as it completes, with the run's progress.
//!
//! This crate owns the web server ([`LiveServer`]: axum on a tokio runtime
//! of its own thread), the replay log every browser reads from (late
//! browsers get everything so far; slow ones fall behind and catch up), the
//! websocket protocol ([`event`]), the embedded page (plain HTML/CSS/JS,
//! `include_str!`, no CDN, no build step), and the feed that carries a
//! `fanout compare` child's run to the comparing process ([`feed`]).
//!
//! It must never slow or block a run (every call from the run thread
//! returns at once), never serve a non-loopback address without a token,
//! never answer a foreign Host or Origin, and never put a secret on the page
//! (it only ever sees outcomes and summaries, which carry none).

pub mod event;
pub mod feed;
mod http;
mod hub;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use event::{PREVIEW_BYTES, RunInfo};
pub use feed::{FeedListener, FeedWriter};
pub use server::{LiveHandle, LiveServer, RunId, ServeConfig};

/// Why the live view could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// A non-loopback address without the explicit opt-in.
    #[error(
        "--serve {addr}: not a loopback address; the page shows every host's output to whoever reaches it. Use 127.0.0.1:PORT, or add --serve-public to serve it there behind a random token"
    )]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error(
        "--serve {addr}: cannot listen there: {source}; choose another port (127.0.0.1:0 picks a free one)"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server's thread or runtime could not start.
    #[error("the live view could not start its server thread: {0}")]
    Runtime(std::io::Error),
    /// No randomness for the token.
    #[error("no random token for --serve-public (reading /dev/urandom failed: {0})")]
    Token(std::io::Error),
    /// The compare feed socket.
    #[error("{}: the live view's feed socket failed: {source}", path.display())]
    Feed {
        /// The socket or its folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}
