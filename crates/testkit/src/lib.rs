//! fanout's executor conformance suite and test fixtures.
//!
//! Every executor instantiates [`executor_conformance!`] in its tests; the
//! macro expands to one `#[test]` per rule of the
//! [Executor contract](fanout_core::executor#contract), each calling a
//! function of [`checks`] that panics with a precise message when the rule
//! is broken. Measurements are independent of the executor under test where
//! it matters: concurrency is measured by the hosts' own subprocesses
//! stamping their start and end times ([`probe`]), not by what the executor
//! reports about itself. The [`fleet_checks`] run every SSH executor
//! against a simulated device fleet ([`fanout_sim`]): the same fault must
//! give the same error kind and the same message whichever executor met
//! it, and the
//! [`streaming_checks`] make sure a device whose output never ends still
//! times out and can be cancelled.

pub mod checks;
pub mod defective;
pub mod fleet_checks;
pub mod http_checks;
pub mod jump_checks;
pub mod lesson_checks;
pub mod probe;
pub mod reach_checks;
pub mod refusal_checks;
pub mod run_feature_checks;
pub mod streaming_checks;
pub mod transport_checks;

pub use fanout_core;

/// Expands to the conformance tests for an executor.
///
/// `$make` is a function (path or closure) taking no argument and returning
/// an executor value (`impl Executor + 'static`):
///
/// ```ignore
/// fanout_testkit::executor_conformance!(fanout_exec_threads::Sequential::new);
/// ```
///
/// With `reference: $other`, it also checks message parity: the simulated
/// fault matrix must give, host by host, the same messages (digits masked)
/// on this executor as on `$other`
/// ([`fleet_checks::messages::messages_match`]):
///
/// ```ignore
/// fanout_testkit::executor_conformance!(
///     fanout_exec_async::AsyncExecutor::new,
///     reference: fanout_exec_threads::Sequential::new
/// );
/// ```
///
/// With `refuses: [rule, ..]` (names of [`refusal_checks::REFUSABLE`]),
/// the listed rules' tests check instead that the executor refuses a job
/// using them up front, with an `ExecError` naming the option
/// ([`refusal_checks::refused_up_front`]):
///
/// ```ignore
/// fanout_testkit::executor_conformance!(
///     QueueHarness::new,
///     refuses: [per_group, connect_rate]
/// );
/// ```
#[macro_export]
macro_rules! executor_conformance {
    ($make:expr, reference: $reference:expr) => {
        $crate::executor_conformance!($make);

        #[allow(missing_docs)]
        mod message_parity {
            #[allow(unused_imports)]
            use super::*;
            use $crate::fanout_core::Executor;

            #[test]
            fn fleet_messages_match_the_reference() {
                $crate::fleet_checks::messages::messages_match(
                    &|| -> Box<dyn Executor> { Box::new(($make)()) },
                    &|| -> Box<dyn Executor> { Box::new(($reference)()) },
                );
            }
        }
    };
    ($make:expr) => {
        $crate::executor_conformance!($make, refuses: []);
    };
    ($make:expr, refuses: [$($refused:ident),* $(,)?]) => {
        #[allow(missing_docs)]
        mod executor_conformance {
            #[allow(unused_imports)]
            use super::*;
            use $crate::checks;
            use $crate::fanout_core::Executor;

            /// Rules this executor refuses by design.
            const REFUSED: &[&str] = &[$(stringify!($refused)),*];

            fn make() -> Box<dyn Executor> {
                Box::new(($make)())
            }

            #[test]
            fn bad_jobs_fail_before_any_outcome() {
                checks::rejects_before_any_outcome(&make);
            }
            #[test]
            fn max_fail_stops_starting_hosts() {
                $crate::run_feature_checks::max_fail_stops_starting_hosts(&make);
            }
            #[test]
            fn observer_hears_hosts_start_and_finish() {
                $crate::run_feature_checks::observer_hears_hosts_start_and_finish(&make);
            }
            #[test]
            fn sleep_outcomes() {
                checks::sleep_outcomes(&make);
            }
            #[test]
            fn cpu_outcomes() {
                checks::cpu_outcomes(&make);
            }
            #[test]
            fn local_outcomes() {
                checks::local_outcomes(&make);
            }
            #[test]
            fn every_host_reported_exactly_once() {
                checks::every_host_reported_exactly_once(&make);
            }
            #[test]
            fn failures_stay_per_host() {
                checks::failures_stay_per_host(&make);
            }
            #[test]
            fn command_timeout() {
                checks::command_timeout(&make);
            }
            #[test]
            fn host_timeout() {
                checks::host_timeout(&make);
            }
            #[test]
            fn retries_counted() {
                checks::retries_counted(&make);
            }
            #[test]
            fn cancellation_mid_run_returns_partial_results() {
                checks::cancellation_mid_run(&make);
            }
            #[test]
            fn sink_stop_acts_like_cancel() {
                checks::sink_stop(&make);
            }
            #[test]
            fn concurrency_never_exceeded() {
                checks::concurrency_never_exceeded(&make);
            }
            #[test]
            fn per_group_caps_never_exceeded() {
                $crate::refusal_checks::check_or_refused(
                    &make,
                    "per_group",
                    REFUSED,
                    checks::per_group_caps,
                );
            }
            #[test]
            fn connect_rate_respected() {
                $crate::refusal_checks::check_or_refused(
                    &make,
                    "connect_rate",
                    REFUSED,
                    checks::connect_rate,
                );
            }
            #[test]
            fn per_jump_rate_respected() {
                $crate::refusal_checks::check_or_refused(
                    &make,
                    "per_jump_rate",
                    REFUSED,
                    checks::per_jump_rate,
                );
            }
            #[test]
            fn connect_rate_auto_rides_out_a_storm() {
                $crate::refusal_checks::check_or_refused(
                    &make,
                    "connect_rate_auto",
                    REFUSED,
                    $crate::fleet_checks::connect_rate_auto_rides_out_a_storm,
                );
            }
            #[test]
            fn local_commands_leave_nothing_behind() {
                checks::local_commands_leave_nothing_behind(&make);
            }
            #[test]
            fn outcomes_stream_as_hosts_complete() {
                checks::streams_as_completed(&make);
            }
            #[test]
            fn the_sink_hears_idle_before_the_executor_waits() {
                $crate::run_feature_checks::idles_before_it_waits(&make);
            }
            #[test]
            fn fleet_exec_every_platform() {
                $crate::fleet_checks::exec_every_platform(&make);
            }
            #[test]
            fn fleet_cli_user_enable_config() {
                $crate::fleet_checks::cli_user_enable_config(&make);
            }
            #[test]
            fn fleet_cli_error_without_percent() {
                $crate::fleet_checks::cli_error_without_percent(&make);
            }
            #[test]
            fn fleet_faults_map_to_error_kinds() {
                $crate::fleet_checks::faults_map_to_error_kinds(&make);
            }
            #[test]
            fn fleet_cli_faults() {
                $crate::fleet_checks::cli_faults(&make);
            }
            #[test]
            fn fleet_host_keys_strict_and_accept_new() {
                $crate::fleet_checks::host_keys_strict_and_accept_new(&make);
            }
            #[test]
            fn fleet_key_file_auth() {
                $crate::fleet_checks::key_file_auth(&make);
            }
            #[test]
            fn fleet_concurrency_never_exceeded() {
                $crate::fleet_checks::ssh_concurrency_never_exceeded(&make);
            }
            #[test]
            fn fleet_cancellation_mid_run() {
                $crate::fleet_checks::ssh_cancellation_mid_run(&make);
            }
            #[test]
            fn telnet_cli_every_platform() {
                $crate::fleet_checks::telnet_cli_every_platform(&make);
            }
            #[test]
            fn telnet_faults() {
                $crate::fleet_checks::telnet_faults(&make);
            }
            #[test]
            fn telnet_cancellation() {
                $crate::fleet_checks::telnet_cancellation(&make);
            }
            #[test]
            fn fleet_mixed_faults_every_host_once() {
                $crate::fleet_checks::mixed_faults_every_host_once(&make);
            }
            #[test]
            fn fleet_fault_matrix_at_scale() {
                $crate::fleet_checks::fault_matrix_at_scale(&make);
            }
            #[test]
            fn telnet_fault_matrix_at_scale() {
                $crate::fleet_checks::telnet_fault_matrix_at_scale(&make);
            }
            #[test]
            fn fleet_soak_leaves_nothing_open() {
                $crate::fleet_checks::soak_leaves_nothing_open(&make);
            }
            #[test]
            fn endless_exec_output_times_out() {
                $crate::streaming_checks::endless_exec_output_times_out(&make);
            }
            #[test]
            fn endless_cli_output_times_out() {
                $crate::streaming_checks::endless_cli_output_times_out(&make);
            }
            #[test]
            fn results_in_inventory_order() {
                $crate::lesson_checks::results_in_inventory_order(&make);
            }
            #[test]
            fn seeded_sleep_range() {
                $crate::lesson_checks::seeded_sleep_range(&make);
            }
            #[test]
            fn cancel_stops_endless_output() {
                $crate::streaming_checks::cancel_stops_endless_output(&make);
            }
            #[test]
            fn ssh_legacy_algorithms_are_recorded() {
                $crate::fleet_checks::legacy_algorithms_are_recorded(&make);
            }
            #[test]
            fn ssh_user_known_hosts_file_is_checked() {
                $crate::fleet_checks::user_known_hosts_file_is_checked(&make);
            }
            #[test]
            fn templated_commands_are_rendered() {
                $crate::reach_checks::templated_commands_are_rendered(&make);
            }
            #[test]
            fn cli_config_hostname_is_rendered() {
                $crate::reach_checks::cli_config_hostname_is_rendered(&make);
            }
            #[test]
            fn telnet_exec_fails_before_connecting() {
                $crate::reach_checks::telnet_exec_fails_before_connecting(&make);
            }
            #[test]
            fn jump_two_bastion_chain_reaches_every_device() {
                $crate::jump_checks::two_bastion_chain_reaches_every_device(&make);
            }
            #[test]
            fn jump_wrong_hop_password_is_an_auth_error_naming_the_hop() {
                $crate::jump_checks::wrong_hop_password_is_an_auth_error_naming_the_hop(&make);
            }
            #[test]
            fn jump_refused_forward_is_a_connect_error_with_the_reason() {
                $crate::jump_checks::refused_forward_is_a_connect_error_with_the_reason(&make);
            }
            #[test]
            fn jump_unknown_hop_host_key_under_strict_names_the_hop() {
                $crate::jump_checks::unknown_hop_host_key_under_strict_names_the_hop(&make);
            }
            #[test]
            fn jump_hop_algorithms_are_the_hops_own() {
                $crate::jump_checks::hop_algorithms_are_the_hops_own(&make);
            }
            #[test]
            fn jump_per_jump_caps_hosts_through_each_bastion() {
                $crate::refusal_checks::check_or_refused(
                    &make,
                    "per_jump",
                    REFUSED,
                    $crate::jump_checks::per_jump_caps_hosts_through_each_bastion,
                );
            }
            #[test]
            fn proxy_command_carries_the_connection() {
                $crate::jump_checks::proxy_command_carries_the_connection(&make);
            }
            #[test]
            fn http_restconf_and_eapi() {
                $crate::http_checks::http_restconf_and_eapi(&make);
            }
            #[test]
            fn http_faults_map_to_error_kinds() {
                $crate::http_checks::http_faults_map_to_error_kinds(&make);
            }
            #[test]
            fn http_hosts_of_a_device_reuse_its_connections() {
                $crate::http_checks::http_hosts_of_a_device_reuse_its_connections(&make);
            }
        }
    };
}
