//! `fanout worker`: with `--nats URL`, a queue worker serving every run
//! submitted by `fanout run --queue` (all the work is in `fanout-queue`);
//! without, the hidden child process of `-e process`
//! (`fanout_exec_process::worker_main`, see that crate for its protocol).
//! Also the run options of the queue (`run --queue URL --site S`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use fanout_core::{CancelToken, Executor};

use crate::cli::HostSource;

/// `fanout run`'s queue options.
#[derive(Debug, Args)]
pub(crate) struct QueueArgs {
    /// Submit the run to the NATS JetStream work queue at URL
    /// (nats://HOST:PORT) instead of running hosts here: `fanout worker
    /// --nats URL` processes run them and the outcomes stream back. Only
    /// host names travel; each worker resolves them in its own inventory.
    #[arg(long, value_name = "URL", conflicts_with_all = ["executor", "per_group", "per_jump", "connect_rate", "per_jump_rate"])]
    pub(crate) queue: Option<String>,

    /// With --queue: the site of hosts without a `site:` variable (only
    /// that site's workers run a host) [default: default].
    #[arg(long, value_name = "SITE", requires = "queue")]
    pub(crate) site: Option<String>,
}

/// The executor of `run --queue`, or `None` without it.
pub(crate) fn queue_executor(args: &QueueArgs) -> Result<Option<Box<dyn Executor>>> {
    let Some(url) = &args.queue else {
        return Ok(None);
    };
    let mut builder = fanout_queue::QueueExecutor::builder(url.clone());
    if let Some(site) = &args.site {
        builder = builder.site(site.clone());
    }
    Ok(Some(Box::new(builder.build()?)))
}

/// The per-host path a queue worker runs hosts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum WorkerExecutor {
    /// The async executor's: tokio tasks on the async (russh) transports.
    Async,
}

/// `fanout worker`'s options (all need `--nats`).
#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// Serve hosts from the NATS JetStream queue at URL (nats://HOST:PORT)
    /// until Ctrl-C: every run submitted with `fanout run --queue URL`, for
    /// this worker's site. Without --nats: the internal `-e process` worker
    /// (JSON lines on stdin and stdout), started by `fanout run`.
    #[arg(long, value_name = "URL")]
    pub(crate) nats: Option<String>,

    /// The hosts this worker can run: its own inventory (it resolves the
    /// host names of a run in it; addresses and secrets never travel).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub(crate) inventory: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) read: crate::cli::InventoryFormatArgs,

    /// Use N generated hosts instead of an inventory (sleep, cpu, local).
    #[arg(long, value_name = "N", conflicts_with = "inventory")]
    pub(crate) synthetic: Option<usize>,

    /// Serve only the hosts of the inventory this filter selects (as
    /// `fanout run -l`).
    #[arg(short = 'l', long = "limit", value_name = "FILTER")]
    pub(crate) filters: Vec<String>,

    /// Run only this site's hosts (those whose `site:` variable is SITE)
    /// [default: default, the hosts without a site].
    #[arg(long, value_name = "SITE")]
    pub(crate) site: Option<String>,

    /// How hosts are run.
    #[arg(short = 'e', long = "executor", value_enum, default_value_t = WorkerExecutor::Async)]
    pub(crate) executor: WorkerExecutor,

    /// Hosts in flight at once in this worker.
    #[arg(short = 'c', long, value_name = "N", default_value_t = crate::cli::DEFAULT_CONCURRENCY)]
    pub(crate) concurrency: usize,

    /// known_hosts file checked first (repeatable; then the inventory's
    /// `known_hosts:`, then ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE")]
    pub(crate) known_hosts: Vec<PathBuf>,

    /// A host this worker took is given to another worker when it has not
    /// been acked for this long (at most 30s; a running host renews it).
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = crate::cli::parse_duration)]
    pub(crate) ack_wait: Duration,
}

pub(crate) fn run(args: WorkerArgs) -> Result<ExitCode> {
    let Some(url) = args.nats else {
        if args.inventory.is_some() || args.synthetic.is_some() || args.site.is_some() {
            bail!(
                "fanout worker without --nats is the internal -e process worker; add --nats nats://HOST:PORT to serve a queue"
            );
        }
        return Ok(ExitCode::from(fanout_exec_process::worker_main()));
    };
    let hosts = crate::run_cmd::load_hosts(&HostSource {
        inventory: args.inventory,
        read: args.read,
        synthetic: args.synthetic,
        filters: args.filters,
    })?;
    let site = args
        .site
        .unwrap_or_else(|| fanout_queue::DEFAULT_SITE.to_string());
    let worker = fanout_queue::Worker::new(fanout_queue::WorkerConfig {
        url: url.clone(),
        site: site.clone(),
        concurrency: args.concurrency,
        known_hosts: args
            .known_hosts
            .into_iter()
            .chain(hosts.known_hosts)
            .collect(),
        ack_wait: args.ack_wait,
        inventory: hosts.targets,
        origin: hosts.origin,
    })?;
    let shutdown = CancelToken::new();
    let on_signal = shutdown.clone();
    ctrlc::set_handler(move || {
        if on_signal.is_cancelled() {
            // Unacked hosts go to another worker after the ack wait.
            std::process::exit(130);
        }
        let _ = writeln!(
            std::io::stderr(),
            "fanout worker: stopping; finishing the hosts in flight (Ctrl-C again to quit now)"
        );
        on_signal.cancel();
    })
    .context("installing the Ctrl-C handler")?;
    crate::note!(
        "fanout worker: serving site `{site}` from {url} with -c {} (pid {})",
        args.concurrency,
        std::process::id()
    );
    let stats = worker.run(&shutdown)?;
    crate::note!("fanout worker: stopped after {} hosts", stats.hosts);
    Ok(ExitCode::SUCCESS)
}
