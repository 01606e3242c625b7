//! The russh client configuration: russh's algorithms plus the policy's
//! legacy ones (the host-key algorithms of the types known_hosts has for a
//! target go first: [`fanout_transport::ssh::host_key_order`]).

use std::borrow::Cow;

use fanout_transport::ssh::{LEGACY_CIPHERS, LEGACY_KEX, LEGACY_MACS};
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
        LEGACY_MACS
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

#[cfg(test)]
mod tests {
    use fanout_transport::ssh::host_key_order;
    use russh::keys::{Algorithm, HashAlg};

    use super::*;

    #[test]
    fn known_host_key_types_come_first() {
        let defaults = Preferred::DEFAULT.key.to_vec();
        assert_eq!(defaults.first(), Some(&Algorithm::Ed25519));
        let known_first = |known: &[String]| host_key_order(&defaults, known, |a| a.as_str());
        let order = known_first(&["ssh-rsa".to_string()]);
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
        let order = known_first(&["ecdsa-sha2-nistp256".to_string()]);
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
        names(p.mac.iter().map(|n| n.as_ref()).collect(), LEGACY_MACS);
    }
}
