//! SSH: what both SSH transports obey — the blocking one on ssh2
//! (`fanout-transport-blocking`) and the async one on russh
//! (`fanout-transport-async`) — so that the same device gives the same
//! outcome whichever executor met it.
//!
//! The policy: what is checked before a connection is opened
//! ([`require_username`], [`require_credentials`]), the algorithms offered
//! and the host-key algorithm order ([`algorithms`]), what a host's
//! ssh_config algorithm lists make a transport offer and which negotiated
//! algorithms are legacy ([`offer`]), the order of the
//! authentication methods and the report of a failed login ([`auth`]),
//! every message text about a connection, a channel or a command and the
//! exec verdict ([`text`]), and the constants ([`CLOSE_WAIT`],
//! [`LAST_OUTPUT_CHARS`]). The cli dialog and its timeouts are
//! `fanout-netcli`'s dialog driver. `docs/ARCHITECTURE.md`
//! ("SSH policy") lists each choice and why.

pub mod algorithms;
pub mod auth;
pub mod jump;
pub mod offer;
pub mod text;

pub use algorithms::{LEGACY_CIPHERS, LEGACY_KEX, LEGACY_MACS, host_key_order};
pub use offer::{Family, legacy_negotiated, offer};

use std::time::{Duration, Instant};

use fanout_core::{CliMode, ErrorKind, Job, Phase, Target, Task};
use fanout_engine::{AttemptError, Deadline, HostDeadline};
use fanout_netcli::{DialogError, DialogSpec, Driver, Limit};

/// How long a finished session may say goodbye (disconnect sent, the
/// device's close awaited) before the transport closes the socket — on
/// both transports. One round trip on a slow WAN link fits; a device that
/// never closes costs its host at most this.
pub const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Longest tail of the output (in characters) quoted as "last output seen"
/// in an `exec` timeout message, on both transports.
pub const LAST_OUTPUT_CHARS: usize = 120;

/// `host:port` as users write it (brackets around an IPv6 address).
pub fn endpoint(target: &Target) -> String {
    if target.address.contains(':') {
        format!("[{}]:{}", target.address, target.port)
    } else {
        format!("{}:{}", target.address, target.port)
    }
}

/// The user to log in as; a target without one fails before any
/// connection is opened, saying where to set it.
pub fn require_username(target: &Target) -> Result<&str, AttemptError> {
    target.username.as_deref().ok_or_else(|| {
        AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!(
                "{} has no username; set `username` for it (or in defaults) in the inventory",
                target.name
            ),
        )
    })
}

/// A target with no way to log in fails before any connection is opened,
/// with what to set (the same message on every transport).
pub fn require_credentials(target: &Target) -> Result<(), AttemptError> {
    let creds = &target.credentials;
    if creds.key_file.is_none() && !creds.agent && creds.password.is_none() {
        return Err(AttemptError::new(
            ErrorKind::InvalidTarget,
            None,
            format!(
                "{} has no credentials; set password (or password_env), key_file or agent: true in the inventory",
                target.name
            ),
        ));
    }
    Ok(())
}

/// The dialog driver of a `cli` task running `commands` in `mode` on
/// `target`, its first exchange starting now; a host setting it cannot run
/// (a bad `prompt` regex, ...) is an `invalid_target` error.
pub fn cli_driver(
    job: &Job,
    target: &Target,
    commands: &[String],
    mode: CliMode,
    host: HostDeadline,
) -> Result<Driver, AttemptError> {
    let command = job.timeouts.for_target(target, Phase::Command);
    let rule = move |start| {
        let Deadline { at, phase, after } = Deadline::new(start, Phase::Command, command, host);
        Limit { at, phase, after }
    };
    Driver::new(
        DialogSpec::for_target(target, commands, mode).with_options(&job.cli),
        Box::new(rule),
        Instant::now(),
    )
    .map_err(|e| AttemptError::new(e.kind(), None, e.to_string()))
}

/// The driver's current exchange limit as the engine's [`Deadline`].
pub fn exchange_deadline(driver: &Driver) -> Deadline {
    let Limit { at, phase, after } = driver.limit();
    Deadline { at, phase, after }
}

/// A dialog's error as the attempt's, outputs kept.
pub fn dialog_failed(e: DialogError) -> AttemptError {
    let (kind, phase, message) = (e.kind(), e.phase(), e.message().to_string());
    AttemptError::new(kind, phase, message).with_outputs(e.into_outputs())
}

/// The error of a task that reached an SSH transport although it does not
/// use SSH (a bug of the caller).
pub fn not_an_ssh_task(task: &Task) -> AttemptError {
    AttemptError::new(
        ErrorKind::InvalidTarget,
        None,
        format!(
            "internal error: the {} task does not use SSH; please report it",
            task.kind()
        ),
    )
}

/// The longest one SSH attempt of `job` on `target` can take by its phase
/// timeouts — connect, auth, then the command; for a `cli` task the
/// command timeout once per exchange of its dialog (first prompt, paging,
/// enable and secret, configuration mode, each command, commit, logout:
/// [`DialogSpec::max_exchanges`]), since each exchange gets it afresh —
/// plus, per jump host, its handshake, its forward and its login; not
/// counting the goodbye. `None` if a phase it needs has no timeout, or
/// the task does not use SSH.
pub fn max_attempt(job: &Job, target: &Target) -> Option<Duration> {
    let t = |phase| job.timeouts.for_target(target, phase);
    let command = t(Phase::Command)?;
    let exchanges = match &job.task {
        Task::Exec { .. } => 1,
        Task::Cli { commands, mode } => DialogSpec::for_target(target, commands, *mode)
            .with_options(&job.cli)
            .max_exchanges()
            .try_into()
            .unwrap_or(u32::MAX),
        Task::Sleep { .. }
        | Task::SleepRange { .. }
        | Task::Cpu { .. }
        | Task::Local { .. }
        | Task::Http { .. } => {
            return None;
        }
    };
    let (connect, auth) = (t(Phase::Connect)?, t(Phase::Auth)?);
    // Each jump host: its handshake and its forward (connect timeout each)
    // and its login.
    let hops = u32::try_from(target.reach.jump.len()).unwrap_or(u32::MAX);
    let per_hop = connect.saturating_mul(2).saturating_add(auth);
    Some(
        connect
            .saturating_add(auth)
            .saturating_add(per_hop.saturating_mul(hops))
            .saturating_add(command.saturating_mul(exchanges)),
    )
}

#[cfg(test)]
mod tests {
    use fanout_core::{CliMode, Platform};

    use super::*;

    #[test]
    fn each_jump_host_adds_two_connects_and_a_login_to_the_budget() {
        let mut job = Job::new(Task::Exec {
            command: "show clock".into(),
        });
        let secs = Duration::from_secs;
        job.timeouts.connect = Some(secs(5));
        job.timeouts.auth = Some(secs(3));
        job.timeouts.command = Some(secs(10));
        let mut target = Target::new("r1", "127.0.0.1");
        assert_eq!(max_attempt(&job, &target), Some(secs(18)));
        target.reach.jump = vec![fanout_core::JumpHop::default(); 2];
        assert_eq!(max_attempt(&job, &target), Some(secs(18 + 2 * 13)));
    }

    #[test]
    fn a_target_without_credentials_is_invalid() {
        let target = Target::new("r1", "127.0.0.1");
        let err = require_credentials(&target).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidTarget);
        assert!(err.message.contains("set password"), "{}", err.message);
    }

    #[test]
    fn endpoints_bracket_ipv6_and_a_missing_user_says_where_to_set_it() {
        let mut target = Target::new("r1", "::1");
        target.port = 2201;
        assert_eq!(endpoint(&target), "[::1]:2201");
        target.address = "10.0.0.1".into();
        assert_eq!(endpoint(&target), "10.0.0.1:2201");
        let err = require_username(&target).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidTarget);
        assert!(err.message.contains("set `username`"), "{}", err.message);
        target.username = Some("admin".into());
        assert_eq!(require_username(&target).unwrap(), "admin");
    }

    #[test]
    fn an_attempt_counts_connect_auth_and_every_exchange() {
        let target = Target::new("r1", "127.0.0.1");
        let secs = Duration::from_secs;
        // A cli task in config mode on IOS: first prompt, Enter, terminal
        // length 0, enable, secret, configure terminal, 2 commands, end,
        // exit: 10 exchanges of the command timeout, plus connect and auth.
        let mut cli = Job::new(Task::Cli {
            commands: vec!["interface lo1".into(), "description x".into()],
            mode: CliMode::Config,
        });
        cli.timeouts.connect = Some(secs(10));
        cli.timeouts.auth = Some(secs(10));
        cli.timeouts.command = Some(secs(1));
        assert_eq!(max_attempt(&cli, &target), Some(secs(30)));
        let mut linux = target.clone();
        linux.platform = Some(Platform::Linux);
        // No paging, enable or configuration mode on Linux.
        assert_eq!(max_attempt(&cli, &linux), Some(secs(25)));
        let mut exec = cli.clone();
        exec.task = Task::Exec {
            command: "show clock".into(),
        };
        assert_eq!(max_attempt(&exec, &target), Some(secs(21)));
        exec.timeouts.auth = None;
        assert_eq!(max_attempt(&exec, &target), None, "auth has no limit");
        exec.task = Task::Cpu { iterations: 1 };
        assert_eq!(max_attempt(&exec, &target), None, "not an SSH task");
    }
}
