//! Property tests of the pipe protocol: any target crosses exactly, any
//! damaged line is an error that never quotes a secret, and no line makes
//! either side panic. 256 cases per property; `PROPTEST_CASES=100000` for a
//! longer local run.

use proptest::prelude::*;

use super::*;

/// Secrets made of letters only, so that the damage below cannot split
/// one into something a message could still contain by chance.
const SECRET: &str = "[A-Za-z]{12,20}";

fn target() -> impl Strategy<Value = Target> {
    (
        (
            "[a-z0-9._-]{1,20}",
            "127\\.0\\.[0-9]{1,3}\\.[0-9]{1,3}",
            any::<u16>(),
        ),
        (proptest::option::of("\\PC{0,12}"), SECRET, SECRET, SECRET),
        proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,16}", 0..4),
        proptest::collection::vec("[a-z0-9-]{1,8}", 0..3),
        (
            proptest::sample::select(Platform::ALL.to_vec()),
            any::<bool>(),
            proptest::option::of(0u64..100_000),
        ),
    )
        .prop_map(
            |(
                (name, address, port),
                (user, pw, phrase, secret),
                vars,
                groups,
                (platform, telnet, command_ms),
            )| {
                let mut t = Target::new(name, address);
                t.port = port;
                t.username = user;
                *t.credentials = Credentials {
                    // (first: the fields are evaluated in this order)
                    token: Some(Secret::new(format!("{pw}Token"))),
                    password: Some(Secret::new(pw)),
                    key_file: Some("/keys/id".into()),
                    key_passphrase: Some(Secret::new(phrase)),
                    agent: false,
                };
                t.secret = Some(Secret::new(secret));
                t.platform = Some(platform);
                t.vars = vars.into_iter().collect();
                t.groups = groups;
                t.timeouts.command = command_ms.map(Duration::from_millis);
                if telnet {
                    t.transport = Transport::Telnet;
                }
                t
            },
        )
}

fn secrets(t: &Target) -> Vec<String> {
    [
        t.credentials.password.as_ref(),
        t.credentials.key_passphrase.as_ref(),
        t.secret.as_ref(),
        t.credentials.token.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.expose().to_string())
    .collect()
}

proptest! {
    #[test]
    fn any_target_crosses_the_pipe_exactly(t in target()) {
        let line = encode(&ToWorker::Host { target: WireTarget::from(&t) });
        prop_assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let ToWorker::Host { target: wire } = decode_to_worker(&line).unwrap() else {
            panic!("not a host: {line}");
        };
        prop_assert_eq!(Target::try_from(wire).unwrap(), t);
    }

    #[test]
    fn a_damaged_line_is_an_error_that_never_quotes_a_secret(
        t in target(),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let line = encode(&ToWorker::Host { target: WireTarget::from(&t) });
        let mut bytes = line.into_bytes();
        bytes.truncate(cut.index(bytes.len()).max(1));
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let text = String::from_utf8_lossy(&bytes);
        match decode_to_worker(&text) {
            Ok(_) => {}
            Err(e) => {
                let shown = format!("{e} {e:?}");
                for s in secrets(&t) {
                    prop_assert!(!shown.contains(&s), "a secret in {shown}");
                }
            }
        }
        // The parent's side never panics on a worker's garbage either.
        let _ = decode_from_worker(&bytes);
    }
}
