//! `fanout`: run one job against many network devices with the executor you
//! choose, and measure how each concurrency model behaves.
//!
//! This binary is thin: argument parsing lives in `cli.rs`, each subcommand
//! in its own module, and all the work in the `crates/` libraries.

mod cli;
mod cli_compare;
mod cli_expect;
mod compare_cmd;

mod compare_estimate;
mod compare_external;
mod compare_point;
mod compare_task;
mod compare_timeline;
mod completions_cmd;
mod diff_cmd;
mod doctor_checks;
mod doctor_cmd;
mod inventory_cmd;
mod live;
mod out;
mod out_path;
mod progress;
mod results;
mod run_cmd;
mod run_lessons;
mod run_log;
mod run_opts;
mod sim_cmd;
mod version;
mod worker_cmd;

use std::process::ExitCode;

use clap::FromArgMatches;

use crate::cli::{Cli, Command, InventoryCommand, SimCommand};

/// mimalloc instead of glibc's malloc: a large run allocates each host's task
/// on tokio's worker threads and frees its outcome on the main thread, where
/// glibc's per-thread arenas took a lock and grew by `mprotect` (a third of
/// the CPU of a million sleeping hosts; BENCHMARKS.md, memory section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The clap command with the libraries' versions for --version.
    let matches = version::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `cli ... --expect R --answer A`: paired with commands by position.
    cli_expect::apply(&mut cli, &matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(*args),
        Command::Inventory { command } => match command {
            InventoryCommand::Check(args) => inventory_cmd::check(&args),
            InventoryCommand::List(args) => inventory_cmd::list(&args),
            InventoryCommand::Show(args) => inventory_cmd::show(&args),
            InventoryCommand::Convert(args) => inventory_cmd::convert(&args),
        },
        Command::Sim { command } => match command {
            SimCommand::Serve(args) => sim_cmd::serve(&args),
        },
        Command::Compare(args) => compare_cmd::run(*args),
        Command::Worker(args) => worker_cmd::run(*args),
        Command::Diff(args) => diff_cmd::run(&args),
        Command::Doctor(args) => doctor_cmd::run(&args),
        Command::Completions(args) => completions_cmd::completions(&args),
        Command::Man(args) => completions_cmd::man(&args),
    };
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): end quietly, as ripgrep does.
        Err(err) if out::is_stdout_closed(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Every error that reaches here is a usage, inventory or
            // configuration problem (host failures are outcomes, exit 1).
            note!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
