//! known_hosts matching, policies, messages and concurrent accept-new.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::Engine as _;
use fanout_core::{ErrorKind, HostKeyPolicy, Target};
use fanout_hostkeys::{HostKeyError, HostKeyStatus, HostKeyVerifier, fingerprint, hash_host_name};
use hmac::{Hmac, Mac};
use sha1::Sha1;

// Public keys from `ssh-keygen -t ed25519` / `-t ecdsa` runs (not secrets).
const ED1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAICRFNvF3LBNpKwh7kEcM79UMn2XcDkjbsEJ+VWywheqh";
const ED2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIEwnVslOCGMWKH3c6sE+FL8fXa22EHhCaC2jpQTnJUO3";
const ED3: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIK6koWceZ5POdC2qzbA3icWQu58UHMO6r69vEkoeHkfb";
const ECDSA: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHOOlT5LHMAYjOAq5HL+fBsiYuBvY9nIPS3zwmvRNKUYpW6KC/Y+2pufYcx97ekVZ4wVa96S9e8ZOa6SxJTaGTI=";
const ED: &str = "ssh-ed25519";
const EC: &str = "ecdsa-sha2-nistp256";

use HostKeyPolicy::{AcceptNew, Off, Strict};

fn blob(b64: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn target(address: &str, port: u16) -> Target {
    let mut t = Target::new(format!("{address}:{port}"), address);
    t.port = port;
    t
}

/// A temp dir with a known_hosts file holding `text`.
fn known_hosts(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known_hosts");
    fs::write(&path, text).unwrap();
    (dir, path)
}

fn verifier(policy: HostKeyPolicy, path: &Path) -> HostKeyVerifier {
    HostKeyVerifier::from_files(policy, &[path.to_path_buf()]).unwrap()
}

fn check(
    v: &HostKeyVerifier,
    address: &str,
    port: u16,
    key: &str,
) -> Result<HostKeyStatus, HostKeyError> {
    let key_type = if key == ECDSA { EC } else { ED };
    v.verify(&target(address, port), key_type, &blob(key))
}

fn is_known(v: &HostKeyVerifier, address: &str, port: u16, key: &str) -> bool {
    matches!(check(v, address, port, key), Ok(HostKeyStatus::Known))
}

fn is_unknown(v: &HostKeyVerifier, address: &str, port: u16, key: &str) -> bool {
    matches!(
        check(v, address, port, key),
        Err(HostKeyError::Unknown { .. })
    )
}

fn lines_of(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn plain_host_is_port_22_only() {
    let (_d, path) = known_hosts(&format!("127.0.0.1 {ED} {ED1}\n"));
    let v = verifier(Strict, &path);
    assert!(is_known(&v, "127.0.0.1", 22, ED1));
    assert!(is_unknown(&v, "127.0.0.2", 22, ED1));
    // OpenSSH looks port 2201 up as `[127.0.0.1]:2201` only; the message
    // points at the entry written for the wrong port.
    let err = check(&v, "127.0.0.1", 2201, ED1).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostKeyError::Unknown { .. }), "{msg}");
    assert!(
        msg.contains(&format!("{}:1 is for `127.0.0.1`", path.display())),
        "{msg}"
    );
    assert!(msg.contains("write it as `[127.0.0.1]:2201`"), "{msg}");
}

#[test]
fn bracketed_host_and_port() {
    let (_d, path) = known_hosts(&format!("[127.0.0.1]:2201 {ED} {ED1}\n"));
    let v = verifier(Strict, &path);
    assert!(is_known(&v, "127.0.0.1", 2201, ED1));
    assert!(is_unknown(&v, "127.0.0.1", 2202, ED1));
    assert!(is_unknown(&v, "127.0.0.1", 22, ED1));
}

#[test]
fn port_22_written_with_brackets_does_not_match_like_openssh() {
    let (_d, path) = known_hosts(&format!("[127.0.0.1]:22 {ED} {ED1}\n"));
    let v = verifier(Strict, &path);
    let msg = check(&v, "127.0.0.1", 22, ED1).unwrap_err().to_string();
    assert!(msg.contains("is for `[127.0.0.1]:22`"), "{msg}");
    assert!(msg.contains("write it as `127.0.0.1`"), "{msg}");
}

#[test]
fn comma_lists_and_case() {
    let (_d, path) = known_hosts(&format!(
        "R1.Lab,[127.0.0.2]:2201,127.0.0.3 {ED} {ED1} admin@laptop\n"
    ));
    let v = verifier(Strict, &path);
    assert!(is_known(&v, "r1.lab", 22, ED1));
    assert!(is_known(&v, "R1.LAB", 22, ED1));
    assert!(is_known(&v, "127.0.0.2", 2201, ED1));
    assert!(is_known(&v, "127.0.0.3", 22, ED1));
    assert!(is_unknown(&v, "127.0.0.2", 22, ED1));
}

#[test]
fn ipv6_addresses() {
    let (_d, path) = known_hosts(&format!("::1 {ED} {ED1}\n[::1]:2201 {ED} {ED2}\n"));
    let v = verifier(Strict, &path);
    assert!(is_known(&v, "::1", 22, ED1));
    assert!(is_known(&v, "::1", 2201, ED2));
}

#[test]
fn wildcards() {
    let (_d, path) = known_hosts(&format!("[127.0.0.*]:22?? {ED} {ED1}\n*.lab {ED} {ED2}\n"));
    let v = verifier(Strict, &path);
    assert!(is_known(&v, "127.0.0.9", 2201, ED1));
    assert!(is_known(&v, "127.0.0.200", 2299, ED1));
    assert!(is_unknown(&v, "127.0.1.9", 2201, ED1));
    assert!(is_unknown(&v, "127.0.0.9", 22011, ED1));
    assert!(is_known(&v, "core.r1.lab", 22, ED2));
    assert!(is_unknown(&v, "lab", 22, ED2));
    // A changed key under a wildcard cannot be removed with ssh-keygen -R:
    // the message says which pattern to edit.
    let msg = check(&v, "127.0.0.9", 2201, ED3).unwrap_err().to_string();
    assert!(
        msg.contains("HOST KEY CHANGED for [127.0.0.9]:2201"),
        "{msg}"
    );
    assert!(
        msg.contains("its pattern `[127.0.0.*]:22??` covers"),
        "{msg}"
    );
}

#[test]
fn negation_excludes_a_host() {
    let (_d, path) = known_hosts(&format!("127.0.0.*,!127.0.0.5 {ED} {ED1}\n"));
    let v = verifier(Strict, &path);
    assert!(is_known(&v, "127.0.0.4", 22, ED1));
    assert!(is_unknown(&v, "127.0.0.5", 22, ED1));
    // Negation also applies when the host is listed literally on the line.
    let (_d, path) = known_hosts(&format!("127.0.0.5,!127.0.0.5 {ED} {ED1}\n"));
    assert!(is_unknown(&verifier(Strict, &path), "127.0.0.5", 22, ED1));
}

/// `|1|salt|hash` computed here independently of the crate.
fn hashed(name: &str, salt: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(salt).unwrap();
    mac.update(name.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "|1|{}|{}",
        b64.encode(salt),
        b64.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn hashed_entries() {
    let salt = b"fanout-test-salt-20b";
    assert_eq!(hashed("r1", salt), hash_host_name("r1", salt));
    let (_d, path) = known_hosts(&format!(
        "{} {ED} {ED1}\n{} {ED} {ED2}\n",
        hashed("[127.0.0.1]:2201", salt),
        hashed("127.0.0.7", b"another salt 20bytes")
    ));
    let v = verifier(Strict, &path);
    assert!(is_known(&v, "127.0.0.1", 2201, ED1));
    assert!(is_known(&v, "127.0.0.7", 22, ED2));
    assert!(is_unknown(&v, "127.0.0.1", 22, ED1));
    let msg = check(&v, "127.0.0.1", 2201, ED2).unwrap_err().to_string();
    assert!(
        msg.contains(&format!(
            "{}:1 has {}",
            path.display(),
            fingerprint(&blob(ED1))
        )),
        "{msg}"
    );
}

#[test]
fn hashed_by_real_ssh_keygen() {
    let keygen = Path::new("/usr/bin/ssh-keygen");
    if !keygen.exists() {
        println!("note: /usr/bin/ssh-keygen not found; skipping the `ssh-keygen -H` check");
        return;
    }
    let (_d, path) = known_hosts(&format!(
        "[127.0.0.1]:2201 {ED} {ED1}\n127.0.0.2 {ED} {ED2}\n"
    ));
    let out = Command::new(keygen)
        .arg("-H")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = lines_of(&path);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.starts_with("|1|")), "{lines:?}");
    let v = verifier(Strict, &path);
    assert!(is_known(&v, "127.0.0.1", 2201, ED1));
    assert!(is_known(&v, "127.0.0.2", 22, ED2));
    assert!(is_unknown(&v, "127.0.0.2", 2201, ED2));
    assert!(matches!(
        check(&v, "127.0.0.1", 2201, ED2),
        Err(HostKeyError::Changed { .. })
    ));
}

#[test]
fn fingerprint_matches_ssh_keygen_for_a_fresh_key() {
    let keygen = Path::new("/usr/bin/ssh-keygen");
    if !keygen.exists() {
        println!("note: /usr/bin/ssh-keygen not found; skipping the fingerprint check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let status = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = fs::read_to_string(dir.path().join("k.pub")).unwrap();
    let b64 = public.split_whitespace().nth(1).unwrap();
    let out = Command::new(keygen)
        .arg("-lf")
        .arg(dir.path().join("k.pub"))
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        listed.split_whitespace().nth(1).unwrap(),
        fingerprint(&blob(b64))
    );
}

#[test]
fn revoked_keys_are_refused_unless_off() {
    let (_d, path) = known_hosts(&format!(
        "[127.0.0.1]:2201 {ED} {ED2}\n@revoked * {ED} {ED2}\n"
    ));
    for policy in [Strict, AcceptNew] {
        let v = verifier(policy, &path);
        let err = check(&v, "127.0.0.1", 2201, ED2).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, HostKeyError::Revoked { .. }), "{msg}");
        assert!(msg.contains("[127.0.0.1]:2201"), "{msg}");
        assert!(msg.contains(&fingerprint(&blob(ED2))), "{msg}");
        assert!(
            msg.contains(&format!("{}:2 marks @revoked", path.display())),
            "{msg}"
        );
        assert!(!msg.contains(ED2), "whole key printed: {msg}");
    }
    let v = verifier(Off, &path);
    assert_eq!(
        check(&v, "127.0.0.1", 2201, ED2).unwrap(),
        HostKeyStatus::NotChecked
    );
    // Under accept-new a revoked key is never appended.
    let v = verifier(AcceptNew, &path);
    assert!(matches!(
        check(&v, "127.0.0.9", 22, ED2),
        Err(HostKeyError::Revoked { .. })
    ));
    assert_eq!(lines_of(&path).len(), 2);
}

#[test]
fn cert_authority_lines_do_not_vouch_for_plain_keys() {
    let (_d, path) = known_hosts(&format!("@cert-authority * {ED} {ED1}\n"));
    let v = verifier(Strict, &path);
    assert!(is_unknown(&v, "127.0.0.1", 22, ED1));
}

#[test]
fn changed_key_message() {
    let (_d, path) = known_hosts(&format!("# lab\n[127.0.0.1]:2201 {ED} {ED1}\n"));
    for policy in [Strict, AcceptNew] {
        let v = verifier(policy, &path);
        let err = check(&v, "127.0.0.1", 2201, ED2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::HostKey);
        let msg = err.to_string();
        let file = path.display();
        let expected = format!(
            "HOST KEY CHANGED for [127.0.0.1]:2201: the device offered ssh-ed25519 {} but {file}:2 has {}; \
             if the device was really re-keyed, remove that line (ssh-keygen -R '[127.0.0.1]:2201' -f {file})",
            fingerprint(&blob(ED2)),
            fingerprint(&blob(ED1)),
        );
        assert_eq!(msg, expected);
    }
    assert_eq!(
        lines_of(&path).len(),
        2,
        "accept-new must not append a changed key"
    );
}

#[test]
fn other_key_type_is_unknown_not_changed() {
    let (_d, path) = known_hosts(&format!("[127.0.0.1]:2201 {ED} {ED1}\n"));
    let v = verifier(Strict, &path);
    let err = check(&v, "127.0.0.1", 2201, ECDSA).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostKeyError::Unknown { .. }), "{msg}");
    assert!(
        msg.contains(&format!(
            "{}:1 has a ssh-ed25519 key for [127.0.0.1]:2201",
            path.display()
        )),
        "{msg}"
    );
    assert_eq!(v.known_key_types(&target("127.0.0.1", 2201)), [ED]);
    let v = verifier(AcceptNew, &path);
    assert!(matches!(
        check(&v, "127.0.0.1", 2201, ECDSA),
        Ok(HostKeyStatus::Added { .. })
    ));
    assert!(is_known(&v, "127.0.0.1", 2201, ED1));
    assert!(is_known(&v, "127.0.0.1", 2201, ECDSA));
}

#[test]
fn unknown_key_message() {
    let (dir, path) = known_hosts("");
    let missing = dir.path().join("missing_known_hosts");
    let v = HostKeyVerifier::from_files(Strict, &[path.clone(), missing.clone()]).unwrap();
    let err = check(&v, "127.0.0.1", 2201, ED1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKey);
    let msg = err.to_string();
    for needle in [
        "host key for [127.0.0.1]:2201 is not known".to_string(),
        format!("ssh-ed25519 {}", fingerprint(&blob(ED1))),
        format!("searched {}, {}", path.display(), missing.display()),
        format!("{} does not exist", missing.display()),
        format!("ssh-keyscan -p 2201 127.0.0.1 >> {}", path.display()),
        "--host-keys accept-new".to_string(),
    ] {
        assert!(msg.contains(&needle), "`{needle}` missing from: {msg}");
    }
    assert!(!msg.contains(ED1), "whole key printed: {msg}");
    // Port 22 needs no -p.
    let msg = check(&v, "127.0.0.1", 22, ED1).unwrap_err().to_string();
    assert!(
        msg.contains(&format!("ssh-keyscan 127.0.0.1 >> {}", path.display())),
        "{msg}"
    );
}

#[test]
fn signature_algorithm_name_is_harmless() {
    let (_d, path) = known_hosts(&format!("127.0.0.1 {ED} {ED1}\n"));
    let v = verifier(Strict, &path);
    let status = v
        .verify(&target("127.0.0.1", 22), "rsa-sha2-256", &blob(ED1))
        .unwrap();
    assert_eq!(status, HostKeyStatus::Known);
}

#[test]
fn missing_files_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope").join("known_hosts");
    let v = verifier(Strict, &path);
    assert!(is_unknown(&v, "127.0.0.1", 22, ED1));
    assert!(!path.exists());
}

#[test]
fn unreadable_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let err = HostKeyVerifier::from_files(Strict, &[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKey);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "cannot read known_hosts file {}",
            dir.path().display()
        )),
        "{msg}"
    );
}

#[test]
fn malformed_lines_name_file_and_line() {
    let (_d, path) = known_hosts(&format!(
        "# ok\n127.0.0.1 {ED} {ED1}\n127.0.0.2 ssh-ed25519\n127.0.0.3 {ED} not-base64!\n"
    ));
    let err = HostKeyVerifier::from_files(Strict, std::slice::from_ref(&path)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKey);
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "{}:3: not a valid known_hosts line",
            path.display()
        )),
        "{msg}"
    );
    assert!(
        msg.contains("no base64 key after the key type `ssh-ed25519`"),
        "{msg}"
    );
    assert!(msg.contains("HOSTS KEYTYPE BASE64KEY"), "{msg}");
    assert!(msg.contains("1 more bad line"), "{msg}");
}

#[test]
fn per_target_policy_overrides() {
    let (_d, path) = known_hosts(&format!("127.0.0.1 {ED} {ED1}\n"));
    let strict = verifier(Strict, &path);
    let mut t = target("127.0.0.9", 22);
    t.host_keys = Some(Off);
    assert_eq!(
        strict.verify(&t, ED, &blob(ED1)).unwrap(),
        HostKeyStatus::NotChecked
    );
    t.host_keys = Some(AcceptNew);
    assert!(matches!(
        strict.verify(&t, ED, &blob(ED1)),
        Ok(HostKeyStatus::Added { .. })
    ));

    // An `off` run reads nothing until a target asks for checking.
    let (_d2, bad) = known_hosts("garbage\n");
    let off = HostKeyVerifier::from_files(Off, std::slice::from_ref(&bad)).unwrap();
    assert_eq!(
        check(&off, "127.0.0.1", 22, ED1).unwrap(),
        HostKeyStatus::NotChecked
    );
    let mut t = target("127.0.0.1", 22);
    t.host_keys = Some(Strict);
    let err = off.verify(&t, ED, &blob(ED1)).unwrap_err();
    assert!(matches!(err, HostKeyError::Parse { .. }), "{err}");
    let off = HostKeyVerifier::from_files(Off, std::slice::from_ref(&path)).unwrap();
    assert_eq!(
        off.verify(&t, ED, &blob(ED1)).unwrap(),
        HostKeyStatus::Known
    );
    assert!(matches!(
        off.verify(&t, ED, &blob(ED2)),
        Err(HostKeyError::Changed { .. })
    ));
}

#[test]
fn accept_new_appends_and_remembers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("known_hosts");
    let v = verifier(AcceptNew, &path);
    assert_eq!(
        check(&v, "127.0.0.1", 2201, ED1).unwrap(),
        HostKeyStatus::Added { file: path.clone() }
    );
    assert_eq!(
        check(&v, "127.0.0.1", 2201, ED1).unwrap(),
        HostKeyStatus::Known
    );
    assert_eq!(
        check(&v, "127.0.0.2", 22, ED2).unwrap(),
        HostKeyStatus::Added { file: path.clone() }
    );
    assert_eq!(
        lines_of(&path),
        [
            format!("[127.0.0.1]:2201 {ED} {ED1}"),
            format!("127.0.0.2 {ED} {ED2}")
        ]
    );
    // The same run refuses a different key for the host it just added.
    let msg = check(&v, "127.0.0.1", 2201, ED3).unwrap_err().to_string();
    assert!(
        msg.contains(&format!(
            "{}:1 has {}",
            path.display(),
            fingerprint(&blob(ED1))
        )),
        "{msg}"
    );
    // A later run reads what was written.
    assert!(is_known(&verifier(Strict, &path), "127.0.0.2", 22, ED2));
}

#[test]
fn accept_new_terminates_a_last_line_without_newline() {
    let (_d, path) = known_hosts(&format!("127.0.0.1 {ED} {ED1}"));
    let v = verifier(AcceptNew, &path);
    assert!(matches!(
        check(&v, "127.0.0.2", 22, ED2),
        Ok(HostKeyStatus::Added { .. })
    ));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("127.0.0.1 {ED} {ED1}\n127.0.0.2 {ED} {ED2}\n")
    );
    let msg = check(&v, "127.0.0.2", 22, ED3).unwrap_err().to_string();
    assert!(msg.contains(&format!("{}:2 has", path.display())), "{msg}");
}

#[test]
fn accept_new_sees_what_another_process_appended() {
    let (_d, path) = known_hosts("");
    let a = verifier(AcceptNew, &path);
    let b = verifier(AcceptNew, &path);
    assert!(matches!(
        check(&b, "127.0.0.1", 2201, ED1),
        Ok(HostKeyStatus::Added { .. })
    ));
    // `a` loaded the file before `b` appended: it re-reads under the lock.
    assert_eq!(
        check(&a, "127.0.0.1", 2201, ED1).unwrap(),
        HostKeyStatus::Known
    );
    assert!(matches!(
        check(&a, "127.0.0.1", 2201, ED2),
        Err(HostKeyError::Changed { .. })
    ));
    assert!(matches!(
        check(&a, "127.0.0.2", 2201, ED2),
        Ok(HostKeyStatus::Added { .. })
    ));
    assert_eq!(lines_of(&path).len(), 2);
    let msg = check(&a, "127.0.0.2", 2201, ED3).unwrap_err().to_string();
    assert!(msg.contains(&format!("{}:2 has", path.display())), "{msg}");
}

#[test]
fn accept_new_reloads_a_replaced_file() {
    let (dir, path) = known_hosts(&format!("h1 {ED} {ED1}\nh2 {ED} {ED1}\n"));
    let v = verifier(AcceptNew, &path);
    // Replaced behind our back, as `ssh-keygen -R` does (new file, rename).
    let replacement = dir.path().join("new");
    fs::write(&replacement, format!("h3 {ED} {ED1}\n")).unwrap();
    fs::rename(&replacement, &path).unwrap();
    assert!(matches!(
        check(&v, "h4", 22, ED1),
        Ok(HostKeyStatus::Added { .. })
    ));
    assert_eq!(
        lines_of(&path),
        [format!("h3 {ED} {ED1}"), format!("h4 {ED} {ED1}")]
    );
    let msg = check(&v, "h4", 22, ED2).unwrap_err().to_string();
    assert!(msg.contains(&format!("{}:2 has", path.display())), "{msg}");
}

#[test]
fn accept_new_once_under_16_threads() {
    let (_d, path) = known_hosts(&format!("# fleet\n127.0.0.9 {ED} {ED3}\n"));
    let v = Arc::new(verifier(AcceptNew, &path));
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (v, barrier) = (v.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                check(&v, "127.0.0.1", 2201, ED1).unwrap()
            })
        })
        .collect();
    let results: Vec<HostKeyStatus> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let added = results
        .iter()
        .filter(|r| matches!(r, HostKeyStatus::Added { .. }))
        .count();
    assert_eq!(added, 1, "{results:?}");
    assert_eq!(
        results
            .iter()
            .filter(|r| **r == HostKeyStatus::Known)
            .count(),
        15
    );
    let lines = lines_of(&path);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("[127.0.0.1]:2201 "))
            .count(),
        1,
        "{lines:?}"
    );
    assert_eq!(lines.len(), 3);
}

#[test]
fn accept_new_once_across_separate_verifiers() {
    // Separate verifiers open the file separately, so flock serialises them
    // as it would two processes.
    let (_d, path) = known_hosts("");
    let verifiers: Vec<Arc<HostKeyVerifier>> = (0..4)
        .map(|_| Arc::new(verifier(AcceptNew, &path)))
        .collect();
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (v, barrier) = (verifiers[i % 4].clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..10)
                    .map(|h| check(&v, "127.0.0.1", 3000 + h, ED1).unwrap())
                    .filter(|r| matches!(r, HostKeyStatus::Added { .. }))
                    .count()
            })
        })
        .collect();
    let added: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(added, 10);
    let mut lines = lines_of(&path);
    assert_eq!(lines.len(), 10, "{lines:?}");
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 10, "a host was appended twice");
}

const CHILD_FILE: &str = "FANOUT_HOSTKEYS_TEST_CHILD_FILE";
const CHILD_START: &str = "FANOUT_HOSTKEYS_TEST_CHILD_START_MS";

/// Runs only inside the child processes of `accept_new_once_across_processes`.
#[test]
#[ignore = "run by accept_new_once_across_processes in child processes"]
fn child_process_appends() {
    let Some(file) = std::env::var_os(CHILD_FILE) else {
        println!("{CHILD_FILE} is not set: nothing to do outside accept_new_once_across_processes");
        return;
    };
    let start: u128 = std::env::var(CHILD_START).unwrap().parse().unwrap();
    let v = verifier(AcceptNew, Path::new(&file));
    let now = || std::time::UNIX_EPOCH.elapsed().unwrap().as_millis();
    while now() < start {
        std::hint::spin_loop();
    }
    for h in 0..20 {
        let status = check(&v, "127.0.0.1", 4000 + h, ED2).unwrap();
        assert!(
            matches!(status, HostKeyStatus::Added { .. } | HostKeyStatus::Known),
            "{status:?}"
        );
    }
}

#[test]
fn accept_new_once_across_processes() {
    let (_d, path) = known_hosts("");
    // All children start appending at the same moment.
    let start = std::time::UNIX_EPOCH.elapsed().unwrap().as_millis() + 500;
    let mut running: Vec<_> = (0..3)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_process_appends", "--ignored"])
                .env(CHILD_FILE, &path)
                .env(CHILD_START, start.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in running.drain(..) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }
    let mut lines = lines_of(&path);
    assert_eq!(lines.len(), 20, "{lines:?}");
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 20, "a host was appended twice");
}

const HOME_CHILD: &str = "FANOUT_HOSTKEYS_TEST_HOME_CHILD";

/// Runs only inside the child of `home_known_hosts_is_searched_leniently`,
/// whose HOME is a temp dir.
#[test]
#[ignore = "run by home_known_hosts_is_searched_leniently in a child process"]
fn child_home_checks() {
    if std::env::var_os(HOME_CHILD).is_none() {
        println!(
            "{HOME_CHILD} is not set: nothing to do outside home_known_hosts_is_searched_leniently"
        );
        return;
    }
    let home = PathBuf::from(std::env::var_os("HOME").unwrap());
    let home_file = home.join(".ssh").join("known_hosts");
    let explicit = home.join("explicit_known_hosts");
    let v = HostKeyVerifier::new(Strict, std::slice::from_ref(&explicit)).unwrap();
    assert_eq!(v.files(), [explicit.as_path(), home_file.as_path()]);
    assert!(is_known(&v, "127.0.0.1", 2201, ED1), "explicit file");
    assert!(is_known(&v, "127.0.0.2", 2201, ED2), "home file");
    let warnings = v.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("{}:2: skipped", home_file.display())),
        "{warnings:?}"
    );
    // Listing the home file explicitly makes it strict and does not search it twice.
    let err = HostKeyVerifier::new(Strict, std::slice::from_ref(&home_file)).unwrap_err();
    assert!(matches!(err, HostKeyError::Parse { .. }), "{err}");
    // accept-new with no files given appends to ~/.ssh/known_hosts.
    let v = HostKeyVerifier::new(AcceptNew, &[]).unwrap();
    assert_eq!(
        check(&v, "127.0.0.3", 22, ED3).unwrap(),
        HostKeyStatus::Added {
            file: home_file.clone()
        }
    );
    assert_eq!(
        lines_of(&home_file).last().unwrap(),
        &format!("127.0.0.3 {ED} {ED3}")
    );
    println!("home checks ran");
}

#[test]
fn home_known_hosts_is_searched_leniently() {
    let home = tempfile::tempdir().unwrap();
    fs::create_dir(home.path().join(".ssh")).unwrap();
    fs::write(
        home.path().join(".ssh").join("known_hosts"),
        format!("[127.0.0.2]:2201 {ED} {ED2}\nthis line is garbage\n"),
    )
    .unwrap();
    fs::write(
        home.path().join("explicit_known_hosts"),
        format!("[127.0.0.1]:2201 {ED} {ED1}\n"),
    )
    .unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_home_checks", "--ignored", "--nocapture"])
        .env("HOME", home.path())
        .env(HOME_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("home checks ran"), "{stdout}");
}

#[test]
fn accept_new_never_writes_a_line_it_could_not_read_back() {
    let (_d, path) = known_hosts("");
    let v = verifier(AcceptNew, &path);
    let err = v
        .verify(&target("127.0.0.1", 2201), ED, b"not a key blob")
        .unwrap_err();
    assert!(
        err.to_string().contains("not an SSH public key blob"),
        "{err}"
    );
    let err = check(&v, "bad address", 22, ED1).unwrap_err();
    assert!(
        err.to_string().contains("cannot write `bad address`"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "");
}

#[test]
fn nowhere_to_append() {
    let v = HostKeyVerifier::from_files(AcceptNew, &[]).unwrap();
    let err = check(&v, "127.0.0.1", 2201, ED1).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostKeyError::NowhereToAppend { .. }), "{msg}");
    assert!(
        msg.contains("[127.0.0.1]:2201") && msg.contains("--known-hosts FILE"),
        "{msg}"
    );
}

#[test]
fn ten_thousand_lines_index_fast() {
    let mut text = String::new();
    for i in 0..10_000u32 {
        let key = [ED1, ED2, ED3][i as usize % 3];
        text.push_str(&format!(
            "[10.{}.{}.{}]:{} {ED} {key}\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255,
            2200 + i % 7
        ));
    }
    for i in 0..200u32 {
        text.push_str(&format!(
            "{} {ED} {ED1}\n",
            hashed(&format!("[127.0.1.{i}]:22"), &i.to_be_bytes())
        ));
    }
    text.push_str(&format!("[127.0.0.*]:2201 {ED} {ED2}\n"));
    let (_d, path) = known_hosts(&text);
    let started = Instant::now();
    let v = verifier(Strict, &path);
    let load = started.elapsed();
    let started = Instant::now();
    for i in 0..300u32 {
        let key = [ED1, ED2, ED3][i as usize % 3];
        assert!(is_known(
            &v,
            &format!("10.0.{}.{}", (i >> 8) & 255, i & 255),
            2200 + (i % 7) as u16,
            key
        ));
    }
    let lookups = started.elapsed();
    assert!(is_known(&v, "127.0.0.3", 2201, ED2));
    assert!(is_unknown(&v, "10.0.0.1", 22, ED1));
    // Generous bounds: a debug build on a loaded 2-core box.
    assert!(
        load < Duration::from_secs(5),
        "loading 10,200 lines took {load:?}"
    );
    assert!(
        lookups < Duration::from_secs(20),
        "300 lookups took {lookups:?}"
    );
    println!("10,200 lines loaded in {load:?}; 300 lookups in {lookups:?}");
}

#[test]
fn a_targets_own_known_hosts_files_are_checked_first_and_read_once() {
    let (_run_dir, run_file) = known_hosts(&format!("[127.0.0.1]:2201 {ED} {ED2}\n"));
    let (_own_dir, own) = known_hosts(&format!(
        "[127.0.0.1]:2201 {ED} {ED1}\n[127.0.0.1]:2202 {ED} {ED3}\n"
    ));
    let v = verifier(Strict, &run_file);
    let mut t = target("127.0.0.1", 2202);
    // Only the target's own file knows 2202.
    assert!(matches!(
        v.verify(&t, ED, &blob(ED3)),
        Err(HostKeyError::Unknown(_))
    ));
    t.reach.known_hosts = vec!["/nonexistent/kh".into(), own.clone()];
    assert_eq!(v.verify(&t, ED, &blob(ED3)).unwrap(), HostKeyStatus::Known);
    assert_eq!(v.known_key_types(&t), [ED]);
    // For 2201 the own file decides first: ED1 is known, ED2 (only in the
    // run's file) is a changed key there, named at its line.
    t.port = 2201;
    assert_eq!(v.verify(&t, ED, &blob(ED1)).unwrap(), HostKeyStatus::Known);
    let e = v.verify(&t, ED, &blob(ED2)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HostKey);
    assert!(
        e.to_string().contains(&format!("{}:1", own.display())),
        "{e}"
    );
    // An unknown key names the own files first among those searched.
    t.port = 2203;
    let e = v.verify(&t, ED, &blob(ED1)).unwrap_err();
    let HostKeyError::Unknown(u) = &e else {
        panic!("{e}")
    };
    assert_eq!(
        u.searched,
        [
            PathBuf::from("/nonexistent/kh"),
            own.clone(),
            run_file.clone()
        ]
    );
    // Read once: a change on disk is not seen by this verifier.
    fs::write(&own, "").unwrap();
    t.port = 2202;
    assert_eq!(v.verify(&t, ED, &blob(ED3)).unwrap(), HostKeyStatus::Known);
}
