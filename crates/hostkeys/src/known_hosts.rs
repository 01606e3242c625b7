//! Parsing known_hosts lines and the in-memory index built from them.

use std::collections::HashMap;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::pattern::{Hosts, is_wildcard};

/// Standard base64, padding optional on input (OpenSSH's decoder tolerates
/// both), written with padding.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The key type named inside an SSH wire-format public key blob (its first
/// string), e.g. `ssh-ed25519`; `None` if the blob is not one.
///
/// ```
/// use base64::Engine as _;
/// let blob = base64::engine::general_purpose::STANDARD
///     .decode("AAAAC3NzaC1lZDI1NTE5AAAAICRFNvF3LBNpKwh7kEcM79UMn2XcDkjbsEJ+VWywheqh")
///     .unwrap();
/// assert_eq!(fanout_hostkeys::key_type_of(&blob), Some("ssh-ed25519"));
/// assert_eq!(fanout_hostkeys::key_type_of(b"junk"), None);
/// ```
pub fn key_type_of(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4usize.checked_add(len)?)?;
    let name = std::str::from_utf8(name).ok()?;
    let plausible = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-@._".contains(&b));
    plausible.then_some(name)
}

/// A line's `@marker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// One parsed key line.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) marker: Marker,
    pub(crate) hosts: Hosts,
    pub(crate) key_type: String,
    pub(crate) blob: Vec<u8>,
}

/// Parses one line; `Ok(None)` for blank lines and comments.
pub(crate) fn parse_line(text: &str) -> Result<Option<Line>, String> {
    let mut tokens = text.split_ascii_whitespace();
    let Some(first) = tokens.next() else {
        return Ok(None);
    };
    if first.starts_with('#') {
        return Ok(None);
    }
    let (marker, hosts) = match first.strip_prefix('@') {
        Some(name) => {
            let marker = match name {
                "revoked" => Marker::Revoked,
                "cert-authority" => Marker::CertAuthority,
                _ => {
                    return Err(format!(
                        "unknown marker `{first}` (known: @revoked, @cert-authority)"
                    ));
                }
            };
            let hosts = tokens
                .next()
                .ok_or_else(|| format!("nothing after the marker `{first}`"))?;
            (marker, hosts)
        }
        None => (Marker::None, first),
    };
    let key_type = tokens
        .next()
        .ok_or_else(|| format!("no key type after the host patterns `{hosts}`"))?;
    if key_type.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{key_type}` after `{hosts}` looks like an SSH-1 key (bits exponent modulus), which is not supported"
        ));
    }
    let encoded = tokens
        .next()
        .ok_or_else(|| format!("no base64 key after the key type `{key_type}`"))?;
    let blob = BASE64
        .decode(encoded)
        .map_err(|e| format!("the key after `{key_type}` is not valid base64 ({e})"))?;
    match key_type_of(&blob) {
        Some(inner) if inner == key_type => {}
        Some(inner) => {
            return Err(format!(
                "the key type field says `{key_type}` but the key itself is `{inner}`"
            ));
        }
        None => {
            return Err(format!(
                "the base64 data after `{key_type}` is not an SSH public key"
            ));
        }
    }
    let hosts = Hosts::parse(hosts)?;
    Ok(Some(Line {
        marker,
        hosts,
        key_type: key_type.to_string(),
        blob,
    }))
}

/// A key line and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Index into the verifier's file list.
    pub(crate) file: usize,
    /// 1-based line number.
    pub(crate) line: usize,
    pub(crate) marker: Marker,
    pub(crate) hosts: Hosts,
    pub(crate) key_type: String,
    pub(crate) blob: Vec<u8>,
}

/// Parses a chunk of a file starting at line `first_line`. Returns the key
/// entries (cert-authority lines are dropped: they do not vouch for plain
/// keys) and the bad lines with their reasons.
pub(crate) fn parse_chunk(
    bytes: &[u8],
    file: usize,
    first_line: usize,
) -> (Vec<Entry>, Vec<(usize, String)>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    let mut segments: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if segments.last().is_some_and(|s| s.is_empty()) {
        segments.pop();
    }
    for (i, raw) in segments.into_iter().enumerate() {
        let line = first_line + i;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = std::str::from_utf8(raw) else {
            bad.push((line, "the line is not valid UTF-8 text".to_string()));
            continue;
        };
        match parse_line(text) {
            Ok(None) => {}
            Ok(Some(parsed)) if parsed.marker == Marker::CertAuthority => {}
            Ok(Some(parsed)) => entries.push(Entry {
                file,
                line,
                marker: parsed.marker,
                hosts: parsed.hosts,
                key_type: parsed.key_type,
                blob: parsed.blob,
            }),
            Err(reason) => bad.push((line, reason)),
        }
    }
    (entries, bad)
}

/// Number of lines a chunk contributes (a final line without `\n` counts).
pub(crate) fn count_lines(bytes: &[u8]) -> usize {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
    newlines + usize::from(!bytes.is_empty() && !bytes.ends_with(b"\n"))
}

/// All entries of all files, indexed for lookups by host name.
#[derive(Debug, Default)]
pub(crate) struct Index {
    entries: Vec<Entry>,
    /// Literal (wildcard-free, non-negated) patterns -> entries.
    literal: HashMap<String, Vec<usize>>,
    /// Entries with at least one wildcard pattern.
    wild: Vec<usize>,
    /// Hashed entries (one HMAC each per lookup).
    hashed: Vec<usize>,
}

impl Index {
    pub(crate) fn insert(&mut self, entry: Entry) {
        let id = self.entries.len();
        match &entry.hosts {
            Hosts::Hashed { .. } => self.hashed.push(id),
            Hosts::Patterns { positive, .. } => {
                let mut wild = false;
                for p in positive {
                    if is_wildcard(p) {
                        wild = true;
                    } else {
                        let ids = self.literal.entry(p.clone()).or_default();
                        if ids.last() != Some(&id) {
                            ids.push(id);
                        }
                    }
                }
                if wild {
                    self.wild.push(id);
                }
            }
        }
        self.entries.push(entry);
    }

    /// Entries for `name` (lower-case, see [`crate::host_name`]) in file order.
    pub(crate) fn lookup(&self, name: &str) -> Vec<&Entry> {
        let mut ids: Vec<usize> = self.literal.get(name).cloned().unwrap_or_default();
        ids.extend(self.wild.iter().copied());
        ids.extend(self.hashed.iter().copied());
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| &self.entries[id])
            .filter(|e| e.hosts.matches(name))
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAICRFNvF3LBNpKwh7kEcM79UMn2XcDkjbsEJ+VWywheqh";

    #[test]
    fn comments_blank_and_comment_field() {
        assert!(parse_line("").unwrap().is_none());
        assert!(parse_line("   # a comment").unwrap().is_none());
        let l = parse_line(&format!("r1,r2 ssh-ed25519 {ED1} admin@laptop extra words"))
            .unwrap()
            .unwrap();
        assert_eq!(l.key_type, "ssh-ed25519");
        assert_eq!(l.marker, Marker::None);
    }

    #[test]
    fn markers() {
        let l = parse_line(&format!("@revoked * ssh-ed25519 {ED1}"))
            .unwrap()
            .unwrap();
        assert_eq!(l.marker, Marker::Revoked);
        let l = parse_line(&format!("@cert-authority *.lab ssh-ed25519 {ED1}"))
            .unwrap()
            .unwrap();
        assert_eq!(l.marker, Marker::CertAuthority);
        assert!(
            parse_line(&format!("@trusted r1 ssh-ed25519 {ED1}"))
                .unwrap_err()
                .contains("unknown marker")
        );
    }

    #[test]
    fn malformed_lines_say_why() {
        assert!(parse_line("r1").unwrap_err().contains("no key type"));
        assert!(
            parse_line("r1 ssh-ed25519")
                .unwrap_err()
                .contains("no base64 key")
        );
        assert!(
            parse_line("r1 ssh-ed25519 !!!")
                .unwrap_err()
                .contains("not valid base64")
        );
        assert!(
            parse_line(
                "r1 ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAICRFNvF3LBNpKwh7kEcM79UMn2XcDkjbsEJ+VWywheqh"
            )
            .unwrap_err()
            .contains("key itself is `ssh-ed25519`")
        );
        assert!(parse_line("r1 1024 35 1234").unwrap_err().contains("SSH-1"));
        assert!(
            parse_line("r1 ssh-ed25519 AAAA")
                .unwrap_err()
                .contains("not an SSH public key")
        );
    }

    #[test]
    fn chunk_line_numbers_and_crlf() {
        let text = format!("# header\r\nr1 ssh-ed25519 {ED1}\r\n\nbad line\nr2 ssh-ed25519 {ED1}");
        let (entries, bad) = parse_chunk(text.as_bytes(), 0, 1);
        assert_eq!(entries.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 4);
        assert_eq!(count_lines(text.as_bytes()), 5);
        assert_eq!(count_lines(b"a\nb\n"), 2);
        assert_eq!(count_lines(b""), 0);
    }

    #[test]
    fn index_finds_literal_wild_and_hashed_once() {
        let text = format!(
            "r1,r1.lab ssh-ed25519 {ED1}\nr*,r1 ssh-ed25519 {ED1}\n{} ssh-ed25519 {ED1}\nx ssh-ed25519 {ED1}\n",
            crate::hash_host_name("r1", b"saltsaltsaltsaltsalt")
        );
        let (entries, bad) = parse_chunk(text.as_bytes(), 0, 1);
        assert!(bad.is_empty());
        let mut index = Index::default();
        for e in entries {
            index.insert(e);
        }
        assert_eq!(index.len(), 4);
        let lines: Vec<usize> = index.lookup("r1").iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3]);
        assert_eq!(index.lookup("r2").len(), 1);
        assert!(index.lookup("y").is_empty());
    }
}
