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

/// mimalloc v3's `mi_option_arena_eager_commit` (libmimalloc-sys 0.1.49,
/// c_src/mimalloc/v3/include/mimalloc.h; the crate names no constant for it).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// mimalloc's arenas committed as they are used, not whole when reserved
/// (what `MIMALLOC_ARENA_EAGER_COMMIT=0` does; that variable, if set, still
/// wins). Set from the ELF initialisers, before the first allocation
/// reserves an arena: set at the top of `main` it came too late (10,000 SSH
/// sessions stayed at 1.27 GiB). Measured on 2 cores (BENCHMARKS.md): 10,000
/// SSH sessions 1.40 -> 0.91 GiB peak RSS, 1,000,000 sleeping hosts 2.3-2.5
/// -> 1.8-2.0 s `wall_s` (the system time of faulting in committed pages).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_MEMORY_LAZILY: extern "C" fn() = {
    unsafe extern "C" {
        fn getenv(name: *const std::ffi::c_char) -> *const std::ffi::c_char;
    }
    extern "C" fn commit_memory_lazily() {
        // No allocation here (an allocation would reserve the first arena):
        // libc's getenv, not std::env.
        // SAFETY: a NUL-terminated name; nothing writes the environment yet.
        let set = unsafe { !getenv(c"MIMALLOC_ARENA_EAGER_COMMIT".as_ptr()).is_null() };
        if !set {
            // SAFETY: sets one of mimalloc's option words; any value is valid.
            unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
        }
    }
    commit_memory_lazily
};

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
