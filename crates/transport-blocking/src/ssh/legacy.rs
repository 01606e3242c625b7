//! Explaining a failed key exchange: libssh2 only says "unable to agree",
//! so a second, short connection reads the device's own algorithm offer
//! (its cleartext `SSH_MSG_KEXINIT`) and the message names what the device
//! offered next to what this build's libssh2 supports.

use std::io::{ErrorKind as IoKind, Read, Write};
use std::time::{Duration, Instant};

use fanout_core::{CancelToken, ErrorKind, Target};
use ssh2::{MethodType, Session};

use fanout_transport::ssh::{Family, LEGACY_KEX, endpoint, text};

use super::conn::TICK;
use super::tcp;
use fanout_engine::{AttemptError, Deadline};

/// Longest wait for the device's offer.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// What a device offers for each negotiated algorithm family.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Offer {
    kex: Vec<String>,
    host_key: Vec<String>,
    cipher: Vec<String>,
    mac: Vec<String>,
}

/// The protocol error for a handshake that found no common algorithm.
/// The failed session must be gone by now (its socket closed), so that a
/// host holds one descriptor at a time, as [`fanout_engine::fds_per_host`]
/// counts; what this build supports is asked of a fresh, unconnected one.
pub(super) fn explain(
    target: &Target,
    e: &ssh2::Error,
    cancel: &CancelToken,
    deadline: &Deadline,
) -> AttemptError {
    let message = match probe(target, cancel, deadline) {
        // libssh2 reports a disconnect before the key exchange (a device
        // out of sessions) as a failed one: the device's words tell.
        Some(First::Disconnect { code, description }) => {
            return text::disconnected_in_handshake(target, code, &description);
        }
        Some(First::Offer(offer)) => describe(target, &offer, Session::new().ok().as_ref()),
        None => format!(
            "SSH handshake with {} failed: {} (no algorithm in common, and the device's offer could not be read); \
             check the device's SSH algorithms",
            endpoint(target),
            e.message()
        ),
    };
    AttemptError::new(ErrorKind::Protocol, None, message)
}

/// `(KexAlgorithms from ssh_config FILE:LINE)`.
fn spec_note(target: &Target, family: Family) -> String {
    match target.reach.sources.get(family.field()) {
        Some(from) => format!("(the host's {} from {from})", family.keyword()),
        None => format!("(the host's {})", family.keyword()),
    }
}

/// Names in a kex list that are not algorithms but extension flags.
fn pseudo(name: &str) -> bool {
    name.starts_with("ext-info-") || name.starts_with("kex-strict-")
}

/// Whether every real key exchange the device offers is a SHA-1 one (the
/// extension flags aside), so that only a SHA-1-capable client can talk to it.
fn only_sha1_kex(offer: &Offer) -> bool {
    let mut real = offer.kex.iter().map(String::as_str).filter(|k| !pseudo(k));
    let first = real.next();
    first.is_some_and(|k| LEGACY_KEX.contains(&k)) && real.all(|k| LEGACY_KEX.contains(&k))
}

/// `session`: any session of this build (`None`: none could be made, and
/// what it supports goes unsaid).
fn describe(target: &Target, offer: &Offer, session: Option<&Session>) -> String {
    let supported = |kind| {
        session
            .and_then(|s| s.supported_algs(kind).ok())
            .unwrap_or_default()
    };
    // What fanout offered: the host's ssh_config list where it set one.
    let ours = |family: Family, kind| -> (Vec<String>, String) {
        match super::offered(target, family) {
            Some(list) => (
                list,
                format!("fanout offered {}", spec_note(target, family)),
            ),
            None => (
                supported(kind).iter().map(|n| n.to_string()).collect(),
                "fanout's libssh2 supports".to_string(),
            ),
        }
    };
    let families = [
        (
            "key-exchange",
            &offer.kex,
            ours(Family::Kex, MethodType::Kex),
        ),
        (
            "host-key",
            &offer.host_key,
            ours(Family::HostKey, MethodType::HostKey),
        ),
        (
            "cipher",
            &offer.cipher,
            ours(Family::Cipher, MethodType::CryptCs),
        ),
        ("MAC", &offer.mac, ours(Family::Mac, MethodType::MacCs)),
    ];
    let mut missing = Vec::new();
    for (family, theirs, (ours, said)) in &families {
        let theirs: Vec<&str> = theirs
            .iter()
            .map(String::as_str)
            .filter(|n| !pseudo(n))
            .collect();
        // An AEAD cipher needs no MAC: a MAC mismatch alone is not fatal.
        if theirs.is_empty() || theirs.iter().any(|t| ours.iter().any(|o| o.as_str() == *t)) {
            continue;
        }
        let ours: Vec<&str> = ours
            .iter()
            .map(String::as_str)
            .filter(|n| !pseudo(n))
            .collect();
        missing.push(format!(
            "no common {family} algorithm: the device offered {}; {said} {}",
            theirs.join(", "),
            ours.join(", ")
        ));
    }
    if missing.is_empty() {
        missing.push(format!(
            "the key exchange failed although algorithms overlap: the device offered kex {}; ciphers {}; MACs {}",
            offer.kex.join(", "),
            offer.cipher.join(", "),
            offer.mac.join(", ")
        ));
    }
    let sha1_built = supported(MethodType::Kex)
        .iter()
        .any(|k| LEGACY_KEX.contains(k));
    let hint = if let Some(family) = Family::ALL
        .into_iter()
        .find(|f| f.spec(&target.reach).is_some())
    {
        format!(
            "; the host's ssh_config decides what fanout offers ({} `{}`{}): add an algorithm the \
             device offers there, or enable a supported algorithm on the device",
            family.keyword(),
            family.spec(&target.reach).unwrap_or_default(),
            target
                .reach
                .sources
                .get(family.field())
                .map(|s| format!(", {s}"))
                .unwrap_or_default()
        )
    } else if only_sha1_kex(offer) && !sha1_built {
        " (this libssh2 is built without SHA-1 key exchange and hmac-sha1: fanout's .cargo/config.toml \
         enables them through CFLAGS, and a CFLAGS of your own replaced it — add -DLIBSSH2_KEX_SHA1_ENABLE \
         -DLIBSSH2_HMAC_SHA1_ENABLE -DLIBSSH2_RSA_SHA1_ENABLE -DLIBSSH2_3DES_ENABLE and rebuild); use -e async \
         for this device meanwhile, or enable a SHA-2 key exchange on it (e.g. `ip ssh server algorithm kex \
         ecdh-sha2-nistp256`)"
            .to_string()
    } else {
        "; enable a supported algorithm on the device".to_string()
    };
    format!("{} refused: {}{hint}", endpoint(target), missing.join("; "))
}

/// The first packet a device sends after its identification line.
#[derive(Debug, PartialEq, Eq)]
enum First {
    /// Its algorithm offer (KEXINIT).
    Offer(Offer),
    /// A disconnect instead: its reason code and description.
    Disconnect { code: u32, description: String },
}

/// Connects once more and reads the device's KEXINIT; `None` when it
/// cannot (the message then says so). Takes [`PROBE_WAIT`] at most in all
/// (less if the phase deadline is nearer), however slowly the device
/// trickles bytes, and stops within a [`TICK`] of a cancel.
fn probe(target: &Target, cancel: &CancelToken, deadline: &Deadline) -> Option<First> {
    let mut stream = tcp::connect(target, cancel, deadline).ok()?;
    stream.set_nonblocking(false).ok()?;
    let until = Instant::now()
        + deadline
            .remaining()
            .map_or(PROBE_WAIT, |left| left.min(PROBE_WAIT));
    // Time left, `None` once it is over or the run was cancelled.
    let left = || {
        let left = until.saturating_duration_since(Instant::now());
        (!left.is_zero() && !cancel.is_cancelled()).then_some(left.min(TICK))
    };
    stream.set_write_timeout(Some(left()?)).ok()?;
    stream.write_all(b"SSH-2.0-fanout_probe\r\n").ok()?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(offer) = parse(&buf) {
            return Some(offer);
        }
        if buf.len() > 64 << 10 {
            return None;
        }
        stream.set_read_timeout(Some(left()?)).ok()?;
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    IoKind::WouldBlock | IoKind::TimedOut | IoKind::Interrupted
                ) => {}
            Err(_) => return None,
        }
    }
}

/// The offer in what a server sent after connecting: identification line
/// (after any banner lines), then the binary packet carrying KEXINIT (or
/// a disconnect). `None` until enough bytes are there (or if they are not
/// SSH).
fn parse(bytes: &[u8]) -> Option<First> {
    let mut rest = bytes;
    loop {
        let end = rest.iter().position(|b| *b == b'\n')?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        if line.starts_with(b"SSH-") {
            break;
        }
    }
    let packet_len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let padding = *rest.get(4)? as usize;
    let payload = rest
        .get(5..4 + packet_len)?
        .get(..packet_len.checked_sub(1 + padding)?)?;
    // SSH_MSG_DISCONNECT (1): reason code, description, language tag.
    if payload.first() == Some(&1) {
        let code = u32::from_be_bytes(payload.get(1..5)?.try_into().ok()?);
        let len = u32::from_be_bytes(payload.get(5..9)?.try_into().ok()?) as usize;
        let description = payload.get(9..9usize.checked_add(len)?)?;
        return Some(First::Disconnect {
            code,
            description: String::from_utf8_lossy(description).into_owned(),
        });
    }
    // SSH_MSG_KEXINIT (20), then a 16-byte cookie, then the name-lists.
    if payload.first() != Some(&20) {
        return None;
    }
    let mut at = payload.get(17..)?;
    let mut lists = Vec::new();
    for _ in 0..6 {
        let len = u32::from_be_bytes(at.get(..4)?.try_into().ok()?) as usize;
        let names = std::str::from_utf8(at.get(4..4 + len)?).ok()?;
        lists.push(
            names
                .split(',')
                .filter(|n| !n.is_empty())
                .map(String::from)
                .collect::<Vec<_>>(),
        );
        at = &at[4 + len..];
    }
    // kex, host key, cipher c->s, cipher s->c, mac c->s, mac s->c.
    let mut lists = lists.into_iter();
    Some(First::Offer(Offer {
        kex: lists.next()?,
        host_key: lists.next()?,
        cipher: lists.next()?,
        mac: {
            lists.next()?;
            lists.next()?
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::Phase;

    fn name_list(names: &str) -> Vec<u8> {
        let mut v = (names.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(names.as_bytes());
        v
    }

    #[test]
    fn parses_a_kexinit_after_banner_lines() {
        let mut payload = vec![20u8];
        payload.extend_from_slice(&[7u8; 16]);
        for list in [
            "diffie-hellman-group14-sha1,diffie-hellman-group1-sha1",
            "ssh-ed25519",
            "aes128-cbc,3des-cbc",
            "aes128-cbc,3des-cbc",
            "hmac-sha1",
            "hmac-sha1",
            "none",
            "none",
            "",
            "",
        ] {
            payload.extend_from_slice(&name_list(list));
        }
        payload.extend_from_slice(&[0, 0, 0, 0, 0]);
        let padding = 4usize;
        let packet_len = payload.len() + padding + 1;
        let mut bytes = b"Welcome\r\nSSH-2.0-Cisco-1.25\r\n".to_vec();
        bytes.extend_from_slice(&(packet_len as u32).to_be_bytes());
        bytes.push(padding as u8);
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&[0u8; 4]);
        for cut in [10, 40, bytes.len() - 1] {
            assert_eq!(parse(&bytes[..cut]), None, "incomplete at {cut}");
        }
        let Some(First::Offer(offer)) = parse(&bytes) else {
            panic!("an offer")
        };
        assert_eq!(
            offer.kex,
            ["diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"]
        );
        assert_eq!(offer.host_key, ["ssh-ed25519"]);
        assert_eq!(offer.cipher, ["aes128-cbc", "3des-cbc"]);
        assert_eq!(offer.mac, ["hmac-sha1"]);
    }

    fn offer(kex: &[&str]) -> Offer {
        Offer {
            kex: kex.iter().map(|k| k.to_string()).collect(),
            ..Offer::default()
        }
    }

    #[test]
    fn the_sha1_hint_ignores_extension_flags() {
        assert!(only_sha1_kex(&offer(&[
            "diffie-hellman-group14-sha1",
            "ext-info-s",
            "kex-strict-s-v00@openssh.com",
        ])));
        assert!(!only_sha1_kex(&offer(&[
            "curve25519-sha256",
            "diffie-hellman-group14-sha1",
            "ext-info-s",
        ])));
        assert!(
            !only_sha1_kex(&offer(&["ext-info-s"])),
            "no real kex at all"
        );
        assert!(!only_sha1_kex(&offer(&[])));
        let mut target = Target::new("r7", "127.0.0.1");
        target.port = 2207;
        let session = Session::new().unwrap();
        let message = describe(
            &target,
            &offer(&["diffie-hellman-group1-sha1", "kex-strict-s-v00@openssh.com"]),
            Some(&session),
        );
        // .cargo/config.toml builds libssh2 with the SHA-1 algorithms, so
        // the message must not blame the build.
        let kex = session.supported_algs(MethodType::Kex).unwrap();
        assert!(
            kex.contains(&"diffie-hellman-group14-sha1"),
            "libssh2 built without SHA-1 kex (CFLAGS of .cargo/config.toml lost?): {kex:?}"
        );
        let macs = session.supported_algs(MethodType::MacCs).unwrap();
        assert!(macs.contains(&"hmac-sha1"), "{macs:?}");
        assert!(!message.contains("without SHA-1 key exchange"), "{message}");
    }

    /// A listener whose connections get one byte every 50 ms, forever.
    fn trickler() -> (
        std::net::SocketAddr,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let done = stop.clone();
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(mut socket) = socket else { return };
                let done = done.clone();
                std::thread::spawn(move || {
                    while !done.load(Ordering::SeqCst) && socket.write_all(b"x").is_ok() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                });
            }
        });
        (addr, stop)
    }

    /// The probe on a thread of its own; fails the test instead of hanging
    /// if it does not end within 10 s.
    fn probe_within(target: &Target, cancel: &CancelToken, deadline: Deadline) -> Option<First> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (target, cancel) = (target.clone(), cancel.clone());
        std::thread::spawn(move || {
            let _ = tx.send(probe(&target, &cancel, &deadline));
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the probe must end on time however slowly the device talks")
    }

    #[test]
    fn the_probe_of_a_trickling_device_ends_on_time_and_on_cancel() {
        let (addr, stop) = trickler();
        let mut target = Target::new("slow", "127.0.0.1");
        target.port = addr.port();
        let phase = Phase::Connect;
        let deadline = Deadline::new(Instant::now(), phase, Some(Duration::from_secs(30)), None);
        let started = Instant::now();
        assert_eq!(probe_within(&target, &CancelToken::new(), deadline), None);
        let took = started.elapsed();
        assert!(
            (PROBE_WAIT..PROBE_WAIT + Duration::from_secs(2)).contains(&took),
            "the probe took {took:?}"
        );

        let near = Deadline::new(
            Instant::now(),
            phase,
            Some(Duration::from_millis(300)),
            None,
        );
        let started = Instant::now();
        assert_eq!(probe_within(&target, &CancelToken::new(), near), None);
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );

        let (cancel, canceller) = super::super::cancel_after(Duration::from_millis(300));
        let started = Instant::now();
        assert_eq!(probe_within(&target, &cancel, deadline), None);
        canceller.join().unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(1200),
            "{:?}",
            started.elapsed()
        );
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    #[test]
    fn parses_a_disconnect_sent_instead_of_an_offer() {
        let said = "too many sessions: all 1 of r1 are in use";
        let mut payload = vec![1u8];
        payload.extend_from_slice(&12u32.to_be_bytes());
        payload.extend_from_slice(&(said.len() as u32).to_be_bytes());
        payload.extend_from_slice(said.as_bytes());
        payload.extend_from_slice(&0u32.to_be_bytes());
        let padding = 8 - (5 + payload.len()) % 8 + 8;
        let mut bytes = b"SSH-2.0-Cisco-1.25\r\n".to_vec();
        bytes.extend_from_slice(&((1 + payload.len() + padding) as u32).to_be_bytes());
        bytes.push(padding as u8);
        bytes.extend_from_slice(&payload);
        bytes.extend(std::iter::repeat_n(0u8, padding));
        assert_eq!(
            parse(&bytes[..bytes.len() - padding - 1]),
            None,
            "incomplete"
        );
        assert_eq!(
            parse(&bytes),
            Some(First::Disconnect {
                code: 12,
                description: said.into()
            })
        );
        // A description longer than its packet is not a disconnect.
        let at = b"SSH-2.0-Cisco-1.25\r\n".len() + 5 + 5;
        bytes[at..at + 4].copy_from_slice(&10_000u32.to_be_bytes());
        assert_eq!(parse(&bytes), None, "a bad length");
    }
}
