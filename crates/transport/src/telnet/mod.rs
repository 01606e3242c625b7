//! Telnet: what both telnet transports obey — the blocking one on std
//! sockets (`fanout-transport-blocking`) and the async one on tokio
//! (`fanout-transport-async`) — so that the same device gives the same
//! outcome whichever executor met it.
//!
//! The whole session is sans I/O here ([`Client`]): the telnet layer
//! ([`Codec`], libmudtelnet), the login dialog ([`Login`]: username and
//! password prompts per platform, a refused login is `auth`, no login
//! prompt is a timeout of the `auth` phase with the last output), then
//! `fanout-netcli`'s dialog driver, the one the SSH transports run. Only
//! `cli` tasks run over telnet: `exec` needs an SSH exec channel (the
//! engine's preflight refuses it before connecting). What the connection
//! texts say is shared with SSH (`ssh::text::connect_failed` names the
//! protocol of the target).

mod client;
mod codec;
mod login;

pub use client::{Client, Step};
pub use codec::Codec;
pub use login::{Login, LoginStep};

use std::time::{Duration, Instant};

use fanout_core::{ErrorKind, Job, Phase, Secret, Target, Task};
use fanout_engine::{AttemptError, Deadline, HostDeadline, Progress};
use fanout_netcli::DialogSpec;

/// The password a telnet login types; a target without one fails before
/// any connection is opened (a key file or an agent mean nothing to
/// telnet).
pub fn require_credentials(target: &Target) -> Result<&Secret, AttemptError> {
    target.credentials.password.as_ref().ok_or_else(|| {
        AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!(
                "{} uses telnet and has no password; set password (or password_env) in the inventory (telnet cannot use key_file or agent)",
                target.name
            ),
        )
    })
}

/// The error of a task that cannot run over telnet (the engine's
/// preflight refuses `exec` before this is reached).
pub fn not_a_telnet_task(target: &Target, task: &Task) -> AttemptError {
    AttemptError::new(
        ErrorKind::InvalidTarget,
        None,
        format!(
            "`{}` uses transport telnet, and a {} task cannot run over telnet: exec needs an SSH exec channel; telnet targets run cli",
            target.name,
            task.kind()
        ),
    )
}

/// The start of one telnet attempt, both transports alike: what is checked
/// before any connection is opened (a `cli` task, a password, a dialog
/// that builds), then the connect phase entered: its deadline and when it
/// started.
pub fn begin(
    job: &Job,
    target: &Target,
    host: HostDeadline,
    progress: &mut Progress,
) -> Result<(Deadline, Instant), AttemptError> {
    session_client(job, target, host)?;
    Ok(progress.enter(job, target, Phase::Connect, host))
}

/// Once connected: the auth phase entered, and the session's client.
pub fn login(
    job: &Job,
    target: &Target,
    host: HostDeadline,
    progress: &mut Progress,
) -> Result<Client, AttemptError> {
    progress.phase = Some(Phase::Auth);
    session_client(job, target, host)
}

fn session_client(job: &Job, target: &Target, host: HostDeadline) -> Result<Client, AttemptError> {
    let Task::Cli { commands, mode } = &job.task else {
        return Err(not_a_telnet_task(target, &job.task));
    };
    require_credentials(target)?;
    Client::new(job, target, commands, *mode, host, Instant::now())
}

/// The session's next step at `now`, both transports alike; when the login
/// is over, the time since `phase_started` goes to the auth phase and the
/// command phase starts.
pub fn next_step(
    client: &mut Client,
    progress: &mut Progress,
    phase_started: &mut Instant,
) -> Step {
    let step = client.next(Instant::now());
    if progress.phase == Some(Phase::Auth) && client.phase() == Phase::Command {
        progress.timings.auth += phase_started.elapsed();
        *phase_started = Instant::now();
        progress.phase = Some(Phase::Command);
    }
    step
}

/// After the session: `spent` since the last phase change goes to the
/// phase the client ended in (the login's, or the commands').
pub fn charge(client: &Client, progress: &mut Progress, spent: Duration) {
    match client.phase() {
        Phase::Auth => progress.timings.auth += spent,
        _ => progress.timings.command += spent,
    }
}

/// The longest one telnet attempt of `job` on `target` can take by its
/// phase timeouts: connect, auth (the login), then the command timeout
/// once per exchange of the dialog, as over SSH. `None` if a phase has no
/// timeout, or the task is not `cli`.
pub fn max_attempt(job: &Job, target: &Target) -> Option<Duration> {
    let t = |phase| job.timeouts.for_target(target, phase);
    let Task::Cli { commands, mode } = &job.task else {
        return None;
    };
    let exchanges: u32 = DialogSpec::for_target(target, commands, *mode)
        .with_options(&job.cli)
        .max_exchanges()
        .try_into()
        .unwrap_or(u32::MAX);
    Some(
        t(Phase::Connect)?
            .saturating_add(t(Phase::Auth)?)
            .saturating_add(t(Phase::Command)?.saturating_mul(exchanges)),
    )
}
