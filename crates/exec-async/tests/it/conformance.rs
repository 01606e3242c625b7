//! The executor contract, checked for `async` (every check of the suite,
//! SSH-fleet checks included), and message parity with `seq`: the same
//! device faults give the same messages on russh as on ssh2.

use fanout_exec_async::AsyncExecutor;

fanout_testkit::executor_conformance!(
    AsyncExecutor::new,
    reference: fanout_exec_threads::Sequential::new
);
