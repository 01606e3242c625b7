//! The algorithms offered to devices: each library's own modern lists, then
//! the legacy ones old devices still speak (last, so that any modern
//! algorithm a device has wins), and the host-key algorithms of the types
//! known_hosts has for a target first (as OpenSSH does), so that a device
//! with several host keys presents the one we know.

/// Key exchanges old devices (IOS 12.x and alike) still speak.
pub const LEGACY_KEX: &[&str] = &[
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group1-sha1",
];

/// Ciphers old devices still speak.
pub const LEGACY_CIPHERS: &[&str] = &["aes256-cbc", "aes192-cbc", "aes128-cbc", "3des-cbc"];

/// MACs old devices still speak. `hmac-sha1-96` is left out: every device
/// that offers it offers `hmac-sha1` too. A library built without one of
/// these simply does not offer it.
pub const LEGACY_MACS: &[&str] = &["hmac-sha1-etm@openssh.com", "hmac-sha1"];

/// The signature algorithms a known `ssh-rsa` key stands for, best first.
const RSA_SIGNATURES: &[&str] = &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];

/// The host-key algorithms to offer, `supported` (a library's own list, in
/// its order; `name` gives an entry's SSH name) with the algorithms of the
/// `known` key types first, in the order of `known` (`ssh-rsa` stands for
/// [`RSA_SIGNATURES`], best first). Nothing is added or lost: an empty
/// `known` leaves `supported` as it is.
pub fn host_key_order<T: Clone>(
    supported: &[T],
    known: &[String],
    name: impl Fn(&T) -> &str,
) -> Vec<T> {
    let mut first: Vec<usize> = Vec::new();
    for key_type in known {
        let own = [key_type.as_str()];
        let names: &[&str] = if key_type == "ssh-rsa" {
            RSA_SIGNATURES
        } else {
            &own
        };
        for wanted in names {
            if let Some(i) = supported.iter().position(|a| name(a) == *wanted)
                && !first.contains(&i)
            {
                first.push(i);
            }
        }
    }
    let rest = (0..supported.len()).filter(|i| !first.contains(i));
    first
        .iter()
        .copied()
        .chain(rest.collect::<Vec<_>>())
        .map(|i| supported[i].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_key_types_come_first_and_nothing_is_lost() {
        let supported = [
            "ssh-ed25519",
            "ecdsa-sha2-nistp256",
            "ssh-rsa",
            "rsa-sha2-256",
            "rsa-sha2-512",
        ];
        let order = |known: &[&str]| {
            let known: Vec<String> = known.iter().map(|s| s.to_string()).collect();
            host_key_order(&supported, &known, |s| s)
        };
        assert_eq!(order(&[]), supported);
        assert_eq!(
            order(&["ssh-rsa"]),
            [
                "rsa-sha2-512",
                "rsa-sha2-256",
                "ssh-rsa",
                "ssh-ed25519",
                "ecdsa-sha2-nistp256"
            ]
        );
        assert_eq!(
            order(&["ecdsa-sha2-nistp256", "ssh-unknown"]),
            [
                "ecdsa-sha2-nistp256",
                "ssh-ed25519",
                "ssh-rsa",
                "rsa-sha2-256",
                "rsa-sha2-512"
            ]
        );
    }
}
