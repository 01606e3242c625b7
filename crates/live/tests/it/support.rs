//! A websocket client reading event batches, and raw HTTP/1.1 requests
//! (headers set exactly, to test the guard).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use fanout_core::{CommandOutput, HostOutcome, Worker};
use fanout_live::{LiveServer, ServeConfig};
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

pub(crate) fn server(public: bool) -> LiveServer {
    LiveServer::start(ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        public,
        title: "fanout run test".into(),
    })
    .unwrap()
}

pub(crate) fn outcome(host: &str, stdout: &str) -> HostOutcome {
    HostOutcome::ok(
        host,
        vec![CommandOutput {
            command: "show version".into(),
            stdout: stdout.into(),
            ..Default::default()
        }],
        Worker::Task(0),
    )
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(url: &str) -> Socket {
    let ws = url
        .replacen("http://", "ws://", 1)
        .replacen("/?", "/ws?", 1);
    let ws = if ws.ends_with('/') {
        format!("{ws}ws")
    } else {
        ws
    };
    tokio_tungstenite::connect_async(ws).await.unwrap().0
}

/// Reads events until `stop` says so (or the server closes); fails after
/// `limit`.
pub(crate) async fn read_until(
    socket: &mut Socket,
    limit: Duration,
    mut stop: impl FnMut(&[Value]) -> bool,
) -> (Vec<Value>, bool) {
    let mut events: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if stop(&events) {
            return (events, false);
        }
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("timed out; got {} events", events.len()));
        match msg {
            Some(Ok(Message::Text(text))) => {
                let batch: Vec<Value> = serde_json::from_str(&text).unwrap();
                events.extend(batch);
            }
            Some(Ok(Message::Close(_))) | None => return (events, true),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("websocket error: {e}"),
        }
    }
}

pub(crate) fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

/// A raw HTTP/1.1 GET with exactly these headers; returns (status, headers, body).
pub(crate) fn get(
    addr: SocketAddr,
    target: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {target} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// `Host: 127.0.0.1:PORT`.
pub(crate) fn host_header(addr: SocketAddr) -> String {
    addr.to_string()
}
