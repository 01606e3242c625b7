//! The russh client configuration: russh's algorithms plus the policy's
//! legacy ones (the host-key algorithms of the types known_hosts has for a
//! target go first: [`fanout_transport::ssh::host_key_order`]).

use std::borrow::Cow;

use fanout_core::Target;
use fanout_engine::AttemptError;
use fanout_transport::ssh::{
    Family, LEGACY_CIPHERS, LEGACY_KEX, LEGACY_MACS, host_key_order, offer,
};
use russh::client;
use russh::keys::Algorithm;
use russh::{Preferred, cipher, kex, mac};

/// russh's defaults, plus the legacy algorithms old devices (IOS 12.x)
/// still offer, at the end of each list so that any modern algorithm the
/// device has wins.
pub(super) fn client_config() -> client::Config {
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

/// The config for `target`: [`client_config`] with each family as the
/// target's ssh_config lists make it ([`offer`]), and, unless
/// `HostKeyAlgorithms` is set, the host-key algorithms of the `known` key
/// types first, as OpenSSH does. A list that cannot be applied is the
/// host's `invalid_target` error.
pub(super) fn config_for(
    target: &Target,
    known: &[String],
) -> Result<client::Config, AttemptError> {
    let mut config = client_config();
    let p = &mut config.preferred;
    let real = |n: &&str| *n != "none" && *n != "clear";
    if let Some(list) = choose(target, Family::Kex, &p.kex, kex::ALL_KEX_ALGORITHMS, real)? {
        p.kex = Cow::Owned(list);
    }
    if let Some(list) = choose(target, Family::Cipher, &p.cipher, cipher::ALL_CIPHERS, real)? {
        p.cipher = Cow::Owned(list);
    }
    if let Some(list) = choose(target, Family::Mac, &p.mac, mac::ALL_MAC_ALGORITHMS, real)? {
        p.mac = Cow::Owned(list);
    }
    let keys: Vec<&str> = p.key.iter().map(|a| a.as_str()).collect();
    match offer(target, Family::HostKey, &keys, &keys, "russh")? {
        Some(names) => {
            let all = p.key.to_vec();
            p.key = Cow::Owned(
                names
                    .iter()
                    .filter_map(|n| all.iter().find(|a| a.as_str() == n.as_str()).cloned())
                    .collect::<Vec<Algorithm>>(),
            );
        }
        None if !known.is_empty() => {
            p.key = Cow::Owned(host_key_order(&p.key, known, |a| a.as_str()));
        }
        None => {}
    }
    Ok(config)
}

/// `family`'s list for `target` out of russh's `defaults` and everything
/// it supports (`all`, the `real` ones), as russh names; `None`: the
/// defaults.
fn choose<N>(
    target: &Target,
    family: Family,
    defaults: &[N],
    all: &[&N],
    real: impl Fn(&&str) -> bool,
) -> Result<Option<Vec<N>>, AttemptError>
where
    N: AsRef<str> + Copy,
{
    let names: Vec<&str> = defaults.iter().map(|n| n.as_ref()).collect();
    let supported: Vec<&str> = all.iter().map(|n| n.as_ref()).filter(&real).collect();
    let Some(list) = offer(target, family, &names, &supported, "russh")? else {
        return Ok(None);
    };
    let lookup = |name: &str| {
        defaults
            .iter()
            .copied()
            .chain(all.iter().map(|n| **n))
            .find(|n| n.as_ref() == name)
    };
    Ok(Some(list.iter().filter_map(|n| lookup(n)).collect()))
}

#[cfg(test)]
mod tests {
    use russh::keys::HashAlg;

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
