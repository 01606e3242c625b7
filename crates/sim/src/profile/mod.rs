//! Platform profiles of the simulated devices.
//!
//! Everything a device says that depends on its platform lives here: prompts,
//! the command grammar (with IOS-style unique-prefix abbreviations such as
//! `sh ip int br`), error texts, and the outputs of `show version`,
//! `show running-config`, `show ip interface brief`, `show clock` and the
//! JunOS / Linux equivalents. Pure text generation: no I/O and no clock
//! reads (callers pass the time in), so every function is testable alone.
//! [`crate::console`] drives these pieces for one interactive session.
//!
//! By concept: `rules` (the command table) and `grammar` (matching lines
//! against it, error texts); `prompt`; `interfaces` (names, addresses, the
//! factory configuration); `clock` (dates and uptimes); `show` (show
//! commands), `running` (`show running-config`), `junos` (JunOS
//! configuration), `filters` (`| include` ...), `linux` (the Linux shell),
//! `neighbors` (CDP, LLDP, ARP), `memory` (memory statistics).

mod clock;
mod filters;
mod grammar;
mod interfaces;
mod junos;
mod linux;
mod memory;
mod neighbors;
mod prompt;
mod rules;
mod running;
mod show;

use std::time::{Duration, SystemTime};

use fanout_core::Platform;

use crate::console::DeviceConfig;

pub(crate) use clock::utc;
pub(crate) use filters::apply_filters;
pub(crate) use grammar::{Parsed, error_lines, parse};
pub(crate) use interfaces::{cable_port, normalize_iface, parse_address, physical_port, seed};
pub(crate) use junos::{JUNOS_TOP, jquote, junos_config, shell_words};
pub(crate) use linux::linux;
pub(crate) use memory::{memory_statistics, processes_memory};
pub(crate) use neighbors::{Mac, Neighbor, arp, cdp, cdp_detail, lldp};
pub(crate) use prompt::{Level, block_label, if_label, prompt, valid_hostname};
pub(crate) use rules::{
    Act, CX_BLOCK, CX_CONF, CX_FILTER, CX_IF, CX_JCONF, CX_JOP, CX_PRIV, CX_USER, Filter,
};
pub(crate) use running::running_config;
pub(crate) use show::{int_desc, ip_brief, ping, show_clock, show_version};

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
