//! The routes: the page and its assets, the websocket, the output API, and
//! the guard in front of them (token, loopback Host, same Origin).

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::event;
use crate::hub::Hub;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Most bytes of events in one websocket message.
const BATCH_BYTES: usize = 256 << 10;

/// Who may talk to the server.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    /// Required as `?token=` on the page, the websocket and the API.
    pub(crate) token: Option<String>,
    /// Answer only requests whose Host is a loopback name (no DNS rebinding).
    pub(crate) loopback_only: bool,
}

#[derive(Clone)]
struct AppState {
    hub: Arc<Hub>,
    access: Arc<Access>,
}

pub(crate) fn router(hub: Arc<Hub>, access: Access) -> Router {
    let state = AppState {
        hub,
        access: Arc::new(access),
    };
    Router::new()
        .route("/", get(index))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript", APP_JS) }),
        )
        .route("/app.css", get(|| async { asset("text/css", APP_CSS) }))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/ws", get(websocket))
        .route("/api/output", get(output))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, format!("fanout live view: {why}\n")).into_response()
}

/// Checks every request, then adds the headers every response carries.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if state.access.loopback_only
        && let Some(host) = host
        && !is_loopback_host(host)
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "this server answers only on a loopback address (127.0.0.1, localhost, [::1]); open the URL fanout printed",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same = host.is_some_and(|h| origin.as_bytes() == format!("http://{h}").as_bytes());
        if !same {
            return refuse(
                StatusCode::FORBIDDEN,
                "cross-origin requests are refused; open the URL fanout printed",
            );
        }
    }
    let path = req.uri().path();
    let asset = matches!(path, "/app.js" | "/app.css" | "/favicon.ico");
    if let Some(token) = &state.access.token
        && !asset
        && !query_value(req.uri().query(), "token").is_some_and(|t| same_bytes(t, token))
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "missing or wrong token: open the whole URL fanout printed on stderr (it ends in ?token=...)",
        );
    }
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `127.0.0.1:8080`, `localhost`, `[::1]:8080`...
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn query_value<'q>(query: Option<&'q str>, key: &str) -> Option<&'q str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

/// Compares without stopping at the first difference.
fn same_bytes(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

#[derive(Deserialize)]
struct OutputQuery {
    run: usize,
    i: usize,
}

/// The full outcome (every output, uncut) of one host.
async fn output(State(state): State<AppState>, Query(q): Query<OutputQuery>) -> Response {
    match state.hub.outcome(q.run, q.i) {
        Some(outcome) => match serde_json::to_string(&*outcome) {
            Ok(json) => Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
            Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        None => refuse(
            StatusCode::NOT_FOUND,
            &format!("no host {} in run {}", q.i, q.run),
        ),
    }
}

async fn websocket(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(64 << 10)
        .on_upgrade(move |socket| client(socket, state.hub))
}

/// One browser: the hello, then the log from the start, in batches, as
/// fast as the browser takes them; a close frame once the log is closed.
async fn client(mut socket: WebSocket, hub: Arc<Hub>) {
    let (id, mut len) = hub.join();
    let hello = format!("[{}]", event::hello(&hub.title));
    if socket.send(Message::Text(hello.into())).await.is_ok() {
        let mut cursor = 0;
        loop {
            let batch = hub.read(id, cursor, BATCH_BYTES);
            if !batch.events.is_empty() {
                let mut text = String::with_capacity(BATCH_BYTES + 2);
                text.push('[');
                for (n, e) in batch.events.iter().enumerate() {
                    if n > 0 {
                        text.push(',');
                    }
                    text.push_str(e);
                }
                text.push(']');
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
                cursor = batch.next;
                continue;
            }
            if batch.finished {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            tokio::select! {
                changed = len.changed() => if changed.is_err() { break },
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    hub.leave(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "127.0.0.1:8080",
            "127.3.4.5",
            "localhost:1",
            "LOCALHOST",
            "[::1]:9",
            "[::1]",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "10.0.0.1:80",
            "[::2]:1",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn token_and_query() {
        assert_eq!(query_value(Some("a=1&token=ab"), "token"), Some("ab"));
        assert_eq!(query_value(Some("tokens=ab"), "token"), None);
        assert_eq!(query_value(None, "token"), None);
        assert!(same_bytes("abc", "abc"));
        assert!(!same_bytes("abc", "abd") && !same_bytes("abc", "ab"));
    }
}
