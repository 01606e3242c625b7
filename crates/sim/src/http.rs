//! HTTPS device APIs (`sim serve --http`, [`FleetBuilder::http`](crate::FleetBuilder::http)):
//! per device, a second listener speaking HTTP/1.1 (keep-alive, hyper) over
//! TLS (tokio-rustls, a certificate of the fleet's generated CA, rcgen),
//! with axum routes for a small RESTCONF tree (hostname, version,
//! interfaces; PUT/PATCH of the hostname) and an eAPI-style `POST
//! /command-api` (JSON-RPC 2.0 `runCmds`) that runs show commands through
//! the same console model as SSH, on the same running config.
//!
//! Faults over HTTP: `refuse` (port closed), `hang_on_connect` (TCP
//! accepted, no TLS handshake), `slow_banner` (the TLS handshake waits the
//! slow-banner delay), `auth_fail` (401 for every request),
//! `hang_on_command` (request read, never answered), `http_5xx` (503
//! with a JSON error body, after authentication), `drop_mid_output`
//! (half the body, then a reset), `endless_output` (a body without end),
//! `wrong_host_key` (a certificate of another CA), `legacy_algorithms`
//! (TLS 1.2 only). Latency and jitter delay every response.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode, header};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::SimError;
use crate::device::Device;
use crate::faults::Fault;

const HOSTNAME: &str = "/restconf/data/Cisco-IOS-XE-native:native/hostname";
const VERSION: &str = "/restconf/data/Cisco-IOS-XE-native:native/version";
const INTERFACES: &str = "/restconf/data/ietf-interfaces:interfaces";

/// The fleet's TLS material: a CA, the server config every device
/// presents, and the one `wrong_host_key` devices present (another CA).
pub(crate) struct Tls {
    pub(crate) ca_pem: String,
    pub(crate) good: TlsAcceptor,
    pub(crate) wrong: TlsAcceptor,
    pub(crate) legacy: TlsAcceptor,
}

fn tls_err(e: impl std::fmt::Display) -> SimError {
    SimError::Config(format!("generating the fleet's TLS certificates: {e}"))
}

/// A CA and a leaf for `addresses` (and `localhost`), signed by it.
fn ca_and_leaf(
    name: &str,
    addresses: &[IpAddr],
) -> Result<
    (
        String,
        Vec<rustls::pki_types::CertificateDer<'static>>,
        Vec<u8>,
    ),
    SimError,
> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().map_err(tls_err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).map_err(tls_err)?;
    let leaf_key = KeyPair::generate().map_err(tls_err)?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).map_err(tls_err)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "fanout-sim device");
    leaf.subject_alt_names
        .extend(addresses.iter().map(|a| SanType::IpAddress(*a)));
    let cert = leaf.signed_by(&leaf_key, &ca).map_err(tls_err)?;
    Ok((
        ca.pem(),
        vec![cert.der().clone(), ca.der().clone()],
        leaf_key.serialize_der(),
    ))
}

fn acceptor(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: Vec<u8>,
    legacy: bool,
) -> Result<TlsAcceptor, SimError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider);
    let builder = if legacy {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .map_err(tls_err)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.into());
    let mut config = builder
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

impl Tls {
    pub(crate) fn generate(addresses: &[IpAddr]) -> Result<Self, SimError> {
        let (ca_pem, chain, key) = ca_and_leaf("fanout-sim CA", addresses)?;
        let (_, wrong_chain, wrong_key) = ca_and_leaf("not the fleet's CA", addresses)?;
        Ok(Self {
            ca_pem,
            good: acceptor(chain.clone(), key.clone(), false)?,
            wrong: acceptor(wrong_chain, wrong_key, false)?,
            legacy: acceptor(chain, key, true)?,
        })
    }
}

/// Accepts HTTPS connections for `device` forever.
pub(crate) async fn serve(listener: TcpListener, device: Arc<Device>, tls: TlsAcceptor) {
    let router = Router::new()
        .route(
            HOSTNAME,
            get(get_hostname).put(set_hostname).patch(set_hostname),
        )
        .route(VERSION, get(get_version))
        .route(INTERFACES, get(get_interfaces))
        .route("/command-api", post(command_api))
        .with_state(device.clone());
    let mut backoff = Duration::from_millis(5);
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                backoff = Duration::from_millis(5);
                device.stats.https_connected();
                let (device, tls, router) = (device.clone(), tls.clone(), router.clone());
                tokio::spawn(async move { connection(socket, device, tls, router).await });
            }
            Err(_) => {
                device.stats.accept_error();
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(200));
            }
        }
    }
}

async fn connection(
    mut socket: tokio::net::TcpStream,
    device: Arc<Device>,
    tls: TlsAcceptor,
    router: Router,
) {
    let _ = socket.set_nodelay(true);
    if device.has(Fault::HangOnConnect) {
        let mut sink = [0u8; 1024];
        while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
        return;
    }
    if device.has(Fault::SlowBanner) {
        tokio::time::sleep(device.spec.slow_banner_delay).await;
    }
    if device.has(Fault::DropMidOutput) {
        crate::wire::reset_on_close(&socket);
    }
    let Ok(stream) = tls.accept(socket).await else {
        return;
    };
    let service = hyper_util::service::TowerToHyperService::new(router);
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

/// Basic auth against the device's login, the latency, and the faults
/// that shape an answer; `Err` is the response to send instead.
async fn admit(device: &Device, headers: &HeaderMap) -> Result<(), Response<Body>> {
    let delay = device.latency_source().next();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let expected = format!("{}:{}", device.spec.username, device.spec.password);
    if device.has(Fault::AuthFail) || given.as_deref() != Some(expected.as_str()) {
        device.stats.auth_failure();
        return Err(Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(header::WWW_AUTHENTICATE, "Basic realm=\"fanout-sim\"")
            .body(Body::from("authentication failed\n"))
            .unwrap_or_default());
    }
    device.stats.command();
    if device.has(Fault::HangOnCommand) {
        std::future::pending::<()>().await;
    }
    if device.has(Fault::Http5xx) {
        let body = json!({"errors": {"error": [{
            "error-type": "application",
            "error-tag": "resource-denied",
            "error-message": format!("{} is in maintenance (fanout-sim fault http_5xx)", device.spec.name),
        }]}});
        let mut bytes = serde_json::to_vec_pretty(&body).unwrap_or_default();
        bytes.push(b'\n');
        return Err(Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes))
            .unwrap_or_default());
    }
    Ok(())
}

/// A JSON answer, shaped by `drop_mid_output` and `endless_output`.
fn reply(device: &Device, status: StatusCode, body: Value, media: &'static str) -> Response<Body> {
    let mut bytes = serde_json::to_vec_pretty(&body).unwrap_or_default();
    bytes.push(b'\n');
    let body = if device.has(Fault::EndlessOutput) {
        let line = axum::body::Bytes::from_static(crate::Fault::ENDLESS_LINE.as_bytes());
        Body::from_stream(futures_util::stream::repeat_with(move || {
            Ok::<_, Infallible>(line.clone())
        }))
    } else if device.has(Fault::DropMidOutput) {
        let half = bytes[..bytes.len() / 2].to_vec();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            vec![Ok(half), Err(std::io::Error::other("drop_mid_output"))];
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        Body::from(bytes)
    };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, media)
        .body(body)
        .unwrap_or_default()
}

const YANG: &str = "application/yang-data+json";

async fn get_hostname(State(d): State<Arc<Device>>, headers: HeaderMap) -> Response<Body> {
    if let Err(r) = admit(&d, &headers).await {
        return r;
    }
    let name = d
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .hostname
        .clone();
    reply(
        &d,
        StatusCode::OK,
        json!({"Cisco-IOS-XE-native:hostname": name}),
        YANG,
    )
}

async fn set_hostname(
    State(d): State<Arc<Device>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response<Body> {
    if let Err(r) = admit(&d, &headers).await {
        return r;
    }
    let bad = |why: String| {
        reply(
            &d,
            StatusCode::BAD_REQUEST,
            json!({"ietf-restconf:errors": {"error": [{"error-type": "application", "error-tag": "invalid-value", "error-message": why}]}}),
            YANG,
        )
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(format!("the body is not JSON: {e}")),
    };
    let Some(name) = value
        .get("Cisco-IOS-XE-native:hostname")
        .and_then(Value::as_str)
    else {
        return bad(r#"expected {"Cisco-IOS-XE-native:hostname": "NAME"}"#.into());
    };
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !ok {
        return bad(format!(
            "`{name}` is not a hostname: 1-63 letters, digits, '-', '_' or '.'"
        ));
    }
    {
        let mut c = d.running.lock().unwrap_or_else(PoisonError::into_inner);
        c.hostname = name.to_string();
        c.last_change = Some(SystemTime::now());
    }
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default()
}

async fn get_version(State(d): State<Arc<Device>>, headers: HeaderMap) -> Response<Body> {
    if let Err(r) = admit(&d, &headers).await {
        return r;
    }
    let v = match d.spec.platform {
        fanout_core::Platform::Iosxe => "17.3",
        fanout_core::Platform::Nxos => "7.3(0)D1(1)",
        fanout_core::Platform::Eos => "4.28.3M",
        fanout_core::Platform::Junos => "20.4R3",
        fanout_core::Platform::Iosxr => "7.3.2",
        fanout_core::Platform::Linux => "6.1",
        fanout_core::Platform::Ios => "15.4",
    };
    reply(
        &d,
        StatusCode::OK,
        json!({"Cisco-IOS-XE-native:version": v}),
        YANG,
    )
}

async fn get_interfaces(State(d): State<Arc<Device>>, headers: HeaderMap) -> Response<Body> {
    if let Err(r) = admit(&d, &headers).await {
        return r;
    }
    drop(d.console()); // the first console fills the factory interfaces
    let list: Vec<Value> = {
        let c = d.running.lock().unwrap_or_else(PoisonError::into_inner);
        c.interfaces
            .iter()
            .map(|i| {
                let mut v = json!({
                    "name": i.name,
                    "type": "iana-if-type:ethernetCsmacd",
                    "enabled": !i.shutdown,
                });
                if let Some(desc) = &i.description {
                    v["description"] = json!(desc);
                }
                if let Some((a, len)) = i.address {
                    v["ietf-ip:ipv4"] =
                        json!({"address": [{"ip": a.to_string(), "prefix-length": len}]});
                }
                v
            })
            .collect()
    };
    reply(
        &d,
        StatusCode::OK,
        json!({"ietf-interfaces:interfaces": {"interface": list}}),
        YANG,
    )
}

/// eAPI's `runCmds`: each command through a console session of the
/// device (text), or for `format: json` the commands that have a
/// structured form here (`show version`, `show hostname`).
async fn command_api(
    State(d): State<Arc<Device>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response<Body> {
    if let Err(r) = admit(&d, &headers).await {
        return r;
    }
    const JSONRPC: &str = "application/json";
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let error = |code: i64, message: String| {
        reply(
            &d,
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
            JSONRPC,
        )
    };
    if req.get("method").and_then(Value::as_str) != Some("runCmds") {
        return error(-32601, "the method is runCmds".into());
    }
    let params = &req["params"];
    let Some(cmds) = params.get("cmds").and_then(Value::as_array) else {
        return error(-32602, "params.cmds must be a list of commands".into());
    };
    let text = match params
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("json")
    {
        "text" => true,
        "json" => false,
        other => return error(-32602, format!("format `{other}`: use json or text")),
    };
    let mut console = d.console();
    let mut results = Vec::with_capacity(cmds.len());
    for cmd in cmds {
        let cmd = cmd
            .as_str()
            .or_else(|| cmd.get("cmd").and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        if text {
            let out = console.exec(&cmd);
            let output = String::from_utf8_lossy(&out.output).replace("\r\n", "\n");
            if out.exit_status != 0 {
                return error(
                    1002,
                    format!("CLI command `{cmd}` failed: {}", output.trim()),
                );
            }
            results.push(json!({"output": output}));
        } else {
            let hostname = d
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .hostname
                .clone();
            let words: Vec<&str> = cmd.split_whitespace().collect();
            match words.as_slice() {
                ["show", "version"] => results.push(json!({
                    "hostname": hostname,
                    "modelName": "vEOS-lab",
                    "version": "4.28.3M",
                    "serialNumber": format!("SIM{:08X}", d.spec.name.len() as u32 ^ 0x5EED),
                })),
                ["show", "hostname"] => {
                    results.push(json!({"hostname": hostname, "fqdn": hostname}))
                }
                _ => {
                    return error(
                        1003,
                        format!("`{cmd}` has no JSON form in fanout-sim; ask for format text"),
                    );
                }
            }
        }
    }
    reply(
        &d,
        StatusCode::OK,
        json!({"jsonrpc": "2.0", "id": id, "result": results}),
        JSONRPC,
    )
}
