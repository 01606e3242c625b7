//! `fanout worker` (hidden): the child process of `-e process`. All the
//! work is in `fanout_exec_process::worker_main`; see that crate for the
//! protocol.

use std::process::ExitCode;

pub(crate) fn run() -> ExitCode {
    ExitCode::from(fanout_exec_process::worker_main())
}
