//! What every driver checks and prepares before a network attempt, in one
//! place for every executor: the target must be reachable by what fanout
//! has (SSH, no telnet yet; no jump hosts or proxy command yet), and the
//! task's command templates are rendered for the host (`{name}`,
//! `{vars.KEY}`...: [`Template`](fanout_core::Template)).
//!
//! A host that fails here never opens a connection; its outcome is
//! `failed` / `invalid_target` with a message saying what to do.

use std::ops::Deref;

use fanout_core::{ErrorKind, Job, Target, TaskKind, Transport};

use crate::AttemptError;

/// The job a network attempt runs on one host: the run's own when its
/// commands have no placeholder, else a copy with the host's commands
/// (boxed, so that an async host's future stays small).
#[derive(Debug)]
pub enum HostJob<'a> {
    /// The run's job, unchanged.
    Shared(&'a Job),
    /// The job with this host's rendered commands.
    Rendered(Box<Job>),
}

impl Deref for HostJob<'_> {
    type Target = Job;

    fn deref(&self) -> &Job {
        match self {
            HostJob::Shared(job) => job,
            HostJob::Rendered(job) => job,
        }
    }
}

/// Checks that `target` can be reached by the transports fanout has and
/// renders `job`'s command templates for it. Called by both drivers before
/// each attempt of a network task.
pub fn network_job<'a>(job: &'a Job, target: &Target) -> Result<HostJob<'a>, AttemptError> {
    // An HTTP request goes to its URL: the target's SSH/telnet reach
    // (transport, jump hosts) is not its way.
    if job.task.kind() != TaskKind::Http {
        check_reachable(target)?;
    }
    match job.task.for_target(target) {
        Ok(None) => Ok(HostJob::Shared(job)),
        Ok(Some(task)) => {
            let mut own = job.clone();
            own.task = task;
            Ok(HostJob::Rendered(Box::new(own)))
        }
        Err(e) => Err(invalid(e.to_string())),
    }
}

/// Refuses, before connecting, what no transport supports yet: telnet,
/// jump hosts, a proxy command.
pub fn check_reachable(target: &Target) -> Result<(), AttemptError> {
    if target.transport == Transport::Telnet {
        return Err(invalid(format!(
            "`{}` uses transport telnet ({}:{}), and telnet is not supported by this \
             executor yet: fanout speaks SSH only; set `transport: ssh` (and its SSH port) for \
             this host, or leave it out with -l '!{}'",
            target.name, target.address, target.port, target.name
        )));
    }
    if let Some(first) = target.reach.jump.first() {
        let chain: Vec<String> = target.reach.jump.iter().map(|h| h.to_string()).collect();
        return Err(invalid(format!(
            "`{}` is reached through jump host{} {} (ProxyJump from its ssh_config), and jump \
             hosts are not supported by this executor yet; fanout did not connect directly \
             instead. Run fanout on {} itself, or remove ProxyJump for this host if it is \
             reachable directly",
            target.name,
            if chain.len() > 1 { "s" } else { "" },
            chain.join(" -> "),
            first.host,
        )));
    }
    if let Some(cmd) = &target.reach.proxy_command {
        return Err(invalid(format!(
            "`{}` has ProxyCommand `{cmd}` in its ssh_config, and fanout does not run proxy \
             commands; fanout did not connect directly instead. Remove ProxyCommand for this \
             host (or `ProxyCommand none`) if it is reachable directly",
            target.name
        )));
    }
    Ok(())
}

fn invalid(message: String) -> AttemptError {
    AttemptError::new(ErrorKind::InvalidTarget, None, message)
}

#[cfg(test)]
mod tests {
    use fanout_core::{JumpHop, Task};

    use super::*;

    fn exec(command: &str) -> Job {
        Job::new(Task::Exec {
            command: command.into(),
        })
    }

    #[test]
    fn constant_commands_share_the_job_templated_ones_are_rendered() {
        let job = exec("show clock");
        let t = Target::new("r1", "127.0.0.1");
        assert!(matches!(network_job(&job, &t).unwrap(), HostJob::Shared(_)));
        let job = exec("hostname lab-{name}");
        let rendered = network_job(&job, &t).unwrap();
        assert_eq!(
            rendered.task,
            Task::Exec {
                command: "hostname lab-r1".into()
            }
        );
        let job = exec("ping {vars.peer}");
        let e = network_job(&job, &t).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidTarget);
        assert!(
            e.message.contains("host `r1` has no variable `peer`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn telnet_jump_and_proxy_command_are_refused_before_connecting() {
        let job = exec("show clock");
        let mut t = Target::new("r1", "127.0.0.1");
        t.transport = Transport::Telnet;
        t.port = 23;
        let e = network_job(&job, &t).unwrap_err();
        assert!(
            e.message
                .contains("telnet is not supported by this executor yet")
        );
        let mut t = Target::new("r2", "127.0.0.1");
        t.reach.jump = vec![
            JumpHop {
                host: "127.0.0.5".into(),
                port: 2222,
                user: Some("ops".into()),
                identity: None,
            },
            JumpHop {
                host: "127.0.0.6".into(),
                port: 22,
                user: None,
                identity: None,
            },
        ];
        let e = network_job(&job, &t).unwrap_err();
        assert!(
            e.message
                .contains("jump hosts are not supported by this executor yet"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("ops@127.0.0.5:2222 -> 127.0.0.6:22"),
            "{}",
            e.message
        );
        let mut t = Target::new("r3", "127.0.0.1");
        t.reach.proxy_command = Some("nc -x proxy 127.0.0.1 22".into());
        let e = network_job(&job, &t).unwrap_err();
        assert!(
            e.message.contains("does not run proxy commands"),
            "{}",
            e.message
        );
    }
}
