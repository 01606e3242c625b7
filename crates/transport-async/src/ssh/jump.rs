//! The way to a device that is not dialled directly, on russh: a chain of
//! jump hosts (ProxyJump), each an SSH session of its own — connected over
//! the previous hop's `direct-tcpip` channel (the first over TCP),
//! host key checked by the run's verifier, logged into with the policy's
//! methods — or a proxy command's stdio ([`super::proxy`]). Each hop's
//! handshake counts in the connect phase and its login in the auth phase,
//! under the host's deadline; every failure names the hop
//! ([`fanout_transport::ssh::jump`]). The [`Route`] holds the hops' sessions
//! open while the device's runs; dropping it (the attempt ended, timed out
//! or was cancelled) ends every hop's session and kills the proxy command.

use fanout_core::{Job, Phase, Target};
use fanout_engine::{AttemptError, Expired, HostDeadline, Progress};
use fanout_transport::ssh::jump::{forward_refused, hop_target, next_endpoint, on_hop};
use fanout_transport::ssh::{require_credentials, require_username};
use russh::Disconnect;
use russh::client::Handle;
use tokio::sync::oneshot;

use super::Shared;
use super::auth::authenticate;
use super::proxy::Proxy;
use super::session::{self, Client, Handshake, Stream};

/// What keeps the way to the device open: the hops' sessions (first hop
/// first), their kill switches, the proxy command.
#[derive(Default)]
pub(super) struct Route {
    hops: Vec<Handle<Client>>,
    /// Dropped with the route: each hop's stream then fails, so a hop's
    /// session task never outlives the attempt.
    kills: Vec<oneshot::Sender<()>>,
    pub(super) proxy: Option<Proxy>,
}

impl Route {
    /// Says goodbye to each hop, last first, then reaps the proxy command
    /// (the caller bounds the time).
    pub(super) async fn close(mut self) {
        while let Some(hop) = self.hops.pop() {
            let _ = hop.disconnect(Disconnect::ByApplication, "", "en").await;
        }
        if let Some(proxy) = self.proxy.take() {
            proxy.finish().await;
        }
    }
}

/// The stream to `target` when it is reached through jump hosts or a proxy
/// command (`None`: dial it directly), and the route that keeps it open.
pub(super) async fn open(
    shared: &Shared,
    job: &Job,
    target: &Target,
    host_deadline: HostDeadline,
    progress: &mut Progress,
) -> Result<(Option<Stream>, Route), AttemptError> {
    let mut route = Route::default();
    if target.reach.jump.is_empty() {
        if let Some(command) = &target.reach.proxy_command {
            let (stream, proxy) = Proxy::spawn(target, command)?;
            route.proxy = Some(proxy);
            return Ok((Some(stream), route));
        }
        return Ok((None, route));
    }
    let mut stream: Option<Stream> = None;
    for (i, hop) in target.reach.jump.iter().enumerate() {
        let hop_t = hop_target(target, hop);
        let user = require_username(&hop_t).map_err(|e| on_hop(e, hop))?;
        require_credentials(&hop_t).map_err(|e| on_hop(e, hop))?;

        let (deadline, started) = progress.enter(job, target, Phase::Connect, host_deadline);
        let (kill, killed) = oneshot::channel::<()>();
        route.kills.push(kill);
        let connected = deadline
            .run(async {
                let under = match stream.take() {
                    Some(s) => s,
                    None => Box::new(session::tcp_connect(&hop_t).await?) as Stream,
                };
                session::connect_over(shared, &hop_t, under, killed).await
            })
            .await;
        progress.timings.connect += started.elapsed();
        let Handshake {
            mut handle,
            refusal,
            mut ending,
            ..
        } = connected
            .map_err(|Expired| deadline.timeout_error(Vec::new()))
            .and_then(|r| r)
            .map_err(|e| on_hop(e, hop))?;

        let (deadline, started) = progress.enter(job, target, Phase::Auth, host_deadline);
        let authed = deadline
            .run(authenticate(&mut handle, shared, &hop_t, user, &mut ending))
            .await;
        progress.timings.auth += started.elapsed();
        authed
            .map_err(|Expired| deadline.timeout_error(Vec::new()))
            .and_then(|r| r)
            .map_err(|e| on_hop(e, hop))?;

        let (deadline, started) = progress.enter(job, target, Phase::Connect, host_deadline);
        let (to_host, to_port) = next_endpoint(target, i);
        let opened = deadline
            .run(handle.channel_open_direct_tcpip(
                to_host.clone(),
                u32::from(to_port),
                "127.0.0.1",
                0,
            ))
            .await;
        progress.timings.connect += started.elapsed();
        let channel = match opened {
            Err(Expired) => return Err(on_hop(deadline.timeout_error(Vec::new()), hop)),
            Ok(Err(e)) => {
                let said = refusal.lock().unwrap_or_else(|p| p.into_inner()).take();
                let reason = said.unwrap_or_else(|| e.to_string());
                return Err(forward_refused(hop, (&to_host, to_port), reason));
            }
            Ok(Ok(channel)) => channel,
        };
        stream = Some(Box::new(channel.into_stream()));
        route.hops.push(handle);
    }
    Ok((stream, route))
}
