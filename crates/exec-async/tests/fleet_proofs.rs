//! Proof that the SSH-fleet checks of fanout-testkit can fail: the async
//! executor wrapped so that it breaks one rule must make the matching
//! check panic.

use fanout_core::{
    CancelToken, ErrorKind, ExecError, Executor, HostKeyPolicy, HostOutcome, Job, RunSummary, Sink,
    Target,
};
use fanout_exec_async::AsyncExecutor;
use fanout_testkit::fleet_checks;

/// One way to break the contract.
#[derive(Clone, Copy, Debug)]
enum Defect {
    /// Claims `-c` but runs every host at once.
    IgnoresConcurrency,
    /// Never sees the caller's cancellation.
    IgnoresCancel,
    /// Reports a refused host key as a connect error.
    HostKeyAsConnect,
    /// Never verifies host keys.
    HostKeysOff,
    /// Never retries.
    NeverRetries,
    /// Drops the output of failed hosts.
    DropsPartialOutput,
    /// Drops what a failed cli host saw: its outputs and the last output
    /// quoted in its message.
    DropsCliPartialOutput,
}

struct Broken(Defect);

impl Executor for Broken {
    fn name(&self) -> &str {
        "broken-async"
    }
    fn concurrency(&self, job: &Job) -> usize {
        job.limits.concurrency
    }
    fn run(
        &self,
        job: &Job,
        targets: &[Target],
        sink: &mut dyn Sink,
        cancel: &CancelToken,
    ) -> Result<RunSummary, ExecError> {
        let inner = AsyncExecutor::new();
        let mut job = job.clone();
        let fresh = CancelToken::new();
        let mut cancel = cancel;
        match self.0 {
            Defect::IgnoresConcurrency => job.limits.concurrency = targets.len().max(1),
            Defect::IgnoresCancel => cancel = &fresh,
            Defect::HostKeysOff => job.host_keys = HostKeyPolicy::Off,
            Defect::NeverRetries => job.retry.retries = 0,
            Defect::HostKeyAsConnect
            | Defect::DropsPartialOutput
            | Defect::DropsCliPartialOutput => {}
        }
        let defect = self.0;
        let mut rewrite = |mut o: HostOutcome| {
            match defect {
                Defect::HostKeyAsConnect if o.error_kind == Some(ErrorKind::HostKey) => {
                    o.error_kind = Some(ErrorKind::Connect);
                }
                Defect::DropsPartialOutput if !o.is_ok() => o.outputs.clear(),
                Defect::DropsCliPartialOutput if !o.is_ok() => {
                    o.outputs.clear();
                    if let Some(m) = &mut o.message
                        && let Some(at) = m.find("last output")
                    {
                        m.truncate(at);
                    }
                }
                _ => {}
            }
            sink.accept(o)
        };
        inner.run(&job, targets, &mut rewrite, cancel)
    }
}

fn broken(defect: Defect) -> impl Fn() -> Box<dyn Executor> {
    move || Box::new(Broken(defect))
}

#[test]
#[should_panic(expected = "sessions were open at the devices")]
fn exceeded_concurrency_is_caught() {
    fleet_checks::ssh_concurrency_never_exceeded(&broken(Defect::IgnoresConcurrency));
}

#[test]
#[should_panic(expected = "cancellation took")]
fn ignored_cancel_is_caught() {
    fleet_checks::ssh_cancellation_mid_run(&broken(Defect::IgnoresCancel));
}

#[test]
#[should_panic(expected = "wrong outcome for this fault")]
fn wrong_error_kind_is_caught() {
    fleet_checks::faults_map_to_error_kinds(&broken(Defect::HostKeyAsConnect));
}

#[test]
#[should_panic(expected = "strict with an unknown key must fail host_key")]
fn unchecked_host_keys_are_caught() {
    fleet_checks::host_keys_strict_and_accept_new(&broken(Defect::HostKeysOff));
}

#[test]
#[should_panic(expected = "only connect errors and timeouts before the command are retried")]
fn missing_retries_are_caught() {
    fleet_checks::mixed_faults_every_host_once(&broken(Defect::NeverRetries));
}

#[test]
#[should_panic(expected = "one output per exec")]
fn lost_failure_output_is_caught() {
    fleet_checks::exec_every_platform(&broken(Defect::DropsPartialOutput));
}

#[test]
#[should_panic(expected = "the last output seen")]
fn lost_cli_partial_output_is_caught() {
    fleet_checks::cli_faults(&broken(Defect::DropsCliPartialOutput));
}
