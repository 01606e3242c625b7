//! What can go wrong while checking a host key, phrased for the user.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use fanout_core::ErrorKind;
use sha2::{Digest, Sha256};

/// OpenSSH-style fingerprint of a public key blob: `SHA256:` and the
/// unpadded base64 of its SHA-256, as `ssh-keygen -l` prints it.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// A line of a known_hosts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// The key a device offered, as the messages describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedKey {
    /// The name looked up: `address` for port 22, else `[address]:port`.
    pub host: String,
    /// Its type, e.g. `ssh-ed25519`.
    pub key_type: String,
    /// Its fingerprint (see [`fingerprint`]).
    pub fingerprint: String,
}

/// No known_hosts entry for the host has a key of the offered type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key.
    pub offered: OfferedKey,
    /// The target's address.
    pub address: String,
    /// The target's port.
    pub port: u16,
    /// The known_hosts files searched, in order; the first is where
    /// `accept-new` would append.
    pub searched: Vec<PathBuf>,
    /// Clues: missing files, keys of other types for this host, entries
    /// written for another port.
    pub notes: Vec<String>,
}

/// The host has an entry with a key of the offered type, and it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedKey {
    /// The key.
    pub offered: OfferedKey,
    /// Fingerprint of the key on file.
    pub known_fingerprint: String,
    /// The entry with the other key.
    pub at: Location,
    /// The wildcard pattern of that entry that selected this host, when
    /// it was not a literal or hashed name.
    pub pattern: Option<String>,
}

/// The offered key is marked `@revoked` for this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedKey {
    /// The key.
    pub offered: OfferedKey,
    /// The `@revoked` line.
    pub at: Location,
}

/// Why a host key was refused, or why known_hosts could not be used.
/// Every message names the host (`[address]:port`), the key type and
/// fingerprint (never the key itself) and what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HostKeyError {
    /// No known_hosts entry for this host has a key of the offered type.
    #[error("{0}")]
    Unknown(Box<UnknownKey>),
    /// The host has an entry with a key of the same type, and it differs.
    #[error("{0}")]
    Changed(Box<ChangedKey>),
    /// The offered key is marked `@revoked` for this host.
    #[error("{0}")]
    Revoked(Box<RevokedKey>),
    /// A known_hosts file could not be read, created or appended to.
    #[error(
        "cannot {action} known_hosts file {}: {source}; check that the path (from --known-hosts, the inventory's \
         known_hosts: or ~/.ssh/known_hosts) is a file you can {action}",
        .path.display()
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done: `read`, `create`, `lock`, `append to`.
        action: &'static str,
        /// The OS error.
        #[source]
        source: Arc<io::Error>,
    },
    /// A line of a known_hosts file named explicitly is not OpenSSH format.
    #[error(
        "{at}: not a valid known_hosts line: {reason}; expected OpenSSH's `HOSTS KEYTYPE BASE64KEY [COMMENT]`, \
         e.g. `[10.0.0.1]:2201 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5...`; fix or delete that line{}",
        more_message(*.more)
    )]
    Parse {
        /// The bad line.
        at: Location,
        /// What is wrong with it.
        reason: String,
        /// How many more bad lines the same file has.
        more: usize,
    },
    /// `accept-new` found an unknown key but there is no file to add it to.
    #[error(
        "--host-keys accept-new has no known_hosts file to add the key for {host} to: pass --known-hosts FILE \
         (or set HOME so that ~/.ssh/known_hosts is used)"
    )]
    NowhereToAppend {
        /// The name looked up: `address` or `[address]:port`.
        host: String,
    },
}

impl HostKeyError {
    /// Always [`ErrorKind::HostKey`]: a refused key or an unusable
    /// known_hosts file both stop the host at the host-key check.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::HostKey
    }

    pub(crate) fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
        HostKeyError::Io {
            path: path.to_path_buf(),
            action,
            source: Arc::new(source),
        }
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub(crate) fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@%+=,".contains(&b));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OfferedKey {
            host,
            key_type,
            fingerprint,
        } = &self.offered;
        write!(
            f,
            "host key for {host} is not known: the device offered {key_type} {fingerprint} and no known_hosts \
             entry for {host} has a {key_type} key"
        )?;
        if self.searched.is_empty() {
            f.write_str(" (no known_hosts file was searched)")?;
        } else {
            let files: Vec<String> = self
                .searched
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            write!(f, " (searched {})", files.join(", "))?;
        }
        for note in &self.notes {
            write!(f, "; {note}")?;
        }
        let port = if self.port == 22 {
            String::new()
        } else {
            format!("-p {} ", self.port)
        };
        let address = shell_quote(&self.address);
        match self.searched.first() {
            Some(file) => write!(
                f,
                "; if this is the right device, check that fingerprint and add its key with \
                 `ssh-keyscan {port}{address} >> {}`, or rerun with --host-keys accept-new",
                shell_quote(&file.display().to_string())
            ),
            None => write!(
                f,
                "; if this is the right device, check that fingerprint and add its key with \
                 `ssh-keyscan {port}{address} >> FILE` and pass --known-hosts FILE, or rerun with \
                 --host-keys accept-new"
            ),
        }
    }
}

impl fmt::Display for ChangedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OfferedKey {
            host,
            key_type,
            fingerprint,
        } = &self.offered;
        write!(
            f,
            "HOST KEY CHANGED for {host}: the device offered {key_type} {fingerprint} but {} has {}; ",
            self.at, self.known_fingerprint
        )?;
        match &self.pattern {
            Some(pattern) => write!(
                f,
                "if the device was really re-keyed, edit that line (its pattern `{pattern}` covers {host}) \
                 or add a line for {host} with the new key before it"
            ),
            None => write!(
                f,
                "if the device was really re-keyed, remove that line (ssh-keygen -R {} -f {})",
                shell_quote(host),
                shell_quote(&self.at.file.display().to_string())
            ),
        }
    }
}

impl fmt::Display for RevokedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OfferedKey {
            host,
            key_type,
            fingerprint,
        } = &self.offered;
        write!(
            f,
            "host key for {host} is REVOKED: the device offered {key_type} {fingerprint}, which {} marks \
             @revoked; do not connect to this device until its key is replaced (find out why it was revoked)",
            self.at
        )
    }
}

fn more_message(more: usize) -> String {
    match more {
        0 => String::new(),
        1 => " (1 more bad line in that file)".to_string(),
        n => format!(" ({n} more bad lines in that file)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        // `ssh-keygen -lf` on this public key printed this fingerprint.
        let blob = base64::engine::general_purpose::STANDARD
            .decode("AAAAC3NzaC1lZDI1NTE5AAAAICRFNvF3LBNpKwh7kEcM79UMn2XcDkjbsEJ+VWywheqh")
            .unwrap();
        assert_eq!(
            fingerprint(&blob),
            "SHA256:/4sxwDI1geaFmlvEIquJOBOxw9w9dqNL0NzqflurtBE"
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("127.0.0.1"), "127.0.0.1");
        assert_eq!(shell_quote("[127.0.0.1]:2201"), "'[127.0.0.1]:2201'");
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
