//! One interactive CLI session on a simulated device, and its exec commands.
//!
//! Pure: bytes in, [`Step`]s out; no I/O, no threads, no async. The SSH
//! server feeds every byte a client types to [`Console::input`] and sends
//! what comes back, in order ([`Step::Echo`] at once, [`Step::Reply`] after
//! the simulated command latency). Behaviour follows what scrapli and netmiko
//! need from a real IOS box (`shared/notes/device-clients.md`): echo of typed
//! characters (not of the enable secret), LF / CR LF / CR as Enter, the prompt
//! re-printed on an empty line and always the final bytes after `\r\n`,
//! type-ahead, silent `terminal length 0` / `terminal width 511|512`, and a
//! hostname that lives in the device's [`SharedConfig`] across sessions.
//! Platform texts come from [`crate::profile`].
//!
//! By concept: `state` (the device's shared running state), `keys` (echo,
//! line editing, the pager), `commands` (parsing and running a line),
//! `config_mode` (configuration mode and the candidate), `junos` (JunOS
//! set / delete / edit).

mod commands;
mod config_mode;
mod junos;
mod keys;
mod state;

use std::sync::{MutexGuard, PoisonError};

use fanout_core::Platform;

use crate::profile::{self, Level, Profile};
use crate::topology::Site;

pub use state::{Block, DeviceConfig, Interface, SharedConfig};

/// Per-session knobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleOptions {
    /// Output-size knob: this many extra loopback interfaces appear in
    /// `show running-config` (one stanza each) and `show ip interface brief`
    /// (one line each).
    pub extra_lines: usize,
    /// Lines per page until the session disables paging (0: never page).
    pub page_length: usize,
}

impl Default for ConsoleOptions {
    fn default() -> Self {
        Self {
            extra_lines: 0,
            page_length: 24,
        }
    }
}

/// What the server must do with the bytes the client typed, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send now: echo of typed characters, the prompt after an empty line,
    /// `Password: `, pager continuation.
    Echo(Vec<u8>),
    /// The output of a command (ending with the next prompt, or with the
    /// pager's `--More--` marker): the server waits the simulated command
    /// latency before sending it, and applies output faults to it.
    Reply(Vec<u8>),
    /// The session ends (`exit`/`logout`/`quit` from user or enable mode);
    /// the server sends any preceding steps then closes the channel.
    Close,
}

/// The result of a command run on the SSH exec channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecReply {
    /// Everything the command printed (no echo, no prompt).
    pub output: Vec<u8>,
    /// 0 on success; 1 when the device printed error text; Linux: 127 for an
    /// unknown command.
    pub exit_status: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    User,
    Exec,
    Config,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Sub {
    Interface(String, String),
    Block(String, String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Question {
    ConfigureFrom,
    CopyDestination,
    XrUncommitted,
    JunosExit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Line,
    Secret,
    Pager,
    Ask(Question),
    Closed,
}

enum Outcome {
    Out { lines: Vec<String>, status: u32 },
    Password,
    Ask(Question, String),
    Close(Vec<String>),
}

fn out<S: Into<String>>(lines: impl IntoIterator<Item = S>) -> Outcome {
    Outcome::Out {
        lines: lines.into_iter().map(Into::into).collect(),
        status: 0,
    }
}

fn err<S: Into<String>>(lines: impl IntoIterator<Item = S>) -> Outcome {
    Outcome::Out {
        lines: lines.into_iter().map(Into::into).collect(),
        status: 1,
    }
}

const NONE: [&str; 0] = [];

/// Longest command line kept; further characters are dropped unechoed.
const MAX_LINE: usize = 4096;

/// One interactive session (or exec command) on a simulated device.
#[derive(Debug)]
pub struct Console {
    platform: Platform,
    config: SharedConfig,
    user: String,
    secret: Option<String>,
    extra: usize,
    page: usize,
    mode: Mode,
    sub: Option<Sub>,
    edit: Vec<String>,
    candidate: Option<DeviceConfig>,
    dirty: bool,
    state: State,
    line: Vec<u8>,
    last_cr: bool,
    esc: u8,
    pager: Vec<String>,
    pager_tail: Vec<u8>,
    exec_only: bool,
    no_more: bool,
    xr_stamp: bool,
    site: Option<Site>,
}

impl Console {
    /// A session of `username` on a `platform` device whose running state is
    /// `config`. `enable_secret`: the secret `enable` asks for (`None`:
    /// `enable` needs none).
    pub fn new(
        platform: Platform,
        config: SharedConfig,
        username: &str,
        enable_secret: Option<&str>,
        options: ConsoleOptions,
    ) -> Self {
        config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ensure_seeded(platform);
        let starts = Profile::get(platform).starts_privileged;
        Self {
            platform,
            config,
            user: username.to_string(),
            secret: enable_secret.map(str::to_string),
            extra: options.extra_lines,
            page: options.page_length,
            mode: if starts { Mode::Exec } else { Mode::User },
            sub: None,
            edit: Vec::new(),
            candidate: None,
            dirty: false,
            state: State::Line,
            line: Vec::new(),
            last_cr: false,
            esc: 0,
            pager: Vec::new(),
            pager_tail: Vec::new(),
            exec_only: false,
            no_more: false,
            xr_stamp: true,
            site: None,
        }
    }

    /// Places the session's device in the fleet's topology (neighbours for
    /// CDP / LLDP / ARP, per-device figures).
    pub(crate) fn with_site(mut self, site: Option<Site>) -> Self {
        self.site = site;
        self
    }

    /// The last byte before the next input was a CR (so that a LF or NUL
    /// starting it completes that Enter rather than making another).
    pub(crate) fn after_cr(&mut self) {
        self.last_cr = true;
    }

    /// What the device prints when the interactive shell opens (optional
    /// MOTD line(s), then `"\r\n"` + prompt).
    pub fn open(&mut self) -> Vec<u8> {
        let banner: &[&str] = match self.platform {
            Platform::Nxos => &[
                "Cisco NX-OS Software",
                "Copyright (c) 2002-2016, Cisco Systems, Inc. All rights reserved.",
                "NX-OSv software (\"NX-OSv Software\") and related documentation,",
                "files or other reference materials (\"Documentation\") are",
                "the proprietary property and confidential information of Cisco",
                "Systems, Inc. (\"Cisco\") and are protected, without limitation,",
                "pursuant to United States and International copyright and trademark",
                "laws in the applicable jurisdiction which provide civil and criminal",
                "penalties for copying or distribution without Cisco's authorization.",
            ],
            Platform::Junos => {
                &["--- JUNOS 21.4R1.12 Kernel 64-bit  JNPR-12.1-20211110.0f2b2f1_buil"]
            }
            Platform::Linux => &[
                "Welcome to Ubuntu 24.04.1 LTS (GNU/Linux 6.8.0-48-generic x86_64)",
                "",
                " * Documentation:  https://help.ubuntu.com",
            ],
            _ => &[],
        };
        let mut v: Vec<u8> = banner
            .iter()
            .flat_map(|l| [l.as_bytes(), b"\r\n"].concat())
            .collect();
        v.extend_from_slice(b"\r\n");
        v.extend(self.trailer(false));
        v
    }

    /// Feeds bytes typed by the client; returns what to do, in order.
    pub fn input(&mut self, bytes: &[u8]) -> Vec<Step> {
        let mut steps = Vec::new();
        for &b in bytes {
            if self.state == State::Closed {
                break;
            }
            let was_cr = std::mem::replace(&mut self.last_cr, b == b'\r');
            if b == b'\n' && was_cr {
                continue;
            }
            match self.esc {
                1 => self.esc = if b == b'[' || b == b'O' { 2 } else { 0 },
                2 => self.esc = if (0x40..=0x7e).contains(&b) { 0 } else { 2 },
                _ if self.state == State::Pager => self.pager_key(b, &mut steps),
                _ => self.key(b, &mut steps),
            }
        }
        let mut merged: Vec<Step> = Vec::with_capacity(steps.len());
        for s in steps {
            match (merged.last_mut(), s) {
                (Some(Step::Echo(a)), Step::Echo(b)) => a.extend(b),
                (_, s) => merged.push(s),
            }
        }
        merged
    }

    /// Runs one command on the SSH exec channel: no echo, no prompt, no
    /// paging, at the highest privilege (enable) level. Configuration
    /// commands are refused with the platform's error.
    pub fn exec(&mut self, command: &str) -> ExecReply {
        let saved = (
            self.mode,
            self.sub.take(),
            std::mem::take(&mut self.edit),
            self.candidate.take(),
            self.dirty,
            self.page,
        );
        self.mode = Mode::Exec;
        self.exec_only = true;
        let mut lines = Vec::new();
        let mut status = 0;
        let mut outcome = self.run(command.trim());
        loop {
            match outcome {
                Outcome::Out {
                    lines: l,
                    status: s,
                } => {
                    lines.extend(l);
                    status = s;
                }
                Outcome::Ask(q, text) => {
                    lines.push(text);
                    outcome = self.answer(q, "");
                    continue;
                }
                Outcome::Password | Outcome::Close(_) => {}
            }
            break;
        }
        self.exec_only = false;
        self.no_more = false;
        (
            self.mode,
            self.sub,
            self.edit,
            self.candidate,
            self.dirty,
            self.page,
        ) = saved;
        let eol = if self.platform == Platform::Linux {
            "\n"
        } else {
            "\r\n"
        };
        let output = lines
            .iter()
            .flat_map(|l| [l.as_str(), eol])
            .collect::<String>()
            .into_bytes();
        ExecReply {
            output,
            exit_status: status,
        }
    }

    /// The current prompt (e.g. `R1#`).
    pub fn prompt(&self) -> String {
        let host = self.lock().hostname.clone();
        let level = match (self.mode, &self.sub) {
            (Mode::User, _) => Level::User,
            (Mode::Exec, _) => Level::Privileged,
            (Mode::Config, Some(Sub::Interface(_, l) | Sub::Block(_, l))) => Level::Config(l),
            (Mode::Config, None) => Level::Config("config"),
        };
        profile::prompt(self.platform, &host, &self.user, level)
    }

    fn lock(&self) -> MutexGuard<'_, DeviceConfig> {
        self.config.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn profile(&self) -> &'static Profile {
        Profile::get(self.platform)
    }

    fn cisco_like(&self) -> bool {
        !matches!(self.platform, Platform::Junos | Platform::Linux)
    }

    /// What follows a command's output lines: the prompt (JunOS: a blank
    /// line, and the `[edit]` banner in configuration mode).
    fn trailer(&self, had_output: bool) -> Vec<u8> {
        let prompt = self.prompt();
        match (self.platform, self.mode) {
            (Platform::Junos, Mode::Config) if self.edit.is_empty() => {
                format!("\r\n[edit]\r\n{prompt}")
            }
            (Platform::Junos, Mode::Config) => {
                format!("\r\n[edit {}]\r\n{prompt}", self.edit.join(" "))
            }
            (Platform::Junos, _) if had_output => format!("\r\n{prompt}"),
            _ => prompt,
        }
        .into_bytes()
    }
}
