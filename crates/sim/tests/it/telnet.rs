//! The fleet over telnet (`FleetBuilder::telnet`): real bytes on a socket,
//! with a client side built on the same sans-IO parser (libmudtelnet), and
//! Python's telnetlib where it exists; login, enable, show, configuration,
//! and the faults that make sense over telnet.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use fanout_sim::{Fault, Fleet, SessionLimitMode};
use libmudtelnet::Parser;
use libmudtelnet::compatibility::CompatibilityTable;
use libmudtelnet::events::TelnetEvents;
use libmudtelnet::telnet::op_option::{ECHO, SGA};

/// A telnet client that accepts the server's ECHO and SGA offers.
struct Client {
    stream: TcpStream,
    parser: Parser,
    /// Everything received so far, as text.
    text: String,
    /// The raw bytes received so far.
    raw: Vec<u8>,
    /// Where the last `expect` matched up to.
    seen: usize,
    eof: bool,
}

impl Client {
    fn connect(fleet: &Fleet, name: &str) -> std::io::Result<Client> {
        let d = fleet.devices().iter().find(|d| d.name == name).unwrap();
        let stream = TcpStream::connect((d.address, d.port))?;
        stream.set_read_timeout(Some(Duration::from_millis(50)))?;
        let mut table = CompatibilityTable::new();
        table.support_remote(ECHO);
        table.support_remote(SGA);
        Ok(Client {
            stream,
            parser: Parser::with_support(table),
            text: String::new(),
            raw: Vec::new(),
            seen: 0,
            eof: false,
        })
    }

    /// Reads for up to `limit`, or until `done(text)`.
    fn pump(&mut self, limit: Duration, done: impl Fn(&str) -> bool) {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while !done(&self.text) && !self.eof && start.elapsed() < limit {
            match self.stream.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.raw.extend_from_slice(&buf[..n]);
                    for ev in self.parser.receive(&buf[..n]) {
                        match ev {
                            TelnetEvents::DataReceive(b) => {
                                self.text.push_str(&String::from_utf8_lossy(&b))
                            }
                            TelnetEvents::DataSend(b) => {
                                let _ = self.stream.write_all(&b);
                            }
                            _ => {}
                        }
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => self.eof = true,
            }
        }
    }

    /// Waits for `needle` after the last match; returns what came up to
    /// and including it.
    fn expect(&mut self, needle: &str) -> String {
        let from = self.seen;
        self.pump(Duration::from_secs(10), |t| t[from..].contains(needle));
        let Some(at) = self.text[from..].find(needle) else {
            panic!("waited for {needle:?}, got {:?}", &self.text[from..]);
        };
        self.seen = from + at + needle.len();
        self.text[from..self.seen].to_string()
    }

    fn send(&mut self, line: &str) {
        self.stream.write_all(line.as_bytes()).unwrap();
    }
}

fn telnet_fleet(builder: fanout_sim::FleetBuilder) -> (Fleet, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let fleet = builder
        .telnet(true)
        .inventory_out(dir.path().join("fleet.yaml"))
        .start()
        .unwrap();
    (fleet, dir)
}

#[test]
fn telnet_login_enable_show_and_config_through_real_bytes() {
    let (fleet, _dir) = telnet_fleet(Fleet::builder().devices(2));
    assert!(fleet.telnet());
    let inv = std::fs::read_to_string(fleet.inventory_path()).unwrap();
    for d in fleet.devices() {
        assert!(
            inv.contains(&format!("port: {}, platform: ios", d.port)),
            "{inv}"
        );
    }
    assert_eq!(inv.matches("transport: telnet").count(), 2, "{inv}");
    assert!(
        !inv.contains("known_hosts:"),
        "no host keys over telnet: {inv}"
    );

    let mut c = Client::connect(&fleet, "r1").unwrap();
    let heading = c.expect("Username: ");
    assert!(heading.contains("User Access Verification"), "{heading:?}");
    // Character mode, as IOS offers it: IAC WILL ECHO, IAC WILL SGA.
    assert!(c.raw.windows(3).any(|w| w == [255, 251, 1]), "{:?}", c.raw);
    assert!(c.raw.windows(3).any(|w| w == [255, 251, 3]), "{:?}", c.raw);
    c.send("cisco\r\n");
    assert!(
        c.expect("Password: ").starts_with("cisco"),
        "the username is echoed"
    );
    c.send("cisco\r\0");
    let after = c.expect("r1>");
    assert!(
        !after.contains("cisco"),
        "the password is not echoed: {after:?}"
    );
    c.send("enable\r\n");
    c.expect("Password: ");
    c.send("cisco\r\n");
    c.expect("r1#");
    c.send("terminal length 0\r\n");
    c.expect("r1#");
    c.send("show version\r\n");
    let out = c.expect("r1#");
    assert!(out.contains("Cisco IOS Software"), "{out}");
    assert!(out.contains("r1 uptime is"), "{out}");
    c.send("show cdp neighbors\r\n");
    let out = c.expect("r1#");
    assert!(
        out.contains("r2 ") && out.contains("Total cdp entries displayed : 1"),
        "{out}"
    );
    // Type-ahead in one write, CR LF line ends.
    c.send("configure terminal\r\nhostname tel1\r\nend\r\n");
    c.expect("tel1#");
    c.send("exit\r\n");
    c.pump(Duration::from_secs(5), |_| false);
    assert!(c.eof, "exit closes the connection");
    assert_eq!(fleet.stats().logins, 1);
    assert!(fleet.stats().commands >= 4);

    // The name sticks for the next session, and Ctrl-C (character mode
    // sends it as is) clears a line.
    let mut c = Client::connect(&fleet, "r1").unwrap();
    c.expect("Username: ");
    c.send("cisco\r\ncisco\r\n");
    c.expect("tel1>");
    c.send("show clo");
    c.stream.write_all(&[0x03]).unwrap();
    c.expect("tel1>");
}

#[test]
fn telnet_faults() {
    let spec = "auth_fail=r1,hang_on_connect=r2,slow_banner=r3,refuse=r4,drop_mid_output=r5,hang_on_command=r6,endless_output=r7"
        .parse()
        .unwrap();
    let (fleet, _dir) = telnet_fleet(
        Fleet::builder()
            .devices(7)
            .faults(spec)
            .slow_banner_delay(Duration::from_millis(1200)),
    );
    let login = |name: &str| {
        let mut c = Client::connect(&fleet, name).unwrap();
        c.expect("Username: ");
        c.send("cisco\r\ncisco\r\n");
        c
    };

    // auth_fail: three refusals, then the device hangs up.
    let mut c = Client::connect(&fleet, "r1").unwrap();
    for _ in 0..3 {
        c.expect("Username: ");
        c.send("cisco\r\ncisco\r\n");
        c.expect("% Login invalid");
    }
    c.pump(Duration::from_secs(5), |_| false);
    assert!(c.eof, "hangs up after three tries: {:?}", c.text);
    assert_eq!(fleet.stats().auth_failures, 3);

    // hang_on_connect: not a byte, not even option negotiation.
    let mut c = Client::connect(&fleet, "r2").unwrap();
    c.pump(Duration::from_millis(800), |_| false);
    assert!(c.raw.is_empty() && !c.eof, "{:?}", c.raw);

    // slow_banner: the login prompt comes late.
    let started = Instant::now();
    let mut c = Client::connect(&fleet, "r3").unwrap();
    c.expect("Username: ");
    assert!(
        started.elapsed() >= Duration::from_millis(1100),
        "{:?}",
        started.elapsed()
    );

    // refuse: the port is closed.
    let err = Client::connect(&fleet, "r4").err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);

    // drop_mid_output: half the output, then the connection is gone.
    let mut c = login("r5");
    c.expect("r5>");
    c.send("show version\r\n");
    c.pump(Duration::from_secs(5), |_| false);
    assert!(c.eof, "the connection drops");
    assert!(
        c.text.contains("Cisco IOS") && !c.text.contains("Configuration register"),
        "{}",
        c.text
    );

    // hang_on_command: a prompt, then silence.
    let mut c = login("r6");
    c.expect("r6>");
    c.send("show clock\r\n");
    let from = c.text.len();
    c.pump(Duration::from_millis(800), |_| false);
    assert!(
        !c.text[from..].contains("r6>") && !c.eof,
        "{:?}",
        &c.text[from..]
    );

    // endless_output: after the login, output without end.
    let mut c = login("r7");
    c.pump(Duration::from_millis(800), |t| {
        t.matches(Fault::ENDLESS_LINE).count() > 500
    });
    assert!(
        c.text.matches(Fault::ENDLESS_LINE).count() > 500,
        "{}",
        c.text.len()
    );
}

#[test]
fn telnet_session_limit_refuses_with_a_message() {
    let (fleet, _dir) = telnet_fleet(
        Fleet::builder()
            .devices(1)
            .max_sessions(1, SessionLimitMode::Refuse),
    );
    let mut first = Client::connect(&fleet, "r1").unwrap();
    first.expect("Username: ");
    let mut second = Client::connect(&fleet, "r1").unwrap();
    second.pump(Duration::from_secs(5), |_| false);
    assert!(second.eof);
    assert!(
        second
            .text
            .contains("too many sessions: all 1 of r1 are in use"),
        "{:?}",
        second.text
    );
    assert_eq!(fleet.stats().sessions_refused, 1);
}

/// Python's telnetlib (there until Python 3.12), if this machine has it: an
/// independent client, which refuses every option (as netmiko's telnet
/// driver does), so the device must echo all the same.
#[test]
fn python_telnetlib_logs_in_and_runs_show_version() {
    let have = Command::new("python3")
        .args(["-W", "ignore", "-c", "import telnetlib"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("python3 telnetlib not available: skipped");
        return;
    }
    let (fleet, _dir) = telnet_fleet(Fleet::builder().devices(1));
    let port = fleet.devices()[0].port;
    let script = format!(
        r#"
import telnetlib
t = telnetlib.Telnet("127.0.0.1", {port}, timeout=10)
t.read_until(b"Username: ", 10)
t.write(b"cisco\n")
t.read_until(b"Password: ", 10)
t.write(b"cisco\n")
t.read_until(b"r1>", 10)
t.write(b"enable\n")
t.read_until(b"Password: ", 10)
t.write(b"cisco\n")
t.read_until(b"r1#", 10)
t.write(b"terminal length 0\n")
t.read_until(b"r1#", 10)
t.write(b"show version\n")
print(t.read_until(b"r1#", 10).decode())
t.write(b"exit\n")
t.close()
"#
    );
    let out = Command::new("python3")
        .args(["-W", "ignore", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("show version"),
        "the command is echoed: {stdout}"
    );
    assert!(
        stdout.contains("Cisco IOS Software") && stdout.trim_end().ends_with("r1#"),
        "{stdout}"
    );
}

#[test]
fn every_platform_has_its_login_dialog() {
    use fanout_core::Platform;
    for (platform, user_prompt, prompt) in [
        (Platform::Ios, "Username: ", "r1>"),
        (Platform::Iosxe, "Username: ", "r1>"),
        (Platform::Iosxr, "Username: ", "RP/0/RP0/CPU0:r1#"),
        (Platform::Nxos, "r1 login: ", "r1#"),
        (Platform::Eos, "r1 login: ", "r1>"),
        (Platform::Junos, "login: ", "cisco@r1>"),
        (Platform::Linux, "r1 login: ", "cisco@r1:~$ "),
    ] {
        let (fleet, _dir) = telnet_fleet(Fleet::builder().devices(1).platform(platform));
        let mut c = Client::connect(&fleet, "r1").unwrap();
        c.expect(user_prompt);
        c.send("cisco\n");
        c.expect("Password:");
        c.send("cisco\n");
        c.expect(prompt);
    }
}
