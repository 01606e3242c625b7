//! Proof that the checks can fail: `seq` (or `threads`, where the defect
//! needs hosts at once) broken by one [`Defect`] must make the matching
//! check panic.

use fanout_exec_threads::{Sequential, ThreadPool};
use fanout_testkit::checks;
use fanout_testkit::defective::{Defect, defective};

#[test]
#[should_panic(expected = "never reported")]
fn lost_host_is_caught() {
    checks::every_host_reported_exactly_once(&defective(Sequential::new, Defect::LosesLastHost));
}

#[test]
#[should_panic(expected = "more than once")]
fn duplicate_report_is_caught() {
    checks::every_host_reported_exactly_once(&defective(
        Sequential::new,
        Defect::ReportsFirstTwice,
    ));
}

#[test]
#[should_panic(expected = "ran at once")]
fn exceeded_concurrency_is_caught() {
    // Claims the job's -c but runs every host at once.
    checks::concurrency_never_exceeded(&defective(ThreadPool::new, Defect::IgnoresConcurrency));
}

#[test]
#[should_panic(expected = "of group core ran at once")]
fn exceeded_group_cap_is_caught() {
    checks::per_group_caps(&defective(ThreadPool::new, Defect::IgnoresGroupCaps));
}

#[test]
#[should_panic(expected = "drops no connection")]
fn exceeded_jump_cap_is_caught() {
    // -c 12 through a bastion with MaxStartups 3:100:3 and no cap: it drops hosts.
    fanout_testkit::jump_checks::per_jump_caps_hosts_through_each_bastion(&defective(
        ThreadPool::new,
        Defect::IgnoresJumpCaps,
    ));
}

#[test]
#[should_panic(expected = "cancellation took")]
fn ignored_cancel_is_caught() {
    checks::cancellation_mid_run(&defective(Sequential::new, Defect::IgnoresCancel));
}

#[test]
#[should_panic(expected = "in phase host (rule 6)")]
fn ignored_timeouts_are_caught() {
    checks::host_timeout(&defective(Sequential::new, Defect::IgnoresTimeouts));
}

#[test]
#[should_panic(expected = "retried twice")]
fn missing_retries_are_caught() {
    checks::retries_counted(&defective(Sequential::new, Defect::NeverRetries));
}

#[test]
#[should_panic(expected = "outcomes must stream")]
fn batched_outcomes_are_caught() {
    checks::streams_as_completed(&defective(Sequential::new, Defect::BatchesOutcomes));
}

#[test]
#[should_panic(expected = "no Sink::idle between two outcomes")]
fn a_sink_never_told_of_idle_is_caught() {
    fanout_testkit::run_feature_checks::idles_before_it_waits(&defective(
        ThreadPool::new,
        Defect::NeverIdles,
    ));
}

#[test]
#[should_panic(expected = "--connect-rate")]
fn ignored_rate_is_caught() {
    checks::connect_rate(&defective(Sequential::new, Defect::IgnoresRate));
}

#[test]
#[should_panic(expected = "--per-jump-rate")]
fn ignored_jump_rate_is_caught() {
    checks::per_jump_rate(&defective(ThreadPool::new, Defect::IgnoresJumpRate));
}

#[test]
#[should_panic(expected = "wrong outcome for")]
fn aborting_on_failure_is_caught() {
    checks::failures_stay_per_host(&defective(Sequential::new, Defect::AbortsOnFirstFailure));
}

#[test]
#[should_panic(expected = "after Flow::Stop must be cancelled")]
fn ignored_sink_stop_is_caught() {
    checks::sink_stop(&defective(Sequential::new, Defect::IgnoresSinkStop));
}

#[test]
#[should_panic(expected = "no outcome may be delivered")]
fn late_validation_is_caught() {
    checks::rejects_before_any_outcome(&defective(Sequential::new, Defect::ValidatesLate));
}
