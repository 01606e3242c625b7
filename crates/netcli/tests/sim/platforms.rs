//! User, enable and configuration dialogs on every simulated platform, with
//! every chunking: captured outputs equal what the device prints for the
//! command, the lines sent are exactly the platform's, and the session ends
//! with a logout.

use fanout_core::{CliMode, Platform};
use fanout_netcli::Dialog;
use fanout_sim::console::ConsoleOptions;

use crate::harness::{CHUNKINGS, Device, SECRET, drive, shared, spec};

/// Commands every login may run (user level).
fn user_commands(p: Platform) -> &'static [&'static str] {
    match p {
        Platform::Ios | Platform::Iosxe | Platform::Nxos | Platform::Eos => {
            &["show version", "show ip interface brief"]
        }
        Platform::Iosxr => &["show version", "show ipv4 interface brief"],
        Platform::Junos => &["show version", "show interfaces terse"],
        Platform::Linux => &["uname -a", "ip -br address", "whoami"],
    }
}

/// Commands that need the privileged level.
fn privileged_commands(p: Platform) -> &'static [&'static str] {
    match p {
        Platform::Ios | Platform::Iosxe | Platform::Eos => {
            &["show privilege", "show running-config"]
        }
        Platform::Nxos | Platform::Iosxr => &["show running-config"],
        Platform::Junos => &["show configuration"],
        Platform::Linux => &["hostname", "pwd"],
    }
}

/// The setup lines a dialog sends before the commands.
fn setup(p: Platform, mode: CliMode) -> Vec<&'static str> {
    let mut v = match p {
        Platform::Linux => vec![],
        Platform::Junos => vec!["set cli screen-length 0"],
        _ => vec!["terminal length 0"],
    };
    let enable = matches!(p, Platform::Ios | Platform::Iosxe | Platform::Eos);
    if mode != CliMode::User && enable {
        v.extend(["enable", "<secret>"]);
    }
    if mode == CliMode::Config {
        match p {
            Platform::Linux => {}
            Platform::Junos => v.push("configure"),
            _ => v.push("configure terminal"),
        }
    }
    v
}

/// The lines a dialog sends after the commands.
fn teardown(p: Platform, mode: CliMode) -> Vec<&'static str> {
    let mut v = match (p, mode) {
        (_, CliMode::User | CliMode::Enable) | (Platform::Linux, _) => vec![],
        (Platform::Junos, _) => vec!["commit and-quit"],
        (Platform::Iosxr, _) => vec!["commit", "end"],
        _ => vec!["end"],
    };
    v.push("exit");
    v
}

fn expected_sent(p: Platform, mode: CliMode, commands: &[&str]) -> Vec<String> {
    setup(p, mode)
        .into_iter()
        .chain(commands.iter().copied())
        .chain(teardown(p, mode))
        .map(str::to_string)
        .collect()
}

fn check_show_dialog(p: Platform, mode: CliMode, commands: &[&str]) {
    for chunks in CHUNKINGS {
        let what = format!("{p} {mode:?} {chunks:?}");
        let mut device = Device::new(p);
        let before: Vec<String> = commands.iter().map(|c| device.reference(c)).collect();
        let dialog = Dialog::new(spec(p, mode, commands)).unwrap();
        let outputs = drive(dialog, &mut device, chunks).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(outputs.len(), commands.len(), "{what}");
        for ((got, cmd), before) in outputs.iter().zip(commands).zip(&before) {
            assert!(!got.stdout.is_empty(), "{what}: `{cmd}` printed nothing");
            crate::harness::assert_output(got, cmd, before, &device.reference(cmd), &what);
        }
        assert_eq!(
            device.sent_lines(),
            expected_sent(p, mode, commands),
            "{what}"
        );
        assert!(device.closed, "{what}: the session was not logged out");
        assert_eq!(device.spaces_sent(), 0, "{what}: paging was off");
    }
}

#[test]
fn user_mode_on_every_platform() {
    for p in Platform::ALL {
        check_show_dialog(p, CliMode::User, user_commands(p));
    }
}

#[test]
fn enable_mode_on_every_platform() {
    for p in Platform::ALL {
        let commands: Vec<&str> = user_commands(p)
            .iter()
            .chain(privileged_commands(p))
            .copied()
            .collect();
        check_show_dialog(p, CliMode::Enable, &commands);
    }
}

#[test]
fn enable_reaches_level_15() {
    for p in [Platform::Ios, Platform::Iosxe, Platform::Eos] {
        let mut device = Device::new(p);
        let dialog = Dialog::new(spec(p, CliMode::Enable, &["show privilege"])).unwrap();
        let out = drive(dialog, &mut device, crate::harness::Chunks::Whole).unwrap();
        assert_eq!(out[0].stdout, "Current privilege level is 15\n", "{p}");
        // The secret was typed once, hidden: the device never printed it.
        assert!(
            !String::from_utf8_lossy(&device.printed).contains(SECRET),
            "{p}"
        );
    }
}

#[test]
fn enable_without_a_secret_when_the_device_needs_none() {
    for p in [Platform::Ios, Platform::Eos] {
        let mut device = Device::with(p, shared("R9"), "admin", None, ConsoleOptions::default());
        let mut s = spec(p, CliMode::Enable, &["show privilege"]);
        s.secret = None;
        let out = drive(
            Dialog::new(s).unwrap(),
            &mut device,
            crate::harness::Chunks::Bytes,
        )
        .unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(out[0].stdout, "Current privilege level is 15\n", "{p}");
        assert_eq!(
            device.sent_lines(),
            ["terminal length 0", "enable", "show privilege", "exit"],
            "{p}"
        );
    }
}

/// Lines that rename the device, and what a device of the platform calls
/// its hostname afterwards.
fn rename(p: Platform, name: &str) -> Vec<String> {
    match p {
        Platform::Junos => vec![format!("set system host-name {name}")],
        Platform::Linux => vec![format!("hostname {name}")],
        Platform::Nxos => vec![
            format!("hostname {name}"),
            "interface loopback9".into(),
            "description netcli".into(),
        ],
        Platform::Eos => vec![
            format!("hostname {name}"),
            "interface Loopback9".into(),
            "description netcli".into(),
        ],
        _ => vec![
            format!("hostname {name}"),
            "interface Loopback9".into(),
            "description netcli".into(),
        ],
    }
}

#[test]
fn config_mode_on_every_platform_renames_the_device() {
    for p in Platform::ALL {
        for (n, chunks) in CHUNKINGS.into_iter().enumerate() {
            let what = format!("{p} {chunks:?}");
            let name = format!("renamed-{n}");
            let user = if p == Platform::Linux {
                "root"
            } else {
                "admin"
            };
            let cfg = shared(crate::harness::default_host(p));
            let mut device = Device::with(
                p,
                cfg.clone(),
                user,
                Some(SECRET),
                ConsoleOptions::default(),
            );
            let lines = rename(p, &name);
            let commands: Vec<&str> = lines.iter().map(String::as_str).collect();
            let dialog = Dialog::new(spec(p, CliMode::Config, &commands)).unwrap();
            let outputs =
                drive(dialog, &mut device, chunks).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(outputs.len(), commands.len(), "{what}");
            for o in &outputs {
                assert_eq!(o.stdout, "", "{what}: `{}` printed something", o.command);
            }
            assert_eq!(
                device.sent_lines(),
                expected_sent(p, CliMode::Config, &commands),
                "{what}"
            );
            assert!(device.closed, "{what}: not logged out");
            assert_eq!(cfg.lock().unwrap().hostname, name, "{what}");
            // The prompt changed under the dialog: it followed it, and left
            // configuration mode (the next session starts at the normal level).
            let printed = String::from_utf8_lossy(&device.printed).into_owned();
            assert!(printed.contains(&name), "{what}");

            // A new session sees the new name in its prompt and output.
            let mut next = Device::with(
                p,
                cfg.clone(),
                user,
                Some(SECRET),
                ConsoleOptions::default(),
            );
            assert!(next.prompt().contains(&name), "{what}: {}", next.prompt());
            let cmd = match p {
                Platform::Linux => "hostname",
                Platform::Nxos => "show version",
                Platform::Junos => "show version",
                Platform::Iosxr | Platform::Eos => "show running-config",
                _ => "show version",
            };
            let mode = match p {
                Platform::Iosxr | Platform::Eos => CliMode::Enable,
                _ => CliMode::User,
            };
            let out = drive(
                Dialog::new(spec(p, mode, &[cmd])).unwrap(),
                &mut next,
                chunks,
            )
            .unwrap_or_else(|e| panic!("{what}: second session: {e}"));
            assert!(out[0].stdout.contains(&name), "{what}: {:?}", out[0].stdout);
        }
    }
}

#[test]
fn config_mode_changes_are_visible_in_the_running_config() {
    let cfg = shared("R1");
    let mut device = Device::with(
        Platform::Ios,
        cfg.clone(),
        "admin",
        Some(SECRET),
        ConsoleOptions::default(),
    );
    let commands = [
        "interface Loopback77",
        "description set by netcli",
        "ip address 192.0.2.77 255.255.255.255",
    ];
    drive(
        Dialog::new(spec(Platform::Ios, CliMode::Config, &commands)).unwrap(),
        &mut device,
        crate::harness::Chunks::Random(3),
    )
    .unwrap();
    let mut check = Device::with(
        Platform::Ios,
        cfg,
        "admin",
        Some(SECRET),
        ConsoleOptions::default(),
    );
    let out = drive(
        Dialog::new(spec(
            Platform::Ios,
            CliMode::Enable,
            &["show running-config | section Loopback77"],
        ))
        .unwrap(),
        &mut check,
        crate::harness::Chunks::Whole,
    )
    .unwrap();
    assert_eq!(
        out[0].stdout,
        "interface Loopback77\n description set by netcli\n ip address 192.0.2.77 255.255.255.255\n"
    );
}
