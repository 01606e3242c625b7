//! A nats-server child for one test: JetStream in a temp dir on a free
//! 127.0.0.1 port, killed and reaped on drop (tests never leak processes).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nats-server.
pub(crate) struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts one on a free port (retried on a clash).
    pub(crate) fn start() -> Self {
        let store = tempfile::tempdir().expect("temp dir");
        for _ in 0..10 {
            let port = free_port();
            if let Some(child) = spawn(port, store.path()) {
                return Self {
                    child: Some(child),
                    port,
                    store,
                };
            }
        }
        panic!(
            "nats-server did not start on a free port (is it installed? apt-get install -y nats-server)"
        );
    }

    /// `nats://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Where JetStream stores its data.
    pub(crate) fn store(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    /// Kills the server (SIGKILL), waits `down`, and starts it again on the
    /// same port and store.
    pub(crate) fn restart(&mut self, down: Duration) {
        self.stop();
        std::thread::sleep(down);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(child) = spawn(self.port, self.store.path()) {
                self.child = Some(child);
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("nats-server did not restart on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// Starts nats-server and waits until it accepts connections; `None` if it
/// exited (e.g. the port was taken meanwhile).
fn spawn(port: u16, store: &Path) -> Option<Child> {
    let mut child = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server runs (apt-get install -y nats-server)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        // The port was free a moment ago, but another test may have bound
        // it since (a simulated device's listener): only a server that
        // greets with NATS's `INFO` is ours.
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut greeting = [0u8; 4];
            if stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO" {
                return Some(child);
            }
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
