//! What goes wrong: a wrong or missing enable secret, commands the device
//! rejects, a device that goes silent or hangs up. Outputs are kept, the
//! messages name what was awaited and the last output, never the secret.

use fanout_core::{CliMode, ErrorKind, Phase, Platform, Secret};
use fanout_netcli::{Dialog, DialogError};
use fanout_sim::console::ConsoleOptions;

use crate::harness::{CHUNKINGS, Chunks, Device, READ_TIMEOUT, SECRET, Stop, drive, shared, spec};

const ENABLE_PLATFORMS: [Platform; 3] = [Platform::Ios, Platform::Iosxe, Platform::Eos];

fn assert_no_secret(e: &DialogError, secret: &str, what: &str) {
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains(secret),
        "{what}: the secret leaked: {shown}"
    );
}

#[test]
fn wrong_enable_secret_is_an_auth_error() {
    for p in ENABLE_PLATFORMS {
        for chunks in CHUNKINGS {
            let what = format!("{p} {chunks:?}");
            let mut device = Device::new(p);
            let mut s = spec(p, CliMode::Enable, &["show running-config"]);
            s.secret = Some(Secret::new("not-the-s3cret"));
            let err = drive(Dialog::new(s).unwrap(), &mut device, chunks).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Auth, "{what}: {err}");
            assert_eq!(err.phase(), None);
            let msg = err.to_string();
            assert!(msg.contains("rejected the enable secret"), "{what}: {msg}");
            assert!(
                msg.contains("`secret`") && msg.contains("`secret_env`"),
                "{what}: {msg}"
            );
            assert!(
                msg.contains("% Access denied"),
                "{what}: says what the device said: {msg}"
            );
            assert_no_secret(&err, "not-the-s3cret", &what);
            assert_no_secret(&err, SECRET, &what);
            assert!(err.outputs().is_empty());
            // Nothing was run after the rejected secret.
            let sent = device.sent_lines();
            assert_eq!(
                sent.last().map(String::as_str),
                Some("not-the-s3cret"),
                "{what}"
            );
            assert!(!sent.iter().any(|l| l == "show running-config"), "{what}");
        }
    }
}

#[test]
fn missing_enable_secret_is_an_auth_error() {
    for p in ENABLE_PLATFORMS {
        let mut device = Device::new(p);
        let mut s = spec(p, CliMode::Config, &["hostname X"]);
        s.secret = None;
        let err = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Random(5)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth, "{p}");
        let msg = err.to_string();
        assert!(msg.contains("none is set"), "{p}: {msg}");
        assert!(msg.contains("`secret` or `secret_env`"), "{p}: {msg}");
        assert_eq!(device.sent_lines(), ["terminal length 0", "enable"], "{p}");
    }
}

/// A command the platform rejects, and a fragment of its error text.
fn rejected(p: Platform) -> (&'static str, &'static str) {
    match p {
        Platform::Ios | Platform::Iosxe | Platform::Iosxr => {
            ("show bogus", "% Invalid input detected at '^' marker.")
        }
        Platform::Nxos => ("show bogus", "% Invalid command at '^' marker."),
        Platform::Eos => ("show bogus", "% Invalid input"),
        Platform::Junos => ("show bogus", "syntax error"),
        Platform::Linux => ("frobnicate --all", "bash: frobnicate: command not found"),
    }
}

#[test]
fn rejected_command_stops_with_outputs_kept() {
    for p in Platform::ALL {
        for chunks in CHUNKINGS {
            let what = format!("{p} {chunks:?}");
            let first = if p == Platform::Linux {
                "uname -a"
            } else {
                "show version"
            };
            let (bad, text) = rejected(p);
            let mut device = Device::new(p);
            let s = spec(p, CliMode::Enable, &[first, bad, "never-sent"]);
            let err = drive(Dialog::new(s).unwrap(), &mut device, chunks).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::CommandFailed, "{what}: {err}");
            let DialogError::CommandFailed { command, .. } = &err else {
                panic!("{what}: {err:?}")
            };
            assert_eq!(command, bad);
            let outs = err.outputs();
            assert_eq!(outs.len(), 2, "{what}");
            assert_eq!(outs[0].command, first);
            assert!(outs[0].stdout.len() > 40, "{what}");
            assert_eq!(outs[1].command, bad);
            assert!(
                outs[1].stdout.contains(text),
                "{what}: {:?}",
                outs[1].stdout
            );
            assert!(err.to_string().contains(text), "{what}: {err}");
            assert!(err.to_string().contains(bad), "{what}: {err}");
            assert!(
                !device.sent_lines().iter().any(|l| l == "never-sent"),
                "{what}"
            );
        }
    }
}

#[test]
fn error_output_is_exactly_what_the_device_printed() {
    for p in Platform::ALL {
        let (bad, text) = rejected(p);
        let mut device = Device::new(p);
        let err = drive(
            Dialog::new(spec(p, CliMode::Enable, &[bad])).unwrap(),
            &mut device,
            Chunks::Bytes,
        )
        .unwrap_err();
        let got = &err.outputs()[0].stdout;
        assert_eq!(got, &device.reference(bad), "{p}");
        assert!(got.contains(text), "{p}: {got:?}");
        if p == Platform::Ios {
            assert_eq!(
                got,
                "        ^\n% Invalid input detected at '^' marker.\n\n"
            );
        }
    }
}

#[test]
fn rejected_config_line_keeps_the_session_in_config_and_reports_it() {
    let mut device = Device::new(Platform::Ios);
    let s = spec(
        Platform::Ios,
        CliMode::Config,
        &["hostname ok1", "hostname bad!name"],
    );
    let err = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Whole).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommandFailed);
    assert_eq!(
        err.outputs()[1].stdout,
        "% Hostname contains one or more illegal characters.\n"
    );
    assert_eq!(device.config.lock().unwrap().hostname, "ok1");
}

#[test]
fn bad_mask_without_percent_is_command_failed() {
    for p in [Platform::Ios, Platform::Iosxe, Platform::Nxos] {
        let mut device = Device::new(p);
        let bad = "ip address 10.99.9.9 255.25.255.0";
        let s = spec(p, CliMode::Config, &["interface Loopback99", bad]);
        let err = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Random(3)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CommandFailed, "{p}: {err}");
        let line = "Bad mask 0xFF19FF00 for address 10.99.9.9";
        assert!(err.message().contains(line), "{p}: {err}");
        assert_eq!(err.outputs()[1].command, bad, "{p}");
        assert_eq!(err.outputs()[1].stdout, format!("{line}\n"), "{p}");
    }
}

#[test]
fn error_patterns_fail_commands_the_platform_accepts() {
    let mut device = Device::new(Platform::Ios);
    let mut s = spec(
        Platform::Ios,
        CliMode::User,
        &["show clock", "show version"],
    );
    s.error_patterns = vec!["^Cisco IOS Software".into()];
    let err = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Whole).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommandFailed, "{err}");
    assert!(err.message().contains("`show version`"), "{err}");
    assert!(err.message().contains("Cisco IOS Software"), "{err}");
    assert_eq!(err.outputs().len(), 2, "{err}");

    // Not matching: the run is as without it.
    let mut device = Device::new(Platform::Ios);
    let mut s = spec(Platform::Ios, CliMode::User, &["show clock"]);
    s.error_patterns = vec!["^No such thing$".into()];
    let outs = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Whole).unwrap();
    assert_eq!(outs.len(), 1);

    for bad in ["(", "  "] {
        let mut s = spec(Platform::Ios, CliMode::User, &["show clock"]);
        s.error_patterns = vec![bad.into()];
        let e = Dialog::new(s).map(|_| ()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("--error-pattern") && text.contains(&format!("`{bad}`")),
            "{text}"
        );
    }
}

#[test]
fn silent_device_times_out_with_the_last_output() {
    for p in Platform::ALL {
        for chunks in [Chunks::Whole, Chunks::Bytes, Chunks::Random(11)] {
            let what = format!("{p} {chunks:?}");
            let cmd = if p == Platform::Linux {
                "ip -br address"
            } else {
                "show version"
            };
            let mut device = Device::new(p);
            device.stop = Some(Stop {
                on: cmd.into(),
                keep: cmd.len() + 2 + 12,
                close: false,
            });
            let s = spec(p, CliMode::Enable, &[cmd]);
            let err = drive(Dialog::new(s).unwrap(), &mut device, chunks).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Timeout, "{what}: {err}");
            assert_eq!(err.phase(), Some(Phase::Command));
            let DialogError::Timeout { after, .. } = &err else {
                panic!()
            };
            assert_eq!(*after, READ_TIMEOUT);
            let msg = err.to_string();
            assert!(msg.contains("timed out after 7s"), "{what}: {msg}");
            assert!(
                msg.contains(&format!("the prompt after `{cmd}`")),
                "{what}: {msg}"
            );
            assert!(msg.contains("--timeout command="), "{what}: {msg}");
            // The partial output is in the message and kept as the command's output.
            let printed = String::from_utf8_lossy(&device.printed).replace("\r\n", "\n");
            let partial = printed
                .rsplit(&format!("{cmd}\n"))
                .next()
                .unwrap()
                .to_string();
            assert_eq!(partial.len(), 12, "{what}: {partial:?}");
            assert!(
                msg.contains(&format!("{cmd}\\n{partial}\"")),
                "{what}: {msg}"
            );
            assert_eq!(err.outputs().len(), 1);
            assert_eq!(err.outputs()[0].command, cmd);
            assert_eq!(err.outputs()[0].stdout, partial, "{what}");
            assert_no_secret(&err, SECRET, &what);
        }
    }
}

#[test]
fn silent_device_before_the_echo_names_the_echo() {
    let mut device = Device::new(Platform::Ios);
    device.stop = Some(Stop {
        on: "show clock".into(),
        keep: 4,
        close: false,
    });
    let s = spec(
        Platform::Ios,
        CliMode::User,
        &["show version", "show clock"],
    );
    let err = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Random(2)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let msg = err.to_string();
    assert!(
        msg.contains("waiting for the echo of `show clock`"),
        "{msg}"
    );
    assert!(msg.contains("\"show\""), "{msg}");
    // The first command's output is kept, the second's partial one too.
    assert_eq!(err.outputs().len(), 2);
    assert!(err.outputs()[0].stdout.contains("Cisco IOS Software"));
    assert_eq!(err.outputs()[1].stdout, "show");
}

#[test]
fn timeout_long_output_is_trimmed_to_its_end() {
    let cfg = shared("R1");
    let opts = ConsoleOptions {
        extra_lines: 200,
        page_length: 0,
    };
    let mut device = Device::with(Platform::Ios, cfg, "admin", Some(SECRET), opts);
    device.stop = Some(Stop {
        on: "show ip interface brief".into(),
        keep: 5000,
        close: false,
    });
    let s = spec(Platform::Ios, CliMode::User, &["show ip interface brief"]);
    let err = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Whole).unwrap_err();
    let msg = err.to_string();
    assert!(msg.len() < 1200, "message not trimmed: {} chars", msg.len());
    assert!(msg.contains("…\""), "{msg}");
    let printed = String::from_utf8_lossy(&device.printed).replace("\r\n", "\n");
    let tail: String = printed
        .chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let quoted = format!("{tail:?}");
    assert!(msg.contains(&quoted[1..quoted.len() - 1]), "{msg}");
}

#[test]
fn dropped_channel_keeps_partial_output() {
    for p in Platform::ALL {
        for chunks in [Chunks::Whole, Chunks::Bytes, Chunks::Random(4)] {
            let what = format!("{p} {chunks:?}");
            let (first, cmd) = match p {
                Platform::Linux => ("whoami", "uname -a"),
                Platform::Junos => ("show version", "show configuration"),
                _ => ("show version", "show running-config"),
            };
            let mut device = Device::new(p);
            device.stop = Some(Stop {
                on: cmd.into(),
                keep: cmd.len() + 2 + 30,
                close: true,
            });
            let s = spec(p, CliMode::Enable, &[first, cmd]);
            let err = drive(Dialog::new(s).unwrap(), &mut device, chunks).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Channel, "{what}: {err}");
            assert_eq!(err.phase(), None);
            let msg = err.to_string();
            assert!(msg.contains("closed the session"), "{what}: {msg}");
            assert!(msg.contains(&format!("`{cmd}`")), "{what}: {msg}");
            let outs = err.outputs();
            assert_eq!(outs.len(), 2, "{what}");
            assert_eq!(outs[0].command, first);
            assert_eq!(outs[1].command, cmd);
            let printed = String::from_utf8_lossy(&device.printed).replace("\r\n", "\n");
            let partial = printed.rsplit(&format!("{cmd}\n")).next().unwrap();
            let partial = partial.strip_suffix('\r').unwrap_or(partial);
            assert_eq!(outs[1].stdout, partial, "{what}");
            let quoted = format!("{partial:?}");
            assert!(msg.contains(&quoted[1..]), "{what}: {msg}");
        }
    }
}

#[test]
fn secret_echoed_by_a_broken_device_never_reaches_messages() {
    for p in ENABLE_PLATFORMS {
        let mut device = Device::new(p);
        device.echo_secret = true;
        device.stop = Some(Stop {
            on: SECRET.into(),
            keep: SECRET.len() + 2,
            close: false,
        });
        let err = drive(
            Dialog::new(spec(p, CliMode::Enable, &["show version"])).unwrap(),
            &mut device,
            Chunks::Bytes,
        )
        .unwrap_err();
        assert!(
            String::from_utf8_lossy(&device.printed).contains(SECRET),
            "the device did echo it"
        );
        assert_eq!(err.kind(), ErrorKind::Timeout, "{p}: {err}");
        assert!(
            err.to_string().contains("after the enable secret"),
            "{p}: {err}"
        );
        assert!(err.to_string().contains("***"), "{p}: {err}");
        assert_no_secret(&err, SECRET, &p.to_string());

        let mut device = Device::new(p);
        device.echo_secret = true;
        device.stop = Some(Stop {
            on: SECRET.into(),
            keep: SECRET.len() + 2,
            close: true,
        });
        let err = drive(
            Dialog::new(spec(p, CliMode::Enable, &["show version"])).unwrap(),
            &mut device,
            Chunks::Whole,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Channel, "{p}: {err}");
        assert_no_secret(&err, SECRET, &p.to_string());
    }
}

#[test]
fn secret_never_in_debug_output() {
    let s = spec(Platform::Ios, CliMode::Enable, &["show version"]);
    assert!(!format!("{s:?}").contains(SECRET));
    let mut dialog = Dialog::new(s).unwrap();
    dialog.feed(b"\r\nR1>");
    assert!(matches!(
        dialog.progress(),
        Ok(fanout_netcli::Progress::Send(_))
    ));
    dialog.feed(b"terminal length 0\r\nR1>");
    dialog.progress().unwrap();
    dialog.feed(b"enable\r\nPassword: ");
    let p = dialog.progress().unwrap();
    assert_eq!(
        p,
        fanout_netcli::Progress::Send(format!("{SECRET}\n").into_bytes())
    );
    assert_eq!(
        format!("{p:?}"),
        format!("Send({} bytes)", SECRET.len() + 1)
    );
    assert!(!format!("{dialog:?}").contains(SECRET), "{dialog:?}");
    dialog.feed(format!("{SECRET}\r\n").as_bytes());
    let e = dialog.timed_out(READ_TIMEOUT);
    assert_no_secret(&e, SECRET, "debug");
    assert!(!format!("{:?}", dialog.closed()).contains(SECRET));
}

#[test]
fn nothing_at_all_is_a_timeout_not_a_missing_prompt() {
    let dialog = Dialog::new(spec(Platform::Ios, CliMode::User, &["show version"])).unwrap();
    let err = dialog.timed_out(READ_TIMEOUT);
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains("sent nothing"), "{err}");
    assert!(
        err.to_string().contains("the device's first prompt"),
        "{err}"
    );
}

#[test]
fn errors_repeat_after_failure() {
    let mut device = Device::new(Platform::Ios);
    let mut s = spec(Platform::Ios, CliMode::Enable, &["show version"]);
    s.secret = None;
    let mut dialog = Dialog::new(s).unwrap();
    let first = loop {
        match dialog.progress() {
            Err(e) => break e,
            Ok(fanout_netcli::Progress::Send(b)) => device.write(&b),
            Ok(fanout_netcli::Progress::Read) => dialog.feed(&device.take()),
            Ok(fanout_netcli::Progress::Done) => panic!("finished without a secret"),
        }
    };
    assert_eq!(dialog.progress().unwrap_err(), first);
    assert_eq!(dialog.closed(), first);
    assert_eq!(dialog.timed_out(READ_TIMEOUT), first);
}
