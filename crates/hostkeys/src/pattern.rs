//! Host names and host patterns as OpenSSH matches them in known_hosts.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::known_hosts::BASE64;
use base64::Engine as _;

/// The name a host is looked up by in known_hosts: `address` for port 22
/// and `[address]:port` otherwise (OpenSSH's rule), lower-cased.
///
/// ```
/// assert_eq!(fanout_hostkeys::host_name("R1.lab", 22), "r1.lab");
/// assert_eq!(fanout_hostkeys::host_name("127.0.0.1", 2201), "[127.0.0.1]:2201");
/// ```
pub fn host_name(address: &str, port: u16) -> String {
    let address = address.to_ascii_lowercase();
    if port == 22 {
        address
    } else {
        format!("[{address}]:{port}")
    }
}

/// The host field of one known_hosts line.
#[derive(Debug, Clone)]
pub(crate) enum Hosts {
    /// `pattern,pattern,!pattern` (lower-cased).
    Patterns {
        positive: Vec<String>,
        negated: Vec<String>,
    },
    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

impl Hosts {
    /// Parses a host field; the error says what is wrong with it.
    pub(crate) fn parse(field: &str) -> Result<Hosts, String> {
        if let Some(rest) = field.strip_prefix('|') {
            let bad = || {
                format!(
                    "hashed host `{field}` is not `|1|SALT|HASH` with base64 SALT and a 20-byte base64 HASH"
                )
            };
            let rest = rest.strip_prefix("1|").ok_or_else(bad)?;
            let (salt, hash) = rest.split_once('|').ok_or_else(bad)?;
            let salt = BASE64.decode(salt).map_err(|_| bad())?;
            let hash = BASE64.decode(hash).map_err(|_| bad())?;
            if hash.len() != 20 || salt.is_empty() {
                return Err(bad());
            }
            return Ok(Hosts::Hashed { salt, hash });
        }
        let mut positive = Vec::new();
        let mut negated = Vec::new();
        for pattern in field.split(',') {
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_prefix('!') {
                Some("") => return Err(format!("`!` with no pattern after it in `{field}`")),
                Some(p) => negated.push(p.to_string()),
                None if pattern.is_empty() => {
                    return Err(format!(
                        "empty host pattern in `{field}` (two commas, or a comma at an end)"
                    ));
                }
                None => positive.push(pattern),
            }
        }
        Ok(Hosts::Patterns { positive, negated })
    }

    /// OpenSSH semantics: a negated pattern that matches excludes the line;
    /// otherwise any matching positive pattern selects it. `name` must be
    /// lower-case (see [`host_name`]).
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            Hosts::Hashed { salt, hash } => hashed_matches(salt, hash, name),
            Hosts::Patterns { positive, negated } => {
                !negated.iter().any(|p| glob(p.as_bytes(), name.as_bytes()))
                    && positive.iter().any(|p| glob(p.as_bytes(), name.as_bytes()))
            }
        }
    }

    /// The wildcard pattern that selects `name`, if a wildcard (not a
    /// literal or hash) is what matched.
    pub(crate) fn wildcard_for(&self, name: &str) -> Option<&str> {
        match self {
            Hosts::Hashed { .. } => None,
            Hosts::Patterns { positive, .. } => {
                if positive.iter().any(|p| p == name) {
                    return None;
                }
                positive
                    .iter()
                    .find(|p| glob(p.as_bytes(), name.as_bytes()))
                    .map(String::as_str)
            }
        }
    }
}

/// Whether a pattern has OpenSSH wildcards.
pub(crate) fn is_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

fn hashed_matches(salt: &[u8], hash: &[u8], name: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(hash).is_ok()
}

/// `|1|salt|hash` for `name` with the given salt, as `ssh-keygen -H` writes it.
pub fn hash_host_name(name: &str, salt: &[u8]) -> String {
    // HMAC accepts keys of any length; an empty salt is the only odd case
    // and still yields a valid (if weak) MAC.
    let mut mac = Hmac::<Sha1>::new_from_slice(salt).expect("HMAC takes any key length");
    mac.update(name.as_bytes());
    let hash = mac.finalize().into_bytes();
    format!("|1|{}|{}", BASE64.encode(salt), BASE64.encode(hash))
}

/// OpenSSH `match_pattern`: `*` matches any run (also empty), `?` one byte.
pub(crate) fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Position of the last `*` seen and the text position it currently covers up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_openssh() {
        assert!(glob(b"*", b""));
        assert!(glob(b"*", b"anything"));
        assert!(glob(b"10.0.0.*", b"10.0.0.17"));
        assert!(!glob(b"10.0.0.*", b"10.0.1.17"));
        assert!(glob(b"r?", b"r1"));
        assert!(!glob(b"r?", b"r12"));
        assert!(glob(b"*.lab", b"core.r1.lab"));
        assert!(glob(b"a*b*c", b"aXbYbZc"));
        assert!(!glob(b"a*b*c", b"aXbYbZ"));
        assert!(glob(b"[10.0.0.*]:2201", b"[10.0.0.9]:2201"));
        assert!(!glob(b"[10.0.0.*]:2201", b"[10.0.0.9]:2202"));
        assert!(!glob(b"abc", b"ab"));
        assert!(!glob(b"", b"a"));
    }

    #[test]
    fn negation_excludes_and_alone_never_matches() {
        let h = Hosts::parse("10.0.0.*,!10.0.0.5").unwrap();
        assert!(h.matches("10.0.0.4"));
        assert!(!h.matches("10.0.0.5"));
        let only_negated = Hosts::parse("!10.0.0.5").unwrap();
        assert!(!only_negated.matches("10.0.0.4"));
    }

    #[test]
    fn bad_fields_are_explained() {
        assert!(
            Hosts::parse("a,,b")
                .unwrap_err()
                .contains("empty host pattern")
        );
        assert!(Hosts::parse("a,!").unwrap_err().contains("`!`"));
        assert!(
            Hosts::parse("|2|abc|def")
                .unwrap_err()
                .contains("|1|SALT|HASH")
        );
        assert!(
            Hosts::parse("|1|AAAA|AAAA")
                .unwrap_err()
                .contains("20-byte")
        );
    }

    #[test]
    fn hashed_round_trip() {
        let line = hash_host_name("[127.0.0.1]:2201", b"0123456789abcdefghij");
        let h = Hosts::parse(&line).unwrap();
        assert!(h.matches("[127.0.0.1]:2201"));
        assert!(!h.matches("[127.0.0.1]:2202"));
        assert!(!h.matches("127.0.0.1"));
    }
}
