//! Proof that the SSH-fleet checks of fanout-testkit can fail: the async
//! executor broken by one [`Defect`] must make the matching check panic.

use fanout_exec_async::AsyncExecutor;
use fanout_testkit::defective::{Defect, defective};
use fanout_testkit::fleet_checks;

#[test]
#[should_panic(expected = "sessions were open at the devices")]
fn exceeded_concurrency_is_caught() {
    fleet_checks::ssh_concurrency_never_exceeded(&defective(
        AsyncExecutor::new,
        Defect::IgnoresConcurrency,
    ));
}

#[test]
#[should_panic(expected = "cancellation took")]
fn ignored_cancel_is_caught() {
    fleet_checks::ssh_cancellation_mid_run(&defective(AsyncExecutor::new, Defect::IgnoresCancel));
}

#[test]
#[should_panic(expected = "wrong outcome for this fault")]
fn wrong_error_kind_is_caught() {
    fleet_checks::faults_map_to_error_kinds(&defective(
        AsyncExecutor::new,
        Defect::HostKeyAsConnect,
    ));
}

#[test]
#[should_panic(expected = "strict with an unknown key must fail host_key")]
fn unchecked_host_keys_are_caught() {
    fleet_checks::host_keys_strict_and_accept_new(&defective(
        AsyncExecutor::new,
        Defect::HostKeysOff,
    ));
}

#[test]
#[should_panic(expected = "only connect errors and timeouts before the command are retried")]
fn missing_retries_are_caught() {
    fleet_checks::mixed_faults_every_host_once(&defective(
        AsyncExecutor::new,
        Defect::NeverRetries,
    ));
}

#[test]
#[should_panic(expected = "one output per exec")]
fn lost_failure_output_is_caught() {
    fleet_checks::exec_every_platform(&defective(AsyncExecutor::new, Defect::DropsPartialOutput));
}

#[test]
#[should_panic(expected = "the last output seen")]
fn lost_cli_partial_output_is_caught() {
    fleet_checks::cli_faults(&defective(
        AsyncExecutor::new,
        Defect::DropsCliPartialOutput,
    ));
}
