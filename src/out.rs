//! Standard output and standard error for every subcommand.
//!
//! A reader that goes away (`fanout ... | head`) closes the pipe; writing to
//! it then fails with `EPIPE` (Rust ignores SIGPIPE, so nothing kills us).
//! That is not an error of the run: like ripgrep, fanout then stops (a run
//! stops starting hosts) and exits 0 without a message. Everything printed
//! to stdout goes through [`outln!`](crate::outln) or [`stdout_error`] so a
//! closed pipe becomes the marker error [`StdoutClosed`], which `main`
//! turns into a quiet exit 0; any other write error (a full disk) stays an
//! error. Notes on stderr go through [`note!`](crate::note), which never
//! panics (stderr may be the same closed pipe: `2>&1 | head`).

use std::fmt;
use std::io::{self, Write};

/// Standard output was closed by its reader. Not a failure: the program
/// ends quietly with exit 0.
#[derive(Debug)]
pub(crate) struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

/// A failed write to stdout as an error: [`StdoutClosed`] for a closed
/// pipe, else the OS error with what was being done.
pub(crate) fn stdout_error(err: io::Error) -> anyhow::Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(err).context("writing to standard output")
    }
}

/// Whether `err` (or anything it wraps) is a closed stdout.
pub(crate) fn is_stdout_closed(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<StdoutClosed>())
}

/// Records the result of a write of the run's results to stdout: a closed
/// pipe (`| head`) sets `closed`, any other error (a full disk) becomes
/// `error`.
pub(crate) fn stdout_result(
    written: io::Result<()>,
    closed: &mut bool,
    error: &mut Option<anyhow::Error>,
) {
    if let Err(e) = written {
        let e = stdout_error(e);
        if is_stdout_closed(&e) {
            *closed = true;
        } else {
            *error = Some(e);
        }
    }
}

/// A [`Sink`](fanout_core::Sink) of one closure that also hears when no
/// outcome is waiting: `Some(outcome)` for each host, `None` for
/// [`Sink::idle`](fanout_core::Sink::idle) (where buffered output is
/// flushed).
pub(crate) struct IdleSink<F>(pub(crate) F);

impl<F: FnMut(Option<fanout_core::HostOutcome>) -> fanout_core::Flow> fanout_core::Sink
    for IdleSink<F>
{
    fn accept(&mut self, outcome: fanout_core::HostOutcome) -> fanout_core::Flow {
        (self.0)(Some(outcome))
    }

    fn idle(&mut self) -> fanout_core::Flow {
        (self.0)(None)
    }
}

/// Writes formatted text to stdout (used by [`outln!`](crate::outln)).
pub(crate) fn print(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    io::stdout().lock().write_fmt(args).map_err(stdout_error)
}

/// Writes formatted text to stderr, ignoring errors (used by
/// [`note!`](crate::note)).
pub(crate) fn eprint(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// `println!` that returns `anyhow::Result<()>` instead of panicking: a
/// closed stdout is [`StdoutClosed`](crate::out::StdoutClosed).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics (stderr may be a closed pipe too).
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::out::eprint(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_pipe_is_recognised_other_errors_are_not() {
        let closed = stdout_error(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_stdout_closed(&closed));
        assert!(is_stdout_closed(&closed.context("printing the table")));
        let full = stdout_error(io::Error::other("no space left on device"));
        assert!(!is_stdout_closed(&full));
        assert!(full.to_string().contains("writing to standard output"));
    }
}
