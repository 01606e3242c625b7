//! Prompts, questions and pages: custom prompt regexes, `expect` patterns,
//! `--More--` pagination, and the dialog's waiting discipline (never type
//! ahead, never take a stale prompt, whatever the read boundaries).

use std::collections::BTreeMap;

use fanout_core::{CliMode, ErrorKind, Platform, Secret, Target};
use fanout_netcli::{CliCommand, Dialog, DialogSpec, Progress};
use fanout_sim::console::ConsoleOptions;

use crate::harness::{CHUNKINGS, Chunks, Device, SECRET, assert_output, drive, shared, spec};

#[test]
fn custom_prompt_regex_replaces_the_platform_pattern() {
    for chunks in CHUNKINGS {
        let mut device = Device::with(
            Platform::Ios,
            shared("edge7"),
            "admin",
            Some(SECRET),
            ConsoleOptions::default(),
        );
        let mut s = spec(Platform::Ios, CliMode::Config, &["hostname edge8"]);
        s.prompt = Some(r"edge\d(\([a-z-]+\))?[>#]".into());
        let out = drive(Dialog::new(s).unwrap(), &mut device, chunks)
            .unwrap_or_else(|e| panic!("{chunks:?}: {e}"));
        assert_eq!(out[0].stdout, "");
        assert_eq!(device.config.lock().unwrap().hostname, "edge8");
        assert!(device.closed);
    }
}

#[test]
fn custom_prompt_from_the_inventory_var() {
    let mut target = Target::new("r1", "127.0.0.1");
    target.platform = Some(Platform::Junos);
    target.secret = Some(Secret::new(SECRET));
    target.vars = BTreeMap::from([("prompt".to_string(), r"admin@R1[>#]".to_string())]);
    let s = DialogSpec::for_target(&target, &["show version".to_string()], CliMode::Enable);
    assert_eq!(s.platform, Platform::Junos);
    assert_eq!(s.prompt.as_deref(), Some(r"admin@R1[>#]"));
    assert_eq!(s.commands, [CliCommand::new("show version")]);
    assert_eq!(s.secret.as_ref().map(Secret::expose), Some(SECRET));
    let mut device = Device::new(Platform::Junos);
    let before = device.reference("show version");
    let out = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Bytes).unwrap();
    assert_output(
        &out[0],
        "show version",
        &before,
        &device.reference("show version"),
        "junos",
    );

    let plain = DialogSpec::for_target(&Target::new("r2", "127.0.0.1"), &[], CliMode::User);
    assert_eq!(plain.platform, Platform::Ios);
    assert_eq!(plain.prompt, None);
    assert!(plain.secret.is_none() && plain.commands.is_empty());
}

#[test]
fn prompt_that_never_matches_is_prompt_not_found() {
    for chunks in [Chunks::Whole, Chunks::Bytes] {
        let mut device = Device::new(Platform::Ios);
        let mut s = spec(Platform::Ios, CliMode::User, &["show version"]);
        s.prompt = Some(r"core-\d+#".into());
        let err = drive(Dialog::new(s).unwrap(), &mut device, chunks).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PromptNotFound, "{chunks:?}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(r"core-\d+#"), "{msg}");
        assert!(msg.contains("R1>"), "the last output is quoted: {msg}");
        assert!(msg.contains("`prompt` variable"), "{msg}");
        // It pressed Enter once to provoke a prompt, and typed nothing else.
        assert_eq!(device.sent, [b"\n".to_vec()], "{chunks:?}");
    }
}

#[test]
fn linux_with_the_wrong_platform_is_prompt_not_found() {
    let mut device = Device::new(Platform::Linux);
    let err = drive(
        Dialog::new(spec(Platform::Ios, CliMode::User, &["uname -a"])).unwrap(),
        &mut device,
        Chunks::Whole,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PromptNotFound, "{err}");
    assert!(err.to_string().contains("admin@host:~$ "), "{err}");
    assert!(err.to_string().contains("now ios"), "{err}");
}

#[test]
fn bad_specs_are_invalid_targets() {
    let bad = |prompt: Option<&str>, commands: Vec<CliCommand>| {
        let s = DialogSpec {
            platform: Platform::Ios,
            commands,
            mode: CliMode::User,
            secret: None,
            prompt: prompt.map(str::to_string),
            error_patterns: Vec::new(),
        };
        Dialog::new(s).unwrap_err()
    };
    let e = bad(Some("R1(#"), vec![]);
    assert_eq!(e.kind(), ErrorKind::InvalidTarget);
    assert!(
        e.to_string().contains("invalid `prompt` regex `R1(#`"),
        "{e}"
    );
    assert!(e.to_string().contains("unclosed group"), "{e}");
    assert!(e.to_string().contains("inventory"), "{e}");
    // A pattern that is only valid once wrapped is still rejected.
    assert!(bad(Some("a)(b"), vec![]).to_string().contains("`a)(b`"));
    assert!(bad(Some("  "), vec![]).to_string().contains("empty"));
    let e = bad(None, vec![CliCommand::expecting("copy run start", "[oops")]);
    assert_eq!(e.kind(), ErrorKind::InvalidTarget);
    assert!(e.to_string().contains("`copy run start`"), "{e}");
    let e = bad(None, vec![CliCommand::new("show version\nshow clock")]);
    assert!(e.to_string().contains("line break"), "{e}");
}

#[test]
fn expect_ends_output_at_a_question() {
    for chunks in CHUNKINGS {
        let mut device = Device::new(Platform::Ios);
        let s = DialogSpec {
            commands: vec![
                CliCommand::expecting(
                    "copy running-config startup-config",
                    r"\[startup-config\]\?",
                ),
                CliCommand::new(""),
                CliCommand::new("show clock"),
            ],
            ..spec(Platform::Ios, CliMode::Enable, &[])
        };
        let out = drive(Dialog::new(s).unwrap(), &mut device, chunks)
            .unwrap_or_else(|e| panic!("{chunks:?}: {e}"));
        assert_eq!(
            out[0].stdout, "Destination filename [startup-config]?",
            "{chunks:?}"
        );
        assert_eq!(out[1].command, "");
        assert_eq!(
            out[1].stdout, "Building configuration...\n[OK]\n",
            "{chunks:?}"
        );
        assert!(out[2].stdout.contains("UTC"), "{chunks:?}");
    }
}

#[test]
fn expect_answers_ios_configure_and_xr_uncommitted_changes() {
    // IOS `configure` asks where from; the answer is an empty line.
    let mut device = Device::new(Platform::Ios);
    let s = DialogSpec {
        commands: vec![
            CliCommand::expecting("configure", r"\[terminal\]\?"),
            CliCommand::new(""),
            CliCommand::new("hostname asked"),
            CliCommand::new("end"),
        ],
        ..spec(Platform::Ios, CliMode::Enable, &[])
    };
    let out = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Random(9)).unwrap();
    assert_eq!(
        out[0].stdout,
        "Configuring from terminal, memory, or network [terminal]?"
    );
    assert!(
        out[1].stdout.starts_with("Enter configuration commands"),
        "{:?}",
        out[1].stdout
    );
    assert_eq!(device.config.lock().unwrap().hostname, "asked");

    // IOS-XR: leaving with uncommitted changes asks; the user answers it,
    // and the dialog, already out of configuration mode, just logs out.
    let mut device = Device::new(Platform::Iosxr);
    let s = DialogSpec {
        commands: vec![
            CliCommand::new("hostname xr2"),
            CliCommand::expecting("end", r"\[cancel\]:"),
            CliCommand::new("yes"),
        ],
        ..spec(Platform::Iosxr, CliMode::Config, &[])
    };
    let out = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Bytes).unwrap();
    assert_eq!(
        out[1].stdout,
        "Uncommitted changes found, commit them before exiting(yes/no/cancel)? [cancel]:"
    );
    assert_eq!(device.config.lock().unwrap().hostname, "xr2");
    assert_eq!(
        device.sent_lines(),
        [
            "terminal length 0",
            "configure terminal",
            "hostname xr2",
            "end",
            "yes",
            "exit"
        ]
    );
}

#[test]
fn expect_falls_back_to_the_prompt() {
    let mut device = Device::new(Platform::Eos);
    let s = DialogSpec {
        commands: vec![CliCommand::expecting(
            "copy running-config startup-config",
            r"\[confirm\]",
        )],
        ..spec(Platform::Eos, CliMode::Enable, &[])
    };
    let out = drive(Dialog::new(s).unwrap(), &mut device, Chunks::Whole).unwrap();
    assert_eq!(out[0].stdout, "Copy completed successfully.\n");
}

/// A command whose output spans pages, per platform with a pager.
fn long_command(p: Platform) -> &'static str {
    match p {
        Platform::Junos => "show interfaces terse",
        Platform::Iosxr => "show ipv4 interface brief",
        _ => "show ip interface brief",
    }
}

#[test]
fn paging_is_answered_when_it_cannot_be_disabled() {
    for p in Platform::ALL.into_iter().filter(|p| *p != Platform::Linux) {
        for chunks in CHUNKINGS {
            let what = format!("{p} {chunks:?}");
            let opts = ConsoleOptions {
                extra_lines: 60,
                page_length: 24,
            };
            let host = crate::harness::default_host(p);
            let mut device = Device::with(p, shared(host), "admin", Some(SECRET), opts);
            device.ignore = vec!["terminal length 0".into(), "set cli screen-length 0".into()];
            let cmd = long_command(p);
            let before = device.reference(cmd);
            let out = drive(
                Dialog::new(spec(p, CliMode::User, &[cmd, "show version"])).unwrap(),
                &mut device,
                chunks,
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                device.spaces_sent() >= 2,
                "{what}: {} pages",
                device.spaces_sent()
            );
            let printed = String::from_utf8_lossy(&device.printed).to_lowercase();
            assert!(printed.contains("more"), "{what}: the device did page");
            assert_output(&out[0], cmd, &before, &device.reference(cmd), &what);
            assert!(out[0].stdout.lines().count() > 60, "{what}");
            let version = device.reference("show version");
            assert_output(&out[1], "show version", &version, &version, &what);
        }
    }
}

#[test]
fn paged_running_config_keeps_indentation() {
    for chunks in CHUNKINGS {
        let opts = ConsoleOptions {
            extra_lines: 30,
            page_length: 10,
        };
        let mut device = Device::with(Platform::Ios, shared("R1"), "admin", Some(SECRET), opts);
        device.ignore = vec!["terminal length 0".into()];
        let before = device.reference("show running-config");
        let out = drive(
            Dialog::new(spec(
                Platform::Ios,
                CliMode::Enable,
                &["show running-config"],
            ))
            .unwrap(),
            &mut device,
            chunks,
        )
        .unwrap();
        assert!(device.spaces_sent() > 5);
        assert_output(
            &out[0],
            "show running-config",
            &before,
            &device.reference("show running-config"),
            &format!("{chunks:?}"),
        );
        assert!(
            out[0]
                .stdout
                .contains("\n ip address 10.1.1.1 255.255.255.255\n")
        );
    }
}

/// Feeds `parts` one at a time, returning what `progress` said after each.
fn steps(dialog: &mut Dialog, parts: &[&str]) -> Vec<Progress> {
    parts
        .iter()
        .map(|p| {
            dialog.feed(p.as_bytes());
            dialog.progress().unwrap()
        })
        .collect()
}

fn send(s: &str) -> Progress {
    Progress::Send(s.as_bytes().to_vec())
}

#[test]
fn waits_for_the_whole_prompt_and_the_echo() {
    let mut d = Dialog::new(spec(Platform::Ios, CliMode::Config, &["hostname X"])).unwrap();
    assert_eq!(d.progress().unwrap(), Progress::Read);
    assert_eq!(steps(&mut d, &["\r\nR1>"]), [send("terminal length 0\n")]);
    // A stale prompt before the echo, a partial echo, a CR without its LF:
    // none of them completes the exchange.
    assert_eq!(
        steps(
            &mut d,
            &["\r\nR1>", "terminal len", "gth 0", "\r", "\nR1", ">"]
        ),
        [
            Progress::Read,
            Progress::Read,
            Progress::Read,
            Progress::Read,
            Progress::Read,
            send("enable\n")
        ]
    );
    assert_eq!(
        steps(&mut d, &["enable\r\nPass", "word: "]),
        [Progress::Read, send(&format!("{SECRET}\n"))]
    );
    assert_eq!(
        steps(&mut d, &["\r\n", "R1#"]),
        [Progress::Read, send("configure terminal\n")]
    );
    // `R1(config)` is not a prompt until its `#` arrives.
    assert_eq!(
        steps(
            &mut d,
            &[
                "configure terminal\r\nEnter configuration commands, one per line.  End with CNTL/Z.\r\nR1(config)",
                "#"
            ]
        ),
        [Progress::Read, send("hostname X\n")]
    );
    assert_eq!(
        steps(&mut d, &["hostname X\r\nX(config)#"]),
        [send("end\n")]
    );
    assert_eq!(steps(&mut d, &["end\r\nX#"]), [send("exit\n")]);
    assert_eq!(d.progress().unwrap(), Progress::Done);
    assert_eq!(d.outputs()[0].stdout, "");
}

#[test]
fn the_first_prompt_may_trail_the_provoking_enter() {
    // The first read ends inside the banner: Enter is pressed once; the
    // device's own first prompt then arrives before the one answering the
    // Enter, and only the second one counts.
    let mut d = Dialog::new(spec(Platform::Nxos, CliMode::User, &["show clock"])).unwrap();
    assert_eq!(steps(&mut d, &["Cisco NX-OS Software\r\n"]), [send("\n")]);
    assert_eq!(
        steps(&mut d, &["Copyright (c)\r\n\r\nswitch#", "\r\nswitch#"]),
        [Progress::Read, send("terminal length 0\n")]
    );
}

#[test]
fn ansi_colour_and_titles_do_not_hide_a_linux_prompt() {
    let mut d = Dialog::new(spec(Platform::Linux, CliMode::User, &["whoami"])).unwrap();
    assert_eq!(
        steps(
            &mut d,
            &["\x1b]0;admin@web: ~\x07\x1b[01;32madmin@web\x1b[00m:\x1b[01;34m~\x1b[00m$ "]
        ),
        [send("whoami\n")]
    );
    assert_eq!(
        steps(
            &mut d,
            &["whoami\r\n\x1b[?2004ladmin\r\n\x1b[?2004h\x1b]0;admin@web: ~\x07admin@web:~$ "]
        ),
        [send("exit\n")]
    );
    assert_eq!(d.progress().unwrap(), Progress::Done);
    assert_eq!(d.outputs()[0].stdout, "admin\n");
}

#[test]
fn a_device_that_asks_for_the_secret_again_rejected_it() {
    // Real IOS re-prompts `Password:` (up to three times) after a wrong
    // enable secret; the simulator prints `% Access denied` at once.
    let mut d = Dialog::new(spec(Platform::Ios, CliMode::Enable, &["show version"])).unwrap();
    assert_eq!(steps(&mut d, &["\r\nR1>"]), [send("terminal length 0\n")]);
    assert_eq!(
        steps(&mut d, &["terminal length 0\r\nR1>"]),
        [send("enable\n")]
    );
    assert_eq!(
        steps(&mut d, &["enable\r\nPassword: "]),
        [send(&format!("{SECRET}\n"))]
    );
    d.feed(b"\r\nPassword: ");
    let err = d.progress().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(
        err.to_string().contains("rejected the enable secret"),
        "{err}"
    );
    assert!(err.to_string().contains("asked again"), "{err}");
    assert!(!err.to_string().contains(SECRET));
}

#[test]
fn pager_markers_a_device_does_not_erase_are_dropped() {
    let mut d = Dialog::new(spec(Platform::Nxos, CliMode::User, &["show x"])).unwrap();
    assert_eq!(steps(&mut d, &["\r\nsw#"]), [send("terminal length 0\n")]);
    assert_eq!(
        steps(&mut d, &["terminal length 0\r\nsw#"]),
        [send("show x\n")]
    );
    assert_eq!(
        steps(
            &mut d,
            &[
                "show x\r\nline 1\r\n--More--",
                "\r\nline 2\r\n --More-- ",
                "line 3\r\nsw#"
            ]
        ),
        [send(" "), send(" "), send("exit\n")]
    );
    assert_eq!(d.outputs()[0].stdout, "line 1\nline 2\nline 3\n");
}

#[test]
fn closed_after_done_is_not_blamed_on_the_dialog() {
    let mut device = Device::new(Platform::Eos);
    let mut d = Dialog::new(spec(Platform::Eos, CliMode::User, &[])).unwrap();
    loop {
        match d.progress().unwrap() {
            Progress::Send(b) => device.write(&b),
            Progress::Read => d.feed(&device.take()),
            Progress::Done => break,
        }
    }
    assert!(device.closed);
    assert!(d.outputs().is_empty());
    assert_eq!(d.closed().kind(), ErrorKind::Channel);
    assert!(d.closed().to_string().contains("after the dialog finished"));
    assert_eq!(device.sent_lines(), ["terminal length 0", "exit"]);
}
