//! The telnet side of a device (`sim serve --telnet`): option negotiation
//! through libmudtelnet (a maintained sans-IO telnet parser: it answers
//! options from a support table and leaves the socket to us; whole reads
//! go in, which loses a client's 0xFF data byte — clients type ASCII — see
//! `fanout_transport::telnet::Codec` for the client side's workaround), the platform's login dialog (`Username:` / `Password:` on Cisco,
//! `login:` elsewhere), then the same console as over SSH.
//!
//! The device offers WILL ECHO and WILL SGA (character mode, as IOS does)
//! and echoes typed characters whatever the client answered — real boxes do,
//! and netmiko's telnet driver, which refuses every option, relies on it.
//! Faults: `refuse`, `auth_fail` (every login is `% Login invalid`; three
//! tries, then the device hangs up), `hang_on_connect` (no login prompt),
//! `slow_banner` (the login prompt comes late), `hang_on_command`,
//! `drop_mid_output`, `endless_output` behave as over SSH; `wrong_host_key`
//! and `legacy_algorithms` have no telnet meaning and change nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use fanout_core::Platform;
use libmudtelnet::Parser;
use libmudtelnet::compatibility::CompatibilityTable;
use libmudtelnet::events::TelnetEvents;
use libmudtelnet::telnet::op_option::{ECHO, SGA};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::device::Device;
use crate::faults::Fault;
use crate::limits::Startup;
use crate::session::{ShellTask, Wire};
use crate::wire::{KillSwitch, KillableStream};

type Writer = Arc<tokio::sync::Mutex<WriteHalf<KillableStream>>>;

/// Logins tried on one connection before the device hangs up (IOS: 3).
const LOGIN_TRIES: usize = 3;

/// An admitted connection: negotiation, login, console.
pub(crate) async fn session(socket: TcpStream, device: &Arc<Device>, startup: Startup) {
    let kill = Arc::new(KillSwitch::default());
    let (rd, wr) = tokio::io::split(KillableStream::new(socket, kill.clone()));
    let writer: Writer = Arc::new(tokio::sync::Mutex::new(wr));
    let mut table = CompatibilityTable::new();
    table.support_local(ECHO);
    table.support_local(SGA);
    let mut parser = Parser::with_support(table);
    let mut hello = Vec::new();
    for offer in [parser._will(ECHO), parser._will(SGA)]
        .into_iter()
        .flatten()
    {
        hello.extend_from_slice(&offer.to_bytes());
    }
    let closed = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_loop(
        rd,
        Arc::new(Mutex::new(parser)),
        writer.clone(),
        tx,
        closed.clone(),
    ));
    let mut wire = TelnetWire {
        writer,
        kill,
        closed,
    };
    if wire.send_raw(&hello).await
        && let Some(typed) = login(device, &mut wire, &mut rx).await
    {
        drop(startup);
        ShellTask::new(device, wire, rx)
            .with_typeahead(typed.rest, typed.after_cr)
            .run()
            .await;
    } else {
        wire.finish(0).await;
    }
    reader.abort();
}

/// A connection beyond the session limit: one line saying why, then the
/// device hangs up.
pub(crate) async fn refuse_busy(mut socket: TcpStream, why: &str) {
    let _ = socket
        .write_all(format!("\r\n% {why}\r\n").as_bytes())
        .await;
    let _ = socket.shutdown().await;
}

/// Feeds the socket to the parser: data goes to the session, negotiation
/// answers straight back to the client. (libmudtelnet reads the two-byte
/// commands IP, AYT, BRK as three-byte negotiations: clients in character
/// mode send Ctrl-C as a plain 0x03, which the console handles.)
async fn read_loop(
    mut rd: ReadHalf<KillableStream>,
    parser: Arc<Mutex<Parser>>,
    writer: Writer,
    tx: mpsc::UnboundedSender<Vec<u8>>,
    closed: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let events = parser
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .receive(&buf[..n]);
        let (mut data, mut answer) = (Vec::new(), Vec::new());
        for event in events {
            match event {
                TelnetEvents::DataReceive(b) => data.extend_from_slice(&b),
                TelnetEvents::DataSend(b) => answer.extend_from_slice(&b),
                _ => {}
            }
        }
        if !answer.is_empty() && writer.lock().await.write_all(&answer).await.is_err() {
            break;
        }
        if !data.is_empty() && tx.send(data).is_err() {
            break;
        }
    }
    closed.store(true, Ordering::SeqCst);
}

/// The session's end of the connection.
struct TelnetWire {
    writer: Writer,
    kill: Arc<KillSwitch>,
    /// The client hung up.
    closed: Arc<AtomicBool>,
}

impl TelnetWire {
    async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        !self.closed.load(Ordering::SeqCst)
            && self.writer.lock().await.write_all(bytes).await.is_ok()
    }
}

impl Wire for TelnetWire {
    async fn send(&mut self, bytes: Vec<u8>) -> bool {
        let escaped = Parser::escape_iac(bytes);
        self.send_raw(&escaped).await
    }

    fn kill(&mut self) {
        self.kill.kill();
    }

    async fn finish(&mut self, _exit_status: u32) {
        let _ = self.writer.lock().await.shutdown().await;
    }
}

/// What the client typed after its password (type-ahead for the console).
struct Typed {
    rest: Vec<u8>,
    /// The password ended with CR and nothing came after it yet: a LF or
    /// NUL that follows belongs to that CR.
    after_cr: bool,
}

/// A line discipline for the login dialog: echo (unless hidden), erase,
/// Enter as CR, LF, CR LF or CR NUL.
struct LineReader<'a> {
    rx: &'a mut mpsc::UnboundedReceiver<Vec<u8>>,
    pending: Vec<u8>,
    skip_lf: bool,
}

impl LineReader<'_> {
    async fn line(&mut self, wire: &mut TelnetWire, echo: bool) -> Option<String> {
        let mut line: Vec<u8> = Vec::new();
        loop {
            if self.pending.is_empty() {
                self.pending = self.rx.recv().await?;
            }
            let b = self.pending.remove(0);
            if std::mem::take(&mut self.skip_lf) && (b == b'\n' || b == 0) {
                continue;
            }
            let mut out: Vec<u8> = Vec::new();
            match b {
                b'\r' | b'\n' => {
                    self.skip_lf = b == b'\r';
                    let _ = wire.send(b"\r\n".to_vec()).await;
                    return Some(String::from_utf8_lossy(&line).into_owned());
                }
                0x08 | 0x7f => {
                    let erased = line.pop().is_some();
                    if erased && echo {
                        out.extend_from_slice(b"\x08 \x08");
                    }
                }
                b if b >= 0x20 && line.len() < 256 => {
                    line.push(b);
                    if echo {
                        out.push(b);
                    }
                }
                _ => {}
            }
            if !out.is_empty() && !wire.send(out).await {
                return None;
            }
        }
    }
}

/// The platform's login dialog: `(heading, user prompt, password prompt,
/// rejection)`.
fn dialog(p: Platform, host: &str) -> (String, String, &'static str, &'static str) {
    match p {
        Platform::Ios | Platform::Iosxe | Platform::Iosxr => (
            "\r\n\r\nUser Access Verification\r\n\r\n".into(),
            "Username: ".into(),
            "Password: ",
            "% Login invalid\r\n\r\n",
        ),
        Platform::Nxos => (
            "\r\nUser Access Verification\r\n".into(),
            format!("{host} login: "),
            "Password: ",
            "Login incorrect\r\n",
        ),
        Platform::Junos => (
            format!("\r\n\r\n{host} (ttyp0)\r\n\r\n"),
            "login: ".into(),
            "Password:",
            "Login incorrect\r\n",
        ),
        Platform::Eos => (
            "\r\n".into(),
            format!("{host} login: "),
            "Password: ",
            "\r\nLogin incorrect\r\n",
        ),
        Platform::Linux => (
            "Ubuntu 24.04.1 LTS\r\n".into(),
            format!("{host} login: "),
            "Password: ",
            "\r\nLogin incorrect\r\n",
        ),
    }
}

/// Asks for a username and password until one is right (`LOGIN_TRIES`
/// tries). `None`: the client left or ran out of tries.
async fn login(
    device: &Arc<Device>,
    wire: &mut TelnetWire,
    rx: &mut mpsc::UnboundedReceiver<Vec<u8>>,
) -> Option<Typed> {
    let spec = &device.spec;
    let host = device
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .hostname
        .clone();
    let (heading, user_prompt, password_prompt, rejected) = dialog(spec.platform, &host);
    let mut reader = LineReader {
        rx,
        pending: Vec::new(),
        skip_lf: false,
    };
    if !wire.send(heading.into_bytes()).await {
        return None;
    }
    for _ in 0..LOGIN_TRIES {
        if !wire.send(user_prompt.clone().into_bytes()).await {
            return None;
        }
        let user = reader.line(wire, true).await?;
        if !wire.send(password_prompt.as_bytes().to_vec()).await {
            return None;
        }
        let password = reader.line(wire, false).await?;
        if !spec.auth_delay.is_zero() {
            tokio::time::sleep(spec.auth_delay).await;
        }
        let ok = !device.has(Fault::AuthFail) && user == spec.username && password == spec.password;
        if ok {
            device.stats.login();
            return Some(Typed {
                rest: std::mem::take(&mut reader.pending),
                after_cr: reader.skip_lf,
            });
        }
        device.stats.auth_failure();
        if !wire.send(rejected.as_bytes().to_vec()).await {
            return None;
        }
    }
    None
}
