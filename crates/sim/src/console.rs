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

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fanout_core::Platform;

use crate::profile::{
    self, Act, CX_BLOCK, CX_CONF, CX_FILTER, CX_IF, CX_JCONF, CX_JOP, CX_PRIV, CX_USER,
};
use crate::profile::{Filter, Level, Parsed, Profile, RenderCtx};

/// One interface of a device's running configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Full name (`Ethernet0/0`, `GigabitEthernet1`, `ge-0/0/0`).
    pub name: String,
    /// `description` text.
    pub description: Option<String>,
    /// IPv4 address and prefix length.
    pub address: Option<(Ipv4Addr, u8)>,
    /// Administratively down.
    pub shutdown: bool,
    /// The address was set in a session (IOS `Method manual`), not at boot.
    pub manual: bool,
    /// Other interface-level configuration lines, verbatim.
    pub lines: Vec<String>,
}

/// A configuration block other than an interface (`line vty 0 4`,
/// `router ospf 1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The line that opens the block.
    pub header: String,
    /// The lines inside it, verbatim (without indentation).
    pub lines: Vec<String>,
}

/// Running state of one device, shared by all its sessions for the fleet's
/// lifetime.
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// The hostname shown in prompts and configuration.
    pub hostname: String,
    /// Interfaces (filled with the platform's factory set by the first
    /// [`Console`] when empty).
    pub interfaces: Vec<Interface>,
    /// Other configuration blocks.
    pub blocks: Vec<Block>,
    /// Other global configuration lines, verbatim (JunOS: set-paths without
    /// the leading `set`).
    pub lines: Vec<String>,
    /// When a session last changed (IOS) or committed (IOS-XR, JunOS) it.
    pub last_change: Option<SystemTime>,
    /// Simulated boot time, for uptimes (a little over nine days ago).
    pub booted: SystemTime,
    seeded: bool,
}

impl DeviceConfig {
    /// A device called `hostname` with the factory configuration.
    pub fn new(hostname: &str) -> Self {
        let uptime = Duration::from_secs(((9 * 24 + 3) * 60 + 4) * 60 + 12);
        Self {
            hostname: hostname.to_string(),
            interfaces: Vec::new(),
            blocks: Vec::new(),
            lines: Vec::new(),
            last_change: None,
            booted: SystemTime::now().checked_sub(uptime).unwrap_or(UNIX_EPOCH),
            seeded: false,
        }
    }
}

/// A device's configuration as shared by its sessions.
pub type SharedConfig = Arc<Mutex<DeviceConfig>>;

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
        {
            let mut c = config.lock().unwrap_or_else(PoisonError::into_inner);
            if !c.seeded {
                c.seeded = true;
                if c.interfaces.is_empty() {
                    profile::seed(platform, &mut c);
                }
            }
        }
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
        }
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

    fn key(&mut self, b: u8, steps: &mut Vec<Step>) {
        let hidden = self.state == State::Secret;
        match b {
            b'\r' | b'\n' => self.enter(steps),
            0x08 | 0x7f => {
                let erased = self.erase_char();
                if erased && !hidden {
                    steps.push(Step::Echo(b"\x08 \x08".to_vec()));
                }
            }
            0x15 => {
                while self.erase_char() {
                    if !hidden {
                        steps.push(Step::Echo(b"\x08 \x08".to_vec()));
                    }
                }
            }
            0x03 | 0x1a => {
                self.line.clear();
                let mark = if b == 0x03 { "^C" } else { "^Z" };
                if self.mode == Mode::Config && self.cisco_like() && self.state == State::Line {
                    steps.push(Step::Echo(mark.as_bytes().to_vec()));
                    let o = self.end_config();
                    self.emit(o, steps);
                } else if b == 0x03 {
                    self.state = State::Line;
                    let mut v = mark.as_bytes().to_vec();
                    v.extend_from_slice(b"\r\n");
                    v.extend(self.trailer(false));
                    steps.push(Step::Echo(v));
                }
            }
            0x1b => self.esc = 1,
            b if b >= 0x20 && self.line.len() < MAX_LINE => {
                self.line.push(b);
                if !hidden {
                    steps.push(Step::Echo(vec![b]));
                }
            }
            _ => {}
        }
    }

    /// Removes the last (UTF-8) character of the line buffer.
    fn erase_char(&mut self) -> bool {
        while let Some(b) = self.line.pop() {
            if b & 0xc0 != 0x80 {
                return true;
            }
        }
        false
    }

    fn enter(&mut self, steps: &mut Vec<Step>) {
        let raw = std::mem::take(&mut self.line);
        let line = String::from_utf8_lossy(&raw).into_owned();
        let outcome = match self.state {
            State::Secret => {
                self.state = State::Line;
                if self.secret.as_deref() == Some(line.as_str()) {
                    self.mode = Mode::Exec;
                    out(NONE)
                } else {
                    err([self.profile().enable_denied, ""])
                }
            }
            State::Ask(q) => {
                self.state = State::Line;
                self.answer(q, &line)
            }
            _ if line.trim().is_empty() => {
                let mut v = b"\r\n".to_vec();
                v.extend(self.trailer(false));
                steps.push(Step::Echo(v));
                return;
            }
            _ => self.run(&line),
        };
        self.emit(outcome, steps);
    }

    fn emit(&mut self, outcome: Outcome, steps: &mut Vec<Step>) {
        match outcome {
            Outcome::Out { lines, .. } => {
                let tail = self.trailer(!lines.is_empty());
                let mut v = b"\r\n".to_vec();
                v.extend(self.paginate(lines, tail));
                steps.push(Step::Reply(v));
            }
            Outcome::Password => {
                self.state = State::Secret;
                steps.push(Step::Echo(
                    format!("\r\n{}", self.profile().password_prompt).into_bytes(),
                ));
            }
            Outcome::Ask(q, text) => {
                self.state = State::Ask(q);
                steps.push(Step::Reply(format!("\r\n{text}").into_bytes()));
            }
            Outcome::Close(lines) => {
                if !lines.is_empty() {
                    steps.push(Step::Echo(
                        format!("\r\n{}\r\n", lines.join("\r\n")).into_bytes(),
                    ));
                }
                self.state = State::Closed;
                steps.push(Step::Close);
            }
        }
    }

    fn paginate(&mut self, lines: Vec<String>, tail: Vec<u8>) -> Vec<u8> {
        let mut v = Vec::new();
        let no_more = std::mem::take(&mut self.no_more);
        match self.profile().more_marker {
            Some(marker) if self.page > 0 && lines.len() > self.page && !no_more => {
                let n = (self.page - 1).max(1);
                push_lines(&mut v, &lines[..n]);
                v.extend_from_slice(marker.as_bytes());
                self.pager = lines[n..].to_vec();
                self.pager_tail = tail;
                self.state = State::Pager;
            }
            _ => {
                push_lines(&mut v, &lines);
                v.extend(tail);
            }
        }
        v
    }

    fn pager_key(&mut self, b: u8, steps: &mut Vec<Step>) {
        let marker = self.profile().more_marker.unwrap_or("");
        let n = match b {
            b' ' => (self.page - 1).max(1),
            b'\r' | b'\n' => 1,
            _ => 0,
        };
        let mut v = Vec::new();
        if n == 0 {
            self.pager.clear();
            v.extend_from_slice(b"\r\n");
        } else {
            let len = marker.len();
            if self.platform == Platform::Junos {
                v.extend(format!("\r{}\r", " ".repeat(len)).bytes());
            } else {
                v.extend(format!("{0}{1}{0}", "\x08".repeat(len), " ".repeat(len)).bytes());
            }
            let chunk: Vec<String> = self.pager.drain(..n.min(self.pager.len())).collect();
            push_lines(&mut v, &chunk);
        }
        if self.pager.is_empty() {
            v.extend(std::mem::take(&mut self.pager_tail));
            self.state = State::Line;
        } else {
            v.extend_from_slice(marker.as_bytes());
        }
        steps.push(Step::Echo(v));
    }

    fn ctx(&self) -> u8 {
        match (self.platform, self.mode, &self.sub) {
            (Platform::Junos, Mode::Config, _) => CX_JCONF,
            (Platform::Junos, _, _) => CX_JOP,
            (_, Mode::User, _) => CX_USER,
            (_, Mode::Exec, _) => CX_USER | CX_PRIV,
            (_, Mode::Config, None) => CX_CONF,
            (_, Mode::Config, Some(Sub::Interface(..))) => CX_IF,
            (_, Mode::Config, Some(Sub::Block(..))) => CX_BLOCK,
        }
    }

    fn render_ctx(&self) -> RenderCtx<'_> {
        RenderCtx {
            user: &self.user,
            has_secret: self.secret.is_some(),
            extra: self.extra,
            now: SystemTime::now(),
        }
    }

    fn run(&mut self, line: &str) -> Outcome {
        if self.platform == Platform::Linux {
            let r = self.render_ctx();
            let res = profile::linux(
                line,
                &mut self.config.lock().unwrap_or_else(PoisonError::into_inner),
                &r,
            );
            return match res.exit {
                true => Outcome::Close(vec!["logout".into()]),
                false => Outcome::Out {
                    lines: res.lines,
                    status: res.status,
                },
            };
        }
        self.run_in(line, self.ctx(), 0)
    }

    /// Parses `line` (typed `offset` columns after the prompt) in grammar
    /// context `ctx`, with `| filter`s for show commands, and runs it.
    fn run_in(&mut self, line: &str, ctx: u8, offset: usize) -> Outcome {
        let p = self.platform;
        let mut filters: Vec<(Filter, String)> = Vec::new();
        let mut parsed = profile::parse(line, p, ctx);
        if let Some(bar) = line.find('|') {
            let head = profile::parse(&line[..bar], p, ctx);
            if matches!(head, Parsed::Ok { act, .. } if act.is_show()) {
                parsed = head;
                let mut at = bar + 1;
                for seg in line[bar + 1..].split('|') {
                    match profile::parse(seg, p, CX_FILTER).shifted(at) {
                        Parsed::Ok {
                            act: Act::Filter(f),
                            args,
                            ..
                        } => {
                            filters.push((f, args.into_iter().next().unwrap_or_default()));
                        }
                        Parsed::Empty => parsed = Parsed::Incomplete { col: at + 1 },
                        bad => parsed = bad,
                    }
                    at += seg.len() + 1;
                }
            }
        }
        if matches!(parsed, Parsed::Invalid { index: 0, .. }) && ctx & (CX_IF | CX_BLOCK) != 0 {
            let global = profile::parse(line, p, CX_CONF);
            if matches!(global, Parsed::Ok { .. }) {
                self.sub = None;
                parsed = global;
            }
        }
        if matches!(parsed, Parsed::Invalid { index: 0, .. })
            && ctx & (CX_CONF | CX_IF | CX_BLOCK) != 0
            && matches!(p, Platform::Nxos | Platform::Eos)
        {
            let show = profile::parse(line, p, CX_USER | CX_PRIV);
            if matches!(show, Parsed::Ok { act, .. } if act.is_show()) {
                parsed = show;
            }
        }
        let (act, args, canon) = match parsed {
            Parsed::Ok { act, args, canon } => (act, args, canon),
            Parsed::Empty => return out(NONE),
            bad => {
                let plen = self.prompt().chars().count();
                return err(profile::error_lines(p, &bad.shifted(offset), line, plen));
            }
        };
        let set_form = filters.iter().any(|f| f.0 == Filter::DisplaySet);
        self.no_more |= filters.iter().any(|f| f.0 == Filter::NoMore);
        let rest_col = |a: &str| offset + line.trim_end().len() - a.len();
        let outcome = self.act(
            act,
            &args,
            &canon,
            set_form,
            rest_col(args.last().map_or("", String::as_str)),
        );
        match outcome {
            Outcome::Out { mut lines, status } if act.is_show() => {
                lines = profile::apply_filters(p, lines, &filters);
                if p == Platform::Iosxr && self.xr_stamp {
                    lines.insert(0, profile::utc(SystemTime::now()).xr_stamp());
                }
                Outcome::Out { lines, status }
            }
            other => other,
        }
    }

    fn act(
        &mut self,
        act: Act,
        a: &[String],
        canon: &str,
        set_form: bool,
        rest_col: usize,
    ) -> Outcome {
        let p = self.platform;
        let arg = |i: usize| a.get(i).map_or("", String::as_str);
        if self.exec_only && matches!(act, Act::ConfigTerminal | Act::ConfigAsk | Act::Configure) {
            let plen = self.prompt().chars().count();
            let bad = Parsed::Invalid { col: 0, index: 0 };
            return err(profile::error_lines(p, &bad, canon, plen));
        }
        match act {
            Act::Nothing | Act::TermWidth | Act::Filter(_) => out(NONE),
            Act::XrStamp => {
                self.xr_stamp = !canon.ends_with("no-timestamp");
                out(NONE)
            }
            Act::Enable if self.mode == Mode::User => {
                if self.secret.is_some() {
                    return Outcome::Password;
                }
                self.mode = Mode::Exec;
                out(NONE)
            }
            Act::Enable => out(NONE),
            Act::Disable => {
                self.mode = Mode::User;
                out(NONE)
            }
            Act::Exit => Outcome::Close(Vec::new()),
            Act::TermLength => {
                self.page = arg(0).parse().unwrap_or(0);
                out(NONE)
            }
            Act::CliLength => {
                self.page = arg(0).parse().unwrap_or(0);
                out([format!("Screen length set to {}", self.page)])
            }
            Act::CliWidth => out([format!("Screen width set to {}", arg(0))]),
            Act::CliSpace => match arg(0) {
                "on" => out(["Enabling complete-on-space"]),
                "off" => out(["Disabling complete-on-space"]),
                _ => self.junos_error(rest_col, "syntax error, expecting <command>."),
            },
            Act::ShowVersion => out(self.render(|c, r| profile::show_version(p, c, r))),
            Act::ShowClock => out(self.render(|c, r| profile::show_clock(p, c, r))),
            Act::ShowIpIntBrief => out(self.render(|c, r| profile::ip_brief(p, c, r.extra))),
            Act::ShowIntDesc => out(self.render(|c, r| profile::int_desc(p, c, r.extra))),
            Act::ShowPrivilege => {
                out([format!("Current privilege level is {}", if self.mode == Mode::User { 1 } else { 15 })])
            }
            Act::ShowRun => out(self.render(|c, r| profile::running_config(p, c, r))),
            Act::JShowConfig => out(self.render(|c, r| profile::junos_config(c, r, arg(0), set_form, "Last commit"))),
            Act::JShow => {
                let path = [self.edit.join(" "), arg(0).to_string()].join(" ");
                let r = self.render_ctx();
                let lines = match &self.candidate {
                    Some(c) => profile::junos_config(c, &r, &path, set_form, "Last changed"),
                    None => Vec::new(),
                };
                out(lines)
            }
            Act::ConfigTerminal | Act::Configure => self.enter_config(canon.ends_with("private")),
            Act::ConfigAsk => {
                Outcome::Ask(Question::ConfigureFrom, "Configuring from terminal, memory, or network [terminal]? ".into())
            }
            Act::CopyRunStart => match p {
                Platform::Nxos => out(["[########################################] 100%", "Copy complete."]),
                Platform::Eos => out(["Copy completed successfully."]),
                _ => Outcome::Ask(Question::CopyDestination, "Destination filename [startup-config]? ".into()),
            },
            Act::WriteMemory if p == Platform::Eos => out(["Copy completed successfully."]),
            Act::WriteMemory => out(["Building configuration...", "[OK]"]),
            Act::Ping => match profile::ping(p, arg(0)) {
                Ok(lines) => out(lines),
                Err(lines) => err(lines),
            },
            Act::Connect => {
                let host = arg(0).split_whitespace().next().unwrap_or("");
                err([format!("Trying {host} ..."), "% Connection refused by remote host".into(), String::new()])
            }
            Act::Hostname if !profile::valid_hostname(arg(0)) => {
                err(["% Hostname contains one or more illegal characters."])
            }
            Act::Hostname => {
                let name = arg(0).to_string();
                self.edit_config(|c| c.hostname = name);
                out(NONE)
            }
            Act::Interface => {
                let name = profile::normalize_iface(p, arg(0)).unwrap_or_else(|| arg(0).to_string());
                if !self.read(|c| c.interfaces.iter().any(|i| i.name == name)) {
                    let new = Interface {
                        name: name.clone(),
                        description: None,
                        address: None,
                        shutdown: false,
                        manual: false,
                        lines: Vec::new(),
                    };
                    self.edit_config(|c| c.interfaces.push(new));
                }
                self.sub = Some(Sub::Interface(name.clone(), profile::if_label(p, &name)));
                out(NONE)
            }
            Act::Block => {
                let header = canon.split_whitespace().collect::<Vec<_>>().join(" ");
                if !self.read(|c| c.blocks.iter().any(|b| b.header == header)) {
                    let new = Block { header: header.clone(), lines: Vec::new() };
                    self.edit_config(|c| c.blocks.push(new));
                }
                self.sub = Some(Sub::Block(header.clone(), profile::block_label(p, &header)));
                out(NONE)
            }
            Act::No => self.no(arg(0)),
            Act::Do => self.run_in(arg(0), CX_USER | CX_PRIV, rest_col),
            Act::JRun => self.run_in(arg(0), CX_JOP, rest_col),
            Act::End => self.end_config(),
            Act::ExitConf if self.sub.is_some() => {
                self.sub = None;
                out(NONE)
            }
            Act::ExitConf => self.end_config(),
            Act::Commit => {
                self.commit();
                out(NONE)
            }
            Act::Abort => {
                self.leave_config();
                out(NONE)
            }
            Act::GlobalLine => {
                let line = canon.to_string();
                self.edit_config(|c| push_unique(&mut c.lines, line));
                out(NONE)
            }
            Act::IfDescription => self.iface(|i| i.description = Some(arg(0).to_string())),
            Act::IfAddress => match profile::parse_address(a) {
                Ok(addr) => self.iface(|i| {
                    i.address = Some(addr);
                    i.manual = true;
                }),
                Err(msg) => err([msg]),
            },
            Act::IfShutdown => self.iface(|i| i.shutdown = true),
            Act::IfLine => self.iface(|i| push_unique(&mut i.lines, canon.to_string())),
            Act::BlockLine => {
                if let Some(Sub::Block(h, _)) = self.sub.clone() {
                    let line = canon.to_string();
                    self.edit_config(|c| {
                        if let Some(b) = c.blocks.iter_mut().find(|b| b.header == h) {
                            push_unique(&mut b.lines, line);
                        }
                    });
                }
                out(NONE)
            }
            Act::JSet | Act::JDelete | Act::JEdit => self.junos_statement(act, arg(0), rest_col),
            Act::JUp => {
                self.edit.pop();
                out(NONE)
            }
            Act::JTop => {
                self.edit.clear();
                out(NONE)
            }
            Act::JExit if !self.edit.is_empty() => {
                self.edit.pop();
                out(NONE)
            }
            Act::JExit | Act::JExitAll if self.dirty => Outcome::Ask(
                Question::JunosExit,
                "The configuration has been changed but not committed\r\nExit with uncommitted changes? [yes,no] (yes) "
                    .into(),
            ),
            Act::JExit | Act::JExitAll => {
                self.leave_config();
                out(["Exiting configuration mode"])
            }
            Act::JCommit => {
                self.commit();
                out(["commit complete"])
            }
            Act::JCommitQuit => {
                self.commit();
                self.leave_config();
                out(["commit complete", "Exiting configuration mode"])
            }
            Act::JCommitCheck => out(["configuration check succeeds"]),
            Act::JRollback => {
                let running = self.lock().clone();
            self.candidate = Some(running);
                self.dirty = false;
                out(["load complete"])
            }
        }
    }

    fn render(&self, f: impl FnOnce(&DeviceConfig, &RenderCtx<'_>) -> Vec<String>) -> Vec<String> {
        let r = self.render_ctx();
        f(&self.lock(), &r)
    }

    /// Reads the configuration being edited (candidate, else running).
    fn read<R>(&self, f: impl FnOnce(&DeviceConfig) -> R) -> R {
        match &self.candidate {
            Some(c) => f(c),
            None => f(&self.lock()),
        }
    }

    /// Changes the configuration being edited: the running one on IOS, NX-OS
    /// and EOS; the candidate (applied by `commit`) on IOS-XR and JunOS.
    fn edit_config<R>(&mut self, f: impl FnOnce(&mut DeviceConfig) -> R) -> R {
        self.dirty = true;
        let now = Some(SystemTime::now());
        match &mut self.candidate {
            Some(c) => {
                c.last_change = now;
                f(c)
            }
            None => {
                let mut c = self.config.lock().unwrap_or_else(PoisonError::into_inner);
                c.last_change = now;
                f(&mut c)
            }
        }
    }

    fn iface(&mut self, f: impl FnOnce(&mut Interface)) -> Outcome {
        if let Some(Sub::Interface(name, _)) = self.sub.clone() {
            self.edit_config(|c| {
                if let Some(i) = c.interfaces.iter_mut().find(|i| i.name == name) {
                    f(i);
                }
            });
        }
        out(NONE)
    }

    fn enter_config(&mut self, private: bool) -> Outcome {
        self.mode = Mode::Config;
        self.sub = None;
        self.edit.clear();
        self.dirty = false;
        if matches!(self.platform, Platform::Iosxr | Platform::Junos) {
            let running = self.lock().clone();
            self.candidate = Some(running);
        }
        match self.platform {
            Platform::Ios | Platform::Iosxe => {
                out(["Enter configuration commands, one per line.  End with CNTL/Z."])
            }
            Platform::Nxos => out(["Enter configuration commands, one per line. End with CNTL/Z."]),
            Platform::Junos if private => out([
                "warning: uncommitted changes will be discarded on exit",
                "Entering configuration mode",
            ]),
            Platform::Junos => out(["Entering configuration mode"]),
            _ => out(NONE),
        }
    }

    fn end_config(&mut self) -> Outcome {
        if self.platform == Platform::Iosxr && self.dirty {
            return Outcome::Ask(
                Question::XrUncommitted,
                "Uncommitted changes found, commit them before exiting(yes/no/cancel)? [cancel]:"
                    .into(),
            );
        }
        self.leave_config();
        out(NONE)
    }

    fn leave_config(&mut self) {
        self.mode = Mode::Exec;
        self.sub = None;
        self.edit.clear();
        self.candidate = None;
        self.dirty = false;
    }

    fn commit(&mut self) {
        if let Some(c) = self.candidate.clone() {
            *self.lock() = c;
        }
        self.dirty = false;
    }

    fn answer(&mut self, q: Question, text: &str) -> Outcome {
        let a = text.trim().to_ascii_lowercase();
        let yes = !a.is_empty() && "yes".starts_with(&a);
        match q {
            Question::ConfigureFrom if a.is_empty() || "terminal".starts_with(&a) => {
                self.enter_config(false)
            }
            Question::ConfigureFrom => err(["?Must be \"terminal\", \"memory\" or \"network\""]),
            Question::CopyDestination => out(["Building configuration...", "[OK]"]),
            Question::XrUncommitted if yes => {
                self.commit();
                self.leave_config();
                out(NONE)
            }
            Question::XrUncommitted if !a.is_empty() && "no".starts_with(&a) => {
                self.leave_config();
                out(NONE)
            }
            Question::XrUncommitted => out(NONE),
            Question::JunosExit if a.is_empty() || yes => {
                self.leave_config();
                out(["Exiting configuration mode"])
            }
            Question::JunosExit => out(NONE),
        }
    }

    fn junos_error(&self, col: usize, text: &str) -> Outcome {
        let plen = self.prompt().chars().count();
        err([format!("{}^", " ".repeat(plen + col)), text.to_string()])
    }

    /// `no <rest>` in the Cisco-like configuration modes.
    fn no(&mut self, rest: &str) -> Outcome {
        let p = self.platform;
        let w: Vec<&str> = rest.split_whitespace().collect();
        let first = w.first().map_or(String::new(), |s| s.to_ascii_lowercase());
        let is = |full: &str| first.len() >= 2 && full.starts_with(&first);
        let plain = w.join(" ");
        match self.sub.clone() {
            Some(Sub::Interface(..)) => self.iface(|i| {
                if is("shutdown") {
                    i.shutdown = false;
                } else if is("description") {
                    i.description = None;
                } else if (is("ip") || is("ipv4"))
                    && w.get(1).is_some_and(|s| "address".starts_with(*s))
                {
                    i.address = None;
                } else {
                    remove_or_negate(&mut i.lines, &plain);
                }
            }),
            Some(Sub::Block(h, _)) => {
                self.edit_config(|c| {
                    if let Some(b) = c.blocks.iter_mut().find(|b| b.header == h) {
                        remove_or_negate(&mut b.lines, &plain);
                    }
                });
                out(NONE)
            }
            None if is("hostname") => {
                let name = match p {
                    Platform::Nxos => "switch",
                    Platform::Eos => "localhost",
                    Platform::Iosxr => "ios",
                    _ => "Router",
                };
                self.edit_config(|c| c.hostname = name.to_string());
                out(NONE)
            }
            None if is("interface") => {
                let name = profile::normalize_iface(p, &w[1..].concat()).unwrap_or_default();
                self.edit_config(|c| c.interfaces.retain(|i| i.name != name));
                out(NONE)
            }
            None if is("router") || is("line") => {
                let kind = if is("router") { "router" } else { "line" };
                let header = [kind]
                    .iter()
                    .chain(&w[1..])
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                self.edit_config(|c| c.blocks.retain(|b| b.header != header));
                out(NONE)
            }
            None => {
                self.edit_config(|c| remove_or_negate(&mut c.lines, &plain));
                out(NONE)
            }
        }
    }

    /// JunOS `set` / `delete` / `edit` (relative to the `[edit ...]` path).
    fn junos_statement(&mut self, act: Act, rest: &str, col: usize) -> Outcome {
        let mut w = self.edit.clone();
        let typed = profile::shell_words(rest);
        if self.edit.is_empty()
            && let Some(first) = typed.first()
        {
            let lf = first.to_ascii_lowercase();
            let found: Vec<&str> = profile::JUNOS_TOP
                .iter()
                .copied()
                .filter(|k| k.starts_with(&lf))
                .collect();
            match (found.iter().find(|k| **k == lf), found.as_slice()) {
                (Some(k), _) | (None, [k]) => w.push(k.to_string()),
                (None, []) => return self.junos_error(col, "syntax error."),
                (None, _) => return self.junos_error(col, &format!("'{first}' is ambiguous.")),
            }
            w.extend(typed.into_iter().skip(1));
        } else {
            w.extend(typed);
        }
        let v: Vec<&str> = w.iter().map(String::as_str).collect();
        let missing = col + rest.len() + 1;
        match act {
            Act::JEdit => {
                self.edit = w.clone();
                out(NONE)
            }
            Act::JSet => match v.as_slice() {
                [_] | ["system", "host-name"] => self.junos_error(missing, "missing argument."),
                ["system", "host-name", h] if !profile::valid_hostname(h) => {
                    self.junos_error(col, "error: invalid hostname")
                }
                ["system", "host-name", h] => {
                    let h = h.to_string();
                    self.edit_config(|c| c.hostname = h);
                    out(NONE)
                }
                ["interfaces", name, tail @ ..] => {
                    let (name, tail) = (
                        name.to_string(),
                        tail.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    );
                    let addr = match tail.as_slice() {
                        [u, _, f, inet, a, ip]
                            if u == "unit" && f == "family" && inet == "inet" && a == "address" =>
                        {
                            match profile::parse_address(std::slice::from_ref(ip)) {
                                Ok(x) => Some(x),
                                Err(_) => {
                                    return self
                                        .junos_error(col, "error: invalid ip address or prefix");
                                }
                            }
                        }
                        _ => None,
                    };
                    self.edit_config(|c| {
                        let at = c
                            .interfaces
                            .iter()
                            .position(|i| i.name == name)
                            .unwrap_or_else(|| {
                                c.interfaces.push(Interface {
                                    name: name.clone(),
                                    description: None,
                                    address: None,
                                    shutdown: false,
                                    manual: false,
                                    lines: Vec::new(),
                                });
                                c.interfaces.len() - 1
                            });
                        let i = &mut c.interfaces[at];
                        match (tail.first().map(String::as_str), addr) {
                            (_, Some(x)) => {
                                i.address = Some(x);
                                i.manual = true;
                            }
                            (None, None) => {}
                            (Some("description"), None) if tail.len() > 1 => {
                                i.description = Some(tail[1..].join(" "))
                            }
                            (Some("disable"), None) if tail.len() == 1 => i.shutdown = true,
                            _ => push_unique(&mut i.lines, jline(&tail)),
                        }
                    });
                    out(NONE)
                }
                _ => {
                    let line = jline(&w);
                    self.edit_config(|c| push_unique(&mut c.lines, line));
                    out(NONE)
                }
            },
            _ => {
                let found = self.edit_config(|c| junos_delete(c, &v));
                if found {
                    out(NONE)
                } else {
                    out(["warning: statement not found"])
                }
            }
        }
    }
}

fn push_lines(v: &mut Vec<u8>, lines: &[String]) {
    for l in lines {
        v.extend_from_slice(l.as_bytes());
        v.extend_from_slice(b"\r\n");
    }
}

fn push_unique(lines: &mut Vec<String>, line: String) {
    if !lines.contains(&line) {
        lines.push(line);
    }
}

/// `no X`: removes the lines `X` starts (or equals); when none, records
/// `no X` itself (as IOS shows `no ip domain lookup`).
fn remove_or_negate(lines: &mut Vec<String>, what: &str) {
    let before = lines.len();
    lines.retain(|l| !(l == what || l.starts_with(&format!("{what} "))));
    if lines.len() == before {
        push_unique(lines, format!("no {what}"));
    }
}

fn jline(words: &[String]) -> String {
    words
        .iter()
        .map(|w| profile::jquote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// JunOS `delete`: returns whether something was removed.
fn junos_delete(c: &mut DeviceConfig, v: &[&str]) -> bool {
    if let ["interfaces", name, tail @ ..] = v {
        let Some(at) = c.interfaces.iter().position(|i| i.name == *name) else {
            return false;
        };
        let i = &mut c.interfaces[at];
        match tail {
            [] => {
                c.interfaces.remove(at);
            }
            ["description", ..] => return i.description.take().is_some(),
            ["disable"] => return std::mem::replace(&mut i.shutdown, false),
            ["unit", ..] => return i.address.take().is_some(),
            _ => {
                let what = tail.join(" ");
                let before = i.lines.len();
                i.lines
                    .retain(|l| !(l == &what || l.starts_with(&format!("{what} "))));
                return i.lines.len() != before;
            }
        }
        return true;
    }
    if v == ["system", "host-name"] {
        c.hostname = "Amnesiac".into();
        return true;
    }
    let what = v.join(" ");
    let before = c.lines.len();
    c.lines
        .retain(|l| !(l == &what || l.starts_with(&format!("{what} "))));
    c.lines.len() != before
}
