//! What every driver checks and prepares before a network attempt, in one
//! place for every executor: the target must be reachable by what fanout
//! has (SSH, or telnet for `cli` tasks; jump hosts and ProxyCommand are
//! the SSH transports'), and the
//! task's command templates are rendered for the host (`{name}`,
//! `{vars.KEY}`...: [`Template`](fanout_core::Template)).
//!
//! A host that fails here never opens a connection; its outcome is
//! `failed` / `invalid_target` with a message saying what to do.

use std::ops::Deref;

use fanout_core::{ErrorKind, Job, Target, Task, TaskKind, Transport};

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
        check_telnet_task(job, target)?;
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

/// Refuses, before connecting, a task telnet cannot run: only `cli` runs
/// over telnet (`exec` needs an SSH exec channel).
pub fn check_telnet_task(job: &Job, target: &Target) -> Result<(), AttemptError> {
    if target.transport == Transport::Telnet && !matches!(job.task, Task::Cli { .. }) {
        return Err(invalid(format!(
            "`{}` uses transport telnet ({}:{}), and a {} task cannot run over telnet: exec \
             needs an SSH exec channel; telnet targets run cli (or set `transport: ssh` and its \
             SSH port for this host, or leave it out with -l '!{}')",
            target.name,
            target.address,
            target.port,
            job.task.kind(),
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
    fn telnet_exec_is_refused_before_connecting_cli_jump_and_proxy_pass() {
        let job = exec("show clock");
        let mut t = Target::new("r1", "127.0.0.1");
        t.transport = Transport::Telnet;
        t.port = 23;
        let e = network_job(&job, &t).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidTarget);
        assert!(
            e.message
                .contains("exec needs an SSH exec channel; telnet targets run cli"),
            "{}",
            e.message
        );
        let cli = Job::new(Task::Cli {
            commands: vec!["show clock".into()],
            mode: fanout_core::CliMode::User,
        });
        assert!(
            network_job(&cli, &t).is_ok(),
            "cli runs over telnet on every executor"
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
