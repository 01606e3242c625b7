//! The run's HTTP connections: opened within the connect deadline (TCP,
//! then TLS for https), kept alive after a complete answer and reused by
//! the next request to the same scheme, host, port and CA file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use fanout_transport::http::{self as policy, Failure};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where a connection goes, and whom it trusts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    https: bool,
    host: String,
    port: u16,
    ca_file: Option<PathBuf>,
}

impl Key {
    pub(crate) fn of(uri: &hyper::Uri, ca_file: Option<&PathBuf>) -> Result<Self, String> {
        let https = uri.scheme_str() == Some("https");
        let host = uri
            .host()
            .ok_or_else(|| format!("`{uri}` has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Self {
            https,
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            host,
            ca_file: ca_file.cloned(),
        })
    }
}

/// An open connection: its request sender, and its driver task, aborted
/// when the connection is dropped (cancelled, failed, or evicted).
pub(crate) struct Conn {
    pub(crate) sender: SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Why no connection could be opened.
pub(crate) enum ConnectError {
    /// The connect deadline passed.
    TimedOut,
    /// Refused, reset, a TLS failure...
    Failed(Failure),
    /// The CA file cannot be used (the message names it).
    Setup(String),
}

/// What every `http` host of a run shares: TLS configs per CA file and
/// the idle connections.
pub(crate) struct Shared {
    insecure: bool,
    idle_cap: usize,
    tls: Mutex<HashMap<Option<PathBuf>, Result<TlsConnector, String>>>,
    idle: Mutex<Idle>,
}

/// The idle connections by destination, and how many in all.
#[derive(Default)]
struct Idle {
    by_key: HashMap<Key, Vec<Conn>>,
    total: usize,
}

impl Shared {
    pub(crate) fn for_job(job: &fanout_core::Job) -> Self {
        Self {
            insecure: job.http.insecure,
            idle_cap: job.limits.concurrency.clamp(4, 256),
            tls: Mutex::new(HashMap::new()),
            idle: Mutex::new(Idle::default()),
        }
    }

    /// An idle connection to `key` that is still open.
    pub(crate) fn checkout(&self, key: &Key) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let Idle { by_key, total } = &mut *idle;
        let conns = by_key.get_mut(key)?;
        while let Some(c) = conns.pop() {
            *total -= 1;
            if !c.sender.is_closed() {
                return Some(c);
            }
        }
        None
    }

    /// Keeps `conn` for the next request to `key` (closed if the pool is full).
    pub(crate) fn checkin(&self, key: &Key, conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let Idle { by_key, total } = &mut *idle;
        if *total >= policy::IDLE_CONNECTIONS {
            return;
        }
        let conns = by_key.entry(key.clone()).or_default();
        if conns.len() < self.idle_cap {
            conns.push(conn);
            *total += 1;
        }
    }

    fn connector(&self, ca_file: Option<&PathBuf>) -> Result<TlsConnector, String> {
        let mut tls = self.tls.lock().unwrap_or_else(PoisonError::into_inner);
        tls.entry(ca_file.cloned())
            .or_insert_with(|| {
                let roots = if self.insecure {
                    Vec::new()
                } else {
                    policy::trusted_roots(ca_file.map(PathBuf::as_path))?
                };
                super::tls::config(roots, self.insecure).map(TlsConnector::from)
            })
            .clone()
    }

    /// A new connection to `key`, before `at`.
    pub(crate) async fn connect(
        &self,
        key: &Key,
        at: Option<Instant>,
    ) -> Result<Conn, ConnectError> {
        let connector = if key.https {
            Some(
                self.connector(key.ca_file.as_ref())
                    .map_err(ConnectError::Setup)?,
            )
        } else {
            None
        };
        let open = open(key, connector);
        match at {
            Some(at) => tokio::time::timeout_at(at.into(), open)
                .await
                .unwrap_or(Err(ConnectError::TimedOut)),
            None => open.await,
        }
    }
}

async fn open(key: &Key, tls: Option<TlsConnector>) -> Result<Conn, ConnectError> {
    let tcp = TcpStream::connect((key.host.as_str(), key.port))
        .await
        .map_err(|e| {
            ConnectError::Failed(if e.kind() == std::io::ErrorKind::ConnectionRefused {
                Failure::Refused
            } else {
                Failure::Connect(e.to_string())
            })
        })?;
    let _ = tcp.set_nodelay(true);
    let handshake = |e: hyper::Error| ConnectError::Failed(Failure::Connect(e.to_string()));
    let (sender, driver) = match tls {
        Some(tls) => {
            let name = rustls::pki_types::ServerName::try_from(key.host.clone())
                .map_err(|e| ConnectError::Failed(Failure::Connect(e.to_string())))?;
            let stream = tls.connect(name, tcp).await.map_err(|e| {
                let text = e.to_string();
                ConnectError::Failed(if policy::is_certificate_problem(&text) {
                    let detail = text
                        .split_once("invalid peer certificate: ")
                        .map_or(text.as_str(), |(_, d)| d)
                        .to_string();
                    Failure::Untrusted(detail)
                } else if e.kind() == std::io::ErrorKind::InvalidData {
                    Failure::Tls(text)
                } else {
                    Failure::Tls(format!("the device closed the connection ({text})"))
                })
            })?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(handshake)?;
            let driver = tokio::spawn(async move {
                let _ = conn.await;
            });
            (sender, driver)
        }
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(handshake)?;
            let driver = tokio::spawn(async move {
                let _ = conn.await;
            });
            (sender, driver)
        }
    };
    Ok(Conn { sender, driver })
}
