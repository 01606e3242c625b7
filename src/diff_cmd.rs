//! `fanout diff OLD NEW`: what changed per host between two `--out-dir`
//! folders. Exit status as diff(1): 0 no differences, 1 differences, 2 error.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, ValueEnum};
use fanout_report::{RunDiff, Snapshot};

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The earlier run's folder (written by `fanout run --out-dir OLD`).
    #[arg(value_name = "OLD")]
    pub(crate) old: PathBuf,
    /// The later run's folder.
    #[arg(value_name = "NEW")]
    pub(crate) new: PathBuf,
    /// Colour the diff: auto (on a terminal, unless NO_COLOR is set),
    /// always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub(crate) color: ColorArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorArg {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always (e.g. for `| less -R`).
    Always,
    /// Never.
    Never,
}

impl ColorArg {
    /// Whether to colour what goes to stdout.
    pub(crate) fn on_stdout(self) -> bool {
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => stdout_wants_color(),
        }
    }
}

/// A terminal, and NO_COLOR (https://no-color.org) unset or empty.
pub(crate) fn stdout_wants_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) fn run(args: &DiffArgs) -> Result<ExitCode> {
    let old = Snapshot::load(&args.old)?;
    let new = Snapshot::load(&args.new)?;
    let diff = RunDiff::between(
        &args.old.display().to_string(),
        &old,
        &args.new.display().to_string(),
        &new,
    );
    let mut out = io::stdout().lock();
    diff.write(&mut out, args.color.on_stdout())
        .and_then(|()| out.flush())
        .map_err(crate::out::stdout_error)?;
    Ok(if diff.has_differences() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
