//! Deterministic keys: every host key and the fleet's client key derive from
//! the fleet seed, so the same seed gives the same known_hosts every run.

use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PublicKey};

use crate::faults::SplitMix;

/// Domain separators, so host keys, wrong keys and the client key of the
/// same seed never collide.
const HOST: u64 = 0x0000_686f_7374;
const WRONG: u64 = 0x0077_726f_6e67;
const CLIENT: u64 = 0x636c_6965_6e74;

fn ed25519(seed: u64, domain: u64, index: u64) -> PrivateKey {
    let mut rng =
        SplitMix(seed ^ domain.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.rotate_left(17));
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
    PrivateKey::from(Ed25519Keypair::from_seed(&bytes))
}

/// The host key of device `index`.
pub(crate) fn host_key(seed: u64, index: usize) -> PrivateKey {
    ed25519(seed, HOST, index as u64)
}

/// A key a `wrong_host_key` device presents instead of its own.
pub(crate) fn wrong_host_key(seed: u64, index: usize) -> PrivateKey {
    ed25519(seed, WRONG, index as u64)
}

/// The client key every device of the fleet authorizes.
pub(crate) fn client_key(seed: u64) -> PrivateKey {
    ed25519(seed, CLIENT, 0)
}

/// One known_hosts line in OpenSSH's format (`[addr]:port` for non-22 ports).
pub(crate) fn known_hosts_line(address: &str, port: u16, key: &PublicKey) -> String {
    let host = if port == 22 {
        address.to_string()
    } else {
        format!("[{address}]:{port}")
    };
    let key = key.to_openssh().unwrap_or_default();
    format!("{host} {key}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_and_distinct() {
        let a = host_key(1, 0);
        assert_eq!(a.public_key(), host_key(1, 0).public_key());
        assert_ne!(a.public_key(), host_key(1, 1).public_key());
        assert_ne!(a.public_key(), host_key(2, 0).public_key());
        assert_ne!(a.public_key(), wrong_host_key(1, 0).public_key());
        let line = known_hosts_line("127.0.0.1", 2201, a.public_key());
        assert!(
            line.starts_with("[127.0.0.1]:2201 ssh-ed25519 AAAA"),
            "{line}"
        );
        assert!(
            known_hosts_line("127.0.0.1", 22, a.public_key()).starts_with("127.0.0.1 ssh-ed25519")
        );
    }
}
