//! The `http` task on blocking sockets: ureq 3 (rustls with ring), one
//! [`ureq::Agent`] per device origin and CA file, so that connections to a
//! device are kept alive and reused by every host of the run that talks to
//! it (the process pool sends a worker the hosts of the origins it has).
//! What is sent and what an answer becomes is `fanout_transport::http`'s.
//!
//! A request in flight is bounded by the connect and command timeouts and
//! the host deadline; a cancelled run is seen before each request and when
//! a response or body chunk arrives (ureq cannot be interrupted mid-read).

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use fanout_core::{CancelToken, ErrorKind, Job, Phase, Target};
use fanout_engine::{AttemptError, AttemptResult, Deadline, HostDeadline, Progress};
use fanout_transport::http::{self as policy, Body, Failure, Request};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// Where an agent's requests go: CA file, scheme and `host:port`.
type Origin = (Option<PathBuf>, String);

/// The trusted roots of a CA file, as ureq takes them.
type Roots = Result<Arc<Vec<Certificate<'static>>>, String>;

/// One origin's agent, built on first use (or why it could not be).
type AgentCell = OnceLock<Result<ureq::Agent, String>>;

/// The run's HTTP clients: one agent per device (CA file, scheme, host and
/// port), made on first use. ureq's pool re-ranks every idle connection by
/// host on each reuse (quadratic in the number of hosts it holds), so each
/// device gets a pool of its own; the roots are read once per CA file.
#[derive(Debug)]
pub(crate) struct Shared {
    insecure: bool,
    idle: usize,
    connect: Option<std::time::Duration>,
    command: Option<std::time::Duration>,
    agents: Mutex<HashMap<Origin, Arc<AgentCell>>>,
    roots: Mutex<HashMap<Option<PathBuf>, Roots>>,
}

impl Shared {
    pub(crate) fn for_job(job: &Job) -> Self {
        Self {
            insecure: job.http.insecure,
            idle: job.limits.concurrency.clamp(4, 256),
            connect: job.timeouts.connect,
            command: job.timeouts.command,
            agents: Mutex::new(HashMap::new()),
            roots: Mutex::new(HashMap::new()),
        }
    }

    fn agent(&self, ca_file: Option<&PathBuf>, url: &str) -> Result<ureq::Agent, String> {
        let key = (ca_file.cloned(), policy::origin(url));
        // Built once per origin, outside the map's lock: threads reaching
        // a new device at the same moment wait for the one build.
        let cell = self
            .agents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_init(|| self.make_agent(ca_file)).clone()
    }

    fn roots(&self, ca_file: Option<&PathBuf>) -> Roots {
        let mut roots = self.roots.lock().unwrap_or_else(PoisonError::into_inner);
        roots
            .entry(ca_file.cloned())
            .or_insert_with(|| {
                let ders = policy::trusted_roots(ca_file.map(PathBuf::as_path))?;
                Ok(Arc::new(
                    ders.iter()
                        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                        .collect(),
                ))
            })
            .clone()
    }

    fn make_agent(&self, ca_file: Option<&PathBuf>) -> Result<ureq::Agent, String> {
        let certs = self.roots(ca_file)?;
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .root_certs(RootCerts::Specific(certs))
            .disable_verification(self.insecure)
            .build();
        Ok(ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls)
            // One device per agent: its pool holds that device's idle
            // connections only (see [`Shared`]).
            .max_idle_connections(self.idle)
            .max_idle_connections_per_host(self.idle)
            // The job's timeouts at the agent level: a request-level
            // config makes ureq rebuild the TLS config (every root
            // certificate) for each new connection.
            .timeout_connect(self.connect)
            .timeout_recv_response(self.command)
            .timeout_recv_body(self.command)
            .user_agent(concat!("fanout/", env!("CARGO_PKG_VERSION")))
            .build()
            .into())
    }
}

/// One `http` attempt of `job` on `target`.
pub(crate) fn attempt(
    shared: &Shared,
    job: &Job,
    target: &Target,
    host: HostDeadline,
    cancel: &CancelToken,
    progress: &mut Progress,
) -> AttemptResult {
    let Some(request) = Request::of(job) else {
        return Err(policy::not_an_http_task(&job.task));
    };
    policy::check_url(request.url)?;
    let agent = shared
        .agent(target.ca_file.as_ref(), request.url)
        .map_err(|e| AttemptError::new(ErrorKind::InvalidTarget, None, e))?;
    if cancel.is_cancelled() {
        return Err(AttemptError::cancelled());
    }
    let started = Instant::now();
    progress.phase = Some(Phase::Connect);
    let result = send(
        &agent, job, target, host, cancel, &request, progress, started,
    );
    let spent = started.elapsed();
    match &result {
        Err(e) if e.phase == Some(Phase::Connect) || e.kind == ErrorKind::Connect => {
            progress.timings.connect += spent;
        }
        _ => progress.timings.command += spent,
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn send(
    agent: &ureq::Agent,
    job: &Job,
    target: &Target,
    host: HostDeadline,
    cancel: &CancelToken,
    request: &Request<'_>,
    progress: &mut Progress,
    started: Instant,
) -> AttemptResult {
    let connect = Deadline::for_phase(job, target, Phase::Connect, started, host);
    let command = Deadline::for_phase(job, target, Phase::Command, started, host);
    let own_command = job.timeouts.for_target(target, Phase::Command);
    let mut builder = ureq::http::Request::builder()
        .method(request.method.as_str())
        .uri(request.url);
    for (k, v) in request.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if let Some(ct) = request.content_type() {
        builder = builder.header("content-type", ct);
    }
    if let Some(auth) = policy::authorization(target, request) {
        builder = builder.header("authorization", auth.expose());
    }
    let body = request.body.unwrap_or("").as_bytes().to_vec();
    let built = builder.body(body).map_err(|e| {
        AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!("the request to `{}` cannot be built: {e}", request.url),
        )
    })?;
    let own = *target.timeouts;
    let run = if host.is_none() && own.connect.is_none() && own.command.is_none() {
        agent.run(built)
    } else {
        // A host deadline or the host's own timeouts: per request.
        let host_left = host.map(|(at, _)| at.saturating_duration_since(Instant::now()));
        let req = agent
            .configure_request(built)
            .timeout_connect(connect.remaining())
            .timeout_recv_response(own_command)
            .timeout_recv_body(own_command)
            .timeout_global(host_left)
            .build();
        agent.run(req)
    };
    let response = match run {
        Ok(r) => r,
        Err(e) => return Err(failure(e, target, request, &connect, &command)),
    };
    progress.phase = Some(Phase::Command);
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Body::default();
    let mut reader = response.into_body().into_with_config().reader();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if cancel.is_cancelled() {
            return Err(AttemptError::cancelled());
        }
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => body.push(&buf[..n]),
            Err(e) => {
                let partial = vec![body.partial(request, status.as_u16())];
                let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                    || matches!(
                        e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()),
                        Some(ureq::Error::Timeout(_))
                    );
                return Err(if timed_out {
                    command.timeout_error(partial)
                } else {
                    policy::failed(Failure::Broken(e.to_string()), target, request)
                        .with_outputs(partial)
                });
            }
        }
    }
    policy::answer(request, status, content_type.as_deref(), body)
}

/// What a ureq error means for the host.
fn failure(
    e: ureq::Error,
    target: &Target,
    request: &Request<'_>,
    connect: &Deadline,
    command: &Deadline,
) -> AttemptError {
    use ureq::Timeout;
    match e {
        ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => {
            connect.timeout_error(Vec::new())
        }
        ureq::Error::Timeout(_) => command.timeout_error(Vec::new()),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            policy::failed(Failure::Refused, target, request)
        }
        // A reset once connected (ureq does not say which step it was in;
        // a device dropping the connection mid-answer resets it, and the
        // reset may beat the answer's first bytes): as on tokio.
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
            ) =>
        {
            policy::failed(Failure::Broken(io.to_string()), target, request)
        }
        ureq::Error::Rustls(tls) => tls_failure(tls.to_string(), target, request),
        ureq::Error::BadUri(why) => AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!("`{}` is not a URL fanout can use: {why}", request.url),
        ),
        ureq::Error::Io(io) => {
            let text = io.to_string();
            if text.contains("invalid peer certificate") || text.contains("TLS") {
                tls_failure(text, target, request)
            } else {
                policy::failed(Failure::Connect(text), target, request)
            }
        }
        other => {
            let text = other.to_string();
            if text.contains("invalid peer certificate") {
                tls_failure(text, target, request)
            } else {
                policy::failed(Failure::Connect(text), target, request)
            }
        }
    }
}

fn tls_failure(text: String, target: &Target, request: &Request<'_>) -> AttemptError {
    let detail = text
        .split_once("invalid peer certificate: ")
        .map_or(text.as_str(), |(_, d)| d)
        .to_string();
    if policy::is_certificate_problem(&text) {
        policy::failed(Failure::Untrusted(detail), target, request)
    } else {
        policy::failed(Failure::Tls(text), target, request)
    }
}
