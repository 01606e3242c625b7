//! What a host's ssh_config algorithm lists (`KexAlgorithms`,
//! `HostKeyAlgorithms`, `Ciphers`, `MACs`, kept in
//! [`Reach`](fanout_core::Reach)) make a transport offer, in OpenSSH's
//! notation: `+a,b` appends to the defaults, `-a` removes, `^a` prepends,
//! a plain list replaces; `*` and `?` are wildcards in every form (matched
//! against what the library supports, as OpenSSH does). The defaults are
//! the library's own list plus the policy's legacy algorithms (last).
//!
//! Both transports call [`offer`] once per connection, before opening it:
//! a list that leaves nothing, or names an algorithm the executor's SSH
//! library does not support, fails the host with `invalid_target` before
//! any connection is opened, saying which line of which file to fix.
//!
//! [`legacy_negotiated`] names the negotiated algorithms that are legacy
//! (SHA-1 key exchange, `ssh-rsa`/`ssh-dss` host keys, CBC and 3DES
//! ciphers, SHA-1 and MD5 MACs), for the host's `legacy_algorithms`.

use fanout_core::{ErrorKind, Reach, Target};
use fanout_engine::AttemptError;
use fanout_sshconfig::glob;

/// An algorithm family an ssh_config can set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `KexAlgorithms`.
    Kex,
    /// `HostKeyAlgorithms`.
    HostKey,
    /// `Ciphers` (both directions).
    Cipher,
    /// `MACs` (both directions).
    Mac,
}

impl Family {
    /// Every family, in SSH's KEXINIT order.
    pub const ALL: [Family; 4] = [Family::Kex, Family::HostKey, Family::Cipher, Family::Mac];

    /// The ssh_config keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Family::Kex => "KexAlgorithms",
            Family::HostKey => "HostKeyAlgorithms",
            Family::Cipher => "Ciphers",
            Family::Mac => "MACs",
        }
    }

    /// The [`Reach`] field (and `inventory show` key) holding it.
    pub fn field(self) -> &'static str {
        match self {
            Family::Kex => "kex_algorithms",
            Family::HostKey => "host_key_algorithms",
            Family::Cipher => "ciphers",
            Family::Mac => "macs",
        }
    }

    /// The host's spec for this family, if its ssh_config set one.
    pub fn spec(self, reach: &Reach) -> Option<&str> {
        match self {
            Family::Kex => reach.kex_algorithms.as_deref(),
            Family::HostKey => reach.host_key_algorithms.as_deref(),
            Family::Cipher => reach.ciphers.as_deref(),
            Family::Mac => reach.macs.as_deref(),
        }
    }
}

/// Why a spec cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    /// Nothing would be offered.
    Empty,
    /// Names (or patterns) that match nothing the library supports.
    Unknown(Vec<String>),
}

/// Names in a kex list that are not algorithms but extension flags
/// (`ext-info-c`, `kex-strict-c-v00@openssh.com`): always kept, never
/// matched by a spec.
pub fn is_pseudo(name: &str) -> bool {
    name.starts_with("ext-info-") || name.starts_with("kex-strict-")
}

/// `spec` (OpenSSH notation) applied to `defaults`: the list to offer, best
/// first, without duplicates. `supported` is everything the library could
/// offer (what `+`, `^`, a plain list and wildcards may name). Extension
/// flags of `defaults` stay, at the end.
pub fn apply_spec(
    spec: &str,
    defaults: &[&str],
    supported: &[&str],
) -> Result<Vec<String>, SpecError> {
    let spec = spec.trim();
    let (mode, rest) = match spec.chars().next() {
        Some(c @ ('+' | '-' | '^')) => (Some(c), &spec[1..]),
        _ => (None, spec),
    };
    let patterns: Vec<&str> = rest
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !is_pseudo(p))
        .collect();
    let real: Vec<&str> = defaults.iter().copied().filter(|n| !is_pseudo(n)).collect();
    let mut unknown = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    if mode != Some('-') {
        for p in &patterns {
            let matched: Vec<&str> = supported
                .iter()
                .copied()
                .filter(|s| !is_pseudo(s) && glob(p, s))
                .collect();
            if matched.is_empty() {
                unknown.push(p.to_string());
            }
            named.extend(matched);
        }
    }
    if !unknown.is_empty() {
        return Err(SpecError::Unknown(unknown));
    }
    let chosen: Vec<&str> = match mode {
        Some('+') => real.iter().copied().chain(named).collect(),
        Some('^') => named.into_iter().chain(real.iter().copied()).collect(),
        Some(_) => real
            .iter()
            .copied()
            .filter(|n| !patterns.iter().any(|p| glob(p, n)))
            .collect(),
        None => named,
    };
    let mut out: Vec<String> = Vec::new();
    for name in chosen {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    if out.is_empty() {
        return Err(SpecError::Empty);
    }
    out.extend(
        defaults
            .iter()
            .filter(|n| is_pseudo(n))
            .map(|n| n.to_string()),
    );
    Ok(out)
}

/// What `target`'s ssh_config makes `library` (`russh`, `libssh2`) offer
/// for `family`: `None` when it sets nothing (the defaults apply), else the
/// list; an `invalid_target` error, naming the host, the keyword and where
/// it was set, when the list leaves nothing or names what `library` does
/// not support.
pub fn offer(
    target: &Target,
    family: Family,
    defaults: &[&str],
    supported: &[&str],
    library: &str,
) -> Result<Option<Vec<String>>, AttemptError> {
    let Some(spec) = family.spec(&target.reach) else {
        return Ok(None);
    };
    let fail = |what: String| {
        let from = target
            .reach
            .sources
            .get(family.field())
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!(
                "{} `{spec}` for host {}{from} {what}",
                family.keyword(),
                target.name
            ),
        )
    };
    let real = |list: &[&str]| {
        list.iter()
            .copied()
            .filter(|n| !is_pseudo(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match apply_spec(spec, defaults, supported) {
        Ok(list) => Ok(Some(list)),
        Err(SpecError::Empty) => Err(fail(format!(
            "leaves no algorithm to offer (fanout's {library} offers {} by default); keep at \
             least one that the device supports",
            real(defaults)
        ))),
        Err(SpecError::Unknown(names)) => Err(fail(format!(
            "names {}, which fanout's {library} does not support (it supports {}); fix the \
             spelling or remove it (-e async runs russh, the other executors libssh2: the \
             other library may have it)",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            real(supported)
        ))),
    }
}

/// Whether the negotiated `name` of `family` is a legacy algorithm: SHA-1
/// key exchange, an `ssh-rsa` (SHA-1) or `ssh-dss` host key, a CBC or 3DES
/// cipher, a SHA-1 or MD5 MAC.
pub fn is_legacy(family: Family, name: &str) -> bool {
    match family {
        Family::Kex => name.ends_with("-sha1") || name.ends_with("-sha1@libssh.org"),
        Family::HostKey => {
            name == "ssh-rsa" || name == "ssh-dss" || name.starts_with("ssh-rsa-cert")
        }
        Family::Cipher => name.contains("-cbc") || name.contains("3des"),
        Family::Mac => name.starts_with("hmac-sha1") || name.starts_with("hmac-md5"),
    }
}

/// The legacy ones among negotiated algorithms (`(family, name)`, both
/// directions' ciphers and MACs may be given): each name once, in the
/// order given.
pub fn legacy_negotiated<'a>(
    negotiated: impl IntoIterator<Item = (Family, &'a str)>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (family, name) in negotiated {
        if is_legacy(family, name) && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: &[&str] = &[
        "curve25519-sha256",
        "diffie-hellman-group14-sha256",
        "ext-info-c",
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group-exchange-sha1",
        "diffie-hellman-group1-sha1",
    ];
    const SUPPORTED: &[&str] = &[
        "curve25519-sha256",
        "ecdh-sha2-nistp256",
        "diffie-hellman-group14-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group-exchange-sha1",
        "diffie-hellman-group1-sha1",
        "ext-info-c",
    ];

    fn apply(spec: &str) -> Result<Vec<String>, SpecError> {
        apply_spec(spec, DEFAULTS, SUPPORTED)
    }

    #[test]
    fn plus_appends_minus_removes_caret_prepends_plain_replaces() {
        assert_eq!(
            apply("+ecdh-sha2-nistp256,curve25519-sha256").unwrap(),
            [
                "curve25519-sha256",
                "diffie-hellman-group14-sha256",
                "diffie-hellman-group14-sha1",
                "diffie-hellman-group-exchange-sha1",
                "diffie-hellman-group1-sha1",
                "ecdh-sha2-nistp256",
                "ext-info-c",
            ]
        );
        assert_eq!(
            apply("-diffie-hellman-group1-sha1").unwrap(),
            [
                "curve25519-sha256",
                "diffie-hellman-group14-sha256",
                "diffie-hellman-group14-sha1",
                "diffie-hellman-group-exchange-sha1",
                "ext-info-c",
            ]
        );
        assert_eq!(
            apply("^diffie-hellman-group16-sha512").unwrap(),
            [
                "diffie-hellman-group16-sha512",
                "curve25519-sha256",
                "diffie-hellman-group14-sha256",
                "diffie-hellman-group14-sha1",
                "diffie-hellman-group-exchange-sha1",
                "diffie-hellman-group1-sha1",
                "ext-info-c",
            ]
        );
        assert_eq!(
            apply(" diffie-hellman-group14-sha1 , curve25519-sha256").unwrap(),
            [
                "diffie-hellman-group14-sha1",
                "curve25519-sha256",
                "ext-info-c"
            ]
        );
    }

    #[test]
    fn wildcards_match_in_every_form() {
        assert_eq!(
            apply("-diffie-hellman-group*-sha1,diffie-hellman-group-exchange-sha1").unwrap(),
            [
                "curve25519-sha256",
                "diffie-hellman-group14-sha256",
                "ext-info-c"
            ]
        );
        assert_eq!(
            apply("-*-sha1").unwrap(),
            [
                "curve25519-sha256",
                "diffie-hellman-group14-sha256",
                "ext-info-c"
            ]
        );
        assert_eq!(
            apply("ecdh-*,diffie-hellman-group1?-sha512").unwrap(),
            [
                "ecdh-sha2-nistp256",
                "diffie-hellman-group16-sha512",
                "ext-info-c"
            ]
        );
        assert!(glob("a*b?c", "axxbyc"));
        assert!(!glob("a*b?c", "axxbc"));
        assert!(glob("*", ""));
    }

    #[test]
    fn an_empty_result_and_unknown_names_are_errors() {
        assert_eq!(apply("-*"), Err(SpecError::Empty));
        assert_eq!(apply("-curve*,diffie-*"), Err(SpecError::Empty));
        assert_eq!(
            apply("+sntrup761x25519-sha512@openssh.com,curve25519-sha256,x*"),
            Err(SpecError::Unknown(vec![
                "sntrup761x25519-sha512@openssh.com".into(),
                "x*".into()
            ]))
        );
        assert_eq!(apply("nope"), Err(SpecError::Unknown(vec!["nope".into()])));
        // Removing what is not there is harmless, as in OpenSSH.
        assert_eq!(apply("-nope").unwrap().len(), DEFAULTS.len());
    }

    #[test]
    fn the_error_names_host_keyword_file_and_library() {
        let mut t = Target::new("r3", "127.0.0.1");
        assert!(
            offer(&t, Family::Kex, DEFAULTS, SUPPORTED, "russh")
                .unwrap()
                .is_none()
        );
        t.reach.kex_algorithms = Some("-*".into());
        t.reach
            .sources
            .insert("kex_algorithms".into(), "ssh_config /x/config:4".into());
        let e = offer(&t, Family::Kex, DEFAULTS, SUPPORTED, "russh").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidTarget);
        assert!(
            e.message.starts_with(
                "KexAlgorithms `-*` for host r3 (ssh_config /x/config:4) leaves no algorithm"
            ),
            "{}",
            e.message
        );
        assert!(!e.message.contains("ext-info"), "{}", e.message);
        t.reach.macs = Some("+hmac-nope".into());
        let e = offer(
            &t,
            Family::Mac,
            &["hmac-sha2-256"],
            &["hmac-sha2-256"],
            "libssh2",
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("names `hmac-nope`, which fanout's libssh2 does not support (it supports hmac-sha2-256)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn legacy_algorithms_are_sha1_kex_rsa_sha1_keys_cbc_and_sha1_macs() {
        let got = legacy_negotiated([
            (Family::Kex, "diffie-hellman-group14-sha1"),
            (Family::HostKey, "rsa-sha2-256"),
            (Family::Cipher, "aes128-cbc"),
            (Family::Cipher, "aes128-cbc"),
            (Family::Mac, "hmac-sha1"),
            (Family::Mac, "hmac-sha1"),
        ]);
        assert_eq!(
            got,
            ["diffie-hellman-group14-sha1", "aes128-cbc", "hmac-sha1"]
        );
        assert!(is_legacy(Family::HostKey, "ssh-rsa"));
        assert!(is_legacy(Family::Cipher, "3des-cbc"));
        assert!(is_legacy(Family::Kex, "diffie-hellman-group-exchange-sha1"));
        assert!(
            legacy_negotiated([
                (Family::Kex, "curve25519-sha256"),
                (Family::HostKey, "ssh-ed25519"),
                (Family::Cipher, "chacha20-poly1305@openssh.com"),
                (Family::Mac, "hmac-sha2-256-etm@openssh.com"),
            ])
            .is_empty()
        );
    }
}
