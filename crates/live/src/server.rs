//! [`LiveServer`]: binds, serves the page on its own thread and tokio
//! runtime, takes outcomes from the run thread without ever blocking it, and
//! shuts down (after lingering) when the command is done.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use fanout_core::{HostOutcome, RunSummary};
use tokio::sync::{mpsc, oneshot};

use crate::LiveError;
use crate::event::RunInfo;
use crate::http::{self, Access};
use crate::hub::{Cmd, Hub};

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address to bind (port 0: any free port, read back in [`LiveServer::url`]).
    pub addr: SocketAddr,
    /// Allow a non-loopback address; a random token is then required in
    /// the URL of the page, the websocket and the API.
    pub public: bool,
    /// Shown at the top of the page (the command, never a secret).
    pub title: String,
}

/// One run section of the page, from [`LiveHandle::begin_run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunId(pub usize);

enum Msg {
    Cmd(Cmd),
    /// Answered once every earlier message is in the log.
    Flush(std::sync::mpsc::Sender<()>),
}

/// Sends a run's events to the page; cheap to clone, usable from any
/// thread. Every call returns at once (an unbounded channel to the server
/// thread): a slow or absent browser never slows the run.
#[derive(Clone)]
pub struct LiveHandle {
    tx: mpsc::UnboundedSender<Msg>,
    runs: Arc<Mutex<usize>>,
}

impl LiveHandle {
    /// Opens a run section (`fanout compare`: one per executor run).
    pub fn begin_run(&self, info: RunInfo) -> RunId {
        let mut next = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let id = RunId(*next);
        *next += 1;
        // Sent under the lock, so run numbers follow the channel's order.
        let _ = self.tx.send(Msg::Cmd(Cmd::Begin(
            info,
            SystemTime::now(),
            Instant::now(),
        )));
        id
    }

    /// One host finished.
    pub fn host(&self, run: RunId, outcome: HostOutcome) {
        let _ = self.tx.send(Msg::Cmd(Cmd::Host(run.0, outcome)));
    }

    /// The run ended; `None` when it broke off without a summary.
    pub fn end_run(&self, run: RunId, summary: Option<&RunSummary>) {
        let _ = self.tx.send(Msg::Cmd(Cmd::End(run.0, summary.cloned())));
    }

    fn flush(&self, timeout: Duration) {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(timeout);
        }
    }
}

/// The live view of one `fanout run` or `fanout compare`.
pub struct LiveServer {
    handle: LiveHandle,
    hub: Arc<Hub>,
    url: String,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// How long `finish` waits for connected browsers to receive the end.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

impl LiveServer {
    /// Binds `config.addr` and starts serving. A non-loopback address
    /// without `config.public` is refused.
    pub fn start(config: ServeConfig) -> Result<Self, LiveError> {
        let ServeConfig {
            addr,
            public,
            title,
        } = config;
        if !public && !addr.ip().is_loopback() {
            return Err(LiveError::NotLoopback { addr });
        }
        let token = if public { Some(random_token()?) } else { None };
        let listener =
            TcpListener::bind(addr).map_err(|source| LiveError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| LiveError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| LiveError::Bind { addr, source })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LiveError::Runtime)?;

        let hub = Hub::new(title);
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let access = Access {
            token: token.clone(),
            loopback_only: !public,
        };
        let app = http::router(Arc::clone(&hub), access);
        let hub_task = Arc::clone(&hub);
        let thread = std::thread::Builder::new()
            .name("fanout-live".into())
            .spawn(move || {
                runtime.block_on(serve(listener, app, hub_task, rx, stop_rx));
                // Dropping the runtime ends the websocket tasks still open.
                runtime.shutdown_timeout(Duration::from_millis(200));
            })
            .map_err(LiveError::Runtime)?;

        let url = match &token {
            Some(t) => format!("http://{bound}/?token={t}"),
            None => format!("http://{bound}/"),
        };
        Ok(Self {
            handle: LiveHandle {
                tx,
                runs: Arc::new(Mutex::new(0)),
            },
            hub,
            url,
            addr: bound,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The page's URL (with `?token=` when one is needed).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends events from any thread.
    pub fn handle(&self) -> &LiveHandle {
        &self.handle
    }

    /// Browsers connected now.
    pub fn clients(&self) -> usize {
        self.hub.clients()
    }

    /// The command is over: tells every browser (final summaries are
    /// already sent), waits a little for connected browsers to receive
    /// everything, keeps serving for `linger` (late browsers get the whole
    /// replay) unless `stop()` turns true, then shuts the server down.
    pub fn finish(mut self, linger: Duration, stop: &dyn Fn() -> bool) {
        self.handle.flush(DRAIN_TIMEOUT);
        self.handle.tx.send(Msg::Cmd(Cmd::Done(linger))).ok();
        self.handle.flush(DRAIN_TIMEOUT);
        wait_until(DRAIN_TIMEOUT, stop, || self.hub.all_sent());
        let end = Instant::now() + linger;
        while Instant::now() < end && !stop() {
            std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
        }
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.hub.close();
        // Clients send what is left, then a close frame.
        wait_until(Duration::from_secs(1), &|| false, || {
            self.hub.clients() == 0
        });
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn wait_until(limit: Duration, stop: &dyn Fn() -> bool, done: impl Fn() -> bool) {
    let end = Instant::now() + limit;
    while !done() && !stop() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
}

async fn serve(
    listener: TcpListener,
    app: axum::Router,
    hub: Arc<Hub>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    stop: oneshot::Receiver<()>,
) {
    tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Cmd(cmd) => hub.apply(cmd),
                Msg::Flush(ack) => {
                    let _ = ack.send(());
                }
            }
        }
    });
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fanout: the live view could not listen: {e}");
            return;
        }
    };
    let (quit_tx, quit_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let graceful = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = quit_rx.await;
        });
        if let Err(e) = graceful.await {
            eprintln!("fanout: the live view stopped: {e}");
        }
    });
    let _ = stop.await;
    let _ = quit_tx.send(());
    // Open keep-alive connections get a moment; the runtime drops the rest.
    let _ = tokio::time::timeout(Duration::from_millis(500), server).await;
}

/// 128 random bits as 32 hex digits, from the kernel.
fn random_token() -> Result<String, LiveError> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(LiveError::Token)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn non_loopback_needs_public() {
        let err = LiveServer::start(ServeConfig {
            addr: "0.0.0.0:0".parse().unwrap(),
            public: false,
            title: String::new(),
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("--serve-public"), "{err}");
    }
}
