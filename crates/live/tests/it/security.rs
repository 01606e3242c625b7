//! Who may read the page: loopback Host only, same Origin only, and a token
//! when served beyond loopback. (Secrets: tests/e2e/live.rs runs a real
//! inventory with a distinctive password and searches the page for it.)

use std::time::Duration;

use fanout_live::{LiveError, LiveServer, ServeConfig};

use crate::support::{connect, get, host_header, read_until, runtime, server};

#[test]
fn the_page_and_its_assets_are_embedded_and_locked_down() {
    let live = server(false);
    let addr = live.local_addr();
    let host = host_header(addr);
    let (status, head, body) = get(addr, "/", &[("Host", &host)]);
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(body.contains(r#"<script src="app.js""#), "{body}");
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "no CDN"
    );
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{head}"
    );
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    for (path, ty) in [("/app.js", "text/javascript"), ("/app.css", "text/css")] {
        let (status, head, body) = get(addr, path, &[("Host", &host)]);
        assert_eq!(status, 200, "{path}");
        assert!(head.contains(&format!("content-type: {ty}")), "{head}");
        assert!(body.len() > 1000, "{path} is the real asset");
    }
    let (_, _, js) = get(addr, "/app.js", &[("Host", &host)]);
    assert!(
        !js.contains("innerHTML"),
        "names and outputs are set as text"
    );
}

#[test]
fn loopback_serving_refuses_foreign_hosts_and_origins() {
    let live = server(false);
    let addr = live.local_addr();
    let host = host_header(addr);
    // DNS rebinding: a foreign name resolving to 127.0.0.1.
    let (status, _, body) = get(addr, "/", &[("Host", "attacker.example:80")]);
    assert_eq!(status, 403);
    assert!(body.contains("only on a loopback address"), "{body}");
    let (status, _, _) = get(
        addr,
        "/",
        &[("Host", &format!("localhost:{}", addr.port()))],
    );
    assert_eq!(status, 200);
    // Another site's page opening our websocket or API.
    let ws_headers = [
        ("Host", host.as_str()),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let mut foreign = ws_headers.to_vec();
    foreign.push(("Origin", "http://attacker.example"));
    let (status, _, body) = get(addr, "/ws", &foreign);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("cross-origin"), "{body}");
    let (status, _, _) = get(
        addr,
        "/api/output?run=0&i=0",
        &[("Host", &host), ("Origin", "http://attacker.example")],
    );
    assert_eq!(status, 403);
    // The page's own origin is fine.
    let own = format!("http://{host}");
    let mut same = ws_headers.to_vec();
    same.push(("Origin", own.as_str()));
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    let mut req = String::from("GET /ws HTTP/1.1\r\n");
    for (k, v) in &same {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 101", "same-origin websocket upgrades");
}

#[test]
fn public_serving_needs_the_flag_and_then_the_token() {
    let err = LiveServer::start(ServeConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        public: false,
        title: String::new(),
    })
    .err()
    .unwrap();
    assert!(matches!(err, LiveError::NotLoopback { .. }));
    assert!(err.to_string().contains("--serve-public"), "{err}");

    // --serve-public (tested on loopback: tests never leave 127.0.0.0/8).
    let live = server(true);
    let url = live.url().to_string();
    let token = url.split_once("?token=").expect("a token in the URL").1;
    assert_eq!(token.len(), 32, "{url}");
    let addr = live.local_addr();
    let host = host_header(addr);
    for target in ["/", "/?token=wrong", "/api/output?run=0&i=0", "/ws"] {
        let (status, _, body) = get(addr, target, &[("Host", &host)]);
        assert_eq!(status, 403, "{target}");
        assert!(body.contains("missing or wrong token"), "{body}");
    }
    let (status, _, _) = get(addr, &format!("/?token={token}"), &[("Host", &host)]);
    assert_eq!(status, 200);
    // Any Host name is fine once the token is checked.
    let (status, _, _) = get(
        addr,
        &format!("/?token={token}"),
        &[("Host", "fanout-box.example:8080")],
    );
    assert_eq!(status, 200);
    let rt = runtime();
    rt.block_on(async {
        let mut ws = connect(&url).await;
        let (events, _) = read_until(&mut ws, Duration::from_secs(10), |e| !e.is_empty()).await;
        assert_eq!(events[0]["type"], "hello");
        let bad = url.replace(token, "0123");
        let bad = bad
            .replacen("http://", "ws://", 1)
            .replacen("/?", "/ws?", 1);
        assert!(tokio_tungstenite::connect_async(bad).await.is_err());
    });
}
