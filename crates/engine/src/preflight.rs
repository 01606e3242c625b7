//! What every driver checks and prepares before a network attempt, in one
//! place for every executor: the target must be reachable by what fanout
//! has (SSH, no telnet yet; jump hosts and ProxyCommand are the SSH
//! transports'), and the
//! task's command templates are rendered for the host (`{name}`,
//! `{vars.KEY}`...: [`Template`](fanout_core::Template)).
//!
//! A host that fails here never opens a connection; its outcome is
//! `failed` / `invalid_target` with a message saying what to do.

use std::ops::Deref;

use fanout_core::{ErrorKind, Job, Target, Transport};

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
    check_reachable(target)?;
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

/// Refuses, before connecting, what no transport supports yet: telnet.
pub fn check_reachable(target: &Target) -> Result<(), AttemptError> {
    if target.transport == Transport::Telnet {
        return Err(invalid(format!(
            "`{}` uses transport telnet ({}:{}), and telnet is not supported by this \
             executor yet: fanout speaks SSH only; set `transport: ssh` (and its SSH port) for \
             this host, or leave it out with -l '!{}'",
            target.name, target.address, target.port, target.name
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
    fn telnet_is_refused_before_connecting_jump_and_proxy_pass() {
        let job = exec("show clock");
        let mut t = Target::new("r1", "127.0.0.1");
        t.transport = Transport::Telnet;
        t.port = 23;
        let e = network_job(&job, &t).unwrap_err();
        assert!(
            e.message
                .contains("telnet is not supported by this executor yet")
        );
        // Jump hosts and a proxy command are the transports' to follow.
        let mut t = Target::new("r2", "127.0.0.1");
        t.reach.jump = vec![JumpHop {
            host: "127.0.0.5".into(),
            port: 2222,
            ..JumpHop::default()
        }];
        assert!(network_job(&job, &t).is_ok());
        let mut t = Target::new("r3", "127.0.0.1");
        t.reach.proxy_command = Some("nc 127.0.0.1 22".into());
        assert!(network_job(&job, &t).is_ok());
    }
}
