//! Per-platform CLI facts: what a prompt looks like, which commands turn
//! paging off, raise privilege, enter and leave configuration mode, and
//! which lines mean the device rejected a command.

use std::sync::LazyLock;

use fanout_core::Platform;
use regex::Regex;

/// The prompt of IOS, IOS-XE, NX-OS, EOS and IOS-XR: `R1>`, `R1#`,
/// `R1(config-if)#`, `RP/0/RP0/CPU0:R1#` (scrapli's hostname class).
/// ASCII classes: Unicode `\w` makes the automaton (and every dialog's
/// start) many times bigger for no hostname a device accepts.
const CISCO_PROMPT: &str = r"[A-Za-z0-9_.\-@/:]{1,63}(?:\([A-Za-z0-9_.\-@/:+]{0,32}\))?[>#]";
/// JunOS CLI: `user@host>` (operational), `user@host#` (configuration).
const JUNOS_PROMPT: &str = r"[A-Za-z0-9_.\-]+@[A-Za-z0-9_.\-]+[>#]";
/// POSIX shells: `user@host:~$ `, `[user@host dir]# `, `bash-5.2$ `, `$ `.
/// The trailing space is required: it is part of every default PS1, and
/// without it `$` or `#` inside output would look like a prompt.
const LINUX_PROMPT: &str = r"(?:[A-Za-z0-9_.\-]+@[A-Za-z0-9_.\-]+(?::[^\s$#]*)?|\[[A-Za-z0-9_.\-]+@[A-Za-z0-9_.\-]+(?: [^\]]*)?\]|[A-Za-z0-9_.\-]+)?[$#] ";

/// `Password:`, `Enable password:`, `[sudo] password for x:`.
pub(crate) static PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)pass(?:word|code)[^:]{0,40}:\s*$").expect("valid regex"));

/// Pager markers: ` --More-- `, `--More--`, `---(more)---`, `---(more 45%)---`,
/// `<--- More --->`. Spelled out in full so that no prefix of a marker
/// (`--More-`) matches while the rest is still in flight.
pub(crate) static MORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:--\s*more\s*--|---\(more(?:\s+\d{1,3}%)?\)---|<---\s*more\s*--->)\s*$")
        .expect("valid regex")
});

/// What is left of a pager marker when a device does not erase it: the
/// marker with the blanks after it, and its line end when nothing followed.
pub(crate) static MORE_REMNANT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t]*(?:--[ \t]*more[ \t]*--|---\(more[^)\n]*\)---|<---[ \t]*more[ \t]*--->)[ \t]*\n?",
    )
    .expect("valid regex")
});

/// Cisco-style error lines (IOS, IOS-XE, NX-OS, EOS, IOS-XR): those with
/// the `% ` prefix (scrapli's `failed_when_contains` of IOS-XE, NX-OS and
/// EOS, netmiko's `error_pattern` examples), and the ones IOS prints
/// without it: `Bad mask 0xFF19FFFF for address 10.99.9.9` (an `ip
/// address` with a non-contiguous mask), and the parser's messages when a
/// device or a terminal server drops the `% ` (`Invalid input detected at
/// '^' marker.`, `Invalid command at '^' marker.`, `Incomplete command.`,
/// `Ambiguous command: "sh"`). Counters such as `Invalid input counters: 0`
/// are not errors, so the unprefixed forms are spelled out in full.
const CISCO_ERRORS: &str = r#"(?m)^[ \t]*(?:% ?(?:Invalid|Ambiguous|Incomplete|Unknown|Unrecognized|Unavailable command|Bad |Error|Failed|Cannot commit|Duplicate sequence number|Access denied|Permission denied|Type "|Hostname contains|Connection refused)|ERROR:|Bad mask 0x[0-9A-Fa-f]+ for address|Invalid input detected at|Invalid (?:command|parameter) (?:at|detected)|Incomplete command\.?[ \t]*$|Ambiguous command:)"#;
/// JunOS error lines (scrapli's `failed_when_contains` for JunOS included:
/// `syntax error`, `unknown command`, `is ambiguous`, `No valid
/// completions`), and `error:` lines such as `error: configuration check-out
/// failed`.
const JUNOS_ERRORS: &str = r"(?m)^[ \t]*(?:syntax error|unknown command|error:|missing argument|No valid completions|'[^'\n]*' is ambiguous|invalid (?:value|command|interface))";
/// Shell error lines.
const LINUX_ERRORS: &str = r"(?m)(?:: command not found|: not found)[ \t]*$";

/// How to drive one platform's CLI.
#[derive(Debug)]
pub(crate) struct Rules {
    /// Regex for a whole prompt line (without anchors), for messages.
    pub(crate) prompt: &'static str,
    /// Turns paging off for the session.
    pub(crate) paging_off: Option<&'static str>,
    /// `enable` raises a `>` prompt to `#`.
    pub(crate) enable: bool,
    /// Enters configuration mode.
    pub(crate) config_enter: Option<&'static str>,
    /// Commits (IOS-XR: the candidate configuration) before leaving.
    pub(crate) config_commit: Option<&'static str>,
    /// Leaves configuration mode (JunOS: commits too).
    pub(crate) config_leave: &'static str,
    /// Ends the session.
    pub(crate) logout: &'static str,
}

const CISCO: Rules = Rules {
    prompt: CISCO_PROMPT,
    paging_off: Some("terminal length 0"),
    enable: true,
    config_enter: Some("configure terminal"),
    config_commit: None,
    config_leave: "end",
    logout: "exit",
};

static IOSXR: Rules = Rules {
    enable: false,
    config_commit: Some("commit"),
    ..CISCO
};

static JUNOS: Rules = Rules {
    prompt: JUNOS_PROMPT,
    paging_off: Some("set cli screen-length 0"),
    enable: false,
    config_enter: Some("configure"),
    config_commit: None,
    config_leave: "commit and-quit",
    logout: "exit",
};

static LINUX: Rules = Rules {
    prompt: LINUX_PROMPT,
    paging_off: None,
    enable: false,
    config_enter: None,
    config_commit: None,
    config_leave: "",
    logout: "exit",
};

static CISCO_RULES: Rules = CISCO;

impl Rules {
    /// The rules of `platform`.
    pub(crate) fn of(platform: Platform) -> &'static Rules {
        match platform {
            Platform::Ios | Platform::Iosxe | Platform::Nxos | Platform::Eos => &CISCO_RULES,
            Platform::Iosxr => &IOSXR,
            Platform::Junos => &JUNOS,
            Platform::Linux => &LINUX,
        }
    }
}

/// Whether `prompt` (a matched prompt line) is at the privileged level.
pub(crate) fn is_privileged(prompt: &str) -> bool {
    prompt.trim_end().ends_with('#')
}

/// Whether `prompt` (a matched prompt line) shows configuration mode.
pub(crate) fn is_config(platform: Platform, prompt: &str) -> bool {
    match platform {
        Platform::Junos => is_privileged(prompt),
        Platform::Linux => false,
        _ => prompt.contains("(config"),
    }
}

/// Anchors a prompt pattern to a whole line (trailing blanks allowed).
pub(crate) fn anchored(pattern: &str) -> String {
    format!(r"^(?:{pattern})[ \t]*$")
}

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("platform patterns are valid")
}

static CISCO_PROMPT_RE: LazyLock<Regex> = LazyLock::new(|| compile(&anchored(CISCO_PROMPT)));
static JUNOS_PROMPT_RE: LazyLock<Regex> = LazyLock::new(|| compile(&anchored(JUNOS_PROMPT)));
static LINUX_PROMPT_RE: LazyLock<Regex> = LazyLock::new(|| compile(&anchored(LINUX_PROMPT)));
static CISCO_ERRORS_RE: LazyLock<Regex> = LazyLock::new(|| compile(CISCO_ERRORS));
static JUNOS_ERRORS_RE: LazyLock<Regex> = LazyLock::new(|| compile(JUNOS_ERRORS));
static LINUX_ERRORS_RE: LazyLock<Regex> = LazyLock::new(|| compile(LINUX_ERRORS));

/// The compiled `(prompt line, error lines)` patterns of `platform`,
/// built once per process (a fleet run starts thousands of dialogs).
pub(crate) fn patterns(platform: Platform) -> (&'static Regex, &'static Regex) {
    match platform {
        Platform::Junos => (&JUNOS_PROMPT_RE, &JUNOS_ERRORS_RE),
        Platform::Linux => (&LINUX_PROMPT_RE, &LINUX_ERRORS_RE),
        _ => (&CISCO_PROMPT_RE, &CISCO_ERRORS_RE),
    }
}

/// Drops what JunOS prints between a command's output and its prompt: the
/// `[edit ...]` banner (configuration mode), a `{master:0}` line, and the
/// blank line before them.
pub(crate) fn strip_junos_trailer(text: &mut String) {
    let trailer = |line: &str| {
        (line.starts_with("[edit") && line.ends_with(']'))
            || (line.starts_with('{') && line.ends_with('}') && !line.contains(' '))
    };
    loop {
        let body = text.strip_suffix('\n').unwrap_or(text);
        let start = body.rfind('\n').map_or(0, |i| i + 1);
        if !text.ends_with('\n') || !trailer(&body[start..]) {
            break;
        }
        text.truncate(start);
    }
    if text.ends_with("\n\n") || text == "\n" {
        text.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(p: Platform) -> Regex {
        patterns(p).0.clone()
    }

    #[test]
    fn cisco_family_prompts() {
        for p in [
            Platform::Ios,
            Platform::Iosxe,
            Platform::Nxos,
            Platform::Eos,
            Platform::Iosxr,
        ] {
            let re = prompt(p);
            for ok in [
                "R1>",
                "R1#",
                "R1(config)#",
                "R1(config-if)#",
                "sw1(config-if-Et1)#",
                "core-sw.lab_2#",
                "RP/0/RP0/CPU0:R1#",
                "RP/0/RP0/CPU0:R1(config-ospf)#",
                "R1# ",
            ] {
                assert!(re.is_match(ok), "{p}: {ok:?} is a prompt");
            }
            for bad in [
                "",
                "#",
                "R1",
                "R1#show version",
                "router ospf 1#",
                "% Invalid input detected at '^' marker.",
                "Building configuration...",
                "!Command: show running-config",
                "## Last commit",
                "x(config)#(y)#",
                &format!("{}#", "a".repeat(64)),
            ] {
                assert!(!re.is_match(bad), "{p}: {bad:?} is not a prompt");
            }
        }
    }

    #[test]
    fn junos_prompts() {
        let re = prompt(Platform::Junos);
        for ok in ["admin@R1>", "admin@R1#", "lab.user@mx-1.dc> "] {
            assert!(re.is_match(ok), "{ok:?}");
        }
        for bad in [
            "R1>",
            "[edit]",
            "Hostname: R1",
            "admin@R1> show version",
            "{master:0}",
        ] {
            assert!(!re.is_match(bad), "{bad:?}");
        }
    }

    #[test]
    fn linux_prompts() {
        let re = prompt(Platform::Linux);
        for ok in [
            "admin@host:~$ ",
            "root@host:~# ",
            "[admin@host tmp]$ ",
            "bash-5.2$ ",
            "$ ",
            "# ",
            "u@h:/var/log$ ",
        ] {
            assert!(re.is_match(ok), "{ok:?}");
        }
        for bad in [
            "admin@host:~$",
            "cost is 5$ ",
            "Welcome to Ubuntu",
            "admin@host:~$ ls",
            "R1>",
        ] {
            assert!(!re.is_match(bad), "{bad:?}");
        }
    }

    #[test]
    fn password_and_pager_markers() {
        for ok in [
            "Password: ",
            "Password:",
            "Enable password:",
            "[sudo] password for admin: ",
        ] {
            assert!(PASSWORD.is_match(ok), "{ok:?}");
        }
        assert!(!PASSWORD.is_match("Password: incorrect, try again."));
        for ok in [
            " --More-- ",
            "--More--",
            "---(more)---",
            "---(more 45%)---",
            "<--- More --->",
        ] {
            assert!(MORE.is_match(ok), "{ok:?}");
        }
        for bad in [
            "-- more info below",
            "R1#",
            "more --",
            "---",
            " --More-",
            "---(more)--",
            "---(more 4",
        ] {
            assert!(!MORE.is_match(bad), "{bad:?}");
        }
    }

    #[test]
    fn pager_remnants() {
        let cases = [
            ("a\n --More-- \nb\n", "a\nb\n"),
            ("a\n--More--b\n", "a\nb\n"),
            ("a\n---(more 50%)---\n  b\n", "a\n  b\n"),
            ("more --More-- text\n", "more --More-- text\n"),
        ];
        for (raw, want) in cases {
            assert_eq!(MORE_REMNANT.replace_all(raw, ""), want, "{raw:?}");
        }
    }

    #[test]
    fn error_lines() {
        let cisco = patterns(Platform::Nxos).1;
        for bad in [
            "      ^\n% Invalid input detected at '^' marker.\n",
            "% Ambiguous command:  \"sh\"\n",
            "% Incomplete command.\n",
            "% Invalid command at '^' marker.\n",
            "% Type \"show ?\" for a list of subcommands\n",
        ] {
            assert!(cisco.is_match(bad), "{bad:?}");
        }
        for fine in [
            "Invalid input counters: 0\n",
            "  0 input errors, 0 CRC, Bad mask counters 0\n",
            "Ambiguous commands are rejected\n",
        ] {
            assert!(!cisco.is_match(fine), "{fine:?}");
        }
        for fine in [
            "% Warning: use /31 mask cautiously\n",
            "%LINK-3-UPDOWN: Interface Ethernet0/0, changed state to up\n",
            "Invalid input counters: 0\n",
        ] {
            assert!(!cisco.is_match(fine), "{fine:?}");
        }
        let junos = patterns(Platform::Junos).1;
        assert!(junos.is_match("         ^\nunknown command.\n"));
        assert!(junos.is_match("    ^\nsyntax error, expecting <command>.\n"));
        assert!(junos.is_match("'s' is ambiguous.\nPossible completions:\n"));
        assert!(!junos.is_match("warning: statement not found\n"));
        let linux = patterns(Platform::Linux).1;
        assert!(linux.is_match("bash: frob: command not found\n"));
        assert!(!linux.is_match("not found anywhere in the text\n"));
    }

    /// The error line the patterns of `platform` find in `out`.
    fn flagged(platform: Platform, out: &str) -> Option<String> {
        let m = patterns(platform).1.find(out)?;
        let start = out[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = out[m.start()..]
            .find('\n')
            .map_or(out.len(), |i| m.start() + i);
        Some(out[start..end].trim().to_string())
    }

    #[test]
    fn ios_errors_without_percent() {
        for p in [Platform::Ios, Platform::Iosxe] {
            let out = "Bad mask 0xFF19FFFF for address 10.99.9.9\n";
            assert_eq!(
                flagged(p, out).as_deref(),
                Some("Bad mask 0xFF19FFFF for address 10.99.9.9"),
                "{p}"
            );
            let out = "ip address 10.1.1.1 255.0.255.0\n                 ^\nInvalid input detected at '^' marker.\n";
            assert_eq!(
                flagged(p, out).as_deref(),
                Some("Invalid input detected at '^' marker."),
                "{p}"
            );
            assert_eq!(
                flagged(p, "Incomplete command.\n").as_deref(),
                Some("Incomplete command."),
                "{p}"
            );
            assert_eq!(
                flagged(p, "  Incomplete command counters: 3\n"),
                None,
                "{p}"
            );
            assert_eq!(
                flagged(p, "Bad mask handling is described in RFC 950\n"),
                None,
                "{p}"
            );
        }
    }

    #[test]
    fn nxos_errors() {
        let p = Platform::Nxos;
        for (out, line) in [
            (
                "% Invalid command at '^' marker.\n",
                "% Invalid command at '^' marker.",
            ),
            (
                "Invalid command at '^' marker.\n",
                "Invalid command at '^' marker.",
            ),
            (
                "% Invalid parameter detected at '^' marker.\n",
                "% Invalid parameter detected at '^' marker.",
            ),
            ("ERROR: Ambiguous command\n", "ERROR: Ambiguous command"),
            (
                "% Permission denied for the role\n",
                "% Permission denied for the role",
            ),
        ] {
            assert_eq!(flagged(p, out).as_deref(), Some(line), "{out:?}");
        }
        assert_eq!(flagged(p, "Invalid command counters 0\n"), None);
    }

    #[test]
    fn eos_errors() {
        let p = Platform::Eos;
        for (out, line) in [
            ("% Invalid input\n", "% Invalid input"),
            ("% Incomplete command\n", "% Incomplete command"),
            (
                "% Unavailable command (not supported on this hardware platform)\n",
                "% Unavailable command (not supported on this hardware platform)",
            ),
            (
                "% Cannot commit: session aborted\n",
                "% Cannot commit: session aborted",
            ),
            (
                "% Duplicate sequence number\n",
                "% Duplicate sequence number",
            ),
            (
                "Invalid input detected at '^' marker.\n",
                "Invalid input detected at '^' marker.",
            ),
        ] {
            assert_eq!(flagged(p, out).as_deref(), Some(line), "{out:?}");
        }
        assert_eq!(flagged(p, "% Warning: the interface is shut down\n"), None);
    }

    #[test]
    fn iosxr_errors() {
        let p = Platform::Iosxr;
        assert_eq!(
            flagged(p, "% Invalid input detected at '^' marker.\n").as_deref(),
            Some("% Invalid input detected at '^' marker.")
        );
        assert_eq!(
            flagged(p, "% Failed to commit one or more configuration items.\n").as_deref(),
            Some("% Failed to commit one or more configuration items.")
        );
        assert_eq!(
            flagged(p, "Bad mask 0xFF00FF00 for address 10.1.1.1\n").as_deref(),
            Some("Bad mask 0xFF00FF00 for address 10.1.1.1")
        );
    }

    #[test]
    fn junos_errors() {
        let p = Platform::Junos;
        for (out, line) in [
            (
                "error: configuration check-out failed\n",
                "error: configuration check-out failed",
            ),
            ("         ^\nsyntax error.\n", "syntax error."),
            (
                "              ^\nNo valid completions\n",
                "No valid completions",
            ),
            ("'sh' is ambiguous.\n", "'sh' is ambiguous."),
        ] {
            assert_eq!(flagged(p, out).as_deref(), Some(line), "{out:?}");
        }
        assert_eq!(flagged(p, "warning: statement not found\n"), None);
        assert_eq!(flagged(p, "Input errors: 0, Drops: 0\n"), None);
    }

    #[test]
    fn linux_errors() {
        let p = Platform::Linux;
        assert_eq!(
            flagged(p, "bash: frob: command not found\n").as_deref(),
            Some("bash: frob: command not found")
        );
        assert_eq!(
            flagged(p, "Bad mask 0xFF19FFFF for address 10.99.9.9\n"),
            None
        );
    }

    #[test]
    fn config_and_privilege_from_prompts() {
        assert!(is_config(Platform::Ios, "R1(config-if)#"));
        assert!(!is_config(Platform::Ios, "R1#"));
        assert!(is_config(Platform::Junos, "admin@R1#"));
        assert!(!is_config(Platform::Junos, "admin@R1>"));
        assert!(!is_config(Platform::Linux, "root@host:~# "));
        assert!(is_privileged("R1# "));
        assert!(!is_privileged("R1>"));
    }

    #[test]
    fn junos_trailer() {
        let cases = [
            ("out\n\n", "out\n"),
            ("\n[edit]\n", ""),
            ("out\n\n[edit interfaces]\n", "out\n"),
            ("out\n\n{master:0}\n", "out\n"),
            ("", ""),
            ("a\nb\n", "a\nb\n"),
        ];
        for (raw, want) in cases {
            let mut s = raw.to_string();
            strip_junos_trailer(&mut s);
            assert_eq!(s, want, "{raw:?}");
        }
    }
}
