//! Jump hosts (ProxyJump chains) and ProxyCommand: what both SSH
//! transports do the same way. A hop is logged into as a device is — the
//! same authentication order and the same host-key check against the run's
//! verifier — as the [`hop_target`] of its target; every failure on a hop
//! is the device's message prefixed with the hop's name ([`on_hop`]), so a
//! user knows which box of the chain to look at. The forward to the next
//! hop ([`forward_refused`]) and the proxy command ([`proxy_failed`]) have
//! their own texts.

use std::fmt::Display;

use fanout_core::{Credentials, ErrorKind, JumpHop, Target};
use fanout_engine::AttemptError;

use super::endpoint;

/// Where hop `i` of `target`'s chain forwards to: the next hop, or the
/// target itself after the last hop.
pub fn next_endpoint(target: &Target, i: usize) -> (String, u16) {
    match target.reach.jump.get(i + 1) {
        Some(next) => (next.host.clone(), next.port),
        None => (target.address.clone(), target.port),
    }
}

/// The target a transport logs into for `hop`: the hop's address and port;
/// its user, else the target's; its key file, else the target's (with its
/// passphrase); its password; the target's agent setting, host-key policy
/// and own known_hosts files. Named `jump host LABEL` for the messages it
/// produces below the transport (a host-key refusal names it so).
pub fn hop_target(target: &Target, hop: &JumpHop) -> Target {
    let mut t = Target::new(format!("jump host {}", hop.label()), hop.host.clone());
    t.port = hop.port;
    t.username = hop.user.clone().or_else(|| target.username.clone());
    let own = &target.credentials;
    t.credentials = match &hop.identity {
        Some(key) => Credentials {
            password: hop.password.clone(),
            key_file: Some(key.clone()),
            key_passphrase: None,
            agent: own.agent,
            token: None,
        },
        None => Credentials {
            password: hop.password.clone(),
            key_file: own.key_file.clone(),
            key_passphrase: own.key_passphrase.clone(),
            agent: own.agent,
            token: None,
        },
    }
    .into();
    t.host_keys = target.host_keys;
    t.reach.known_hosts = target.reach.known_hosts.clone();
    // The hop's own ssh_config lists, not the target's.
    for (field, (spec, source)) in &hop.algorithms {
        if let Some(list) = t.reach.algorithms_mut(field) {
            *list = Some(spec.clone());
            t.reach.sources.insert(field.clone(), source.clone());
        }
    }
    t.timeouts = target.timeouts.clone();
    t
}

/// `err`, met on `hop`, naming the hop first: `jump host b1
/// (jump@127.0.0.1:2201): could not connect to ...`. The kind stays
/// (connect, auth, host_key, timeout ...), the outputs are dropped (a hop
/// runs no command).
pub fn on_hop(err: AttemptError, hop: &JumpHop) -> AttemptError {
    if err.kind == ErrorKind::Cancelled {
        return err;
    }
    let label = hop.label();
    let message = if err.message.contains(&format!("jump host {label}")) {
        err.message
    } else {
        format!("jump host {label}: {}", err.message)
    };
    // A handshake cut off on the way is the jump host's storm.
    let congested = err.congested.map(|_| fanout_engine::Congestion::Hop);
    AttemptError {
        congested,
        ..AttemptError::new(err.kind, err.phase, message)
    }
}

/// `hop` refused (or failed) the `direct-tcpip` forward to `to` (`reason`:
/// the jump host's own words, e.g. `administratively prohibited: ...`).
pub fn forward_refused(hop: &JumpHop, to: (&str, u16), reason: impl Display) -> AttemptError {
    let to = endpoint_of(to.0, to.1);
    AttemptError::new(
        ErrorKind::Connect,
        None,
        format!(
            "jump host {} did not forward to {to}: {reason}; check that the jump host allows TCP forwarding (sshd's AllowTcpForwarding, PermitOpen) to that address and that it can reach it",
            hop.label()
        ),
    )
}

/// The proxy command `command` for `target` failed to start, or exited
/// (`status`) before the SSH handshake was over; `stderr` is what it
/// printed (trimmed, may be empty).
pub fn proxy_failed(
    target: &Target,
    command: &str,
    status: impl Display,
    stderr: &str,
) -> AttemptError {
    let said = stderr.trim();
    let said = if said.is_empty() {
        "it printed nothing on stderr".to_string()
    } else {
        format!("its stderr: {}", tail(said, 400))
    };
    AttemptError::new(
        ErrorKind::Connect,
        None,
        format!(
            "ProxyCommand `{command}` for {} {status}; {said}; run the command by hand to check it reaches the device (its stdin/stdout must carry the SSH connection)",
            endpoint(target)
        ),
    )
}

fn endpoint_of(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The last `max` characters of `s`.
fn tail(s: &str, max: usize) -> &str {
    let n = s.chars().count();
    if n <= max {
        return s;
    }
    let start = s.char_indices().nth(n - max).map_or(0, |(i, _)| i);
    &s[start..]
}

#[cfg(test)]
mod tests {
    use fanout_core::Secret;

    use super::*;

    fn hop() -> JumpHop {
        JumpHop {
            name: Some("b1".into()),
            host: "127.0.0.1".into(),
            port: 2201,
            user: Some("jump".into()),
            password: Some(Secret::new("hop-pw")),
            ..JumpHop::default()
        }
    }

    #[test]
    fn a_hop_gets_its_own_algorithm_lists_never_the_targets() {
        let mut t = Target::new("r1", "127.0.0.9");
        t.reach.kex_algorithms = Some("+diffie-hellman-group1-sha1".into());
        t.reach.macs = Some("+hmac-sha1".into());
        let mut own = hop();
        own.algorithms.insert(
            "ciphers".into(),
            ("aes128-ctr".into(), "ssh_config cfg:4".into()),
        );
        let h = hop_target(&t, &own);
        assert_eq!(h.reach.ciphers.as_deref(), Some("aes128-ctr"));
        assert_eq!(h.reach.sources["ciphers"], "ssh_config cfg:4");
        assert_eq!((&h.reach.kex_algorithms, &h.reach.macs), (&None, &None));
    }

    #[test]
    fn a_hop_is_logged_into_with_its_own_user_and_password_and_named_in_errors() {
        let mut t = Target::new("r1", "127.0.0.9");
        t.username = Some("cisco".into());
        t.credentials.key_file = Some("/k/id".into());
        t.credentials.key_passphrase = Some(Secret::new("pp"));
        t.reach.jump = vec![hop()];
        let h = hop_target(&t, &t.reach.jump[0]);
        assert_eq!((h.address.as_str(), h.port), ("127.0.0.1", 2201));
        assert_eq!(h.username.as_deref(), Some("jump"));
        assert_eq!(h.credentials.password, Some(Secret::new("hop-pw")));
        assert_eq!(h.credentials.key_file, Some("/k/id".into()));
        assert_eq!(h.name, "jump host b1 (jump@127.0.0.1:2201)");
        assert!(!format!("{h:?}").contains("hop-pw"));
        assert_eq!(next_endpoint(&t, 0), ("127.0.0.9".to_string(), 22));

        let e = on_hop(
            AttemptError::new(ErrorKind::Connect, None, "could not connect"),
            &t.reach.jump[0],
        );
        assert_eq!(e.kind, ErrorKind::Connect);
        assert_eq!(
            e.message,
            "jump host b1 (jump@127.0.0.1:2201): could not connect"
        );
        let e = forward_refused(&hop(), ("127.0.0.9", 22), "administratively prohibited: no");
        assert!(
            e.message.starts_with(
                "jump host b1 (jump@127.0.0.1:2201) did not forward to 127.0.0.9:22: administratively prohibited: no"
            ),
            "{}",
            e.message
        );
        let e = proxy_failed(&t, "nc x 1", "exited with status 1", "nc: bad\n");
        assert!(e.message.contains("its stderr: nc: bad"), "{}", e.message);
    }
}
