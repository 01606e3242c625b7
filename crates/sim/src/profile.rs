//! Platform profiles of the simulated devices.
//!
//! Everything a device says that depends on its platform lives here: prompts,
//! the command grammar (with IOS-style unique-prefix abbreviations such as
//! `sh ip int br`), error texts, and the outputs of `show version`,
//! `show running-config`, `show ip interface brief`, `show clock` and the
//! JunOS / Linux equivalents. Pure text generation: no I/O and no clock
//! reads (callers pass the time in), so every function is testable alone.
//! [`crate::console`] drives these pieces for one interactive session.

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fanout_core::Platform;

use crate::console::{Block, DeviceConfig, Interface};

/// Static facts about one platform's CLI: what an automation client sends to
/// drive it and what the device answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The platform described.
    pub platform: Platform,
    /// Hostname a device of this platform gets when the fleet names none.
    pub default_hostname: &'static str,
    /// `true` when a session starts at the highest level: no enable step
    /// (NX-OS and IOS-XR `#`, JunOS operational mode, a Linux shell).
    pub starts_privileged: bool,
    /// The command that disables paging for the session.
    pub paging_off: Option<&'static str>,
    /// The terminal-width command automation clients send.
    pub width_command: Option<&'static str>,
    /// The command that raises privilege, if the platform has one.
    pub enable_command: Option<&'static str>,
    /// Printed (with no newline after it) when the enable secret is asked.
    pub password_prompt: &'static str,
    /// Printed when the enable secret is wrong.
    pub enable_denied: &'static str,
    /// The command that enters configuration mode.
    pub config_enter: Option<&'static str>,
    /// The command that leaves configuration mode.
    pub config_exit: Option<&'static str>,
    /// The pager's continuation marker (`None`: the platform never pages).
    pub more_marker: Option<&'static str>,
    /// Error text for an unknown command.
    pub invalid_text: &'static str,
    /// Error text for an ambiguous abbreviation.
    pub ambiguous_text: &'static str,
    /// Error text for an incomplete command.
    pub incomplete_text: &'static str,
}

const CISCO: Profile = Profile {
    platform: Platform::Ios,
    default_hostname: "R1",
    starts_privileged: false,
    paging_off: Some("terminal length 0"),
    width_command: Some("terminal width 511"),
    enable_command: Some("enable"),
    password_prompt: "Password: ",
    enable_denied: "% Access denied",
    config_enter: Some("configure terminal"),
    config_exit: Some("end"),
    more_marker: Some(" --More-- "),
    invalid_text: "% Invalid input detected at '^' marker.",
    ambiguous_text: "% Ambiguous command:",
    incomplete_text: "% Incomplete command.",
};

static PROFILES: [Profile; 7] = [
    CISCO,
    Profile {
        platform: Platform::Iosxe,
        ..CISCO
    },
    Profile {
        platform: Platform::Nxos,
        default_hostname: "switch",
        starts_privileged: true,
        enable_command: None,
        more_marker: Some("--More--"),
        invalid_text: "% Invalid command at '^' marker.",
        ambiguous_text: "% Ambiguous command at '^' marker.",
        incomplete_text: "% Incomplete command at '^' marker.",
        ..CISCO
    },
    Profile {
        platform: Platform::Eos,
        default_hostname: "sw1",
        width_command: Some("terminal width 32767"),
        config_enter: Some("configure"),
        invalid_text: "% Invalid input",
        ambiguous_text: "% Ambiguous command",
        incomplete_text: "% Incomplete command",
        ..CISCO
    },
    Profile {
        platform: Platform::Junos,
        default_hostname: "R1",
        starts_privileged: true,
        paging_off: Some("set cli screen-length 0"),
        width_command: Some("set cli screen-width 511"),
        enable_command: None,
        config_enter: Some("configure"),
        config_exit: Some("exit configuration-mode"),
        more_marker: Some("---(more)---"),
        invalid_text: "syntax error, expecting <command>.",
        ambiguous_text: "is ambiguous.",
        incomplete_text: "syntax error, expecting <command>.",
        ..CISCO
    },
    Profile {
        platform: Platform::Iosxr,
        starts_privileged: true,
        width_command: Some("terminal width 512"),
        enable_command: None,
        ambiguous_text: "% Ambiguous command at '^' marker.",
        ..CISCO
    },
    Profile {
        platform: Platform::Linux,
        default_hostname: "host",
        starts_privileged: true,
        paging_off: None,
        width_command: None,
        enable_command: None,
        password_prompt: "[sudo] password: ",
        enable_denied: "Sorry, try again.",
        config_enter: None,
        config_exit: None,
        more_marker: None,
        invalid_text: "command not found",
        ambiguous_text: "command not found",
        incomplete_text: "command not found",
    },
];

impl Profile {
    /// The profile of `platform`.
    pub fn get(platform: Platform) -> &'static Profile {
        let at = Platform::ALL
            .iter()
            .position(|p| *p == platform)
            .unwrap_or(0);
        &PROFILES[at]
    }
}

// ---------------------------------------------------------------- grammar

/// What a recognised command does (interpreted by the console).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    Nothing,
    XrStamp,
    Enable,
    Disable,
    Exit,
    TermLength,
    TermWidth,
    ShowVersion,
    ShowClock,
    ShowIpIntBrief,
    ShowIntDesc,
    ShowPrivilege,
    ShowRun,
    ConfigTerminal,
    ConfigAsk,
    CopyRunStart,
    WriteMemory,
    Ping,
    Connect,
    Hostname,
    Interface,
    Block,
    No,
    Do,
    End,
    ExitConf,
    Commit,
    Abort,
    GlobalLine,
    IfDescription,
    IfAddress,
    IfShutdown,
    IfLine,
    BlockLine,
    Filter(Filter),
    CliLength,
    CliWidth,
    CliSpace,
    Configure,
    JShowConfig,
    JSet,
    JDelete,
    JEdit,
    JUp,
    JTop,
    JExit,
    JExitAll,
    JCommit,
    JCommitQuit,
    JCommitCheck,
    JRollback,
    JShow,
    JRun,
}

impl Act {
    /// Commands whose output may be piped through filters (`| include`).
    pub(crate) fn is_show(self) -> bool {
        use Act::*;
        matches!(
            self,
            ShowVersion
                | ShowClock
                | ShowIpIntBrief
                | ShowIntDesc
                | ShowPrivilege
                | ShowRun
                | JShowConfig
                | JShow
        )
    }
}

/// Output filters after `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    Include,
    Exclude,
    Begin,
    Section,
    Count,
    NoMore,
    DisplaySet,
    Last,
}

const IOS: u8 = 1;
const XE: u8 = 2;
const NX: u8 = 4;
const EOS: u8 = 8;
const XR: u8 = 16;
const JUN: u8 = 32;
const CIS: u8 = IOS | XE;
const CLI: u8 = CIS | NX | EOS | XR;

/// Grammar contexts (bit flags): user exec, privileged exec, global config,
/// interface config, other config blocks, JunOS operational, JunOS
/// configuration, output filters.
pub(crate) const CX_USER: u8 = 1;
pub(crate) const CX_PRIV: u8 = 2;
pub(crate) const CX_CONF: u8 = 4;
pub(crate) const CX_IF: u8 = 8;
pub(crate) const CX_BLOCK: u8 = 16;
pub(crate) const CX_JOP: u8 = 32;
pub(crate) const CX_JCONF: u8 = 64;
pub(crate) const CX_FILTER: u8 = 128;
const X: u8 = CX_USER;
const P: u8 = CX_PRIV;
const G: u8 = CX_CONF;
const I: u8 = CX_IF;
const B: u8 = CX_BLOCK;
const SUB: u8 = G | I | B;

/// `(pattern, action, platforms, contexts)`. Pattern words are keywords
/// (matched by unique prefix, case-insensitive) or `<a-b>` (number in range),
/// `<word>`, `<if>` (interface name, rest of line), `<line>` (one or more
/// words, rest of line), `<line?>` (zero or more).
static RULES: &[(&str, Act, u8, u8)] = &[
    ("enable", Act::Enable, CIS | EOS | NX, X),
    ("disable", Act::Disable, CIS | EOS, P),
    ("exit", Act::Exit, CLI, X),
    ("logout", Act::Exit, CIS | EOS, X),
    ("quit", Act::Exit, CIS | EOS, X),
    ("terminal length <0-512>", Act::TermLength, CIS | XR, X),
    ("terminal width <0-512>", Act::TermWidth, CIS | XR, X),
    ("terminal length <0-511>", Act::TermLength, NX, X),
    ("terminal width <24-511>", Act::TermWidth, NX, X),
    ("terminal length <0-32767>", Act::TermLength, EOS, X),
    ("terminal width <10-32767>", Act::TermWidth, EOS, X),
    ("terminal monitor", Act::Nothing, CLI, X),
    ("terminal no monitor", Act::Nothing, CIS, X),
    ("terminal exec prompt timestamp", Act::XrStamp, XR, X),
    ("terminal exec prompt no-timestamp", Act::XrStamp, XR, X),
    ("show version", Act::ShowVersion, CLI, X),
    ("show clock", Act::ShowClock, CLI, X),
    ("show ip interface brief", Act::ShowIpIntBrief, CLI, X),
    ("show ipv4 interface brief", Act::ShowIpIntBrief, XR, X),
    (
        "show interfaces description",
        Act::ShowIntDesc,
        CIS | EOS | XR,
        X,
    ),
    ("show interface description", Act::ShowIntDesc, NX, X),
    ("show privilege", Act::ShowPrivilege, CIS | EOS, X),
    ("show running-config", Act::ShowRun, CLI, P),
    ("configure terminal", Act::ConfigTerminal, CLI, P),
    ("configure", Act::ConfigAsk, CIS, P),
    ("configure", Act::ConfigTerminal, NX | EOS | XR, P),
    (
        "copy running-config startup-config",
        Act::CopyRunStart,
        CIS | NX | EOS,
        P,
    ),
    ("write memory", Act::WriteMemory, CIS | EOS, P),
    ("write", Act::WriteMemory, CIS, P),
    ("ping <line>", Act::Ping, CLI, X),
    ("telnet <line>", Act::Connect, CLI, X),
    ("ssh <line>", Act::Connect, CIS | EOS, X),
    // configuration, any level
    ("no <line>", Act::No, CLI, SUB),
    ("do <line>", Act::Do, CLI, SUB),
    ("end", Act::End, CLI, SUB),
    ("exit", Act::ExitConf, CLI, SUB),
    ("commit", Act::Commit, XR, SUB),
    ("abort", Act::Abort, XR, SUB),
    // global configuration
    ("hostname <word>", Act::Hostname, CLI, G),
    ("switchname <word>", Act::Hostname, NX, G),
    ("interface <if>", Act::Interface, CLI, G),
    ("line <line>", Act::Block, CIS | XR, G),
    ("router <line>", Act::Block, CLI, G),
    ("ip <line>", Act::GlobalLine, CIS | NX | EOS, G),
    ("ipv6 <line>", Act::GlobalLine, CLI, G),
    ("ntp <line>", Act::GlobalLine, CLI, G),
    ("logging <line>", Act::GlobalLine, CLI, G),
    ("snmp-server <line>", Act::GlobalLine, CLI, G),
    ("username <line>", Act::GlobalLine, CLI, G),
    ("service <line>", Act::GlobalLine, CIS | EOS, G),
    ("access-list <line>", Act::GlobalLine, CIS, G),
    ("spanning-tree <line>", Act::GlobalLine, CIS | NX | EOS, G),
    ("cdp <line>", Act::GlobalLine, CIS | NX | XR, G),
    ("lldp <line>", Act::GlobalLine, CLI, G),
    ("aaa <line>", Act::GlobalLine, CLI, G),
    ("enable <line>", Act::GlobalLine, CIS | EOS, G),
    ("clock <line>", Act::GlobalLine, CLI, G),
    ("alias <line>", Act::GlobalLine, CIS | EOS | XR, G),
    ("banner <line>", Act::GlobalLine, CIS | NX | EOS, G),
    ("vlan <line>", Act::GlobalLine, CIS | NX | EOS, G),
    ("vrf <line>", Act::GlobalLine, CLI, G),
    ("boot <line>", Act::GlobalLine, CIS | NX, G),
    ("archive <line>", Act::GlobalLine, CIS, G),
    ("crypto <line>", Act::GlobalLine, CIS, G),
    ("errdisable <line>", Act::GlobalLine, CIS | NX | EOS, G),
    ("feature <line>", Act::GlobalLine, NX, G),
    ("domain <line>", Act::GlobalLine, XR, G),
    ("ssh <line>", Act::GlobalLine, XR, G),
    // interface configuration
    ("description <line>", Act::IfDescription, CLI, I),
    ("ip address <word> <word>", Act::IfAddress, CIS | NX, I),
    ("ip address <word>", Act::IfAddress, NX | EOS, I),
    ("ipv4 address <word> <word>", Act::IfAddress, XR, I),
    ("ipv4 address <word>", Act::IfAddress, XR, I),
    ("ip <line>", Act::IfLine, CIS | NX | EOS, I),
    ("ipv4 <line>", Act::IfLine, XR, I),
    ("ipv6 <line>", Act::IfLine, CLI, I),
    ("shutdown", Act::IfShutdown, CLI, I),
    ("switchport <line?>", Act::IfLine, CIS | NX | EOS, I),
    ("mtu <line>", Act::IfLine, CLI, I),
    ("speed <line>", Act::IfLine, CLI, I),
    ("duplex <line>", Act::IfLine, CLI, I),
    ("bandwidth <line>", Act::IfLine, CLI, I),
    ("channel-group <line>", Act::IfLine, CIS | NX | EOS, I),
    ("encapsulation <line>", Act::IfLine, CIS | XR, I),
    ("vrf <line>", Act::IfLine, CLI, I),
    ("negotiation <line>", Act::IfLine, CIS | XR, I),
    ("load-interval <line>", Act::IfLine, CLI, I),
    ("cdp <line>", Act::IfLine, CIS | NX | XR, I),
    ("standby <line>", Act::IfLine, CIS, I),
    ("mac-address <line>", Act::IfLine, CLI, I),
    // line / router blocks
    ("login <line?>", Act::BlockLine, CIS, B),
    ("transport <line>", Act::BlockLine, CIS | XR, B),
    ("exec-timeout <line>", Act::BlockLine, CIS | XR, B),
    ("logging <line>", Act::BlockLine, CIS, B),
    ("password <line>", Act::BlockLine, CIS, B),
    ("privilege <line>", Act::BlockLine, CIS, B),
    ("session-timeout <line>", Act::BlockLine, CIS | XR, B),
    ("access-class <line>", Act::BlockLine, CIS | XR, B),
    ("history <line>", Act::BlockLine, CIS, B),
    ("network <line>", Act::BlockLine, CLI, B),
    ("router-id <line>", Act::BlockLine, CLI, B),
    ("neighbor <line>", Act::BlockLine, CLI, B),
    ("passive-interface <line>", Act::BlockLine, CLI, B),
    ("redistribute <line>", Act::BlockLine, CLI, B),
    ("default-information <line>", Act::BlockLine, CLI, B),
    ("area <line>", Act::BlockLine, CLI, B),
    ("bgp <line>", Act::BlockLine, CLI, B),
    ("address-family <line>", Act::BlockLine, CLI, B),
    ("log-adjacency-changes <line?>", Act::BlockLine, CLI, B),
    ("auto-summary", Act::BlockLine, CIS, B),
    ("maximum-paths <line>", Act::BlockLine, CLI, B),
    ("timers <line>", Act::BlockLine, CLI, B),
    ("distance <line>", Act::BlockLine, CLI, B),
    // output filters
    (
        "include <line>",
        Act::Filter(Filter::Include),
        CLI,
        CX_FILTER,
    ),
    (
        "exclude <line>",
        Act::Filter(Filter::Exclude),
        CLI,
        CX_FILTER,
    ),
    ("begin <line>", Act::Filter(Filter::Begin), CLI, CX_FILTER),
    (
        "section <line>",
        Act::Filter(Filter::Section),
        CLI,
        CX_FILTER,
    ),
    (
        "count <line?>",
        Act::Filter(Filter::Count),
        CIS | NX | XR,
        CX_FILTER,
    ),
    (
        "no-more",
        Act::Filter(Filter::NoMore),
        NX | EOS | JUN,
        CX_FILTER,
    ),
    ("match <line>", Act::Filter(Filter::Include), JUN, CX_FILTER),
    (
        "except <line>",
        Act::Filter(Filter::Exclude),
        JUN,
        CX_FILTER,
    ),
    ("find <line>", Act::Filter(Filter::Begin), JUN, CX_FILTER),
    ("count", Act::Filter(Filter::Count), JUN, CX_FILTER),
    (
        "display set",
        Act::Filter(Filter::DisplaySet),
        JUN,
        CX_FILTER,
    ),
    ("last <line?>", Act::Filter(Filter::Last), JUN, CX_FILTER),
    // JunOS operational mode
    ("show version", Act::ShowVersion, JUN, CX_JOP),
    ("show configuration <line?>", Act::JShowConfig, JUN, CX_JOP),
    ("show interfaces terse", Act::ShowIpIntBrief, JUN, CX_JOP),
    ("show system uptime", Act::ShowClock, JUN, CX_JOP),
    (
        "set cli screen-length <0-100000>",
        Act::CliLength,
        JUN,
        CX_JOP,
    ),
    ("set cli screen-width <0-1024>", Act::CliWidth, JUN, CX_JOP),
    (
        "set cli complete-on-space <word>",
        Act::CliSpace,
        JUN,
        CX_JOP,
    ),
    ("configure", Act::Configure, JUN, CX_JOP),
    ("configure private", Act::Configure, JUN, CX_JOP),
    ("configure exclusive", Act::Configure, JUN, CX_JOP),
    ("exit", Act::Exit, JUN, CX_JOP),
    ("quit", Act::Exit, JUN, CX_JOP),
    // JunOS configuration mode
    ("set <line>", Act::JSet, JUN, CX_JCONF),
    ("delete <line>", Act::JDelete, JUN, CX_JCONF),
    ("edit <line>", Act::JEdit, JUN, CX_JCONF),
    ("up", Act::JUp, JUN, CX_JCONF),
    ("top", Act::JTop, JUN, CX_JCONF),
    ("exit", Act::JExit, JUN, CX_JCONF),
    ("quit", Act::JExit, JUN, CX_JCONF),
    ("exit configuration-mode", Act::JExitAll, JUN, CX_JCONF),
    ("commit", Act::JCommit, JUN, CX_JCONF),
    ("commit and-quit", Act::JCommitQuit, JUN, CX_JCONF),
    ("commit check", Act::JCommitCheck, JUN, CX_JCONF),
    ("rollback <line?>", Act::JRollback, JUN, CX_JCONF),
    ("show <line?>", Act::JShow, JUN, CX_JCONF),
    ("run <line>", Act::JRun, JUN, CX_JCONF),
];

fn platform_bit(p: Platform) -> u8 {
    match p {
        Platform::Ios => IOS,
        Platform::Iosxe => XE,
        Platform::Nxos => NX,
        Platform::Eos => EOS,
        Platform::Iosxr => XR,
        Platform::Junos => JUN,
        Platform::Linux => 0,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Kw(&'static str),
    Num(u64, u64),
    Word,
    Iface,
    Rest,
    OptRest,
}

fn tokens(pattern: &'static str) -> Vec<Tok> {
    pattern
        .split(' ')
        .map(|t| match t {
            "<word>" => Tok::Word,
            "<if>" => Tok::Iface,
            "<line>" => Tok::Rest,
            "<line?>" => Tok::OptRest,
            t if t.starts_with('<') => {
                let (a, b) = t[1..t.len() - 1].split_once('-').unwrap_or(("0", "0"));
                Tok::Num(a.parse().unwrap_or(0), b.parse().unwrap_or(0))
            }
            kw => Tok::Kw(kw),
        })
        .collect()
}

/// The result of matching one command line against the grammar. Columns are
/// byte offsets in the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Empty,
    Ok {
        act: Act,
        args: Vec<String>,
        canon: String,
    },
    Ambiguous {
        col: usize,
        word: String,
        options: Vec<&'static str>,
    },
    Incomplete {
        col: usize,
    },
    Invalid {
        col: usize,
        index: usize,
    },
}

impl Parsed {
    /// Moves error columns right by `by` (for a sub-command such as `do ...`).
    pub(crate) fn shifted(self, by: usize) -> Parsed {
        match self {
            Parsed::Ambiguous { col, word, options } => Parsed::Ambiguous {
                col: col + by,
                word,
                options,
            },
            Parsed::Incomplete { col } => Parsed::Incomplete { col: col + by },
            Parsed::Invalid { col, index } => Parsed::Invalid {
                col: col + by,
                index,
            },
            other => other,
        }
    }
}

/// Splits a line into `(byte column, word)` pairs.
pub(crate) fn words(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

/// Matches `line` against the rules of `platform` visible in `ctx`. Every
/// keyword may be abbreviated to a unique prefix; an exact keyword wins over
/// longer ones (`ip` vs `ipv6`), and keywords win over placeholders.
pub(crate) fn parse(line: &str, platform: Platform, ctx: u8) -> Parsed {
    let bit = platform_bit(platform);
    let rules: Vec<(Act, Vec<Tok>)> = RULES
        .iter()
        .filter(|r| r.2 & bit != 0 && r.3 & ctx != 0)
        .map(|r| (r.1, tokens(r.0)))
        .collect();
    let ws = words(line);
    if ws.is_empty() {
        return Parsed::Empty;
    }
    let mut alive: Vec<usize> = (0..rules.len()).collect();
    let mut args: Vec<Vec<String>> = vec![Vec::new(); rules.len()];
    let mut canon: Vec<Vec<String>> = vec![Vec::new(); rules.len()];
    let mut absorbed: Option<usize> = None;
    for (i, &(col, w)) in ws.iter().enumerate() {
        let at = |r: usize| rules[r].1.get(i).copied();
        let lw = w.to_ascii_lowercase();
        let exact: Vec<usize> = alive
            .iter()
            .copied()
            .filter(|&r| matches!(at(r), Some(Tok::Kw(k)) if k == lw))
            .collect();
        let mut kws: Vec<&'static str> = Vec::new();
        for &r in &alive {
            if let Some(Tok::Kw(k)) = at(r)
                && !kws.contains(&k)
            {
                kws.push(k);
            }
        }
        let prefixed: Vec<&'static str> =
            kws.iter().copied().filter(|k| k.starts_with(&lw)).collect();
        let next: Vec<usize> = if !exact.is_empty() {
            exact
        } else if prefixed.len() > 1 {
            if let Some(r) = absorbed {
                return ok(rules[r].0, &args[r], &canon[r]);
            }
            return Parsed::Ambiguous {
                col,
                word: w.to_string(),
                options: prefixed,
            };
        } else if let [k] = prefixed[..] {
            alive
                .iter()
                .copied()
                .filter(|&r| at(r) == Some(Tok::Kw(k)))
                .collect()
        } else {
            let rest = &ws[i..];
            alive
                .iter()
                .copied()
                .filter(|&r| match at(r) {
                    Some(Tok::Num(a, b)) => w.parse::<u64>().is_ok_and(|n| n >= a && n <= b),
                    Some(Tok::Word | Tok::Rest | Tok::OptRest) => true,
                    Some(Tok::Iface) => normalize_iface(platform, &join_words(rest)).is_some(),
                    _ => false,
                })
                .collect()
        };
        if next.is_empty() {
            if let Some(r) = absorbed {
                return ok(rules[r].0, &args[r], &canon[r]);
            }
            let offset = kws
                .iter()
                .map(|k| {
                    k.bytes()
                        .zip(lw.bytes())
                        .take_while(|(a, b)| a == b)
                        .count()
                })
                .max()
                .unwrap_or(0)
                .min(w.len().saturating_sub(1));
            return Parsed::Invalid {
                col: col + offset,
                index: i,
            };
        }
        let mut cont = Vec::new();
        for r in next {
            match at(r) {
                Some(Tok::Kw(k)) => {
                    canon[r].push(k.to_string());
                    cont.push(r);
                }
                Some(Tok::Num(..) | Tok::Word) => {
                    args[r].push(w.to_string());
                    canon[r].push(w.to_string());
                    cont.push(r);
                }
                Some(Tok::Iface) => {
                    let name = join_words(&ws[i..]);
                    canon[r].push(normalize_iface(platform, &name).unwrap_or_else(|| name.clone()));
                    args[r].push(name);
                    absorbed.get_or_insert(r);
                }
                _ => {
                    let rest = line[col..].trim_end().to_string();
                    canon[r].push(rest.clone());
                    args[r].push(rest);
                    absorbed.get_or_insert(r);
                }
            }
        }
        alive = cont;
        if alive.is_empty() {
            break;
        }
    }
    let n = ws.len();
    let done = alive.iter().copied().find(|&r| {
        let t = &rules[r].1;
        t.len() == n || (t.len() == n + 1 && t[n] == Tok::OptRest)
    });
    if let Some(r) = absorbed.filter(|_| done.is_none() || alive.is_empty()) {
        return ok(rules[r].0, &args[r], &canon[r]);
    }
    match done {
        Some(r) => {
            let mut a = args[r].clone();
            if rules[r].1.len() == n + 1 {
                a.push(String::new());
            }
            ok(rules[r].0, &a, &canon[r])
        }
        None => Parsed::Incomplete {
            col: line.trim_end().len() + 1,
        },
    }
}

fn ok(act: Act, args: &[String], canon: &[String]) -> Parsed {
    Parsed::Ok {
        act,
        args: args.to_vec(),
        canon: canon.join(" "),
    }
}

fn join_words(ws: &[(usize, &str)]) -> String {
    ws.iter().map(|w| w.1).collect()
}

/// The platform's error text for a failed parse of `line`, typed after a
/// prompt `prompt_len` characters long (the caret line accounts for it).
pub(crate) fn error_lines(
    p: Platform,
    parsed: &Parsed,
    line: &str,
    prompt_len: usize,
) -> Vec<String> {
    let caret = |col: usize| format!("{}^", " ".repeat(prompt_len + col));
    let prof = Profile::get(p);
    let text = |s: &str| s.to_string();
    match (p, parsed) {
        (Platform::Ios | Platform::Iosxe, Parsed::Ambiguous { .. }) => {
            vec![format!("{}  \"{}\"", prof.ambiguous_text, line.trim())]
        }
        (Platform::Ios | Platform::Iosxe, Parsed::Incomplete { .. })
            if words(line).len() == 1 && "show".starts_with(&line.trim().to_ascii_lowercase()) =>
        {
            vec![text("% Type \"show ?\" for a list of subcommands")]
        }
        (Platform::Ios | Platform::Iosxe, Parsed::Incomplete { .. }) => {
            vec![text(prof.incomplete_text), String::new()]
        }
        (Platform::Ios | Platform::Iosxe, Parsed::Invalid { col, .. }) => {
            vec![caret(*col), text(prof.invalid_text), String::new()]
        }
        (Platform::Eos, Parsed::Ambiguous { .. }) => vec![text(prof.ambiguous_text)],
        (Platform::Eos, Parsed::Incomplete { .. }) => vec![text(prof.incomplete_text)],
        (Platform::Eos, _) => vec![text(prof.invalid_text)],
        (Platform::Junos, Parsed::Ambiguous { col, word, options }) => {
            let mut v = vec![
                caret(*col),
                format!("'{word}' is ambiguous."),
                text("Possible completions:"),
            ];
            v.extend(options.iter().map(|o| format!("  {o}")));
            v
        }
        (Platform::Junos, Parsed::Invalid { col, index: 0 }) => {
            vec![caret(*col), text("unknown command.")]
        }
        (Platform::Junos, Parsed::Invalid { col, .. } | Parsed::Incomplete { col }) => {
            vec![caret(*col), text(prof.invalid_text)]
        }
        (_, Parsed::Ambiguous { col, .. }) => vec![caret(*col), text(prof.ambiguous_text)],
        (_, Parsed::Incomplete { col }) => vec![caret(*col), text(prof.incomplete_text)],
        (_, Parsed::Invalid { col, .. }) => vec![caret(*col), text(prof.invalid_text)],
        (_, _) => Vec::new(),
    }
}

// ---------------------------------------------------------------- prompts

/// Where a session is, for prompt purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level<'a> {
    User,
    Privileged,
    Config(&'a str),
}

/// The prompt for `level` (no trailing space except Linux's `$ `).
pub(crate) fn prompt(p: Platform, host: &str, user: &str, level: Level<'_>) -> String {
    match (p, level) {
        (Platform::Linux, _) if user == "root" => format!("root@{host}:~# "),
        (Platform::Linux, _) => format!("{user}@{host}:~$ "),
        (Platform::Junos, Level::Config(_)) => format!("{user}@{host}#"),
        (Platform::Junos, _) => format!("{user}@{host}>"),
        (Platform::Iosxr, Level::Config(l)) => format!("RP/0/RP0/CPU0:{host}({l})#"),
        (Platform::Iosxr, _) => format!("RP/0/RP0/CPU0:{host}#"),
        (_, Level::User) => format!("{host}>"),
        (_, Level::Privileged) => format!("{host}#"),
        (_, Level::Config(l)) => format!("{host}({l})#"),
    }
}

/// The config sub-mode label for interface `name` (`config-if`, EOS
/// `config-if-Et1`).
pub(crate) fn if_label(p: Platform, name: &str) -> String {
    match p {
        Platform::Eos => format!("config-if-{}", short_iface(p, name)),
        _ => "config-if".to_string(),
    }
}

/// The config sub-mode label for a block such as `line vty 0 4` or
/// `router ospf 1`.
pub(crate) fn block_label(p: Platform, header: &str) -> String {
    let mut w = header.split(' ');
    let first = w.next().unwrap_or("");
    let second = w.next().unwrap_or("");
    match (p, first) {
        (_, "line") => "config-line".to_string(),
        (Platform::Iosxr, _) => format!("config-{second}"),
        (Platform::Eos, _) => format!("config-router-{second}"),
        _ => "config-router".to_string(),
    }
}

/// The platform's hostname rule (keeps prompts matchable by client regexes).
pub(crate) fn valid_hostname(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

// ---------------------------------------------------------------- interfaces

fn iface_types(p: Platform) -> &'static [&'static str] {
    match p {
        Platform::Nxos => &[
            "Ethernet",
            "loopback",
            "mgmt",
            "port-channel",
            "Vlan",
            "Tunnel",
        ],
        Platform::Eos => &[
            "Ethernet",
            "Loopback",
            "Management",
            "Port-Channel",
            "Vlan",
            "Tunnel",
        ],
        Platform::Iosxr => &[
            "GigabitEthernet",
            "TenGigE",
            "HundredGigE",
            "Loopback",
            "MgmtEth",
            "Bundle-Ether",
            "tunnel-ip",
        ],
        _ => &[
            "Ethernet",
            "FastEthernet",
            "GigabitEthernet",
            "TenGigabitEthernet",
            "Loopback",
            "Port-channel",
            "Serial",
            "Tunnel",
            "Vlan",
        ],
    }
}

/// Expands an abbreviated interface name (`Gi0/1`, `lo 0`) to its full form,
/// or `None` when it names no interface type of the platform.
pub(crate) fn normalize_iface(p: Platform, raw: &str) -> Option<String> {
    let raw: String = raw.split_whitespace().collect();
    if p == Platform::Junos || p == Platform::Linux {
        return (!raw.is_empty()).then_some(raw);
    }
    let split = raw.find(|c: char| c.is_ascii_digit())?;
    let (kind, num) = raw.split_at(split);
    if kind.is_empty()
        || !num
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.:".contains(c))
    {
        return None;
    }
    let lk = kind.to_ascii_lowercase();
    let full = iface_types(p)
        .iter()
        .find(|t| t.to_ascii_lowercase().starts_with(&lk))?;
    Some(format!("{full}{num}"))
}

/// The short form of an interface name (`Et0/0`, `Gi1`, NX-OS `Eth1/1`).
pub(crate) fn short_iface(p: Platform, name: &str) -> String {
    let split = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let (kind, num) = name.split_at(split);
    match (p, kind) {
        (_, "mgmt") => name.to_string(),
        (Platform::Nxos, "Ethernet") => format!("Eth{num}"),
        (Platform::Nxos, "loopback") => format!("Lo{num}"),
        _ => format!("{}{num}", kind.get(..2).unwrap_or(kind)),
    }
}

/// Prefix length of a contiguous netmask.
pub(crate) fn mask_len(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let n = m.leading_ones();
    (m.checked_shl(n).unwrap_or(0) == 0).then_some(n as u8)
}

/// The netmask of a prefix length.
pub(crate) fn len_mask(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0),
    )
}

/// Parses an interface address from `A.B.C.D/len` or `A.B.C.D M.M.M.M`.
/// The error is the device's message.
pub(crate) fn parse_address(args: &[String]) -> Result<(Ipv4Addr, u8), String> {
    let bad = || "% Invalid address".to_string();
    match args {
        [a, m] => {
            let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
            let mask: Ipv4Addr = m.parse().map_err(|_| bad())?;
            let len = mask_len(mask)
                .ok_or_else(|| format!("Bad mask 0x{:08X} for address {addr}", u32::from(mask)))?;
            Ok((addr, len))
        }
        [a] => {
            let (a, l) = a.split_once('/').ok_or_else(bad)?;
            let len: u8 = l.parse().ok().filter(|l| *l <= 32).ok_or_else(bad)?;
            Ok((a.parse().map_err(|_| bad())?, len))
        }
        _ => Err(bad()),
    }
}

fn iface(
    name: &str,
    addr: Option<[u8; 4]>,
    len: u8,
    description: Option<&str>,
    shutdown: bool,
) -> Interface {
    Interface {
        name: name.to_string(),
        description: description.map(str::to_string),
        address: addr.map(|a| (Ipv4Addr::from(a), len)),
        shutdown,
        manual: false,
        lines: Vec::new(),
    }
}

/// Fills a fresh configuration with the platform's factory interfaces and
/// blocks (documentation addresses only).
pub(crate) fn seed(p: Platform, cfg: &mut DeviceConfig) {
    let (physical, lo, mgmt): (Vec<String>, &str, Option<&str>) = match p {
        Platform::Ios => (
            (0..4).map(|i| format!("Ethernet0/{i}")).collect(),
            "Loopback0",
            None,
        ),
        Platform::Iosxe => (
            (1..4).map(|i| format!("GigabitEthernet{i}")).collect(),
            "Loopback0",
            None,
        ),
        Platform::Nxos => (
            (1..5).map(|i| format!("Ethernet1/{i}")).collect(),
            "loopback0",
            Some("mgmt0"),
        ),
        Platform::Eos => (
            (1..5).map(|i| format!("Ethernet{i}")).collect(),
            "Loopback0",
            Some("Management1"),
        ),
        Platform::Iosxr => (
            (0..3)
                .map(|i| format!("GigabitEthernet0/0/0/{i}"))
                .collect(),
            "Loopback0",
            Some("MgmtEth0/RP0/CPU0/0"),
        ),
        Platform::Junos => (
            (0..3).map(|i| format!("ge-0/0/{i}")).collect(),
            "lo0",
            Some("fxp0"),
        ),
        Platform::Linux => (vec!["eth0".to_string()], "lo", None),
    };
    let mut ifs = Vec::new();
    if p == Platform::Linux {
        ifs.push(iface(lo, Some([127, 0, 0, 1]), 8, None, false));
        ifs.push(iface("eth0", Some([192, 0, 2, 10]), 24, None, false));
    } else {
        ifs.push(iface(
            lo,
            Some([203, 0, 113, 1]),
            32,
            Some("router id"),
            false,
        ));
        if let Some(m) = mgmt {
            ifs.push(iface(
                m,
                Some([192, 0, 2, 130]),
                25,
                Some("oob management"),
                false,
            ));
        }
        for (i, name) in physical.iter().enumerate() {
            let (addr, desc) = match i {
                0 => (Some([192, 0, 2, 1]), Some("uplink to core")),
                1 => (Some([192, 0, 2, 65]), Some("link to peer")),
                2 => (None, None),
                _ => (Some([198, 51, 100, 1]), Some("customer edge")),
            };
            let mut f = iface(name, addr, if i == 3 { 24 } else { 26 }, desc, i == 2);
            if p == Platform::Iosxe {
                f.lines.push("negotiation auto".to_string());
            }
            if matches!(p, Platform::Nxos | Platform::Eos) {
                f.lines.push("no switchport".to_string());
            }
            ifs.push(f);
        }
    }
    cfg.interfaces = ifs;
    let block = |h: &str, ls: &[&str]| Block {
        header: h.to_string(),
        lines: ls.iter().map(|s| s.to_string()).collect(),
    };
    cfg.blocks = match p {
        Platform::Ios | Platform::Iosxe => vec![
            block(
                "router ospf 1",
                &[
                    "router-id 203.0.113.1",
                    "network 192.0.2.0 0.0.0.127 area 0",
                ],
            ),
            block("line con 0", &["logging synchronous"]),
            block("line aux 0", &[]),
            block("line vty 0 4", &["login local", "transport input ssh"]),
        ],
        Platform::Iosxr => vec![block("router ospf 1", &["router-id 203.0.113.1", "area 0"])],
        Platform::Linux | Platform::Junos => Vec::new(),
        _ => vec![block("router ospf 1", &["router-id 203.0.113.1"])],
    };
}

/// The device's interfaces plus `extra` generated loopbacks (the output-size
/// knob).
pub(crate) fn all_ifaces(p: Platform, cfg: &DeviceConfig, extra: usize) -> Vec<Interface> {
    let mut v = cfg.interfaces.clone();
    v.extend((0..extra).map(|i| {
        let name = match p {
            Platform::Nxos => format!("loopback{}", 1000 + i),
            Platform::Junos => format!("ge-1/{}/{}", i / 48, i % 48),
            Platform::Linux => format!("dummy{i}"),
            _ => format!("Loopback{}", 1000 + i),
        };
        let a = [10, (i / 250 % 250 + 1) as u8, (i % 250 + 1) as u8, 1];
        iface(&name, Some(a), 32, None, false)
    }));
    v
}

// ---------------------------------------------------------------- time

/// Broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Utc {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) millis: u32,
    pub(crate) weekday: u32,
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `(year, month 1-12, day 1-31)` of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Breaks `t` down in UTC.
pub(crate) fn utc(t: SystemTime) -> Utc {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Utc {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
        second: (rem % 60) as u32,
        millis: d.subsec_millis(),
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

impl Utc {
    fn dow(&self) -> &'static str {
        DAYS[self.weekday as usize % 7]
    }
    fn mon(&self) -> &'static str {
        MONTHS[(self.month as usize + 11) % 12]
    }
    fn hms(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
    /// `10:15:42.123 UTC Wed Nov 25 2026` (Cisco `show clock`).
    fn cisco(&self) -> String {
        let (d, m, y) = (self.dow(), self.mon(), self.year);
        format!(
            "{}.{:03} UTC {d} {m} {} {y}",
            self.hms(),
            self.millis,
            self.day
        )
    }
    /// `Wed Nov 25 10:15:42 2026`.
    fn ctime(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.dow(),
            self.mon(),
            self.day,
            self.hms(),
            self.year
        )
    }
    /// `2026-11-25 10:15:42 UTC` (JunOS).
    fn iso(&self) -> String {
        format!(
            "{}-{:02}-{:02} {} UTC",
            self.year,
            self.month,
            self.day,
            self.hms()
        )
    }
    /// `Wed Nov 25 10:15:42.123 UTC` (the IOS-XR line heading every show).
    pub(crate) fn xr_stamp(&self) -> String {
        format!(
            "{} {} {} {}.{:03} UTC",
            self.dow(),
            self.mon(),
            self.day,
            self.hms(),
            self.millis
        )
    }
}

fn plural(n: u64, unit: &str) -> String {
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `1 week, 2 days, 3 hours, 4 minutes` style uptime.
fn uptime_words(up: Duration, sep: &str, last_sep: &str) -> String {
    let m = up.as_secs() / 60;
    let parts: Vec<String> = [
        (m / 10_080, "week"),
        (m / 1440 % 7, "day"),
        (m / 60 % 24, "hour"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, u)| plural(*n, u))
    .chain(std::iter::once(plural(m % 60, "minute")))
    .collect();
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}{last_sep}{last}", rest.join(sep)),
        _ => parts.join(sep),
    }
}

/// What renderers need besides the configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RenderCtx<'a> {
    pub(crate) user: &'a str,
    pub(crate) has_secret: bool,
    pub(crate) extra: usize,
    pub(crate) now: SystemTime,
}

impl RenderCtx<'_> {
    fn uptime(&self, cfg: &DeviceConfig) -> Duration {
        self.now.duration_since(cfg.booted).unwrap_or_default()
    }
}

// ---------------------------------------------------------------- outputs

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

/// `show clock` (JunOS: `show system uptime`).
pub(crate) fn show_clock(p: Platform, cfg: &DeviceConfig, r: &RenderCtx<'_>) -> Vec<String> {
    let now = utc(r.now);
    match p {
        Platform::Ios | Platform::Iosxe => vec![format!("*{}", now.cisco())],
        Platform::Eos => vec![
            now.ctime(),
            "Timezone: UTC".into(),
            "Clock source: local".into(),
        ],
        Platform::Junos => {
            let up = r.uptime(cfg).as_secs();
            let ago = format!("{}d {:02}:{:02}", up / 86_400, up / 3600 % 24, up / 60 % 60);
            let changed = utc(cfg.last_change.unwrap_or(cfg.booted));
            vec![
                format!("Current time: {}", now.iso()),
                "Time Source:  LOCAL CLOCK ".into(),
                format!("System booted: {} ({ago} ago)", utc(cfg.booted).iso()),
                format!("Last configured: {} by {}", changed.iso(), r.user),
                format!(
                    "{:>2}:{:02}{}  up {} days, {:2}:{:02}, 1 user, load averages: 0.08, 0.03, 0.01",
                    (now.hour + 11) % 12 + 1,
                    now.minute,
                    if now.hour < 12 { "AM" } else { "PM" },
                    up / 86_400,
                    up / 3600 % 24,
                    up / 60 % 60
                ),
            ]
        }
        _ => vec![now.cisco()],
    }
}

const IOS_VERSION: &str = "\
Cisco IOS Software, Linux Software (I86BI_LINUX-ADVENTERPRISEK9-M), Version 15.4(2)T4, DEVELOPMENT TEST SOFTWARE
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2015 by Cisco Systems, Inc.
Compiled Tue 06-Oct-15 19:17 by prod_rel_team

ROM: Bootstrap program is Linux

{host} uptime is {uptime}
System returned to ROM by reload at 0
System image file is \"unix:i86bi-linux-l3-adventerprisek9-15.4.2T4.bin\"
Last reload reason: Unknown reason

{crypto}
Linux Unix (i686) processor with 364696K/6147K bytes of memory.
Processor board ID 67109072
{ifs} Ethernet interfaces
1024K bytes of NVRAM.

Configuration register is 0x0";

const CRYPTO: &str = "

This product contains cryptographic features and is subject to United
States and local country laws governing import, export, transfer and
use. Delivery of Cisco cryptographic products does not imply
third-party authority to import, export, distribute or use encryption.
Importers, exporters, distributors and users are responsible for
compliance with U.S. and local country laws. By using this product you
agree to comply with applicable laws and regulations. If you are unable
to comply with U.S. and local laws, return this product immediately.

A summary of U.S. laws governing Cisco cryptographic products may be found at:
http://www.cisco.com/wwl/export/crypto/tool/stqrg.html

If you require further assistance please contact us by sending email to
export@cisco.com.
";

const XE_VERSION: &str = "\
Cisco IOS XE Software, Version 17.03.04a
Cisco IOS Software [Amsterdam], Virtual XE Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.3.4a, RELEASE SOFTWARE (fc3)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2021 by Cisco Systems, Inc.
Compiled Tue 20-Jul-21 04:59 by mcpre


Cisco IOS-XE software, Copyright (c) 2005-2021 by cisco Systems, Inc.
All rights reserved.  Certain components of Cisco IOS-XE software are
licensed under the GNU General Public License (\"GPL\") Version 2.0.  The
software code licensed under GPL Version 2.0 is free software that comes
with ABSOLUTELY NO WARRANTY.  You can redistribute and/or modify such
GPL code under the terms of GPL Version 2.0.  For more details, see the
documentation or \"License Notice\" file accompanying the IOS-XE software,
or the applicable URL provided on the flyer accompanying the IOS-XE
software.


ROM: IOS-XE ROMMON

{host} uptime is {uptime}
Uptime for this control processor is {uptime}
System returned to ROM by reload
System image file is \"bootflash:packages.conf\"
Last reload reason: reload

{crypto}
License Level: ax
License Type: N/A(Smart License Enabled)
Next reload license Level: ax

The current throughput level is 1000 kbps 


Smart Licensing Status: UNREGISTERED/No Licenses in Use

cisco CSR1000V (VXE) processor (revision VXE) with 2071829K/3075K bytes of memory.
Processor board ID 9SAGBHTUEE9
Router operating mode: Autonomous
{ifs} Gigabit Ethernet interfaces
32768K bytes of non-volatile configuration memory.
3978476K bytes of physical memory.
6188032K bytes of virtual hard disk at bootflash:.

Configuration register is 0x2102";

const NX_VERSION: &str = "\
Cisco Nexus Operating System (NX-OS) Software
TAC support: http://www.cisco.com/tac
Documents: http://www.cisco.com/en/US/products/ps9372/tsd_products_support_series_home.html
Copyright (c) 2002-2016, Cisco Systems, Inc. All rights reserved.
The copyrights to certain works contained herein are owned by
other third parties and are used and distributed under license.
Some parts of this software are covered under the GNU Public
License. A copy of the license is available at
http://www.gnu.org/licenses/gpl.html.

NX-OSv is a demo version of the Nexus Operating System

Software
  loader:    version N/A
  kickstart: version 7.3(0)D1(1)
  system:    version 7.3(0)D1(1)
  kickstart image file is: bootflash:///titanium-d1-kickstart.7.3.0.D1.1.bin
  kickstart compile time:  1/11/2016 16:00:00 [02/11/2016 10:30:12]
  system image file is:    bootflash:///titanium-d1.7.3.0.D1.1.bin
  system compile time:     1/11/2016 16:00:00 [02/11/2016 12:31:44]


Hardware
  cisco NX-Osv Chassis (\"NX-Osv Supervisor Module\")
  Intel(R) Core(TM) i5-7260U C with 3064740 kB of memory.
  Processor Board ID TM000940CCB

  Device name: {host}
  bootflash:    3184776 kB

Kernel uptime is {nxuptime}

plugin
  Core Plugin, Ethernet Plugin";

const EOS_VERSION: &str = "\
Arista vEOS-lab
Hardware version:
Serial number: 5C2A1B3D4E5F
Hardware MAC address: 5254.0012.3456
System MAC address: 5254.0012.3456

Software image version: 4.28.3M
Architecture: x86_64
Internal build version: 4.28.3M-28837868.4283M
Internal build ID: 0b1a5a3c-9f5e-4c1d-8f25-6f2b3c4d5e6f
Image format version: 1.0
Image optimization: None

Uptime: {uptime}
Total memory: 3982084 kB
Free memory: 2719368 kB
";

const XR_VERSION: &str = "\
Cisco IOS XR Software, Version 7.3.2
Copyright (c) 2013-2021 by Cisco Systems, Inc.

Build Information:
 Built By     : ingunawa
 Built On     : Wed Oct 13 20:00:55 PDT 2021
 Built Host   : iox-ucs-017
 Workspace    : /auto/srcarchive17/prod/7.3.2/xrv9k/ws
 Version      : 7.3.2
 Location     : /opt/cisco/XR/packages/
 Label        : 7.3.2

cisco IOS-XRv 9000 () processor
System uptime is {xruptime}";

const JUNOS_VERSION: &str = "\
Hostname: {host}
Model: vmx
Junos: 21.4R1.12
JUNOS OS Kernel 64-bit  [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS libs [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS runtime [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS time zone information [20211110.0f2b2f1_builder_stable_12_214]
JUNOS network stack and utilities [20211124.121007_builder_junos_214_r1]
JUNOS libs [20211124.121007_builder_junos_214_r1]
JUNOS OS libs compat32 [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS 32-bit compatibility [20211110.0f2b2f1_builder_stable_12_214]
JUNOS libs compat32 [20211124.121007_builder_junos_214_r1]
JUNOS runtime [20211124.121007_builder_junos_214_r1]
JUNOS Packet Forwarding Engine Simulation Package [20211124.121007_builder_junos_214_r1]
JUNOS sflow mx [20211124.121007_builder_junos_214_r1]
JUNOS py extensions [20211124.121007_builder_junos_214_r1]
JUNOS py base [20211124.121007_builder_junos_214_r1]
JUNOS OS vmguest [20211110.0f2b2f1_builder_stable_12_214]
JUNOS OS crypto [20211110.0f2b2f1_builder_stable_12_214]
JUNOS mx libs [20211124.121007_builder_junos_214_r1]
JUNOS Routing Engine Software Suite [20211124.121007_builder_junos_214_r1]
JUNOS Web Management Platform Package [20211124.121007_builder_junos_214_r1]";

/// `show version` (Linux: `uname -a` is in [`linux`]).
pub(crate) fn show_version(p: Platform, cfg: &DeviceConfig, r: &RenderCtx<'_>) -> Vec<String> {
    let up = r.uptime(cfg);
    let s = up.as_secs();
    let template = match p {
        Platform::Ios => IOS_VERSION,
        Platform::Iosxe => XE_VERSION,
        Platform::Nxos => NX_VERSION,
        Platform::Eos => EOS_VERSION,
        Platform::Iosxr => XR_VERSION,
        _ => JUNOS_VERSION,
    };
    let physical = cfg
        .interfaces
        .iter()
        .filter(|i| !i.name.to_ascii_lowercase().starts_with("lo"))
        .count();
    let text = template
        .replace("{crypto}", CRYPTO)
        .replace("{host}", &cfg.hostname)
        .replace("{ifs}", &physical.to_string())
        .replace(
            "{uptime}",
            &uptime_words(up, ", ", if p == Platform::Eos { " and " } else { ", " }),
        )
        .replace("{xruptime}", &uptime_words(up, " ", " "))
        .replace(
            "{nxuptime}",
            &format!(
                "{} day(s), {} hour(s), {} minute(s), {} second(s)",
                s / 86_400,
                s / 3600 % 24,
                s / 60 % 60,
                s % 60
            ),
        );
    lines(&text)
}

/// `show ip interface brief` (JunOS `show interfaces terse`, Linux `ip -br address`).
pub(crate) fn ip_brief(p: Platform, cfg: &DeviceConfig, extra: usize) -> Vec<String> {
    let ifs = all_ifaces(p, cfg, extra);
    let addr = |i: &Interface| {
        i.address
            .map_or("unassigned".to_string(), |(a, _)| a.to_string())
    };
    let prefix = |i: &Interface| i.address.map(|(a, l)| format!("{a}/{l}"));
    let mut out: Vec<String> = Vec::new();
    match p {
        Platform::Nxos => {
            out.push("IP Interface Status for VRF \"default\"(1)".into());
            out.push("Interface            IP Address      Interface Status".into());
            for i in ifs
                .iter()
                .filter(|i| i.address.is_some() && i.name != "mgmt0")
            {
                let st = if i.shutdown {
                    "protocol-down/link-down/admin-down"
                } else {
                    "protocol-up/link-up/admin-up"
                };
                out.push(format!(
                    "{:<20} {:<15} {st:<35}",
                    short_iface(p, &i.name),
                    addr(i)
                ));
            }
        }
        Platform::Eos => {
            out.push(format!("{:>79}", "Address"));
            out.push("Interface         IP Address            Status       Protocol           MTU    Owner  ".into());
            out.push("----------------- --------------------- ------------ -------------- ---------- -------".into());
            for i in &ifs {
                let ip = prefix(i).unwrap_or_else(|| "unassigned".into());
                let (st, pr) = if i.shutdown {
                    ("adminDown", "down")
                } else {
                    ("up", "up")
                };
                let mtu = if i.name.starts_with("Loopback") {
                    65535
                } else {
                    1500
                };
                out.push(format!(
                    "{:<17} {ip:<21} {st:<12} {pr:<14} {mtu:>10} {:<7}",
                    i.name, ""
                ));
            }
        }
        Platform::Iosxr => {
            out.push(
                "Interface                      IP-Address      Status          Protocol Vrf-Name"
                    .into(),
            );
            for i in &ifs {
                let (st, pr) = if i.shutdown {
                    ("Shutdown", "Down")
                } else {
                    ("Up", "Up")
                };
                out.push(format!(
                    "{:<31}{:<16}{st:<16}{pr:<9}{:<8}",
                    i.name,
                    addr(i),
                    "default"
                ));
            }
        }
        Platform::Junos => {
            out.push(
                "Interface               Admin Link Proto    Local                 Remote".into(),
            );
            for i in &ifs {
                let admin = if i.shutdown { "down" } else { "up" };
                out.push(format!("{:<24}{admin:<6}up", i.name));
                if let Some(a) = prefix(i) {
                    let remote = if i.name == "lo0" { "--> 0/0" } else { "" };
                    out.push(format!(
                        "{:<24}{admin:<6}up   inet     {a:<22}{remote}",
                        format!("{}.0", i.name)
                    ));
                }
            }
        }
        Platform::Linux => {
            for i in &ifs {
                let st = if i.name == "lo" {
                    "UNKNOWN"
                } else if i.shutdown {
                    "DOWN"
                } else {
                    "UP"
                };
                out.push(format!(
                    "{:<17}{st:<15}{} ",
                    i.name,
                    prefix(i).unwrap_or_default()
                ));
            }
        }
        _ => {
            out.push("Interface                  IP-Address      OK? Method Status                Protocol".into());
            for i in &ifs {
                let method = match (i.address, i.manual) {
                    (None, _) => "unset",
                    (Some(_), true) => "manual",
                    (Some(_), false) => "NVRAM",
                };
                let (st, pr) = if i.shutdown {
                    ("administratively down", "down")
                } else {
                    ("up", "up")
                };
                out.push(format!(
                    "{:<27}{:<16}YES {method:<7}{st:<22}{pr:<8}",
                    i.name,
                    addr(i)
                ));
            }
        }
    }
    out
}

/// `show interfaces description`.
pub(crate) fn int_desc(p: Platform, cfg: &DeviceConfig, extra: usize) -> Vec<String> {
    let ifs = all_ifaces(p, cfg, extra);
    let mut out = Vec::new();
    if p == Platform::Nxos {
        let rule = "-".repeat(79);
        out.extend([
            rule.clone(),
            "Interface                Description".into(),
            rule,
        ]);
        for i in &ifs {
            let d = i.description.as_deref().unwrap_or("--");
            out.push(format!("{:<24} {d}", short_iface(p, &i.name)));
        }
        return out;
    }
    let (wide, head) = match p {
        Platform::Eos => (
            19,
            "Interface                      Status         Protocol           Description",
        ),
        _ => (
            9,
            "Interface                      Status         Protocol Description",
        ),
    };
    out.push(head.into());
    for i in &ifs {
        let (st, pr) = if i.shutdown {
            ("admin down", "down")
        } else {
            ("up", "up")
        };
        let name = if p == Platform::Iosxr {
            i.name.clone()
        } else {
            short_iface(p, &i.name)
        };
        let d = i.description.as_deref().unwrap_or("");
        out.push(
            format!("{name:<31}{st:<15}{pr:<wide$}{d}")
                .trim_end()
                .to_string(),
        );
    }
    out
}

fn push_all(out: &mut Vec<String>, ls: &[&str]) {
    out.extend(ls.iter().map(|s| s.to_string()));
}

/// `show running-config` for the Cisco-like platforms and EOS.
pub(crate) fn running_config(p: Platform, cfg: &DeviceConfig, r: &RenderCtx<'_>) -> Vec<String> {
    let ifs = all_ifaces(p, cfg, r.extra);
    let now = utc(r.now);
    let changed = cfg.last_change.map(utc);
    let mut b: Vec<String> = Vec::new();
    let ind = match p {
        Platform::Nxos => "  ",
        Platform::Eos => "   ",
        _ => " ",
    };
    let addr_line = |i: &Interface| match (p, i.address) {
        (Platform::Nxos | Platform::Eos, Some((a, l))) => format!("ip address {a}/{l}"),
        (Platform::Iosxr, Some((a, l))) => format!("ipv4 address {a} {}", len_mask(l)),
        (_, Some((a, l))) => format!("ip address {a} {}", len_mask(l)),
        (Platform::Ios | Platform::Iosxe, None) => "no ip address".into(),
        _ => String::new(),
    };
    let mut interfaces = Vec::new();
    for i in &ifs {
        interfaces.push(format!("interface {}", i.name));
        if let Some(d) = &i.description {
            interfaces.push(format!("{ind}description {d}"));
        }
        interfaces.extend(i.lines.iter().map(|l| format!("{ind}{l}")));
        let a = addr_line(i);
        if !a.is_empty() {
            interfaces.push(format!("{ind}{a}"));
        }
        match (p, i.shutdown) {
            (_, true) => interfaces.push(format!("{ind}shutdown")),
            (Platform::Nxos, false) if !i.name.starts_with("loopback") => {
                interfaces.push(format!("{ind}no shutdown"))
            }
            _ => {}
        }
        interfaces.push(if p == Platform::Nxos {
            String::new()
        } else {
            "!".into()
        });
    }
    let blocks = |filter: &dyn Fn(&Block) -> bool, bang: bool| -> Vec<String> {
        let mut v = Vec::new();
        for blk in cfg.blocks.iter().filter(|b| filter(b)) {
            v.push(blk.header.clone());
            v.extend(blk.lines.iter().map(|l| format!("{ind}{l}")));
            if bang {
                v.push("!".into());
            }
        }
        v
    };
    let is_line = |b: &Block| b.header.starts_with("line ");
    let globals: Vec<String> = cfg.lines.clone();
    match p {
        Platform::Nxos => {
            b.push(String::new());
            b.push("!Command: show running-config".into());
            b.push(format!(
                "!Running configuration last done at: {}",
                changed.unwrap_or(now).ctime()
            ));
            b.push(format!("!Time: {}", now.ctime()));
            b.push(String::new());
            b.push("version 7.3(0)D1(1)".into());
            b.push(format!("hostname {}", cfg.hostname));
            b.push(format!("vdc {} id 1", cfg.hostname));
            push_all(
                &mut b,
                &[
                    "  limit-resource vlan minimum 16 maximum 4094",
                    "  limit-resource vrf minimum 2 maximum 4096",
                    "  limit-resource port-channel minimum 0 maximum 511",
                    "  limit-resource u4route-mem minimum 248 maximum 248",
                    "  limit-resource u6route-mem minimum 96 maximum 96",
                    "",
                    "feature ospf",
                    "feature lldp",
                    "",
                ],
            );
            b.extend(globals);
            b.push(format!(
                "username {} password 5 $5$sim$Wq3Jd1aYx0dPp8E2aD7Cz0  role network-admin",
                r.user
            ));
            push_all(
                &mut b,
                &[
                    "ip domain-lookup",
                    "copp profile strict",
                    "rmon event 1 log trap public description FATAL(1) owner PMON@FATAL",
                    "vlan 1",
                    "",
                    "vrf context management",
                    "  ip route 0.0.0.0/0 192.0.2.129",
                    "",
                ],
            );
            b.extend(interfaces);
            b.extend(blocks(&|_| true, false));
            push_all(
                &mut b,
                &[
                    "line console",
                    "line vty",
                    "boot kickstart bootflash:/titanium-d1-kickstart.7.3.0.D1.1.bin",
                    "boot system bootflash:/titanium-d1.7.3.0.D1.1.bin",
                ],
            );
            return b;
        }
        Platform::Eos => {
            push_all(
                &mut b,
                &[
                    "! Command: show running-config",
                    "! device: HOST (vEOS-lab, EOS-4.28.3M)",
                    "!",
                    "! boot system flash:/vEOS-lab.swi",
                    "!",
                    "no aaa root",
                    "!",
                ],
            );
            b[1] = b[1].replace("HOST", &cfg.hostname);
            b.push(format!(
                "username {} privilege 15 role network-admin secret sha512 $6$sim$Qp0m3nW2aEoYk1",
                r.user
            ));
            if r.has_secret {
                b.push("enable password sha512 $6$sim$Zf8cV1bN4mQ2xL7".into());
            }
            push_all(
                &mut b,
                &[
                    "!",
                    "transceiver qsfp default-mode 4x10G",
                    "!",
                    "service routing protocols model multi-agent",
                    "!",
                ],
            );
            b.push(format!("hostname {}", cfg.hostname));
            push_all(&mut b, &["!", "spanning-tree mode mstp", "!"]);
            b.extend(globals.into_iter().chain(["!".to_string()]));
            b.extend(interfaces);
            push_all(
                &mut b,
                &["ip routing", "!", "ip route 0.0.0.0/0 192.0.2.129", "!"],
            );
            b.extend(blocks(&|_| true, true));
            push_all(
                &mut b,
                &["management api http-commands", "   no shutdown", "!", "end"],
            );
            return b;
        }
        Platform::Iosxr => {
            b.push("Building configuration...".into());
            b.push("!! IOS XR Configuration 7.3.2".into());
            if let Some(c) = changed {
                b.push(format!(
                    "!! Last configuration change at {} by {}",
                    c.ctime(),
                    r.user
                ));
            }
            b.push("!".into());
            b.push(format!("hostname {}", cfg.hostname));
            b.push(format!("username {}", r.user));
            push_all(
                &mut b,
                &[
                    " group root-lr",
                    " group cisco-support",
                    " secret 10 $6$sim$K8r0Lw2uV9qZcN",
                    "!",
                    "call-home",
                    " service active",
                    " contact smart-licensing",
                    " profile CiscoTAC-1",
                    "  active",
                    "  destination transport-method email disable",
                    "  destination transport-method http",
                    " !",
                    "!",
                ],
            );
            b.extend(globals);
            b.extend(interfaces);
            b.extend(blocks(&|_| true, true));
            push_all(
                &mut b,
                &[
                    "router static",
                    " address-family ipv4 unicast",
                    "  0.0.0.0/0 192.0.2.129",
                    " !",
                    "!",
                    "ssh server v2",
                    "ssh server vrf default",
                    "end",
                ],
            );
            return b;
        }
        _ => {}
    }
    let xe = p == Platform::Iosxe;
    b.push("!".into());
    if let Some(c) = changed {
        b.push(format!(
            "! Last configuration change at {} UTC {} {} {} {} by {}",
            c.hms(),
            c.dow(),
            c.mon(),
            c.day,
            c.year,
            r.user
        ));
        b.push("!".into());
    }
    b.push(if xe { "version 17.3" } else { "version 15.4" }.into());
    push_all(
        &mut b,
        &[
            "service timestamps debug datetime msec",
            "service timestamps log datetime msec",
        ],
    );
    if xe {
        push_all(
            &mut b,
            &[
                "! Call-home is enabled by Smart-Licensing.",
                "service call-home",
                "platform qfp utilization monitor load 80",
                "platform punt-keepalive disable-kernel-core",
                "platform console virtual",
            ],
        );
    } else {
        b.push("no service password-encryption".into());
    }
    b.push("!".into());
    b.push(format!("hostname {}", cfg.hostname));
    push_all(
        &mut b,
        &["!", "boot-start-marker", "boot-end-marker", "!", "!"],
    );
    if r.has_secret {
        b.push("enable secret 5 $1$sImU$J1aQvAq4xXw0cY3N1bZ4w.".into());
    }
    push_all(&mut b, &["!", "no aaa new-model"]);
    if !xe {
        push_all(
            &mut b,
            &[
                "mmi polling-interval 60",
                "no mmi auto-configure",
                "no mmi pvc",
                "mmi snmp-timeout 180",
            ],
        );
    }
    push_all(
        &mut b,
        &[
            "!",
            "!",
            "!",
            "!",
            "!",
            "ip domain name example.com",
            "ip cef",
            "no ipv6 cef",
            "!",
            "multilink bundle-name authenticated",
            "!",
        ],
    );
    if xe {
        push_all(
            &mut b,
            &[
                "login on-success log",
                "subscriber templating",
                "license udi pid CSR1000V sn 9SAGBHTUEE9",
                "diagnostic bootup level minimal",
                "memory free low-watermark processor 71489",
                "!",
            ],
        );
    }
    b.push(format!(
        "username {} privilege 15 secret 5 $1$gH1x$5tUhAZ1w9ZzZbQ4oVZ8dK0",
        r.user
    ));
    push_all(
        &mut b,
        &["!", "redundancy", "!", "!", "ip ssh version 2", "!", "!"],
    );
    b.extend(interfaces);
    b.extend(blocks(&|b| !is_line(b), true));
    b.extend(globals);
    push_all(
        &mut b,
        &[
            "ip forward-protocol nd",
            "!",
            "no ip http server",
            "no ip http secure-server",
            "!",
            "!",
            "!",
            "control-plane",
            "!",
            "!",
        ],
    );
    b.extend(blocks(&is_line, false));
    push_all(&mut b, &["!", "!", "end"]);
    let bytes: usize = b.iter().map(|l| l.len() + 1).sum();
    let mut out = vec![
        "Building configuration...".to_string(),
        String::new(),
        format!("Current configuration : {bytes} bytes"),
    ];
    out.extend(b);
    out
}

// ---------------------------------------------------------------- JunOS configuration

/// Splits a JunOS/shell line into words, honouring double and single quotes
/// (the quotes are removed).
pub(crate) fn shell_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Quotes a JunOS value when it holds spaces.
pub(crate) fn jquote(s: &str) -> String {
    if s.is_empty() || s.contains(char::is_whitespace) {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// JunOS top-level configuration statements (for `set`/`delete`/`edit`).
pub(crate) const JUNOS_TOP: &[&str] = &[
    "access",
    "applications",
    "chassis",
    "class-of-service",
    "event-options",
    "firewall",
    "forwarding-options",
    "groups",
    "interfaces",
    "policy-options",
    "protocols",
    "routing-instances",
    "routing-options",
    "security",
    "services",
    "snmp",
    "system",
    "vlans",
];

enum Item {
    Leaf(String),
    Node(String, Vec<Item>),
}

fn insert(items: &mut Vec<Item>, path: &[String], leaf: &str) {
    let Some((head, rest)) = path.split_first() else {
        if !items
            .iter()
            .any(|i| matches!(i, Item::Leaf(l) if l == leaf))
        {
            items.push(Item::Leaf(leaf.to_string()));
        }
        return;
    };
    let pos = items
        .iter()
        .position(|i| matches!(i, Item::Node(n, _) if n == head));
    let at = pos.unwrap_or_else(|| {
        items.push(Item::Node(head.clone(), Vec::new()));
        items.len() - 1
    });
    if let Item::Node(_, children) = &mut items[at] {
        insert(children, rest, leaf);
    }
}

fn render(items: &[Item], depth: usize, out: &mut Vec<String>) {
    let pad = "    ".repeat(depth);
    for i in items {
        match i {
            Item::Leaf(l) => out.push(format!("{pad}{l};")),
            Item::Node(n, c) => {
                out.push(format!("{pad}{n} {{"));
                render(c, depth + 1, out);
                out.push(format!("{pad}}}"));
            }
        }
    }
}

/// Splits a stored generic set-path into `(containers, leaf statement)`.
fn split_generic(line: &str) -> (Vec<String>, String) {
    let w: Vec<String> = shell_words(line).iter().map(|s| jquote(s)).collect();
    let cut = w.len().saturating_sub(if w.len() >= 3 { 2 } else { 1 });
    (w[..cut].to_vec(), w[cut..].join(" "))
}

fn junos_entries(cfg: &DeviceConfig, r: &RenderCtx<'_>) -> Vec<(Vec<String>, String)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut e: Vec<(Vec<String>, String)> = vec![
        (vec![], "version 21.4R1.12".into()),
        (s(&["system"]), format!("host-name {}", cfg.hostname)),
        (
            s(&["system", "root-authentication"]),
            "encrypted-password \"$6$sim$Tq2cW8mE0rLz5\"".into(),
        ),
        (
            vec!["system".into(), "login".into(), format!("user {}", r.user)],
            "uid 2000".into(),
        ),
        (
            vec!["system".into(), "login".into(), format!("user {}", r.user)],
            "class super-user".into(),
        ),
        (
            vec![
                "system".into(),
                "login".into(),
                format!("user {}", r.user),
                "authentication".into(),
            ],
            "encrypted-password \"$6$sim$Hh3pD9sV1kQ7\"".into(),
        ),
        (s(&["system", "services"]), "ssh".into()),
        (s(&["system", "services", "netconf"]), "ssh".into()),
        (s(&["system", "syslog", "user *"]), "any emergency".into()),
        (
            s(&["system", "syslog", "file messages"]),
            "any notice".into(),
        ),
        (
            s(&["system", "syslog", "file messages"]),
            "authorization info".into(),
        ),
        (
            s(&["system", "syslog", "file interactive-commands"]),
            "interactive-commands any".into(),
        ),
    ];
    for i in all_ifaces(Platform::Junos, cfg, r.extra) {
        let base = vec!["interfaces".to_string(), i.name.clone()];
        if let Some(d) = &i.description {
            e.push((base.clone(), format!("description {}", jquote(d))));
        }
        if i.shutdown {
            e.push((base.clone(), "disable".into()));
        }
        for l in &i.lines {
            let (p, leaf) = split_generic(l);
            e.push(([base.clone(), p].concat(), leaf));
        }
        if let Some((a, l)) = i.address {
            e.push((
                [base, s(&["unit 0", "family inet"])].concat(),
                format!("address {a}/{l}"),
            ));
        }
    }
    e.push((
        s(&["routing-options", "static"]),
        "route 0.0.0.0/0 next-hop 192.0.2.129".into(),
    ));
    e.push((s(&["protocols", "lldp"]), "interface all".into()));
    e.extend(cfg.lines.iter().map(|l| split_generic(l)));
    e
}

/// JunOS `show configuration [path]` (`set_form`: `| display set`).
pub(crate) fn junos_config(
    cfg: &DeviceConfig,
    r: &RenderCtx<'_>,
    path: &str,
    set_form: bool,
    header: &str,
) -> Vec<String> {
    let want = shell_words(path);
    let mut out = Vec::new();
    let mut items = Vec::new();
    for (p, leaf) in junos_entries(cfg, r) {
        let flat: Vec<String> = p
            .iter()
            .flat_map(|x| x.split(' '))
            .chain(leaf.split(' '))
            .map(str::to_string)
            .collect();
        if !flat.starts_with(&want) {
            continue;
        }
        if set_form {
            out.push(format!("set {}", flat.join(" ")));
            continue;
        }
        let mut left = want.len();
        let mut k = 0;
        while k < p.len() && p[k].split(' ').count() <= left {
            left -= p[k].split(' ').count();
            k += 1;
        }
        insert(&mut items, &p[k..], &leaf);
    }
    if !set_form {
        if want.is_empty() {
            let when = utc(cfg.last_change.unwrap_or(cfg.booted)).iso();
            out.push(format!("## {header}: {when} by {}", r.user));
        }
        render(&items, 0, &mut out);
    }
    out
}

// ---------------------------------------------------------------- filters

/// A small regular-expression matcher (literals, `.`, `x*`, `^`, `$`): what
/// `| include` patterns in automation jobs use.
fn re_match(re: &[char], text: &[char]) -> bool {
    if let Some(('^', rest)) = re.split_first() {
        return re_here(rest, text);
    }
    (0..=text.len()).any(|i| re_here(re, &text[i..]))
}

fn re_here(re: &[char], text: &[char]) -> bool {
    match re {
        [] => true,
        [c, '*', rest @ ..] => {
            let mut i = 0;
            loop {
                if re_here(rest, &text[i..]) {
                    return true;
                }
                if i < text.len() && (*c == '.' || text[i] == *c) {
                    i += 1;
                } else {
                    return false;
                }
            }
        }
        ['$'] => text.is_empty(),
        [c, rest @ ..] => {
            !text.is_empty() && (*c == '.' || *c == text[0]) && re_here(rest, &text[1..])
        }
    }
}

/// Applies output filters (`| include x`, JunOS `| match x`, ...) in order.
pub(crate) fn apply_filters(
    p: Platform,
    mut lines: Vec<String>,
    filters: &[(Filter, String)],
) -> Vec<String> {
    for (f, arg) in filters {
        let pat: Vec<char> = arg.trim().trim_matches('"').chars().collect();
        let m = |l: &String| re_match(&pat, &l.chars().collect::<Vec<_>>());
        lines = match f {
            Filter::Include => lines.into_iter().filter(|l| m(l)).collect(),
            Filter::Exclude => lines.into_iter().filter(|l| !m(l)).collect(),
            Filter::Begin => lines.into_iter().skip_while(|l| !m(l)).collect(),
            Filter::Section => {
                let mut keep = false;
                lines
                    .into_iter()
                    .filter(|l| {
                        if !l.starts_with(' ') {
                            keep = m(l);
                        }
                        keep
                    })
                    .collect()
            }
            Filter::Count => {
                let n = if pat.is_empty() {
                    lines.len()
                } else {
                    lines.iter().filter(|l| m(l)).count()
                };
                vec![match p {
                    Platform::Junos => format!("Count: {n} lines"),
                    _ => format!("Number of lines which match regexp = {n}"),
                }]
            }
            Filter::Last => {
                let n = arg.trim().parse().unwrap_or(lines.len());
                let skip = lines.len().saturating_sub(n);
                lines.into_iter().skip(skip).collect()
            }
            Filter::NoMore | Filter::DisplaySet => lines,
        };
    }
    lines
}

// ---------------------------------------------------------------- misc commands

/// `ping <target>`: five successful echoes, or the platform's error.
pub(crate) fn ping(p: Platform, args: &str) -> Result<Vec<String>, Vec<String>> {
    let target = args.split_whitespace().next().unwrap_or("");
    let Ok(ip) = target.parse::<Ipv4Addr>() else {
        return Err(vec![
            "% Unrecognized host or address, or protocol not running.".into(),
            String::new(),
        ]);
    };
    Ok(match p {
        Platform::Nxos | Platform::Eos => {
            let mut v = vec![format!("PING {ip} ({ip}): 56 data bytes")];
            v.extend((0..5).map(|i| {
                format!(
                    "64 bytes from {ip}: icmp_seq={i} ttl=254 time=1.{} ms",
                    2 + i
                )
            }));
            v.extend([
                String::new(),
                format!("--- {ip} ping statistics ---"),
                "5 packets transmitted, 5 packets received, 0.00% packet loss".into(),
                "round-trip min/avg/max = 1.2/1.4/1.6 ms".into(),
            ]);
            v
        }
        _ => vec![
            "Type escape sequence to abort.".into(),
            format!("Sending 5, 100-byte ICMP Echos to {ip}, timeout is 2 seconds:"),
            "!!!!!".into(),
            "Success rate is 100 percent (5/5), round-trip min/avg/max = 1/1/2 ms".into(),
        ],
    })
}

/// The result of one Linux shell command.
pub(crate) struct ShellResult {
    pub(crate) lines: Vec<String>,
    pub(crate) status: u32,
    pub(crate) exit: bool,
}

/// Runs one Linux shell command line (a small bash).
pub(crate) fn linux(line: &str, cfg: &mut DeviceConfig, r: &RenderCtx<'_>) -> ShellResult {
    let w = shell_words(line);
    let ok = |lines: Vec<String>| ShellResult {
        lines,
        status: 0,
        exit: false,
    };
    let fail = |lines: Vec<String>, status: u32| ShellResult {
        lines,
        status,
        exit: false,
    };
    let host = cfg.hostname.clone();
    let now = utc(r.now);
    let kernel = "6.8.0-48-generic";
    let args: Vec<&str> = w.iter().skip(1).map(String::as_str).collect();
    let Some(cmd) = w.first() else {
        return ok(Vec::new());
    };
    match (cmd.as_str(), args.as_slice()) {
        ("exit" | "logout", _) => ShellResult {
            lines: Vec::new(),
            status: 0,
            exit: true,
        },
        ("echo", a) => ok(vec![a.join(" ")]),
        ("true" | "cd" | ":", _) => ok(Vec::new()),
        ("false", _) => fail(Vec::new(), 1),
        ("hostname", []) => ok(vec![host]),
        ("hostname", [name]) if r.user == "root" && valid_hostname(name) => {
            cfg.hostname = name.to_string();
            cfg.last_change = Some(r.now);
            ok(Vec::new())
        }
        ("hostname", _) => fail(
            vec!["hostname: you must be root to change the host name".into()],
            1,
        ),
        ("whoami", _) => ok(vec![r.user.to_string()]),
        ("pwd", _) => ok(vec![if r.user == "root" {
            "/root".into()
        } else {
            format!("/home/{}", r.user)
        }]),
        ("id", _) => ok(vec![format!(
            "uid=1000({u}) gid=1000({u}) groups=1000({u}),27(sudo)",
            u = r.user
        )]),
        ("date", _) => ok(vec![format!(
            "{} {} {:>2} {} UTC {}",
            now.dow(),
            now.mon(),
            now.day,
            now.hms(),
            now.year
        )]),
        ("uptime", _) => {
            let up = r.uptime(cfg).as_secs();
            ok(vec![format!(
                " {} up {} days, {:2}:{:02},  1 user,  load average: 0.08, 0.03, 0.01",
                now.hms(),
                up / 86_400,
                up / 3600 % 24,
                up / 60 % 60
            )])
        }
        ("uname", a) => {
            let full = format!(
                "Linux {host} {kernel} #48-Ubuntu SMP PREEMPT_DYNAMIC Fri Sep 27 14:04:52 UTC 2024 x86_64 x86_64 x86_64 GNU/Linux"
            );
            match a {
                [] | ["-s"] => ok(vec!["Linux".into()]),
                ["-a"] => ok(vec![full]),
                ["-n"] => ok(vec![host]),
                ["-r"] => ok(vec![kernel.into()]),
                ["-m"] => ok(vec!["x86_64".into()]),
                [bad, ..] => fail(
                    vec![
                        format!("uname: invalid option -- '{}'", bad.trim_start_matches('-')),
                        "Try 'uname --help' for more information.".into(),
                    ],
                    1,
                ),
            }
        }
        ("cat", ["/etc/hostname"]) => ok(vec![host]),
        ("cat", [f, ..]) => fail(vec![format!("cat: {f}: No such file or directory")], 1),
        ("ip", a) if a.iter().any(|x| x.starts_with("-br")) => {
            ok(ip_brief(Platform::Linux, cfg, r.extra))
        }
        ("ls", _) => ok(Vec::new()),
        (c, _) => fail(vec![format!("bash: {c}: command not found")], 127),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
        let t = UNIX_EPOCH + Duration::from_millis(1_795_601_742_123);
        let u = utc(t);
        assert_eq!(u.cisco(), "10:15:42.123 UTC Wed Nov 25 2026");
        assert_eq!(u.xr_stamp(), "Wed Nov 25 10:15:42.123 UTC");
    }

    #[test]
    fn prefix_matching() {
        let ok = |l: &str| match parse(l, Platform::Ios, CX_USER | CX_PRIV) {
            Parsed::Ok { act, args, .. } => (act, args),
            other => panic!("{l}: {other:?}"),
        };
        assert_eq!(ok("sh ver").0, Act::ShowVersion);
        assert_eq!(ok("sh ip int br").0, Act::ShowIpIntBrief);
        assert_eq!(ok("conf t").0, Act::ConfigTerminal);
        assert_eq!(ok("conf").0, Act::ConfigAsk);
        assert_eq!(ok("term len 0"), (Act::TermLength, vec!["0".to_string()]));
        assert!(matches!(
            parse("te", Platform::Ios, CX_USER),
            Parsed::Ambiguous { .. }
        ));
        assert!(matches!(
            parse("terminal length", Platform::Ios, CX_USER),
            Parsed::Incomplete { .. }
        ));
        assert_eq!(
            parse("terminal width 600", Platform::Ios, CX_USER),
            Parsed::Invalid { col: 15, index: 2 }
        );
        assert_eq!(
            parse("shw run", Platform::Ios, CX_USER),
            Parsed::Invalid { col: 2, index: 0 }
        );
        assert_eq!(
            parse("show run", Platform::Ios, CX_USER),
            Parsed::Invalid { col: 5, index: 1 }
        );
        let conf = |l: &str| parse(l, Platform::Ios, CX_IF);
        assert_eq!(
            conf("ip add 192.0.2.9 255.255.255.0"),
            Parsed::Ok {
                act: Act::IfAddress,
                args: vec!["192.0.2.9".into(), "255.255.255.0".into()],
                canon: "ip address 192.0.2.9 255.255.255.0".into()
            }
        );
        assert!(matches!(
            conf("ip ospf cost 5"),
            Parsed::Ok {
                act: Act::IfLine,
                ..
            }
        ));
        assert_eq!(
            parse("interface gi 0/1", Platform::Ios, CX_CONF),
            Parsed::Ok {
                act: Act::Interface,
                args: vec!["gi0/1".into()],
                canon: "interface GigabitEthernet0/1".into()
            }
        );
    }

    #[test]
    fn interfaces_and_masks() {
        assert_eq!(
            normalize_iface(Platform::Ios, "Gi0/1").as_deref(),
            Some("GigabitEthernet0/1")
        );
        assert_eq!(
            normalize_iface(Platform::Ios, "lo 5").as_deref(),
            Some("Loopback5")
        );
        assert_eq!(
            normalize_iface(Platform::Eos, "et1").as_deref(),
            Some("Ethernet1")
        );
        assert_eq!(normalize_iface(Platform::Ios, "foo1"), None);
        assert_eq!(short_iface(Platform::Eos, "Ethernet1"), "Et1");
        assert_eq!(
            mask_len("255.255.255.192".parse().unwrap_or(Ipv4Addr::UNSPECIFIED)),
            Some(26)
        );
        assert_eq!(len_mask(26).to_string(), "255.255.255.192");
        assert_eq!(len_mask(0).to_string(), "0.0.0.0");
        assert_eq!(
            parse_address(&["10.99.9.9".into(), "255.25.255.255".into()]),
            Err("Bad mask 0xFF19FFFF for address 10.99.9.9".into())
        );
        assert_eq!(shell_words("set a \"b c\" d"), vec!["set", "a", "b c", "d"]);
    }
}
