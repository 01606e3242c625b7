//! Property tests of the dialog driver: any byte stream a device could send,
//! split at any points, ends in outputs or an error — never a panic, never a
//! driver that sends forever without reading, never more output than input.
//! 256 cases per property; `PROPTEST_CASES=100000` for a longer local run.

use std::time::{Duration, Instant};

use fanout_core::{CliMode, Phase, Platform};
use fanout_netcli::{Action, CliCommand, DialogSpec, Driver, Limit, LimitRule};
use proptest::prelude::*;

/// Pieces devices really send, and some they should not.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // arbitrary bytes: control characters, invalid UTF-8, escapes
        proptest::collection::vec(any::<u8>(), 0..48),
        Just(b"\r\n".to_vec()),
        Just(b"R1>".to_vec()),
        Just(b"R1#".to_vec()),
        Just(b"R1(config)#".to_vec()),
        Just(b"switch# ".to_vec()),
        Just(b"user@r1> ".to_vec()),
        Just(b"RP/0/RSP0/CPU0:r1#".to_vec()),
        Just(b"Password: ".to_vec()),
        Just(b" --More-- ".to_vec()),
        Just(b"\x1b[K\x1b[7m--More--\x1b[m".to_vec()),
        Just(b"\x08\x08\x08   \x08\x08\x08".to_vec()),
        Just(b"% Invalid input detected at '^' marker.\r\n".to_vec()),
        Just(b"Destination filename [startup-config]? ".to_vec()),
        Just(b"show version\r\n".to_vec()),
        Just(b"terminal length 0\r\n".to_vec()),
        Just(
            "Cisco IOS Software, Version 15.2 — ünïcode\r\n"
                .as_bytes()
                .to_vec()
        ),
    ]
}

/// A stream of pieces, then cut into chunks at arbitrary points.
fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    (
        proptest::collection::vec(piece(), 0..40),
        proptest::collection::vec(1usize..64, 1..40),
    )
        .prop_map(|(pieces, cuts)| (pieces.concat(), cuts))
}

fn spec() -> impl Strategy<Value = DialogSpec> {
    (
        proptest::sample::select(Platform::ALL.to_vec()),
        proptest::sample::select(vec![CliMode::User, CliMode::Enable, CliMode::Config]),
        proptest::collection::vec("[a-z ]{1,12}", 1..4),
        any::<bool>(),
    )
        .prop_map(|(platform, mode, commands, expect)| DialogSpec {
            platform,
            commands: commands.iter().map(CliCommand::new).collect(),
            mode,
            secret: (mode != CliMode::User).then(|| fanout_core::Secret::new("s3cr3t")),
            prompt: None,
            error_patterns: if expect {
                vec!["Bad mask".into()]
            } else {
                Vec::new()
            },
        })
}

fn no_limit() -> LimitRule {
    Box::new(|_| Limit {
        at: None,
        phase: Phase::Command,
        after: Duration::ZERO,
    })
}

/// Runs the driver over `bytes` cut at `cuts` (cycled); the number of
/// steps it took and the total length of its outputs, or `None` when it
/// ended in an error.
fn drive(spec: DialogSpec, bytes: &[u8], cuts: &[usize]) -> (usize, Option<usize>) {
    let now = Instant::now();
    let Ok(mut driver) = Driver::new(spec, no_limit(), now) else {
        return (0, None);
    };
    let (mut at, mut cut, mut steps, mut sends_since_read) = (0, 0, 0, 0);
    loop {
        steps += 1;
        assert!(steps < 100_000, "the driver never ended");
        match driver.next(now) {
            Action::Send(_) => {
                sends_since_read += 1;
                assert!(
                    sends_since_read < 64,
                    "the driver sent 64 times without reading"
                );
            }
            Action::Read => {
                sends_since_read = 0;
                if at >= bytes.len() {
                    let _ = driver.closed();
                    return (steps, None);
                }
                let n = cuts[cut % cuts.len()].min(bytes.len() - at);
                cut += 1;
                driver.received(&bytes[at..at + n]);
                at += n;
            }
            Action::Done(outputs) => {
                return (steps, Some(outputs.iter().map(|o| o.stdout.len()).sum()));
            }
            Action::Fail(_) => return (steps, None),
        }
    }
}

proptest! {
    #[test]
    fn any_device_stream_ends_in_outputs_or_an_error(spec in spec(), (bytes, cuts) in stream()) {
        let (_, out) = drive(spec, &bytes, &cuts);
        if let Some(len) = out {
            // Output is text the device sent (cleaned of escapes, echo and
            // prompts), plus at most a cut marker per command.
            prop_assert!(len <= bytes.len() + 256, "{len} bytes out of {} in", bytes.len());
        }
    }

    #[test]
    fn a_well_behaved_device_gives_the_same_outputs_however_its_bytes_are_cut(
        commands in proptest::collection::vec("[a-z]{1,8}( [a-z0-9]{1,8}){0,2}", 1..5),
        lines in 0usize..30,
        cuts in proptest::collection::vec(1usize..40, 1..30),
    ) {
        let whole = converse(&commands, lines, &[usize::MAX]);
        let cut = converse(&commands, lines, &cuts);
        prop_assert_eq!(&whole, &cut);
        prop_assert_eq!(whole.len(), commands.len());
        for (command, out) in commands.iter().zip(&whole) {
            prop_assert!(out.contains(&format!("output of {command}")), "{command}: {out:?}");
            prop_assert!(!out.contains("R1>"), "the prompt leaked into {command}'s output: {out:?}");
        }
    }
}

/// The outputs of `commands` on a device that echoes every line, answers
/// `lines` lines of `output of LINE` and its prompt, its bytes delivered in
/// chunks of the `cuts` sizes (cycled).
fn converse(commands: &[String], lines: usize, cuts: &[usize]) -> Vec<String> {
    let spec = DialogSpec {
        platform: Platform::Ios,
        commands: commands.iter().map(CliCommand::new).collect(),
        mode: CliMode::User,
        secret: None,
        prompt: None,
        error_patterns: Vec::new(),
    };
    let now = Instant::now();
    let mut driver = Driver::new(spec, no_limit(), now).unwrap();
    let mut pending: Vec<u8> = b"\r\nR1>".to_vec();
    let mut cut = 0;
    for _ in 0..100_000 {
        match driver.next(now) {
            Action::Send(bytes) => {
                let line = String::from_utf8_lossy(&bytes).trim_end().to_string();
                pending.extend_from_slice(line.as_bytes());
                pending.extend_from_slice(b"\r\n");
                if !line.is_empty() && !line.starts_with("terminal") && line != "exit" {
                    for i in 0..lines.max(1) {
                        pending.extend_from_slice(format!("output of {line} #{i}\r\n").as_bytes());
                    }
                }
                if line != "exit" {
                    pending.extend_from_slice(b"R1>");
                }
            }
            Action::Read => {
                assert!(
                    !pending.is_empty(),
                    "the driver waits on a device that said everything"
                );
                let n = cuts[cut % cuts.len()].min(pending.len());
                cut += 1;
                driver.received(&pending[..n]);
                pending.drain(..n);
            }
            Action::Done(outputs) => return outputs.into_iter().map(|o| o.stdout).collect(),
            Action::Fail(e) => panic!("a well-behaved device failed the dialog: {e}"),
        }
    }
    panic!("the driver never ended");
}
