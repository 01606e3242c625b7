//! The command grammar's table: what each command does ([`Act`]), on which
//! platforms and in which contexts (user/privileged exec, configuration
//! levels, JunOS modes, output filters) it exists.

use fanout_core::Platform;

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
    ShowArp,
    ShowCdp,
    ShowCdpDetail,
    ShowLldp,
    ShowMemStats,
    ShowProcMem,
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
                | ShowArp
                | ShowCdp
                | ShowCdpDetail
                | ShowLldp
                | ShowMemStats
                | ShowProcMem
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
pub(super) static RULES: &[(&str, Act, u8, u8)] = &[
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
    ("show ip arp", Act::ShowArp, CIS | NX | EOS, X),
    ("show arp", Act::ShowArp, CIS | EOS | XR, X),
    ("show cdp neighbors", Act::ShowCdp, CIS | NX | XR, X),
    (
        "show cdp neighbors detail",
        Act::ShowCdpDetail,
        CIS | NX | XR,
        X,
    ),
    ("show lldp neighbors", Act::ShowLldp, EOS, X),
    ("show memory statistics", Act::ShowMemStats, CIS, X),
    ("show processes memory", Act::ShowProcMem, CIS | NX, X),
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
    ("show arp", Act::ShowArp, JUN, CX_JOP),
    ("show arp no-resolve", Act::ShowArp, JUN, CX_JOP),
    ("show lldp neighbors", Act::ShowLldp, JUN, CX_JOP),
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

pub(super) fn platform_bit(p: Platform) -> u8 {
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
