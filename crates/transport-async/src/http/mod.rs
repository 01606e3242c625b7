//! The `http` task on tokio: hyper's HTTP/1.1 client connection over
//! tokio-rustls (ring), with the run's own keep-alive pool ([`pool`]), so
//! that the connect phase (TCP and TLS) and the answer (the command
//! phase) are timed and limited apart, as for SSH. What is sent and what
//! an answer becomes is `fanout_transport::http`'s, as on the blocking
//! side (ureq).
//!
//! Cancellation drops the attempt's future: a connection checked out of
//! the pool closes with it (its driver task is aborted).

mod pool;
mod tls;

use std::time::Instant;

use fanout_core::{ErrorKind, Job, Phase, Target};
use fanout_engine::{AttemptError, AttemptResult, Deadline, HostDeadline, Progress};
use fanout_transport::http::{self as policy, Body, Failure, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};

pub(crate) use pool::Shared;
use pool::{Conn, Key};

/// One `http` attempt of `job` on `target`.
pub(crate) async fn attempt(
    shared: &Shared,
    job: &Job,
    target: &Target,
    host: HostDeadline,
    progress: &mut Progress,
) -> AttemptResult {
    let Some(request) = Request::of(job) else {
        return Err(policy::not_an_http_task(&job.task));
    };
    policy::check_url(request.url)?;
    let uri: hyper::Uri = request.url.parse().map_err(|e| {
        AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!("`{}` is not a URL fanout can use: {e}", request.url),
        )
    })?;
    let key = Key::of(&uri, target.ca_file.as_ref())
        .map_err(|e| AttemptError::new(ErrorKind::InvalidTarget, None, e))?;
    let mut reused = shared.checkout(&key);
    loop {
        let fresh = reused.is_none();
        let conn = match reused.take() {
            Some(c) => c,
            None => {
                progress.phase = Some(Phase::Connect);
                let started = Instant::now();
                let deadline = Deadline::for_phase(job, target, Phase::Connect, started, host);
                let conn = shared.connect(&key, deadline.at).await;
                progress.timings.connect += started.elapsed();
                match conn {
                    Ok(c) => c,
                    Err(pool::ConnectError::TimedOut) => {
                        return Err(deadline.timeout_error(Vec::new()));
                    }
                    Err(pool::ConnectError::Failed(f)) => {
                        return Err(policy::failed(f, target, &request));
                    }
                    Err(pool::ConnectError::Setup(e)) => {
                        return Err(AttemptError::new(ErrorKind::InvalidTarget, None, e));
                    }
                }
            }
        };
        progress.phase = Some(Phase::Command);
        let started = Instant::now();
        let deadline = Deadline::for_phase(job, target, Phase::Command, started, host);
        let result = exchange(shared, conn, &key, &uri, target, &request, &deadline).await;
        progress.timings.command += started.elapsed();
        match result {
            // A kept-alive connection the device had closed meanwhile: once
            // more on a new one.
            Err(Exchange::Stale) if !fresh => continue,
            Err(Exchange::Stale) => {
                return Err(policy::failed(
                    Failure::Broken("the device closed the connection before answering".into()),
                    target,
                    &request,
                ));
            }
            Err(Exchange::Failed(e)) => return Err(e),
            Ok(outputs) => return Ok(outputs),
        }
    }
}

enum Exchange {
    /// The connection was closed before the request went out.
    Stale,
    Failed(AttemptError),
}

async fn exchange(
    shared: &Shared,
    mut conn: Conn,
    key: &Key,
    uri: &hyper::Uri,
    target: &Target,
    request: &Request<'_>,
    deadline: &Deadline,
) -> Result<Vec<fanout_core::CommandOutput>, Exchange> {
    let failed = |e: AttemptError| Exchange::Failed(e);
    let req = build(uri, target, request).map_err(failed)?;
    let sent = within(
        deadline.at,
        Box::pin(async {
            conn.sender.ready().await?;
            conn.sender.send_request(req).await
        }),
    )
    .await;
    let response = match sent {
        None => return Err(failed(deadline.timeout_error(Vec::new()))),
        Some(Ok(r)) => r,
        Some(Err(e)) if e.is_canceled() || e.is_closed() || e.is_incomplete_message() => {
            return Err(Exchange::Stale);
        }
        Some(Err(e)) => {
            return Err(failed(policy::failed(
                Failure::Broken(e.to_string()),
                target,
                request,
            )));
        }
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut incoming = response.into_body();
    let mut body = Body::default();
    loop {
        let frame = match within(deadline.at, incoming.frame()).await {
            None => {
                let partial = vec![body.partial(request, status.as_u16())];
                return Err(failed(deadline.timeout_error(partial)));
            }
            Some(f) => f,
        };
        match frame {
            None => break,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    body.push(data);
                }
            }
            Some(Err(e)) => {
                let partial = vec![body.partial(request, status.as_u16())];
                return Err(failed(
                    policy::failed(Failure::Broken(e.to_string()), target, request)
                        .with_outputs(partial),
                ));
            }
        }
    }
    shared.checkin(key, conn);
    policy::answer(request, status, content_type.as_deref(), body).map_err(failed)
}

/// `fut`'s output, unless `at` passes first.
async fn within<F: Future>(at: Option<Instant>, fut: F) -> Option<F::Output> {
    match at {
        Some(at) => tokio::time::timeout_at(at.into(), fut).await.ok(),
        None => Some(fut.await),
    }
}

/// The request as sent on an HTTP/1.1 connection: origin-form target,
/// `Host`, the user's headers, JSON content type, authorization.
fn build(
    uri: &hyper::Uri,
    target: &Target,
    request: &Request<'_>,
) -> Result<hyper::Request<Full<Bytes>>, AttemptError> {
    let bad = |e: String| {
        AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!("the request to `{}` cannot be built: {e}", request.url),
        )
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut b = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(path)
        .header(
            hyper::header::HOST,
            uri.authority().map_or("", |a| a.as_str()),
        )
        .header(
            hyper::header::USER_AGENT,
            concat!("fanout/", env!("CARGO_PKG_VERSION")),
        );
    for (k, v) in request.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    if let Some(ct) = request.content_type() {
        b = b.header(CONTENT_TYPE, ct);
    }
    if let Some(auth) = policy::authorization(target, request) {
        let mut value = HeaderValue::from_str(auth.expose())
            .map_err(|_| bad("the credentials hold characters a header cannot carry".into()))?;
        value.set_sensitive(true);
        b = b.header(hyper::header::AUTHORIZATION, value);
    }
    let body = Bytes::from(request.body.unwrap_or("").to_owned());
    b.body(Full::new(body)).map_err(|e| bad(e.to_string()))
}
