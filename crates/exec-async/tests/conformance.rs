//! The executor contract, checked for `async` (every check of the suite,
//! SSH-fleet checks included).

use fanout_exec_async::AsyncExecutor;

fanout_testkit::executor_conformance!(AsyncExecutor::new);
