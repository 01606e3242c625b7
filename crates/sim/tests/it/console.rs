//! The device console against the exact byte sequences scrapli and netmiko
//! send (shared/notes/device-clients.md), plus paging, editing and every
//! platform profile. Pure: no sockets.

use std::sync::{Arc, Mutex};

use fanout_core::Platform;
use fanout_sim::console::{Console, ConsoleOptions, DeviceConfig, SharedConfig, Step};

fn shared(host: &str) -> SharedConfig {
    Arc::new(Mutex::new(DeviceConfig::new(host)))
}

/// A client's view of one session: everything the device sent since the
/// last `take`.
struct Client {
    console: Console,
    buf: Vec<u8>,
    closed: bool,
}

impl Client {
    fn new(platform: Platform, host: &str, secret: Option<&str>) -> Self {
        Self::with(platform, shared(host), secret, ConsoleOptions::default())
    }

    fn with(
        platform: Platform,
        cfg: SharedConfig,
        secret: Option<&str>,
        opts: ConsoleOptions,
    ) -> Self {
        let mut console = Console::new(platform, cfg, "admin", secret, opts);
        let buf = console.open();
        Self {
            console,
            buf,
            closed: false,
        }
    }

    /// Sends one SSH write; returns the steps for inspection.
    fn send(&mut self, s: &str) -> Vec<Step> {
        assert!(!self.closed, "write after close: {s:?}");
        let steps = self.console.input(s.as_bytes());
        for st in &steps {
            match st {
                Step::Echo(b) | Step::Reply(b) => {
                    assert!(!self.closed, "bytes after Close");
                    self.buf.extend_from_slice(b);
                }
                Step::Close => self.closed = true,
            }
        }
        steps
    }

    fn take(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned()
    }

    /// Sends `s` and returns what came back.
    fn cmd(&mut self, s: &str) -> String {
        self.send(s);
        self.take()
    }
}

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || ".-@/:".contains(c)
}

/// The last line of a buffer (`$` with `re.M` only matches at the very end
/// or before `\n`, so the prompt must be final and on its own line).
fn last_line(buf: &str) -> &str {
    buf.rsplit('\n').next().unwrap_or("")
}

/// scrapli IOSXE PRIVS, tried on the last line: `exec`, `privilege_exec`,
/// `configuration`.
fn scrapli_priv(buf: &str) -> Option<&'static str> {
    let l = last_line(buf);
    let name_ok = |n: &str| (1..=63).contains(&n.chars().count()) && n.chars().all(word_char);
    if let Some(n) = l.strip_suffix('>') {
        return name_ok(n).then_some("exec");
    }
    let n = l.strip_suffix('#')?;
    if let Some(inner) = n.strip_suffix(')')
        && let Some((name, mode)) = inner.split_once('(')
    {
        let mode_ok = mode.chars().count() <= 32 && mode.chars().all(|c| word_char(c) || c == '+');
        return (name_ok(name) && mode_ok && !n.contains("tcl)")).then_some("configuration");
    }
    name_ok(n).then_some("privilege_exec")
}

/// scrapli's escalate prompt `^(?:enable\s){0,1}password:\s?$` (re.I).
fn scrapli_password(buf: &str) -> bool {
    let l = last_line(buf).to_ascii_lowercase();
    let l = l.strip_prefix("enable ").unwrap_or(&l);
    l == "password:" || l == "password: "
}

/// scrapli `_read_until_input`: lower-cased, whitespace and `\x08` removed.
fn scrapli_echo(buf: &str, input: &str) -> bool {
    let norm = |s: &str| {
        s.to_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\x08')
            .collect::<String>()
    };
    norm(buf).contains(&norm(input))
}

#[test]
fn scrapli_iosxe_sequence() {
    let mut c = Client::new(Platform::Ios, "R1", Some("s3cret"));
    assert_eq!(c.take(), "\r\nR1>");
    // iosxe_on_open
    let b = c.cmd("\n");
    assert_eq!(scrapli_priv(&b), Some("exec"), "{b:?}");
    let b = c.cmd("enable");
    assert!(scrapli_echo(&b, "enable"), "{b:?}");
    let b = c.cmd("\n");
    assert!(scrapli_password(&b), "{b:?}");
    let steps = c.send("s3cret\n");
    assert!(
        steps.iter().all(|s| !matches!(s, Step::Echo(_))),
        "secret echoed: {steps:?}"
    );
    let b = c.take();
    assert!(!b.contains("s3cret"));
    assert_eq!(scrapli_priv(&b), Some("privilege_exec"), "{b:?}");
    assert_eq!(scrapli_priv(&c.cmd("\n")), Some("privilege_exec"));
    for cmd in ["terminal length 0", "terminal width 512"] {
        assert!(scrapli_echo(&c.cmd(cmd), cmd));
        assert_eq!(c.cmd("\n"), "\r\nR1#", "{cmd} must be silent");
    }
    // send_command("show version")
    assert!(scrapli_echo(&c.cmd("show version"), "show version"));
    let b = c.cmd("\n");
    assert!(b.starts_with("\r\nCisco IOS Software"), "{b:?}");
    assert_eq!(scrapli_priv(&b), Some("privilege_exec"));
    assert!(!b.contains("More"), "paging is off");
    // send_configs(["hostname X"])
    assert_eq!(scrapli_priv(&c.cmd("\n")), Some("privilege_exec"));
    assert!(scrapli_echo(
        &c.cmd("configure terminal"),
        "configure terminal"
    ));
    let b = c.cmd("\n");
    assert_eq!(
        b,
        "\r\nEnter configuration commands, one per line.  End with CNTL/Z.\r\nR1(config)#"
    );
    assert_eq!(scrapli_priv(&b), Some("configuration"));
    assert_eq!(scrapli_priv(&c.cmd("\n")), Some("configuration"));
    assert!(scrapli_echo(&c.cmd("hostname X"), "hostname X"));
    let b = c.cmd("\n");
    assert_eq!(b, "\r\nX(config)#");
    assert_eq!(scrapli_priv(&b), Some("configuration"));
    // iosxe_on_close
    assert_eq!(c.cmd("\n"), "\r\nX(config)#");
    assert!(scrapli_echo(&c.cmd("end"), "end"));
    let b = c.cmd("\n");
    assert_eq!(b, "\r\nX#");
    assert_eq!(scrapli_priv(&b), Some("privilege_exec"));
    assert_eq!(c.cmd("\n"), "\r\nX#");
    let steps = c.send("exit\n");
    assert_eq!(steps.last(), Some(&Step::Close));
    assert!(c.closed);
}

#[test]
fn netmiko_cisco_ios_sequence() {
    let cfg = shared("R1");
    let mut c = Client::with(
        Platform::Ios,
        cfg.clone(),
        Some("s3cret"),
        ConsoleOptions::default(),
    );
    c.take();
    // _try_session_preparation: `\n` then `terminal width 511\n` back to back.
    let b = c.cmd("\nterminal width 511\n");
    assert!(b.contains("terminal width 511"), "{b:?}");
    assert!(b.ends_with("\r\nR1>"));
    let b = c.cmd("terminal length 0\n");
    assert_eq!(b, "terminal length 0\r\nR1>");
    let b = c.cmd("\n");
    let base_prompt: String = last_line(&b)
        .trim_end_matches(['#', '>'])
        .chars()
        .take(16)
        .collect();
    assert_eq!(base_prompt, "R1");
    // send_command("show version")
    assert!(last_line(&c.cmd("\n")).contains('>'));
    let b = c.cmd("show version\n");
    assert!(b.starts_with("show version\r\n"), "echo first: {b:?}");
    assert!(b.ends_with("\r\nR1>"));
    assert!(b.contains("R1 uptime is"));
    // enable()
    assert!(!c.cmd("\n").contains('#'));
    let b = c.cmd("enable\n");
    assert!(
        b.starts_with("enable") && b.to_lowercase().contains("ssword"),
        "{b:?}"
    );
    assert!(b.ends_with("Password: "));
    let b = c.cmd("s3cret\n");
    assert!(b.contains(&base_prompt) && b.ends_with("R1#"), "{b:?}");
    assert!(c.cmd("\n").contains('#'));
    // send_config_set(["hostname X"])
    assert!(!c.cmd("\n").contains(")#"));
    let b = c.cmd("configure terminal\n");
    assert!(
        b.starts_with("configure terminal")
            && b.contains(&base_prompt)
            && b.ends_with("R1(config)#")
    );
    assert!(c.cmd("\n").contains(")#"));
    let b = c.cmd("hostname X\n");
    assert!(b.starts_with("hostname X"));
    assert!(last_line(&b).contains('#'));
    assert!(b.ends_with("X(config)#"), "{b:?}");
    // exit_config_mode
    assert!(c.cmd("\n").contains(")#"));
    let b = c.cmd("end\n");
    assert!(b.starts_with("end") && b.ends_with("\r\nX#"));
    let b = c.cmd("\n");
    assert!(!b.contains(")#"));
    assert_eq!(last_line(&b), "X#");
    // disconnect()
    c.cmd("\n");
    c.send("exit\n");
    assert!(c.closed);
    // The hostname is running state: a new session sees it.
    let mut again = Client::with(
        Platform::Ios,
        cfg,
        Some("s3cret"),
        ConsoleOptions::default(),
    );
    assert_eq!(again.take(), "\r\nX>");
}

#[test]
fn echo_enter_and_editing() {
    let mut c = Client::new(Platform::Ios, "R1", None);
    c.take();
    // Each printable character is echoed at once, as received.
    assert_eq!(c.send("sh"), vec![Step::Echo(b"sh".to_vec())]);
    // Backspace (0x7f and 0x08) edits the buffer and echoes "\b \b".
    let steps = c.send("x\x7fow clocx\x08k");
    assert_eq!(
        steps,
        vec![Step::Echo(b"x\x08 \x08ow clocx\x08 \x08k".to_vec())]
    );
    // CR LF is one Enter, even split across writes; a bare CR is Enter too.
    let steps = c.send("\r");
    assert_eq!(steps.len(), 1);
    let Step::Reply(r) = &steps[0] else {
        panic!("{steps:?}")
    };
    assert!(String::from_utf8_lossy(r).starts_with("\r\n*"));
    assert!(c.send("\n").is_empty(), "LF after CR is not a second Enter");
    c.take();
    // Empty line: prompt again, immediately.
    assert_eq!(c.send("\n"), vec![Step::Echo(b"\r\nR1>".to_vec())]);
    assert_eq!(c.send("\r\n"), vec![Step::Echo(b"\r\nR1>".to_vec())]);
    // A line split across writes, several lines in one write.
    c.take();
    c.send("sho");
    c.send("w cl");
    let b = c.cmd("ock\nshow clock\r\n\n");
    assert_eq!(b.matches("UTC").count(), 2, "{b:?}");
    assert!(b.ends_with("R1>\r\nR1>"));
    // Escape sequences (arrow keys) are swallowed; Ctrl-U kills the line.
    let b = c.cmd("foo\x1b[A\x15show clock\n");
    assert!(b.contains("UTC") && !b.contains("Invalid"), "{b:?}");
}

#[test]
fn show_clock_and_errors_bytes() {
    let mut c = Client::new(Platform::Ios, "R1", None);
    c.take();
    c.cmd("enable\n");
    let b = c.cmd("show clock\n");
    let body = b
        .strip_prefix("show clock\r\n*")
        .and_then(|s| s.strip_suffix("\r\nR1#"))
        .unwrap_or_else(|| panic!("{b:?}"));
    // 10:15:42.123 UTC Wed Nov 25 2026
    let w: Vec<&str> = body.split(' ').collect();
    assert_eq!(w.len(), 6, "{body}");
    assert_eq!(w[0].len(), 12);
    assert_eq!(&w[0][2..3], ":");
    assert_eq!(&w[0][8..9], ".");
    assert_eq!(w[1], "UTC");
    assert!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&w[2]));
    assert!(w[4].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)));
    assert!(w[5].parse::<u32>().is_ok_and(|y| y >= 2024));

    assert_eq!(
        c.cmd("foo\n"),
        "foo\r\n   ^\r\n% Invalid input detected at '^' marker.\r\n\r\nR1#"
    );
    assert_eq!(
        c.cmd("show foo\n"),
        "show foo\r\n        ^\r\n% Invalid input detected at '^' marker.\r\n\r\nR1#"
    );
    // The caret sits under the first character that does not fit.
    assert_eq!(
        c.cmd("shw ver\n"),
        "shw ver\r\n     ^\r\n% Invalid input detected at '^' marker.\r\n\r\nR1#"
    );
    assert_eq!(c.cmd("te\n"), "te\r\n% Ambiguous command:  \"te\"\r\nR1#");
    assert_eq!(
        c.cmd("terminal length\n"),
        "terminal length\r\n% Incomplete command.\r\n\r\nR1#"
    );
    assert_eq!(
        c.cmd("sh\n"),
        "sh\r\n% Type \"show ?\" for a list of subcommands\r\nR1#"
    );
    assert!(c.cmd("terminal width 600\n").contains("% Invalid input"));
}

#[test]
fn abbreviations() {
    let mut c = Client::new(Platform::Ios, "R1", None);
    c.take();
    assert_eq!(c.cmd("term len 0\n"), "term len 0\r\nR1>");
    assert!(c.cmd("sh ver\n").contains("Cisco IOS Software"));
    let b = c.cmd("sh ip int br\n");
    assert!(b.contains(
        "Interface                  IP-Address      OK? Method Status                Protocol\r\n"
    ));
    assert!(b.contains(
        "Ethernet0/0                192.0.2.1       YES NVRAM  up                    up      \r\n"
    ));
    assert!(b.contains("administratively down"));
    // Privileged commands are invisible in user mode.
    assert!(c.cmd("conf t\n").contains("% Invalid input"));
    c.cmd("en\n");
    assert!(c.cmd("conf t\n").ends_with("R1(config)#"));
    assert!(c.cmd("int gi0/1\n").ends_with("\r\nR1(config-if)#"));
    assert!(c.cmd("desc to core\n").ends_with("\r\nR1(config-if)#"));
    assert!(
        c.cmd("ip add 192.0.2.200 255.255.255.0\n")
            .ends_with("R1(config-if)#")
    );
    let b = c.cmd("ip address 192.0.2.9 255.25.255.255\n");
    assert!(
        b.contains("Bad mask 0xFF19FFFF for address 192.0.2.9"),
        "{b:?}"
    );
    // A global command in a sub-mode drops back to (config).
    assert!(c.cmd("ntp server 192.0.2.5\n").ends_with("\r\nR1(config)#"));
    assert!(c.cmd("line vty 0 4\n").ends_with("R1(config-line)#"));
    assert!(c.cmd("exit\n").ends_with("\r\nR1(config)#"));
    assert!(
        c.cmd("do sh run | i ntp\n")
            .contains("\r\nntp server 192.0.2.5\r\nR1(config)#")
    );
    assert!(c.cmd("e\n").contains("% Ambiguous command:  \"e\""));
    // Ctrl-Z leaves configuration mode.
    assert_eq!(c.cmd("\x1a"), "^Z\r\nR1#");
    let b = c.cmd("terminal length 0\nsh run | begin GigabitEthernet0/1\n");
    assert!(b.contains("interface GigabitEthernet0/1\r\n description to core\r\n ip address 192.0.2.200 255.255.255.0\r\n"));
    assert!(
        c.cmd("show running-config | include ^interface\n")
            .contains("\r\ninterface Loopback0\r\ninterface Ethernet0/0\r\n")
    );
    let b = c.cmd("copy run start\n");
    assert!(
        b.ends_with("Destination filename [startup-config]? "),
        "{b:?}"
    );
    assert_eq!(c.cmd("\n"), "\r\nBuilding configuration...\r\n[OK]\r\nR1#");
    assert!(c.cmd("conf\n").ends_with("[terminal]? "));
    assert!(c.cmd("\n").ends_with("R1(config)#"));
}

#[test]
fn enable_variants() {
    // Wrong secret.
    let mut c = Client::new(Platform::Ios, "R1", Some("right"));
    c.take();
    assert_eq!(c.cmd("enable\n"), "enable\r\nPassword: ");
    assert_eq!(c.cmd("wrong\n"), "\r\n% Access denied\r\n\r\nR1>");
    // No secret given at all.
    c.cmd("enable\n");
    assert_eq!(c.cmd("\n"), "\r\n% Access denied\r\n\r\nR1>");
    // Backspace while typing the secret is not echoed either.
    c.cmd("enable\n");
    assert!(c.send("rightx\x7f").is_empty());
    assert_eq!(c.cmd("\n"), "\r\nR1#");
    assert_eq!(c.console.prompt(), "R1#");
    assert!(c.cmd("disable\n").ends_with("\r\nR1>"));
    // No secret configured: straight to #.
    let mut c = Client::new(Platform::Ios, "R1", None);
    c.take();
    assert_eq!(c.cmd("enable\n"), "enable\r\nR1#");
    assert_eq!(c.cmd("logout\n"), "logout");
    assert!(c.closed);
}

fn long_opts() -> ConsoleOptions {
    ConsoleOptions {
        extra_lines: 10,
        page_length: 24,
    }
}

#[test]
fn paging() {
    let mut c = Client::with(Platform::Ios, shared("R1"), None, long_opts());
    c.take();
    c.cmd("enable\n");
    let b = c.cmd("show running-config\n");
    assert!(b.ends_with("\r\n --More-- "), "{b:?}");
    assert_eq!(b.matches("\r\n").count(), 1 + 23);
    let erase = format!("{0}{1}{0}", "\x08".repeat(10), " ".repeat(10));
    // Enter: one more line. Not echoed.
    let b = c.cmd("\r\n");
    assert!(b.starts_with(&erase) && b.ends_with(" --More-- "), "{b:?}");
    assert_eq!(b.matches("\r\n").count(), 1);
    // Space: a page at a time, until the end and the prompt.
    let mut pages = 0;
    loop {
        let b = c.cmd(" ");
        assert!(b.starts_with(&erase));
        pages += 1;
        if b.ends_with("\r\nend\r\nR1#") {
            break;
        }
        assert!(b.ends_with(" --More-- "));
        assert_eq!(b.matches("\r\n").count(), 23);
        assert!(pages < 20);
    }
    assert!(pages >= 2);
    // q: the rest is dropped, prompt printed.
    c.cmd("show version\n");
    assert_eq!(c.cmd("q"), "\r\nR1#");
    assert!(c.cmd("show clock\n").contains("UTC"));
    // After terminal length 0: the whole output at once.
    c.cmd("terminal length 0\n");
    let b = c.cmd("show running-config\n");
    assert!(!b.contains("More"));
    assert!(b.ends_with("\r\nend\r\nR1#"));
    assert!(b.contains("interface Loopback1009"));
    assert!(b.contains("hostname R1\r\n"));
    assert!(b.matches("\r\n").count() > 24 + 30);
    // Exec: never paged.
    let r = c.console.exec("show running-config");
    assert!(String::from_utf8_lossy(&r.output).ends_with("end\r\n"));
}

#[test]
fn extra_lines_knob() {
    let count = |extra| {
        let mut c = Console::new(
            Platform::Ios,
            shared("R1"),
            "admin",
            None,
            ConsoleOptions {
                extra_lines: extra,
                page_length: 0,
            },
        );
        let r = c.exec("show ip interface brief");
        String::from_utf8_lossy(&r.output).lines().count()
    };
    assert_eq!(count(100), count(0) + 100);
}

#[test]
fn shared_config_across_sessions() {
    let cfg = shared("R1");
    let mut a = Client::with(Platform::Ios, cfg.clone(), None, ConsoleOptions::default());
    let b = Console::new(
        Platform::Ios,
        cfg.clone(),
        "admin",
        None,
        ConsoleOptions::default(),
    );
    a.cmd("enable\nconf t\nhostname CORE-1\n");
    assert_eq!(a.console.prompt(), "CORE-1(config)#");
    assert_eq!(b.prompt(), "CORE-1>");
    assert_eq!(
        cfg.lock().map(|c| c.hostname.clone()).ok().as_deref(),
        Some("CORE-1")
    );
    assert!(a.cmd("hostname bad!name\n").contains("illegal"));
}

#[test]
fn exec_channel() {
    let mut c = Console::new(
        Platform::Ios,
        shared("R1"),
        "admin",
        Some("x"),
        ConsoleOptions::default(),
    );
    let r = c.exec("show version");
    assert_eq!(r.exit_status, 0);
    let out = String::from_utf8_lossy(&r.output);
    assert!(
        out.starts_with("Cisco IOS Software") && out.ends_with("Configuration register is 0x0\r\n")
    );
    assert!(!out.contains("R1#") && !out.contains("More"));
    // Privileged without enable.
    assert!(String::from_utf8_lossy(&c.exec("sh run").output).contains("hostname R1"));
    let r = c.exec("bogus");
    assert_eq!(r.exit_status, 1);
    assert!(String::from_utf8_lossy(&r.output).contains("% Invalid input detected"));
    let r = c.exec("configure terminal");
    assert_eq!(r.exit_status, 1);
    assert_eq!(c.prompt(), "R1>", "exec leaves the interactive state alone");
    assert_eq!(c.exec("hostname X").exit_status, 1);

    let mut l = Console::new(
        Platform::Linux,
        shared("web1"),
        "admin",
        None,
        ConsoleOptions::default(),
    );
    let r = l.exec("uname -a");
    assert_eq!(r.exit_status, 0);
    assert!(String::from_utf8_lossy(&r.output).starts_with("Linux web1 "));
    let r = l.exec("foo");
    assert_eq!(
        (r.exit_status, r.output),
        (127, b"bash: foo: command not found\n".to_vec())
    );
    assert_eq!(
        l.exec("echo hello  'big world'").output,
        b"hello big world\n".to_vec()
    );
    assert_eq!(l.exec("false").exit_status, 1);

    let mut j = Console::new(
        Platform::Junos,
        shared("R1"),
        "admin",
        None,
        ConsoleOptions::default(),
    );
    assert!(
        String::from_utf8_lossy(&j.exec("show version").output).starts_with("Hostname: R1\r\n")
    );
    assert_eq!(j.exec("configure").exit_status, 1);
}

#[test]
fn nxos() {
    let mut c = Client::new(Platform::Nxos, "switch", None);
    let b = c.take();
    assert!(b.starts_with("Cisco NX-OS Software\r\n") && b.ends_with("\r\n\r\nswitch#"));
    assert_eq!(scrapli_priv(&b), Some("privilege_exec"));
    c.cmd("terminal length 0\nterminal width 511\n");
    assert!(
        c.cmd("show version\n")
            .contains("  Device name: switch\r\n")
    );
    assert_eq!(
        c.cmd("foo\n"),
        "foo\r\n       ^\r\n% Invalid command at '^' marker.\r\nswitch#"
    );
    let b = c.cmd("conf t\n");
    assert!(b.ends_with(
        "Enter configuration commands, one per line. End with CNTL/Z.\r\nswitch(config)#"
    ));
    assert!(c.cmd("interface eth1/1\n").ends_with("switch(config-if)#"));
    assert!(
        c.cmd("show ip int br\n")
            .contains("Eth1/1               192.0.2.1"),
        "show works in config mode"
    );
    assert!(c.cmd("end\n").ends_with("\r\nswitch#"));
    assert!(
        c.cmd("show running-config\n")
            .contains("interface Ethernet1/1\r\n  description uplink to core\r\n")
    );
}

/// NX-OS `show version` carries what ntc-templates' cisco_nxos_show_version
/// records (its Record line is `Reason:`, so without `Last reset` it yields
/// nothing at all).
#[test]
fn nxos_show_version_parses_with_ntc_templates() {
    let mut c = Console::new(
        Platform::Nxos,
        shared("leaf7"),
        "admin",
        None,
        ConsoleOptions::default(),
    );
    let text = String::from_utf8_lossy(&c.exec("show version").output).into_owned();
    let parsed = fanout_parse::Parser::builtin()
        .parse("cisco_nxos", "show version", &text)
        .expect("parses");
    assert_eq!(parsed.records.len(), 1, "{text}");
    let r = &parsed.records[0];
    assert_eq!(r.text("HOSTNAME"), Some("leaf7"));
    assert_eq!(r.text("BIOS"), Some("2.12.0"));
    assert_eq!(r.text("OS"), Some("7.3(0)D1(1)"));
    assert_eq!(r.text("LAST_REBOOT_REASON"), Some("Unknown"));
    assert!(
        r.text("UPTIME").is_some_and(|u| u.contains("day(s)")),
        "{:?}",
        r.text("UPTIME")
    );
}

/// `ip http server` replaces the `no ip http server` line IOS prints in its
/// fixed place, once; `no ip http server` puts it back, and `no X` then `X`
/// leaves only `X`.
#[test]
fn ios_http_server_and_negations() {
    let mut c = Client::new(Platform::Ios, "R1", None);
    c.cmd("enable\nterminal length 0\n");
    let run = |c: &mut Client| c.cmd("show running-config\n");
    let count = |t: &str, l: &str| t.split("\r\n").filter(|x| *x == l).count();
    let before = run(&mut c);
    assert_eq!(count(&before, "no ip http server"), 1);
    c.cmd("conf t\nip http server\nip http secure-server\nend\n");
    let on = run(&mut c);
    assert_eq!(count(&on, "no ip http server"), 0, "{on}");
    assert_eq!(count(&on, "ip http server"), 1, "{on}");
    assert_eq!(count(&on, "no ip http secure-server"), 0, "{on}");
    assert_eq!(count(&on, "ip http secure-server"), 1, "{on}");
    assert!(
        on.contains("ip forward-protocol nd\r\n!\r\nip http server\r\nip http secure-server\r\n")
    );
    c.cmd("conf t\nno ip http server\nno ip http server\nend\n");
    let off = run(&mut c);
    assert_eq!(count(&off, "no ip http server"), 1, "{off}");
    assert_eq!(count(&off, "ip http server"), 0, "{off}");
    assert_eq!(count(&off, "ip http secure-server"), 1, "{off}");
    c.cmd("conf t\nno ip domain lookup\nip domain lookup\nend\n");
    let dl = run(&mut c);
    assert_eq!(count(&dl, "no ip domain lookup"), 0, "{dl}");
    assert_eq!(count(&dl, "ip domain lookup"), 1, "{dl}");
}

#[test]
fn eos() {
    let mut c = Client::new(Platform::Eos, "sw1", None);
    assert_eq!(c.take(), "\r\nsw1>");
    assert_eq!(c.cmd("enable\n"), "enable\r\nsw1#");
    assert_eq!(c.cmd("foo\n"), "foo\r\n% Invalid input\r\nsw1#");
    assert!(
        c.cmd("show version\n")
            .contains("Software image version: 4.28.3M")
    );
    assert_eq!(c.cmd("configure\n"), "configure\r\nsw1(config)#");
    assert_eq!(
        c.cmd("interface Et1\n"),
        "interface Et1\r\nsw1(config-if-Et1)#"
    );
    assert_eq!(scrapli_priv(&c.cmd("\n")), Some("configuration"));
    assert_eq!(c.cmd("end\n"), "end\r\nsw1#");
    assert!(c.cmd("show clock\n").contains("Timezone: UTC"));
}

#[test]
fn iosxr_commit_model() {
    let mut c = Client::new(Platform::Iosxr, "R1", None);
    assert_eq!(c.take(), "\r\nRP/0/RP0/CPU0:R1#");
    let b = c.cmd("show version\n");
    assert!(
        b.contains(" UTC\r\nCisco IOS XR Software, Version 7.3.2\r\n"),
        "{b:?}"
    );
    assert!(
        c.cmd("configure terminal\n")
            .ends_with("\r\nRP/0/RP0/CPU0:R1(config)#")
    );
    assert!(
        c.cmd("hostname XR2\n")
            .ends_with("RP/0/RP0/CPU0:R1(config)#"),
        "applies at commit"
    );
    assert!(
        c.cmd("end\n")
            .ends_with("commit them before exiting(yes/no/cancel)? [cancel]:")
    );
    assert_eq!(c.cmd("yes\n"), "yes\r\nRP/0/RP0/CPU0:XR2#");
    assert!(
        c.cmd("conf\nhostname XR3\ncommit\n")
            .ends_with("RP/0/RP0/CPU0:XR3(config)#")
    );
    assert_eq!(
        c.cmd("foo\n"),
        "foo\r\n                          ^\r\n% Invalid input detected at '^' marker.\r\nRP/0/RP0/CPU0:XR3(config)#"
    );
    assert!(c.cmd("end\n").ends_with("\r\nRP/0/RP0/CPU0:XR3#"));
    let b = c.cmd("show clock\n");
    assert_eq!(b.matches("UTC").count(), 2, "timestamp line + clock: {b:?}");
    c.cmd("terminal exec prompt no-timestamp\n");
    let b = c.cmd("show clock\n");
    assert_eq!(b.matches("UTC").count(), 1, "{b:?}");
}

#[test]
fn junos() {
    let mut c = Client::new(Platform::Junos, "R1", None);
    assert!(c.take().ends_with("\r\n\r\nadmin@R1>"));
    assert_eq!(
        c.cmd("set cli screen-length 0\n"),
        "set cli screen-length 0\r\nScreen length set to 0\r\n\r\nadmin@R1>"
    );
    assert!(
        c.cmd("set cli screen-width 511\n")
            .contains("Screen width set to 511")
    );
    assert!(
        c.cmd("sh ver\n")
            .contains("\r\nHostname: R1\r\nModel: vmx\r\nJunos: 21.4R1.12\r\n")
    );
    assert_eq!(
        c.cmd("foo\n"),
        "foo\r\n         ^\r\nunknown command.\r\n\r\nadmin@R1>"
    );
    assert_eq!(
        c.cmd("show foo\n"),
        "show foo\r\n              ^\r\nsyntax error, expecting <command>.\r\n\r\nadmin@R1>"
    );
    assert!(c.cmd("s\n").contains("'s' is ambiguous."));
    assert_eq!(
        c.cmd("configure\n"),
        "configure\r\nEntering configuration mode\r\n\r\n[edit]\r\nadmin@R1#"
    );
    assert_eq!(c.cmd("\n"), "\r\n\r\n[edit]\r\nadmin@R1#");
    assert_eq!(
        c.cmd("set system host-name J2\n"),
        "set system host-name J2\r\n\r\n[edit]\r\nadmin@R1#"
    );
    assert_eq!(
        c.cmd("edit interfaces ge-0/0/1\n"),
        "edit interfaces ge-0/0/1\r\n\r\n[edit interfaces ge-0/0/1]\r\nadmin@R1#"
    );
    c.cmd("set description \"to the core\"\ntop\n");
    let b = c.cmd("show | display set | match host-name\n");
    assert!(b.contains("\r\nset system host-name J2\r\n"), "{b:?}");
    assert_eq!(
        c.cmd("commit\n"),
        "commit\r\ncommit complete\r\n\r\n[edit]\r\nadmin@J2#"
    );
    assert_eq!(
        c.cmd("exit\n"),
        "exit\r\nExiting configuration mode\r\n\r\nadmin@J2>"
    );
    let b = c.cmd("show configuration interfaces\n");
    assert!(
        b.contains("ge-0/0/1 {\r\n    description \"to the core\";\r\n"),
        "{b:?}"
    );
    assert!(
        c.cmd("show configuration\n")
            .contains("    host-name J2;\r\n")
    );
    // Uncommitted changes ask before leaving.
    c.cmd("configure\nset system host-name J3\n");
    assert!(
        c.cmd("exit\n")
            .ends_with("Exit with uncommitted changes? [yes,no] (yes) ")
    );
    assert_eq!(
        c.cmd("yes\n"),
        "yes\r\nExiting configuration mode\r\n\r\nadmin@J2>"
    );
    assert_eq!(c.cmd("quit\n"), "quit");
    assert!(c.closed);
}

#[test]
fn junos_paging() {
    let mut c = Client::with(Platform::Junos, shared("R1"), None, long_opts());
    c.take();
    assert!(c.cmd("show configuration\n").ends_with("\r\n---(more)---"));
    let b = c.cmd(" ");
    assert!(b.starts_with(&format!("\r{}\r", " ".repeat(12))));
    c.cmd("q");
    assert!(!c.cmd("show configuration | no-more\n").contains("more)"));
}

#[test]
fn linux() {
    let mut c = Client::new(Platform::Linux, "web1", None);
    let b = c.take();
    assert!(b.starts_with("Welcome to Ubuntu") && b.ends_with("\r\nadmin@web1:~$ "));
    assert_eq!(c.cmd("hostname\n"), "hostname\r\nweb1\r\nadmin@web1:~$ ");
    assert_eq!(c.cmd("echo hi\n"), "echo hi\r\nhi\r\nadmin@web1:~$ ");
    assert_eq!(
        c.cmd("foo\n"),
        "foo\r\nbash: foo: command not found\r\nadmin@web1:~$ "
    );
    assert!(c.cmd("uptime\n").contains(" up 9 days,"));
    assert!(c.cmd("uname -a\n").contains("GNU/Linux"));
    assert!(c.cmd("terminal length 0\n").contains("command not found"));
    assert_eq!(c.cmd("exit\n"), "exit\r\nlogout\r\n");
    assert!(c.closed);
}

#[test]
fn every_platform_basics() {
    for p in Platform::ALL {
        let mut c = Client::new(p, "dev1", Some("s3cret"));
        let open = c.take();
        let prompt = c.console.prompt();
        assert!(open.ends_with(&format!("\r\n{prompt}")), "{p}: {open:?}");
        assert!(
            !prompt.ends_with(' ') || p == Platform::Linux,
            "{p}: {prompt:?}"
        );
        let cmd = match p {
            Platform::Junos => "show version",
            Platform::Linux => "uname -a",
            _ => "show version",
        };
        let r = c.console.exec(cmd);
        assert_eq!(r.exit_status, 0, "{p}");
        assert!(r.output.len() > 40, "{p}");
        let b = c.cmd("definitely-not-a-command\n");
        assert!(b.ends_with(&prompt), "{p}: {b:?}");
        assert_ne!(
            c.console.exec("definitely-not-a-command").exit_status,
            0,
            "{p}"
        );
        let clock = match p {
            Platform::Junos => "show system uptime",
            Platform::Linux => "date",
            _ => "show clock",
        };
        assert!(
            String::from_utf8_lossy(&c.console.exec(clock).output).contains("UTC"),
            "{p}"
        );
    }
}
