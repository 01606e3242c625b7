//! Devices that never stop talking ([`Fault::EndlessOutput`]): every
//! command answers with output that never ends and never a prompt or an
//! exit status. The command timeout and cancellation must still stop the
//! host although data arrives on every read, for exec and cli tasks alike.
//!
//! Each check runs the executor on a thread of its own, so that an executor
//! that never stops fails the check (after a generous limit) instead of
//! hanging the test run.

use std::sync::mpsc;
use std::time::Duration;

use fanout_core::{
    CliMode, ErrorKind, Executor, HostKeyPolicy, HostOutcome, Job, Phase, Status, Task, TaskKind,
};
use fanout_sim::{Fault, Fleet};

use crate::checks::{Delivered, MakeExecutor, run_job};

/// The command timeout of the timeout checks.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(600);

/// How long a run may take before the check calls it stuck.
const STUCK: Duration = Duration::from_secs(20);

/// What an endless device prints, without its line end.
fn endless_text() -> &'static str {
    Fault::ENDLESS_LINE.trim_end()
}

/// One device whose commands never stop printing.
fn endless_fleet() -> Fleet {
    Fleet::builder()
        .devices(1)
        .faults(
            "endless_output=100%"
                .parse()
                .expect("the endless_output fault spec parses"),
        )
        .start()
        .unwrap_or_else(|e| panic!("the simulated fleet did not start: {e}"))
}

fn job(task: Task, fleet: &Fleet, command_timeout: Duration) -> Job {
    let mut job = Job::new(task);
    job.known_hosts = vec![fleet.known_hosts_path().to_path_buf()];
    job.host_keys = HostKeyPolicy::Strict;
    job.timeouts.connect = Some(Duration::from_secs(10));
    job.timeouts.auth = Some(Duration::from_secs(10));
    job.timeouts.command = Some(command_timeout);
    job
}

fn exec_task() -> Task {
    Task::Exec {
        command: "show interfaces".into(),
    }
}

fn cli_task() -> Task {
    Task::Cli {
        commands: vec!["show interfaces".into()],
        mode: CliMode::User,
    }
}

/// Runs `job` on the fleet's one device on a thread of its own (cancelled
/// after `cancel_after` if set) and returns the host's outcome and how long
/// the run took; panics if the run had not returned within [`STUCK`].
fn run_alone(
    exec: Box<dyn Executor>,
    job: Job,
    fleet: &Fleet,
    cancel_after: Option<Duration>,
) -> (HostOutcome, Duration) {
    let targets = fleet.targets();
    let name = exec.name().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_job(exec.as_ref(), &job, &targets, cancel_after, None));
    });
    let d: Delivered = rx.recv_timeout(STUCK).unwrap_or_else(|_| {
        panic!(
            "{name}: a device that streams output forever held the run for more than {STUCK:?} \
             (the command timeout and cancellation must stop it)"
        )
    });
    let result = d.result;
    let mut outcomes = d.outcomes.into_iter().map(|(_, o)| o);
    let outcome = outcomes.next().unwrap_or_else(|| {
        panic!("{name}: the host was never reported (contract rule 2); the run returned {result:?}")
    });
    assert!(
        outcomes.next().is_none(),
        "{name}: one host reported more than once (contract rule 2)"
    );
    (outcome, d.elapsed)
}

/// An exec command whose output never ends times out in the command phase
/// after the command timeout, keeping the output seen so far and naming it
/// in the message.
pub fn endless_exec_output_times_out(make: MakeExecutor<'_>) {
    let exec = make();
    let fleet = endless_fleet();
    let job = job(exec_task(), &fleet, COMMAND_TIMEOUT);
    let (o, elapsed) = run_alone(exec, job, &fleet, None);
    assert_eq!(
        (o.status, o.error_kind, o.phase),
        (
            Status::Timeout,
            Some(ErrorKind::Timeout),
            Some(Phase::Command)
        ),
        "endless exec output must end in a command timeout: {o:?}"
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "a {COMMAND_TIMEOUT:?} command timeout took {elapsed:?} to stop a streaming device"
    );
    assert!(
        o.outputs
            .first()
            .is_some_and(|out| out.stdout.contains(endless_text())),
        "the output received before the timeout must be kept: {:?}",
        o.outputs
    );
    let message = o.message.as_deref().unwrap_or("");
    assert!(
        message.contains("last output seen"),
        "the timeout message must show the last output seen: {message:?}"
    );
}

/// A cli command whose output never ends and never shows a prompt fails
/// with `prompt_not_found` after the command timeout; the message says how
/// long it waited and what it saw instead.
pub fn endless_cli_output_times_out(make: MakeExecutor<'_>) {
    let exec = make();
    let fleet = endless_fleet();
    let job = job(cli_task(), &fleet, COMMAND_TIMEOUT);
    let (o, elapsed) = run_alone(exec, job, &fleet, None);
    assert_eq!(
        (o.status, o.error_kind),
        (Status::Failed, Some(ErrorKind::PromptNotFound)),
        "output without a prompt must end in prompt_not_found: {o:?}"
    );
    let message = o.message.as_deref().unwrap_or("");
    assert!(
        message.contains("within 600ms") && message.contains(endless_text()),
        "the message must name the wait and the output seen: {message:?}"
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "a {COMMAND_TIMEOUT:?} command timeout took {elapsed:?} to stop a streaming device"
    );
}

/// Cancelling a run whose device streams forever (exec and cli, command
/// timeout far away) reports the host `cancelled` promptly.
pub fn cancel_stops_endless_output(make: MakeExecutor<'_>) {
    let cancel_at = Duration::from_millis(800);
    for (kind, task) in [(TaskKind::Exec, exec_task()), (TaskKind::Cli, cli_task())] {
        let exec = make();
        let fleet = endless_fleet();
        let job = job(task, &fleet, Duration::from_secs(120));
        let (o, elapsed) = run_alone(exec, job, &fleet, Some(cancel_at));
        assert_eq!(
            (o.status, o.error_kind),
            (Status::Cancelled, Some(ErrorKind::Cancelled)),
            "{kind}: a cancelled host whose device streams forever: {o:?}"
        );
        let late = elapsed.saturating_sub(cancel_at);
        assert!(
            late < Duration::from_secs(2),
            "{kind}: the run stopped {late:?} after the cancel"
        );
    }
}
