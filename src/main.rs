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

/// mimalloc v3's `mi_option_allow_thp` (libmimalloc-sys 0.1.49,
/// c_src/mimalloc/v3/include/mimalloc.h; the crate names no constant for
/// it). A test below checks its neighbours' defaults, so that a crate bump
/// that renumbers the options fails there rather than setting another one.
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// mimalloc asks for no transparent huge pages (as `MIMALLOC_ALLOW_THP=0`
/// would; that variable, if set, still decides). Debian's kernels back
/// only `madvise`d memory with 2 MiB pages, and mimalloc madvises its
/// arenas, so each thread's first 64 KiB page could cost a whole huge page:
/// 10,000 ssh2 sessions on `-e threads -c 10000` peaked at 11 GiB with it
/// and 1.8 GiB without, and the 10,000 async SSH sessions at 1.40 GiB with
/// it and 0.90 GiB without (BENCHMARKS.md; 266-282 MiB since russh is
/// patched, vendor/russh/PATCHES.md). Set from the ELF initialisers,
/// before the first allocation reserves an arena (set at the top of `main`
/// it came too late), and after mimalloc's own initialisation, which this
/// runs first: set before it, the option makes mimalloc turn huge pages off
/// for the whole process with `prctl(PR_SET_THP_DISABLE)`, which every
/// child (a local command, a proxy command, a compared peer) would
/// inherit. On a kernel whose THP mode is `always`, set
/// `MIMALLOC_ALLOW_THP=0` for the same effect as here.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static NO_HUGE_PAGES: extern "C" fn() = {
    unsafe extern "C" {
        fn getenv(name: *const std::ffi::c_char) -> *const std::ffi::c_char;
    }
    extern "C" fn no_huge_pages() {
        // No allocation here (an allocation would reserve the first arena):
        // libc's getenv, not std::env.
        // SAFETY: a NUL-terminated name; nothing writes the environment yet.
        let set = unsafe { !getenv(c"MIMALLOC_ALLOW_THP".as_ptr()).is_null() };
        // SAFETY: mimalloc's own initialiser makes the same call; a second
        // one returns at once.
        unsafe { libmimalloc_sys::mi_process_init() };
        if !set {
            // SAFETY: sets one of mimalloc's option words; any value is valid.
            unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0) };
        }
    }
    no_huge_pages
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The options around [`super::MI_OPTION_ALLOW_THP`] hold the defaults
    /// mimalloc v3's options.c gives them (page_max_reclaim -1,
    /// page_cross_thread_max_reclaim 32, minimal_purge_size 0), and it holds
    /// what the initialiser set: the index still names `allow_thp`. And
    /// huge pages are not turned off for the process (children inherit
    /// that).
    #[test]
    fn the_huge_page_option_is_the_one_set() {
        use libmimalloc_sys::mi_option_get;
        // SAFETY: reads mimalloc's option words.
        let around = unsafe { [mi_option_get(41), mi_option_get(42), mi_option_get(44)] };
        assert_eq!(around, [-1, 32, 0], "mimalloc's options were renumbered");
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            // SAFETY: reads one of mimalloc's option words.
            assert_eq!(unsafe { mi_option_get(super::MI_OPTION_ALLOW_THP) }, 0);
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            assert!(
                !status.contains("THP_enabled:\t0"),
                "THP is off for the whole process:\n{status}"
            );
        }
    }
}
