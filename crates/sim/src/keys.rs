//! Deterministic keys: every host key and the fleet's client key derive from
//! the fleet seed, so the same seed gives the same known_hosts every run.
//! Every device has an ed25519 host key; a `legacy_algorithms` device also
//! has an RSA one (1024 bits, like an old IOS box's
//! `crypto key generate rsa modulus 1024`), drawn from a ChaCha20 generator
//! seeded the same way.

use rand_core::SeedableRng;
use russh::keys::ssh_key::private::{Ed25519Keypair, RsaKeypair};
use russh::keys::{PrivateKey, PublicKey};

use crate::SimError;
use crate::faults::SplitMix;

/// Domain separators, so host keys, wrong keys and the client key of the
/// same seed never collide.
const HOST: u64 = 0x0000_686f_7374;
const WRONG: u64 = 0x0077_726f_6e67;
const CLIENT: u64 = 0x636c_6965_6e74;
const RSA: u64 = 0x0000_0072_7361;
const WRONG_RSA: u64 = 0x7772_6f72_7361;
const BASTION: u64 = 0x6a75_6d70_686f_7374;

/// Modulus size of the RSA host keys of legacy devices (OpenSSH accepts
/// 1024 bits and more: `RequiredRSASize`).
pub(crate) const RSA_BITS: usize = 1024;

fn seed_bytes(seed: u64, domain: u64, index: u64) -> [u8; 32] {
    let mut rng =
        SplitMix(seed ^ domain.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.rotate_left(17));
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
    bytes
}

fn ed25519(seed: u64, domain: u64, index: u64) -> PrivateKey {
    PrivateKey::from(Ed25519Keypair::from_seed(&seed_bytes(seed, domain, index)))
}

fn rsa(seed: u64, domain: u64, index: u64) -> Result<PrivateKey, SimError> {
    let mut rng = chacha20::ChaCha20Rng::from_seed(seed_bytes(seed, domain, index));
    RsaKeypair::random(&mut rng, RSA_BITS)
        .map(PrivateKey::from)
        .map_err(|e| SimError::Config(format!("generating an RSA host key: {e}")))
}

/// The host keys one device presents, and those known_hosts lists for it.
pub(crate) struct HostKeys {
    /// What the SSH server offers (ed25519 first).
    pub(crate) presented: Vec<PrivateKey>,
    /// What known_hosts says (the same keys, unless `wrong_host_key`).
    pub(crate) known: Vec<PublicKey>,
}

/// The keys of device `index`: ed25519, plus RSA when `rsa`; `wrong`
/// presents other keys than the known ones (`wrong_host_key`).
pub(crate) fn device_keys(
    seed: u64,
    index: usize,
    rsa_too: bool,
    wrong: bool,
) -> Result<HostKeys, SimError> {
    let i = index as u64;
    let mut known = vec![host_key(seed, index)];
    if rsa_too {
        known.push(rsa(seed, RSA, i)?);
    }
    let presented = if wrong {
        let mut keys = vec![wrong_host_key(seed, index)];
        if rsa_too {
            keys.push(rsa(seed, WRONG_RSA, i)?);
        }
        keys
    } else {
        known.clone()
    };
    Ok(HostKeys {
        known: known.iter().map(|k| k.public_key().clone()).collect(),
        presented,
    })
}

/// The host key of device `index`.
pub(crate) fn host_key(seed: u64, index: usize) -> PrivateKey {
    ed25519(seed, HOST, index as u64)
}

/// A key a `wrong_host_key` device presents instead of its own.
pub(crate) fn wrong_host_key(seed: u64, index: usize) -> PrivateKey {
    ed25519(seed, WRONG, index as u64)
}

/// The host key of bastion `index` (0 = the first).
pub(crate) fn bastion_key(seed: u64, index: usize) -> PrivateKey {
    ed25519(seed, BASTION, index as u64)
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

    #[test]
    fn legacy_devices_also_have_a_deterministic_rsa_key() {
        let plain = device_keys(7, 3, false, false).unwrap();
        assert_eq!(plain.known.len(), 1);
        assert_eq!(plain.presented.len(), 1);
        let legacy = device_keys(7, 3, true, false).unwrap();
        assert_eq!(legacy.known.len(), 2);
        assert_eq!(legacy.known[0], plain.known[0], "same ed25519 key");
        let rsa = &legacy.known[1];
        assert_eq!(rsa.algorithm().as_str(), "ssh-rsa");
        match rsa.key_data() {
            russh::keys::ssh_key::public::KeyData::Rsa(k) => {
                assert_eq!(k.key_size() as usize, RSA_BITS)
            }
            other => panic!("not RSA: {other:?}"),
        }
        assert_eq!(
            device_keys(7, 3, true, false).unwrap().known,
            legacy.known,
            "the same seed gives the same keys"
        );
        assert_ne!(device_keys(7, 4, true, false).unwrap().known[1], *rsa);
        assert_ne!(device_keys(8, 3, true, false).unwrap().known[1], *rsa);
        let wrong = device_keys(7, 3, true, true).unwrap();
        assert_eq!(wrong.known, legacy.known);
        for (p, k) in wrong.presented.iter().zip(&legacy.known) {
            assert_ne!(
                p.public_key(),
                k,
                "a wrong_host_key device presents other keys"
            );
        }
        let line = known_hosts_line("127.0.0.1", 2201, rsa);
        assert!(line.starts_with("[127.0.0.1]:2201 ssh-rsa AAAA"), "{line}");
    }
}
