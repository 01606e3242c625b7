//! Wires a [`Dialog`] to the simulator's device console byte for byte: what
//! the dialog sends goes to `Console::input`, what the console prints is
//! fed back in chunks of a chosen size. No sockets, no clock.

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use fanout_core::{CliMode, CommandOutput, Platform, Secret};
use fanout_netcli::{CliCommand, Dialog, DialogError, DialogSpec, Progress};
use fanout_sim::console::{Console, ConsoleOptions, DeviceConfig, SharedConfig, Step};
use regex::Regex;

/// The secret the simulated devices ask for after `enable`.
pub(crate) const SECRET: &str = "En4ble-s3cret";

/// How the device's output is split into reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Chunks {
    /// Everything available at once.
    Whole,
    /// One byte per read.
    Bytes,
    /// Random sizes (1..=64) from this seed.
    Random(u64),
}

/// Every chunking the tests use: the dialog must not depend on it.
pub(crate) const CHUNKINGS: [Chunks; 5] = [
    Chunks::Whole,
    Chunks::Bytes,
    Chunks::Random(1),
    Chunks::Random(7),
    Chunks::Random(0x5eed),
];

/// A stop the device makes on purpose.
#[derive(Clone, Debug)]
pub(crate) struct Stop {
    /// The write (its first line) that triggers it.
    pub(crate) on: String,
    /// How many bytes of the device's answer still get through.
    pub(crate) keep: usize,
    /// Close the channel (else: go silent).
    pub(crate) close: bool,
}

/// A simulated device session plus the wire between it and the dialog.
pub(crate) struct Device {
    pub(crate) platform: Platform,
    pub(crate) config: SharedConfig,
    pub(crate) user: String,
    secret: Option<String>,
    options: ConsoleOptions,
    console: Console,
    pending: VecDeque<u8>,
    pub(crate) closed: bool,
    silent: bool,
    /// Every write the dialog made, in order.
    pub(crate) sent: Vec<Vec<u8>>,
    /// Everything the device printed.
    pub(crate) printed: Vec<u8>,
    /// Lines the device echoes and answers with a prompt without running
    /// them (a device that ignores `terminal length 0`).
    pub(crate) ignore: Vec<String>,
    /// Echo whatever is typed at `Password:` (a misbehaving device).
    pub(crate) echo_secret: bool,
    pub(crate) stop: Option<Stop>,
}

pub(crate) fn shared(host: &str) -> SharedConfig {
    Arc::new(Mutex::new(DeviceConfig::new(host)))
}

impl Device {
    /// A session as `admin` on a fresh device, enable secret [`SECRET`].
    pub(crate) fn new(platform: Platform) -> Self {
        let host = default_host(platform);
        Self::with(
            platform,
            shared(host),
            "admin",
            Some(SECRET),
            ConsoleOptions::default(),
        )
    }

    pub(crate) fn with(
        platform: Platform,
        config: SharedConfig,
        user: &str,
        secret: Option<&str>,
        options: ConsoleOptions,
    ) -> Self {
        let mut console = Console::new(platform, config.clone(), user, secret, options);
        let banner = console.open();
        Self {
            platform,
            config,
            user: user.to_string(),
            secret: secret.map(str::to_string),
            options,
            console,
            pending: banner.iter().copied().collect(),
            closed: false,
            silent: false,
            sent: Vec::new(),
            printed: banner,
            ignore: Vec::new(),
            echo_secret: false,
            stop: None,
        }
    }

    /// The device's prompt now.
    pub(crate) fn prompt(&self) -> String {
        self.console.prompt()
    }

    fn print(&mut self, bytes: &[u8]) {
        self.pending.extend(bytes);
        self.printed.extend_from_slice(bytes);
    }

    /// One write of the dialog reaching the device.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.sent.push(bytes.to_vec());
        if self.closed || self.silent {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        let line = text.trim_end_matches('\n');
        if self.ignore.iter().any(|l| l == line) {
            let answer = format!("{line}\r\n{}", self.console.prompt());
            self.print(answer.as_bytes());
            return;
        }
        let mut out = Vec::new();
        if self.echo_secret && line == SECRET {
            out.extend_from_slice(SECRET.as_bytes());
        }
        for step in self.console.input(bytes) {
            match step {
                Step::Echo(b) | Step::Reply(b) => out.extend(b),
                Step::Close => self.closed = true,
            }
        }
        if let Some(stop) = self.stop.clone().filter(|s| s.on == line) {
            out.truncate(stop.keep);
            if stop.close {
                self.closed = true;
            } else {
                self.silent = true;
            }
        }
        self.print(&out);
    }

    /// Everything printed and not read yet.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        self.pending.drain(..).collect()
    }

    /// The lines the dialog sent, without their `\n` (the secret as
    /// `<secret>`), leaving out the one bare Enter it may press before the
    /// first prompt.
    pub(crate) fn sent_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .sent
            .iter()
            .filter(|b| b.as_slice() != b" ")
            .map(|b| {
                let s = String::from_utf8_lossy(b)
                    .trim_end_matches('\n')
                    .to_string();
                if s == SECRET { "<secret>".into() } else { s }
            })
            .collect();
        if lines.first().is_some_and(String::is_empty) {
            lines.remove(0);
        }
        lines
    }

    /// Pager continuations (spaces) the dialog sent.
    pub(crate) fn spaces_sent(&self) -> usize {
        self.sent.iter().filter(|b| b.as_slice() == b" ").count()
    }

    /// What a fresh exec-channel session on this device prints for `cmd`
    /// (the reference for captured outputs): LF line ends, IOS-XR's time
    /// stamp line masked.
    pub(crate) fn reference(&self, cmd: &str) -> String {
        let mut c = Console::new(
            self.platform,
            self.config.clone(),
            &self.user,
            self.secret.as_deref(),
            ConsoleOptions {
                page_length: 0,
                ..self.options
            },
        );
        let _ = c.open();
        let out = String::from_utf8_lossy(&c.exec(cmd).output).replace("\r\n", "\n");
        mask_time(&out)
    }
}

pub(crate) fn default_host(platform: Platform) -> &'static str {
    match platform {
        Platform::Nxos => "switch",
        Platform::Eos => "sw1",
        Platform::Linux => "host",
        _ => "R1",
    }
}

/// Masks times of day (`10:15:42`, `10:15:42.123`): `show running-config`
/// and IOS-XR's line heading every show print the current one. Uptimes
/// (minutes) are left alone: [`assert_output`] compares with the output
/// before and after the run.
pub(crate) fn mask_time(text: &str) -> String {
    static TIME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3})?").unwrap());
    TIME.replace_all(text, "<time>").into_owned()
}

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// The read timeout the harness reports when the device has nothing more
/// to say.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(7);

/// Drives `dialog` against `device` like an SSH executor would. Checks on
/// every write that the device's output was read completely (no
/// type-ahead; a trailing space may still be in flight), except the one
/// bare Enter allowed before the first prompt.
pub(crate) fn drive(
    mut dialog: Dialog,
    device: &mut Device,
    chunks: Chunks,
) -> Result<Vec<CommandOutput>, DialogError> {
    let mut rng = Rng(match chunks {
        Chunks::Random(seed) => seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        _ => 1,
    });
    let mut writes = 0;
    for _ in 0..1_000_000 {
        match dialog.progress()? {
            Progress::Done => {
                // Every line sent began an exchange; pager answers did not.
                let lines = device.sent.iter().filter(|b| b.as_slice() != b" ").count();
                assert_eq!(dialog.exchanges(), 1 + lines, "exchanges counted");
                return Ok(dialog.into_outputs());
            }
            Progress::Send(bytes) => {
                // A question's trailing space may still be in flight.
                let ready = device.pending.iter().all(|b| *b == b' ');
                let provoke = writes == 0 && bytes == b"\n";
                assert!(
                    ready || provoke,
                    "type-ahead: the dialog wrote {:?} while {:?} was still unread",
                    String::from_utf8_lossy(&bytes),
                    String::from_utf8_lossy(&device.pending.iter().copied().collect::<Vec<_>>())
                );
                writes += 1;
                assert!(
                    dialog.exchanges() <= dialog.max_exchanges(),
                    "{} exchanges, more than the {} the spec allows (the budget of -e process \
                     counts on it)",
                    dialog.exchanges(),
                    dialog.max_exchanges()
                );
                device.write(&bytes);
            }
            Progress::Read => {
                if device.pending.is_empty() {
                    return Err(if device.closed {
                        dialog.closed()
                    } else {
                        dialog.timed_out(READ_TIMEOUT)
                    });
                }
                let n = match chunks {
                    Chunks::Whole => device.pending.len(),
                    Chunks::Bytes => 1,
                    Chunks::Random(_) => 1 + rng.below(64),
                }
                .min(device.pending.len());
                let data: Vec<u8> = device.pending.drain(..n).collect();
                dialog.feed(&data);
            }
        }
    }
    panic!("the dialog never finished: {dialog:?}");
}

/// A spec for `platform` with the harness's secret.
pub(crate) fn spec(platform: Platform, mode: CliMode, commands: &[&str]) -> DialogSpec {
    DialogSpec {
        platform,
        commands: commands.iter().map(|c| CliCommand::new(*c)).collect(),
        mode,
        secret: Some(Secret::new(SECRET)),
        prompt: None,
        error_patterns: Vec::new(),
    }
}

/// Asserts `got` equals the device's reference output for `cmd`, taken
/// before or after the run (uptimes tick).
pub(crate) fn assert_output(got: &CommandOutput, cmd: &str, before: &str, after: &str, what: &str) {
    assert_eq!(got.command, cmd, "{what}");
    let got = mask_time(&got.stdout);
    assert!(
        got == before || got == after,
        "{what}: `{cmd}` captured\n{got:?}\nbut the device prints\n{after:?}"
    );
}
