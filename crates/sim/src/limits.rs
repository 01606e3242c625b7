//! How many sessions a device takes: a per-device limit on SSH connections
//! open at once (`--max-sessions N`), and what an extra one gets
//! (`--max-sessions-mode refuse|queue`).
//!
//! Real devices: IOS / IOS-XE have as many sessions as vty lines
//! (`line vty 0 4`: 5; up to 16 or more); NX-OS `line vty` /
//! `session-limit` (default 32); EOS `management ssh` / `connection limit`
//! (default 50); JunOS `system services ssh connection-limit` (default 75).
//! They all refuse the extra connection at once — the client sees the
//! connection closed during the handshake, no login prompt — which is
//! `refuse` here (with an SSH disconnect message saying why). `queue` is the
//! small embedded SSH server (console servers, PDUs, cheap access switches)
//! that serves N connections and leaves the others in the listen backlog:
//! the extra session waits, without a banner, until one ends.

use std::fmt;
use std::str::FromStr;

/// What a device does with a connection beyond its session limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SessionLimitMode {
    /// Close it right after the SSH version exchange, with a disconnect
    /// message (`Received disconnect ... too many sessions`).
    #[default]
    Refuse,
    /// Hold it, banner not sent, until a session ends.
    Queue,
}

impl SessionLimitMode {
    /// The name on the command line and in inventory vars.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionLimitMode::Refuse => "refuse",
            SessionLimitMode::Queue => "queue",
        }
    }
}

impl fmt::Display for SessionLimitMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionLimitMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "refuse" => Ok(SessionLimitMode::Refuse),
            "queue" => Ok(SessionLimitMode::Queue),
            other => Err(format!(
                "unknown session-limit mode `{other}`: expected refuse or queue"
            )),
        }
    }
}

/// A per-device limit on SSH connections open at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimit {
    /// Most connections at once (at least 1).
    pub max: usize,
    /// What the connection beyond `max` gets.
    pub mode: SessionLimitMode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_by_name() {
        for m in [SessionLimitMode::Refuse, SessionLimitMode::Queue] {
            assert_eq!(m.as_str().parse::<SessionLimitMode>(), Ok(m));
        }
        assert!(
            "drop"
                .parse::<SessionLimitMode>()
                .unwrap_err()
                .contains("refuse or queue")
        );
    }
}
