//! The dialog state machine: which line to send next, and when the bytes
//! received so far complete the current exchange.

mod report;

use std::fmt;

use fanout_core::{CliMode, CommandOutput, Platform, Secret};
use regex::Regex;

use crate::error::{DialogError, NetcliError};
use crate::platform::{self, MORE, MORE_REMNANT, PASSWORD, Rules};
use crate::screen::Screen;
use crate::spec::{CliCommand, DialogSpec, Progress};

/// One exchange of the dialog: a line sent and the device's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Nothing sent yet: the banner and the first prompt.
    Initial,
    /// A bare Enter, when the first read ended without a prompt.
    Provoke,
    Paging,
    Enable,
    Secret,
    ConfigEnter,
    Command(usize),
    Commit,
    ConfigLeave,
    Logout,
}

#[derive(Clone, Debug)]
enum State {
    Send(Step),
    Await(Step),
    Finished,
    Failed(Box<DialogError>),
}

/// Progress within the current exchange.
#[derive(Clone, Debug, Default)]
struct Exchange {
    /// Offset in the completed text where the output starts (after the echo).
    body: Option<usize>,
    /// Offset up to which completed lines were examined.
    scanned: usize,
    /// Completed lines that were prompts (Initial and Provoke).
    prompt_lines: usize,
    /// Screen rewinds when the pager marker was last answered.
    answered_more: Option<u64>,
    /// A pager marker was answered.
    paged: bool,
}

/// Where a command's output ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tail {
    /// Before the prompt line (and JunOS's banner lines above it).
    Prompt,
    /// With the question an `expect` pattern matched (trailing blanks
    /// dropped: they may still be in flight).
    Question,
    /// Everything received (a timeout or a closed channel).
    Partial,
}

enum Check {
    Read,
    Send(Vec<u8>),
    Next(State),
}

/// A device-CLI dialog: pure, no I/O and no clock. The driver moves bytes
/// and owns the timeouts; the dialog decides what to send and when an
/// answer is complete.
///
/// Sequence: wait for the first prompt (pressing Enter once if the first read
/// ends without one), turn paging off, `enable` (answering `Password:` with
/// the secret) for [`CliMode::Enable`] and [`CliMode::Config`], enter
/// configuration mode for [`CliMode::Config`], run each command (capturing
/// its output without echo and prompt, answering `--More--` with a space),
/// leave configuration mode (committing on IOS-XR and JunOS), log out.
/// A line is only ever sent once the device's prompt (or the awaited
/// question) is the last thing it printed.
pub struct Dialog {
    platform: Platform,
    mode: CliMode,
    rules: &'static Rules,
    secret: Option<Secret>,
    commands: Vec<CliCommand>,
    expects: Vec<Option<Regex>>,
    prompt: Regex,
    prompt_pattern: String,
    errors: Regex,
    /// The spec's own error patterns (`--error-pattern`).
    extra_errors: Vec<Regex>,
    state: State,
    screen: Screen,
    exchange: Exchange,
    outputs: Vec<CommandOutput>,
    last_prompt: String,
    /// What the previous exchange showed, for messages about a silent device.
    previous: String,
    /// Lines sent so far that began an exchange (pager answers do not).
    begun: usize,
    max_exchanges: usize,
}

impl fmt::Debug for Dialog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialog")
            .field("platform", &self.platform)
            .field("mode", &self.mode)
            .field("state", &self.state)
            .field("prompt", &self.prompt_pattern)
            .field("last_prompt", &self.last_prompt)
            .field("outputs", &self.outputs.len())
            .finish_non_exhaustive()
    }
}

pub(crate) fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or(&text).trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

impl Dialog {
    /// Checks the spec; a custom prompt or `expect` that is not a valid regex
    /// (or is empty), or a command with a line break, is an error
    /// ([`ErrorKind::InvalidTarget`](fanout_core::ErrorKind::InvalidTarget)).
    pub fn new(spec: DialogSpec) -> Result<Dialog, NetcliError> {
        let max_exchanges = spec.max_exchanges();
        let rules = Rules::of(spec.platform);
        let (platform_prompt, errors) = platform::patterns(spec.platform);
        let prompt_pattern = match &spec.prompt {
            Some(p) => {
                let bad = |reason: String| NetcliError::Prompt {
                    pattern: p.clone(),
                    reason,
                };
                if p.trim().is_empty() {
                    return Err(bad("it is empty".into()));
                }
                Regex::new(p).map_err(|e| bad(regex_reason(&e)))?;
                p.clone()
            }
            None => rules.prompt.to_string(),
        };
        let prompt = match &spec.prompt {
            None => platform_prompt.clone(),
            Some(_) => Regex::new(&platform::anchored(&prompt_pattern)).map_err(|e| {
                NetcliError::Prompt {
                    pattern: prompt_pattern.clone(),
                    reason: regex_reason(&e),
                }
            })?,
        };
        let mut extra_errors = Vec::with_capacity(spec.error_patterns.len());
        for p in &spec.error_patterns {
            extra_errors.push(crate::spec::error_pattern(p)?);
        }
        let mut expects = Vec::with_capacity(spec.commands.len());
        for c in &spec.commands {
            if c.text.contains(['\n', '\r']) {
                return Err(NetcliError::Command {
                    command: c.text.clone(),
                    reason: "it contains a line break; give one command per line".into(),
                });
            }
            let re = match &c.expect {
                None => None,
                Some(e) => {
                    let bad = |reason: String| NetcliError::Expect {
                        command: c.text.clone(),
                        pattern: e.clone(),
                        reason,
                    };
                    if e.trim().is_empty() {
                        return Err(bad("it is empty".into()));
                    }
                    Regex::new(e).map_err(|err| bad(regex_reason(&err)))?;
                    let tail = Regex::new(&format!(r"(?:{e})[ \t]*$"))
                        .map_err(|err| bad(regex_reason(&err)))?;
                    Some(tail)
                }
            };
            expects.push(re);
        }
        Ok(Dialog {
            platform: spec.platform,
            mode: spec.mode,
            rules,
            secret: spec.secret,
            commands: spec.commands,
            expects,
            prompt,
            prompt_pattern,
            errors: errors.clone(),
            extra_errors,
            state: State::Await(Step::Initial),
            screen: Screen::default(),
            exchange: Exchange::default(),
            outputs: Vec::new(),
            last_prompt: String::new(),
            previous: String::new(),
            begun: 0,
            max_exchanges,
        })
    }

    /// What the driver must do next. `Send(bytes)`: write them, then call
    /// `progress` again. `Read`: read whatever bytes arrive (with the
    /// driver's read timeout), [`feed`](Self::feed) them, call `progress`
    /// again. `Done`: the dialog finished (after leaving configuration mode
    /// and sending the platform's logout); close the channel. After an
    /// error, every call returns the same error.
    pub fn progress(&mut self) -> Result<Progress, DialogError> {
        loop {
            let step = match &self.state {
                State::Failed(e) => return Err((**e).clone()),
                State::Finished => return Ok(Progress::Done),
                State::Send(step) => {
                    let step = *step;
                    return Ok(Progress::Send(self.begin(step)));
                }
                State::Await(step) => *step,
            };
            match self.check(step) {
                Check::Read => return Ok(Progress::Read),
                Check::Send(bytes) => return Ok(Progress::Send(bytes)),
                Check::Next(state) => self.state = state,
            }
        }
    }

    /// Bytes read from the channel, exactly as received (CR, backspaces and
    /// escape sequences included; any split).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.screen.feed(bytes);
    }

    /// Exchanges so far: 1 (waiting for the first prompt) plus the lines
    /// sent. When a [`Progress::Send`] raised it, the bytes begin a new
    /// exchange and the driver restarts its read timer; when it did not,
    /// they answer a pager within the current one. Never more than
    /// [`DialogSpec::max_exchanges`].
    pub fn exchanges(&self) -> usize {
        1 + self.begun
    }

    /// [`DialogSpec::max_exchanges`] of this dialog's spec.
    pub fn max_exchanges(&self) -> usize {
        self.max_exchanges
    }

    /// Outputs of the commands captured so far (echo and trailing prompt
    /// removed, line ends as `\n`).
    pub fn outputs(&self) -> &[CommandOutput] {
        &self.outputs
    }

    /// Takes the captured outputs.
    pub fn into_outputs(self) -> Vec<CommandOutput> {
        self.outputs
    }

    /// Takes the captured outputs, leaving none.
    pub(crate) fn take_outputs(&mut self) -> Vec<CommandOutput> {
        std::mem::take(&mut self.outputs)
    }

    // ------------------------------------------------------------ sending

    /// Starts exchange `step`: resets the screen and returns the bytes to send.
    fn begin(&mut self, step: Step) -> Vec<u8> {
        self.begun += 1;
        if step != Step::Provoke {
            self.remember_previous();
            self.screen = Screen::default();
            self.exchange = Exchange::default();
        }
        self.state = match step {
            Step::Logout => State::Finished,
            _ => State::Await(step),
        };
        let mut bytes = match step {
            Step::Secret => self
                .secret
                .as_ref()
                .map(|s| s.expose().as_bytes().to_vec())
                .unwrap_or_default(),
            _ => self.line(step).as_bytes().to_vec(),
        };
        bytes.push(b'\n');
        bytes
    }

    /// The line typed for `step` (the secret is never returned here).
    fn line(&self, step: Step) -> &str {
        match step {
            Step::Initial | Step::Provoke | Step::Secret => "",
            Step::Paging => self.rules.paging_off.unwrap_or(""),
            Step::Enable => "enable",
            Step::ConfigEnter => self.rules.config_enter.unwrap_or(""),
            Step::Command(i) => self.commands.get(i).map_or("", |c| c.text.as_str()),
            Step::Commit => self.rules.config_commit.unwrap_or(""),
            Step::ConfigLeave => self.rules.config_leave,
            Step::Logout => self.rules.logout,
        }
    }

    fn after_prompt(&self) -> Step {
        if self.rules.paging_off.is_some() {
            Step::Paging
        } else {
            self.after_paging()
        }
    }

    fn after_paging(&self) -> Step {
        if self.mode != CliMode::User
            && self.rules.enable
            && !platform::is_privileged(&self.last_prompt)
        {
            Step::Enable
        } else {
            self.after_enable()
        }
    }

    fn after_enable(&self) -> Step {
        if self.mode == CliMode::Config && self.rules.config_enter.is_some() {
            Step::ConfigEnter
        } else {
            self.command_from(0)
        }
    }

    fn command_from(&self, i: usize) -> Step {
        if i < self.commands.len() {
            Step::Command(i)
        } else {
            self.leaving()
        }
    }

    fn leaving(&self) -> Step {
        let in_config = self.mode == CliMode::Config
            && self.rules.config_enter.is_some()
            && platform::is_config(self.platform, &self.last_prompt);
        match (in_config, self.rules.config_commit) {
            (true, Some(_)) => Step::Commit,
            (true, None) => Step::ConfigLeave,
            (false, _) => Step::Logout,
        }
    }

    // ------------------------------------------------------------ receiving

    fn tail_prompt(&self) -> Option<String> {
        self.screen.tail().filter(|t| self.prompt.is_match(t))
    }

    fn check(&mut self, step: Step) -> Check {
        match step {
            Step::Initial => {
                if let Some(p) = self.tail_prompt() {
                    self.last_prompt = p;
                    return Check::Next(State::Send(self.after_prompt()));
                }
                if self.screen.received() > 0 {
                    return Check::Next(State::Send(Step::Provoke));
                }
                Check::Read
            }
            Step::Provoke => {
                // The Enter may have been typed before the device printed its
                // first prompt: accept the prompt that follows a prompt line
                // (the one the Enter ended), never the first one alone.
                let done = self.screen.done();
                let mut at = self.exchange.scanned;
                while let Some(nl) = done[at..].find('\n') {
                    let line = &done[at..at + nl];
                    if line.len() <= 512 && self.prompt.is_match(line) {
                        self.exchange.prompt_lines += 1;
                    }
                    at += nl + 1;
                }
                self.exchange.scanned = at;
                match self.tail_prompt() {
                    Some(p) if self.exchange.prompt_lines > 0 => {
                        self.last_prompt = p;
                        Check::Next(State::Send(self.after_prompt()))
                    }
                    _ => Check::Read,
                }
            }
            _ => self.check_reply(step),
        }
    }

    /// Finds the echo line of what was sent: the first completed line ending
    /// with it (any line for a bare Enter or the hidden secret).
    fn find_echo(&mut self, step: Step) -> bool {
        if self.exchange.body.is_some() {
            return true;
        }
        let want = self.line(step).trim();
        let done = self.screen.done();
        let mut at = self.exchange.scanned;
        let mut body = None;
        while let Some(nl) = done[at..].find('\n') {
            let line = &done[at..at + nl];
            at += nl + 1;
            if want.is_empty() || line.trim_end().ends_with(want) {
                body = Some(at);
                break;
            }
        }
        self.exchange.scanned = at;
        self.exchange.body = body;
        body.is_some()
    }

    fn check_reply(&mut self, step: Step) -> Check {
        if !self.find_echo(step) {
            return Check::Read;
        }
        let Some(tail) = self.screen.tail() else {
            return Check::Read;
        };
        let rewinds = self.screen.rewinds();
        if MORE.is_match(&tail) && self.exchange.answered_more != Some(rewinds) {
            self.exchange.answered_more = Some(rewinds);
            self.exchange.paged = true;
            return Check::Send(b" ".to_vec());
        }
        if let Step::Command(i) = step
            && self.expects[i]
                .as_ref()
                .is_some_and(|re| re.is_match(&tail))
        {
            let out = self.body_text(Tail::Question);
            return self.command_done(i, out);
        }
        if self.prompt.is_match(&tail) {
            self.last_prompt = tail;
            let out = self.body_text(Tail::Prompt);
            return self.reply_done(step, out);
        }
        if matches!(step, Step::Enable | Step::Secret) && PASSWORD.is_match(&tail) {
            return self.password_asked(step);
        }
        Check::Read
    }

    /// The output of the current exchange, after the echo line: up to the
    /// prompt line, or up to the end of the line the device waits on.
    fn body_text(&self, tail: Tail) -> String {
        let done = self.screen.done();
        let start = self.exchange.body.unwrap_or(0).min(done.len());
        let mut text = done[start..].to_string();
        match tail {
            Tail::Prompt if self.platform == Platform::Junos => {
                platform::strip_junos_trailer(&mut text);
            }
            Tail::Prompt => {}
            Tail::Question => text.push_str(self.screen.line_text().trim_end()),
            Tail::Partial => text.push_str(&self.screen.line_text()),
        }
        if self.exchange.paged {
            text = MORE_REMNANT.replace_all(&text, "").into_owned();
        }
        text
    }

    fn reply_done(&mut self, step: Step, out: String) -> Check {
        match step {
            Step::Paging => Check::Next(State::Send(self.after_paging())),
            Step::Enable | Step::Secret if platform::is_privileged(&self.last_prompt) => {
                Check::Next(State::Send(self.after_enable()))
            }
            Step::Enable => self.fail(DialogError::EnableRejected {
                message: format!(
                    "`enable` did not reach the privileged prompt: the device printed {} and \
                     stayed at `{}`; check that this user may enable, and the host's `secret` \
                     or `secret_env` in the inventory",
                    self.quote(&out),
                    self.last_prompt.trim_end()
                ),
                outputs: self.outputs.clone(),
            }),
            Step::Secret => self.fail(DialogError::EnableRejected {
                message: format!(
                    "the device rejected the enable secret: it printed {} and stayed at `{}`; \
                     set the right `secret` or `secret_env` for this host in the inventory",
                    self.quote(&out),
                    self.last_prompt.trim_end()
                ),
                outputs: self.outputs.clone(),
            }),
            Step::ConfigEnter => {
                if self.error_line(&out).is_none()
                    && platform::is_config(self.platform, &self.last_prompt)
                {
                    return Check::Next(State::Send(self.command_from(0)));
                }
                self.internal_failed(step, out)
            }
            Step::Command(i) => self.command_done(i, out),
            Step::Commit | Step::ConfigLeave => {
                if self.error_line(&out).is_some() {
                    return self.internal_failed(step, out);
                }
                Check::Next(State::Send(match step {
                    Step::Commit => Step::ConfigLeave,
                    _ => Step::Logout,
                }))
            }
            Step::Initial | Step::Provoke | Step::Logout => Check::Next(State::Finished),
        }
    }

    fn password_asked(&mut self, step: Step) -> Check {
        match (step, &self.secret) {
            (Step::Enable, Some(_)) => Check::Next(State::Send(Step::Secret)),
            (Step::Enable, None) => self.fail(DialogError::EnableRejected {
                message: "the device asked for an enable secret (`Password:`) after `enable`, \
                          but none is set for this host: set `secret` or `secret_env` in the \
                          inventory"
                    .into(),
                outputs: self.outputs.clone(),
            }),
            _ => self.fail(DialogError::EnableRejected {
                message: format!(
                    "the device rejected the enable secret (it asked again: {}); set the right \
                     `secret` or `secret_env` for this host in the inventory",
                    self.quote(&self.screen.text())
                ),
                outputs: self.outputs.clone(),
            }),
        }
    }

    fn command_done(&mut self, i: usize, out: String) -> Check {
        let command = self.line(Step::Command(i)).to_string();
        let error = self.error_line(&out).map(str::to_string);
        self.outputs.push(CommandOutput {
            command: command.clone(),
            stdout: out,
            stderr: None,
            exit_status: None,
            ..Default::default()
        });
        match error {
            None => Check::Next(State::Send(self.command_from(i + 1))),
            Some(line) => self.fail(DialogError::CommandFailed {
                message: format!(
                    "the device rejected `{command}`: {}; its output is kept; check the \
                     command and the mode it needs (--enable, --config)",
                    self.quote(&line)
                ),
                command,
                outputs: self.outputs.clone(),
            }),
        }
    }

    /// A command the dialog sent itself (configuration mode in or out,
    /// commit) failed: reported with its output after the commands' outputs.
    fn internal_failed(&mut self, step: Step, out: String) -> Check {
        let command = self.line(step).to_string();
        let why = match self.error_line(&out) {
            Some(line) => format!("the device answered {}", self.quote(line)),
            None => format!(
                "the prompt is `{}`, not a configuration prompt",
                self.last_prompt.trim_end()
            ),
        };
        let mut outputs = self.outputs.clone();
        outputs.push(CommandOutput {
            command: command.clone(),
            stdout: out,
            stderr: None,
            exit_status: None,
            ..Default::default()
        });
        self.fail(DialogError::CommandFailed {
            message: format!("`{command}` failed: {why}"),
            command,
            outputs,
        })
    }

    fn fail(&mut self, e: DialogError) -> Check {
        Check::Next(State::Failed(Box::new(e)))
    }

    /// The first line of `out` the platform's error patterns flag.
    fn error_line<'a>(&self, out: &'a str) -> Option<&'a str> {
        let m = std::iter::once(&self.errors)
            .chain(&self.extra_errors)
            .filter_map(|re| re.find(out))
            .min_by_key(|m| m.start())?;
        let start = out[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = out[m.start()..]
            .find('\n')
            .map_or(out.len(), |i| m.start() + i);
        Some(out[start..end].trim())
    }
}
