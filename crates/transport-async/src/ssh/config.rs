//! The russh client configuration: russh's algorithms plus the policy's
//! legacy ones, and host-key algorithms of the types known_hosts has for a
//! target first.

use std::borrow::Cow;

use fanout_transport::ssh::{LEGACY_CIPHERS, LEGACY_KEX, LEGACY_MACS_ASYNC};
use russh::Preferred;
use russh::client;

/// russh's defaults, plus the legacy algorithms old devices (IOS 12.x)
/// still offer, at the end of each list so that any modern algorithm the
/// device has wins.
pub(super) fn client_config() -> client::Config {
    use russh::{cipher, kex, mac};
    let defaults = Preferred::DEFAULT;
    // russh knows every name of the policy's lists (a test checks it).
    let mut kex_list = defaults.kex.to_vec();
    kex_list.extend(
        LEGACY_KEX
            .iter()
            .filter_map(|n| kex::Name::try_from(*n).ok()),
    );
    let mut ciphers = defaults.cipher.to_vec();
    ciphers.extend(
        LEGACY_CIPHERS
            .iter()
            .filter_map(|n| cipher::Name::try_from(*n).ok()),
    );
    let mut macs = defaults.mac.to_vec();
    macs.extend(
        LEGACY_MACS_ASYNC
            .iter()
            .filter_map(|n| mac::Name::try_from(*n).ok()),
    );
    client::Config {
        client_id: russh::SshId::Standard(Cow::Borrowed(concat!(
            "SSH-2.0-fanout_",
            env!("CARGO_PKG_VERSION")
        ))),
        preferred: Preferred {
            kex: Cow::Owned(kex_list),
            cipher: Cow::Owned(ciphers),
            mac: Cow::Owned(macs),
            ..defaults
        },
        nodelay: true,
        ..client::Config::default()
    }
}

/// `algorithms` with those of the `known` key types first, in the order of
/// `known` (`ssh-rsa` stands for every RSA signature algorithm).
pub(super) fn known_first(
    algorithms: &[russh::keys::Algorithm],
    known: &[String],
) -> Vec<russh::keys::Algorithm> {
    let mut order: Vec<russh::keys::Algorithm> = Vec::with_capacity(algorithms.len());
    for key_type in known {
        for alg in algorithms {
            let matches = if key_type == "ssh-rsa" {
                matches!(alg, russh::keys::Algorithm::Rsa { .. })
            } else {
                alg.as_str() == key_type
            };
            if matches && !order.contains(alg) {
                order.push(alg.clone());
            }
        }
    }
    for alg in algorithms {
        if !order.contains(alg) {
            order.push(alg.clone());
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use russh::keys::{Algorithm, HashAlg};

    use super::*;

    #[test]
    fn known_host_key_types_come_first() {
        let defaults = Preferred::DEFAULT.key.to_vec();
        assert_eq!(defaults.first(), Some(&Algorithm::Ed25519));
        let order = known_first(&defaults, &["ssh-rsa".to_string()]);
        assert_eq!(
            &order[..2],
            &[
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512)
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256)
                },
            ],
            "{order:?}"
        );
        assert_eq!(order.len(), defaults.len(), "nothing lost: {order:?}");
        assert!(order.contains(&Algorithm::Ed25519));
        let order = known_first(&defaults, &["ecdsa-sha2-nistp256".to_string()]);
        assert_eq!(order[0].as_str(), "ecdsa-sha2-nistp256", "{order:?}");
    }

    #[test]
    fn every_legacy_algorithm_of_the_policy_is_offered_last() {
        let config = client_config();
        let names = |list: Vec<&str>, legacy: &[&str]| {
            assert_eq!(&list[list.len() - legacy.len()..], legacy, "{list:?}");
        };
        let p = &config.preferred;
        names(p.kex.iter().map(|n| n.as_ref()).collect(), LEGACY_KEX);
        names(
            p.cipher.iter().map(|n| n.as_ref()).collect(),
            LEGACY_CIPHERS,
        );
        names(
            p.mac.iter().map(|n| n.as_ref()).collect(),
            LEGACY_MACS_ASYNC,
        );
    }
}
