//! The policy of the `http` task, obeyed by the blocking (ureq) and the
//! async (hyper) clients alike: which URLs are accepted, the trusted roots
//! (the system's plus the inventory's `ca_file:`), the authorization
//! header (a bearer token from `token_env:`, else basic auth from the
//! login), what an answer becomes (`status`, `body` parsed when JSON;
//! status >= 400 fails the host with the body kept) and every message
//! about a connection, a certificate or an answer.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use fanout_core::{
    CommandOutput, ErrorKind, HttpMethod, Job, OUTPUT_CAP, Phase, Secret, Target, Task, Template,
    output_cut_marker,
};
use fanout_engine::AttemptError;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Bytes of a response body kept (the rest is read and dropped, then the
/// cut marker appended), as for a command's output.
pub const BODY_CAP: usize = OUTPUT_CAP;

/// Idle keep-alive connections a run keeps at most (all devices
/// together): one per device for fleets of thousands, bounded so that the
/// pool cannot exhaust the open-files limit.
pub const IDLE_CONNECTIONS: usize = 4096;

/// Characters of a failed answer's body quoted in the host's message.
pub const BODY_IN_MESSAGE: usize = 300;

/// What an `http` attempt sends: the method, URL, extra headers and body.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: HttpMethod,
    /// The URL, rendered for the host.
    pub url: &'a str,
    /// Extra headers, rendered.
    pub headers: &'a [(String, String)],
    /// The body, rendered.
    pub body: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// The request of `job`'s task (`None` for other tasks).
    pub fn of(job: &'a Job) -> Option<Self> {
        match &job.task {
            Task::Http {
                method,
                url,
                headers,
                body,
            } => Some(Self {
                method: *method,
                url,
                headers,
                body: body.as_deref(),
            }),
            _ => None,
        }
    }

    /// `GET https://...`: the output's `command`.
    pub fn command(&self) -> String {
        format!("{} {}", self.method, self.url)
    }

    /// Whether a header named `name` was given (case-insensitive).
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// The `Content-Type` to add: JSON for a JSON body, unless given.
    pub fn content_type(&self) -> Option<&'static str> {
        let body = self.body?;
        (!self.has_header("content-type") && fanout_core::is_json_body(body))
            .then_some("application/json")
    }
}

/// The error of a task that reached an HTTP client although it is not
/// `http` (a bug of the caller).
pub fn not_an_http_task(task: &Task) -> AttemptError {
    AttemptError::new(
        ErrorKind::InvalidTarget,
        None,
        format!(
            "internal error: the {} task does not use HTTP; please report it",
            task.kind()
        ),
    )
}

/// The `Authorization` header value for `target`, unless the request
/// sets one itself: `Bearer TOKEN` with `token_env:`, else `Basic` of the
/// login user and password; `None` without credentials.
pub fn authorization(target: &Target, request: &Request<'_>) -> Option<Secret> {
    if request.has_header("authorization") {
        return None;
    }
    if let Some(token) = &target.credentials.token {
        return Some(Secret::new(format!("Bearer {}", token.expose())));
    }
    let user = target.username.as_deref()?;
    let password = target
        .credentials
        .password
        .as_ref()
        .map_or("", Secret::expose);
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Some(Secret::new(format!("Basic {pair}")))
}

/// A URL that is not `http://` or `https://` with a host: the host's
/// `invalid_target` error, before any connection.
pub fn check_url(url: &str) -> Result<(), AttemptError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        let authority = r.split(['/', '?', '#']).next().unwrap_or("");
        !authority.is_empty() && !authority.contains(char::is_whitespace)
    });
    if ok {
        Ok(())
    } else {
        Err(AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!(
                "`{url}` is not an http:// or https:// URL with a host; write e.g. \
                 'https://{{host}}:{{vars.http_port}}/restconf/data/...'"
            ),
        ))
    }
}

/// The roots a run trusts for `ca_file` (`None`: the system's only): the
/// system's certificates (rustls-native-certs; none if it has none) and
/// every certificate of the PEM file. An unreadable or certificate-less
/// `ca_file` is an error naming it.
pub fn trusted_roots(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut roots = rustls_native_certs::load_native_certs().unwrap_or_default();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            format!(
                "ca_file `{}` cannot be read ({e}); fix `ca_file:` in the inventory (a path \
                 relative to it)",
                path.display()
            )
        })?;
        let own: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                format!(
                    "ca_file `{}` is not a PEM certificate file ({e}); point `ca_file:` at the \
                     CA certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                )
            })?;
        if own.is_empty() {
            return Err(format!(
                "ca_file `{}` holds no certificate; point `ca_file:` at the CA certificate \
                 (-----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
        roots.extend(own);
    }
    Ok(roots)
}

/// `scheme://host:port` of a URL: where a client's kept-alive
/// connections for it go.
pub fn origin(url: &str) -> String {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    format!("{scheme}://{}", endpoint(url))
}

/// The key of the kept-alive connections an `http` attempt of `job` on
/// `target` would use (its CA file and its URL's origin, the URL rendered
/// for the host); `None` for other tasks, or a URL that does not render
/// (the attempt says why).
pub fn reuse_key(job: &Job, target: &Target) -> Option<String> {
    let Task::Http { url, .. } = &job.task else {
        return None;
    };
    let url = Template::parse(url).ok()?.render(target).ok()?;
    let ca = target.ca_file.as_deref().map(Path::to_string_lossy);
    Some(format!("{}\n{}", ca.unwrap_or_default(), origin(&url)))
}

/// `host:port` of a URL, for messages.
pub fn endpoint(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// Why an HTTP request did not get an answer, as the clients tell it.
#[derive(Debug)]
pub enum Failure {
    /// TCP connect refused.
    Refused,
    /// Another connect error (unreachable, reset during the handshake...).
    Connect(String),
    /// The server's certificate is not trusted (`detail`: rustls's words).
    Untrusted(String),
    /// Another TLS handshake failure.
    Tls(String),
    /// The connection broke while the answer was read.
    Broken(String),
}

/// The host's error for `failure` of `request` on `target`.
pub fn failed(failure: Failure, target: &Target, request: &Request<'_>) -> AttemptError {
    let at = endpoint(request.url);
    let (kind, message) = match failure {
        Failure::Refused => (
            ErrorKind::Connect,
            format!(
                "connection to {at} refused: nothing listens there; check the URL's port \
                 (`{}`) and that the device's HTTP API is enabled",
                request.url
            ),
        ),
        Failure::Connect(e) => (
            ErrorKind::Connect,
            format!("connecting to {at} failed: {e}"),
        ),
        Failure::Untrusted(e) => (
            ErrorKind::Connect,
            format!(
                "TLS: the certificate of {at} is not trusted ({e}): it is not signed by a \
                 system root{}; set `ca_file:` in the inventory to the CA that signed it, or \
                 pass --insecure to skip the check",
                match &target.ca_file {
                    Some(ca) => format!(" nor by the inventory's ca_file `{}`", ca.display()),
                    None => " and the inventory names no `ca_file:`".to_string(),
                }
            ),
        ),
        Failure::Tls(e) => (
            ErrorKind::Connect,
            format!("TLS handshake with {at} failed: {e}"),
        ),
        Failure::Broken(e) => (
            ErrorKind::Channel,
            format!("the connection to {at} broke while reading the answer: {e}"),
        ),
    };
    AttemptError::new(kind, None, message)
}

/// Whether a rustls error text is about the peer's certificate.
pub fn is_certificate_problem(text: &str) -> bool {
    text.contains("certificate") || text.contains("UnknownIssuer") || text.contains("NotValidFor")
}

/// A body being read, capped at [`BODY_CAP`].
#[derive(Debug, Default)]
pub struct Body {
    bytes: Vec<u8>,
    cut: bool,
}

impl Body {
    /// Adds a chunk (what is past the cap is dropped).
    pub fn push(&mut self, chunk: &[u8]) {
        let room = BODY_CAP.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            self.cut = true;
        }
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// The output so far (for a timeout or a broken connection).
    pub fn partial(&self, request: &Request<'_>, status: u16) -> CommandOutput {
        let mut stdout = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.cut {
            stdout.push_str(&output_cut_marker(BODY_CAP));
        }
        CommandOutput {
            command: request.command(),
            body: Some(serde_json::Value::String(stdout.clone())),
            stdout,
            status: Some(status),
            ..CommandOutput::default()
        }
    }
}

/// What a complete answer becomes: `status`, the body as text in
/// `stdout` and in `body` (parsed when it is JSON); `Ok` below 400, else
/// `auth` (401, 403) or `command_failed` with the output kept.
pub fn answer(
    request: &Request<'_>,
    status: http::StatusCode,
    content_type: Option<&str>,
    body: Body,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let reason = status.canonical_reason().unwrap_or("");
    let status = status.as_u16();
    let json = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let parsed = if json && !body.cut {
        serde_json::from_slice::<serde_json::Value>(&body.bytes).ok()
    } else {
        None
    };
    let mut out = body.partial(request, status);
    if let Some(v) = parsed {
        out.body = Some(v);
    }
    if status < 400 {
        return Ok(vec![out]);
    }
    let excerpt: String = out.stdout.trim().chars().take(BODY_IN_MESSAGE).collect();
    let more = if out.stdout.trim().chars().count() > BODY_IN_MESSAGE {
        "..."
    } else {
        ""
    };
    let said = if excerpt.is_empty() {
        "an empty body".to_string()
    } else {
        format!("`{excerpt}{more}`")
    };
    let (kind, hint) = match status {
        401 | 403 => (
            ErrorKind::Auth,
            "; check username/password (basic auth) or token_env (bearer) in the inventory",
        ),
        _ => (ErrorKind::CommandFailed, ""),
    };
    let message = format!(
        "HTTP {status} {reason} from {}: {said}{hint}",
        request.command()
    );
    Err(AttemptError::new(kind, Some(Phase::Command), message).with_outputs(vec![out]))
}

/// The longest one attempt can take: connect (TCP and TLS), then the
/// answer within the command timeout; `None` when either is unlimited.
pub fn max_attempt(job: &Job, target: &Target) -> Option<Duration> {
    let t = |phase| job.timeouts.for_target(target, phase);
    Some(t(Phase::Connect)?.saturating_add(t(Phase::Command)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(url: &str) -> Request<'_> {
        Request {
            method: HttpMethod::Get,
            url,
            headers: &[],
            body: None,
        }
    }

    #[test]
    fn hosts_share_a_reuse_key_when_they_share_origin_and_ca() {
        let job = |url: &str| {
            Job::new(Task::Http {
                method: HttpMethod::Get,
                url: url.into(),
                headers: Vec::new(),
                body: None,
            })
        };
        let host = |name: &str, port: &str, ca: Option<&str>| {
            let mut t = Target::new(name, "127.0.0.1");
            t.vars.insert("http_port".into(), port.into());
            t.ca_file = ca.map(Into::into);
            t
        };
        let by_port = job("https://{host}:{vars.http_port}/restconf/{name}");
        let key = |t: &Target| reuse_key(&by_port, t);
        let a = key(&host("a", "8443", Some("/ca.pem")));
        assert!(a.is_some());
        assert_eq!(
            a,
            key(&host("b", "8443", Some("/ca.pem"))),
            "path differs only"
        );
        assert_ne!(
            a,
            key(&host("a", "8444", Some("/ca.pem"))),
            "another device"
        );
        assert_ne!(a, key(&host("a", "8443", None)), "another trust");
        assert_eq!(
            reuse_key(
                &Job::new(Task::Exec {
                    command: "show version".into()
                }),
                &host("a", "1", None)
            ),
            None,
            "an SSH host reuses nothing"
        );
        assert_eq!(
            origin("https://u@127.0.0.1:8443/x?y"),
            "https://127.0.0.1:8443"
        );
    }

    #[test]
    fn json_bodies_are_parsed_and_4xx_5xx_fail_with_the_body() {
        let r = req("https://127.0.0.1:8443/x");
        let mut b = Body::default();
        b.push(br#"{"a": 1}"#);
        let out = answer(
            &r,
            http::StatusCode::OK,
            Some("application/yang-data+json"),
            b,
        )
        .unwrap();
        assert_eq!(out[0].body, Some(serde_json::json!({"a": 1})));
        assert_eq!(out[0].status, Some(200));
        assert_eq!(out[0].command, "GET https://127.0.0.1:8443/x");
        let mut b = Body::default();
        b.push(b"plain");
        let out = answer(&r, http::StatusCode::OK, Some("text/plain"), b).unwrap();
        assert_eq!(out[0].body, Some(serde_json::json!("plain")));
        let mut b = Body::default();
        b.push(br#"{"error": "maintenance"}"#);
        let e = answer(
            &r,
            http::StatusCode::SERVICE_UNAVAILABLE,
            Some("application/json"),
            b,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::CommandFailed);
        assert!(
            e.message.contains("HTTP 503 Service Unavailable from GET"),
            "{}",
            e.message
        );
        assert!(e.message.contains("maintenance"), "{}", e.message);
        assert_eq!(e.outputs[0].status, Some(503));
        let e = answer(&r, http::StatusCode::UNAUTHORIZED, None, Body::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
    }

    #[test]
    fn bearer_wins_over_basic_and_urls_are_checked() {
        let mut t = Target::new("r1", "127.0.0.1");
        t.username = Some("admin".into());
        t.credentials.password = Some(Secret::new("pw"));
        let r = req("https://h/");
        assert_eq!(
            authorization(&t, &r).unwrap().expose(),
            "Basic YWRtaW46cHc="
        );
        t.credentials.token = Some(Secret::new("tok"));
        assert_eq!(authorization(&t, &r).unwrap().expose(), "Bearer tok");
        assert!(check_url("https://127.0.0.1:1/x").is_ok());
        assert!(check_url("ftp://h/").is_err());
        assert!(check_url("https:///x").is_err());
        assert_eq!(endpoint("https://u@127.0.0.1:8443/a?b"), "127.0.0.1:8443");
    }
}
