//! `fanout compare`'s options (clap derive; doc comments are `--help`),
//! re-exported by `cli.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use fanout_core::{Phase, Rate};

use crate::cli::{
    ConnectRateArg, HostKeysArg, TaskCmd, parse_duration, parse_platform, parse_timeout,
};

/// `fanout compare` options (owned by compare_cmd.rs).
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Hosts from this inventory (any format of `fanout run -i`) instead of a simulated fleet.
    #[arg(short = 'i', long, value_name = "FILE", conflicts_with_all = ["sim", "synthetic"])]
    pub(crate) inventory: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) read: crate::cli::InventoryFormatArgs,

    /// Start a simulated fleet of N devices as a child process [default: 100].
    #[arg(long, value_name = "N", conflicts_with = "synthetic")]
    pub(crate) sim: Option<usize>,

    /// N generated hosts without a network (for sleep, cpu and local tasks).
    #[arg(long, value_name = "N")]
    pub(crate) synthetic: Option<usize>,

    /// Select hosts of the inventory (same syntax as `fanout run -l`).
    #[arg(short = 'l', long = "limit", value_name = "FILTER")]
    pub(crate) filters: Vec<String>,

    /// Executors to compare, comma-separated [default: every executor of
    /// this build, of seq,process,threads,rayon,async]. `async-ct` (-e
    /// async on a current-thread runtime) runs when named:
    /// `-e async,async-ct`.
    #[arg(
        short = 'e',
        long = "executors",
        value_name = "LIST",
        value_delimiter = ','
    )]
    pub(crate) executors: Vec<String>,

    /// Hosts in flight for every executor whose model allows it (seq always
    /// runs 1, rayon one thread per core).
    #[arg(short = 'c', long, value_name = "N", default_value_t = 100)]
    pub(crate) concurrency: usize,

    /// Runs per executor, interleaved round-robin; the table shows medians.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub(crate) repeat: usize,

    /// Skip an executor whose runs (all --repeat of them) are estimated to
    /// take longer than DUR, saying so; `none` runs every executor. The
    /// estimate is hosts x one host's time / hosts in flight, one host's
    /// time being the task's for sleep, else a one-host probe run (-e seq).
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = parse_max_run)]
    pub(crate) max_run: Duration,

    /// Recommend an executor even when hosts failed (by default failures
    /// withhold the recommendation: the figures would time the failures).
    #[arg(long)]
    pub(crate) recommend_anyway: bool,

    /// Repeat the comparison for each value: hosts=10,100,1000 (with --sim
    /// or --synthetic) or concurrency=1,10,100.
    #[arg(long, value_name = "PARAM=LIST", value_parser = parse_sweep)]
    pub(crate) sweep: Option<(SweepParam, Vec<u64>)>,

    /// Draw an SVG chart: per-executor lines against the swept value, or
    /// one bar per executor without --sweep. The path is checked before
    /// anything runs (its folder must exist; the name must end in .svg).
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) plot: Option<PathBuf>,

    /// Also draw each executor's run as a `fanout run --timeline` picture,
    /// DIR/timeline-EXECUTOR.svg, all on the same time scale (of the last
    /// run; with --sweep, of the last point). DIR is created if needed.
    #[arg(long, value_name = "DIR")]
    pub(crate) timeline: Option<PathBuf>,

    /// What the chart shows.
    #[arg(long, value_enum, default_value_t = PlotMetricArg::Wall)]
    pub(crate) plot_metric: PlotMetricArg,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub(crate) format: CompareFormat,

    /// Command latency of the simulated devices.
    #[arg(long, value_name = "DUR", default_value = "50ms", value_parser = parse_duration)]
    pub(crate) latency: Duration,

    /// Fault knobs of the simulated devices, as for `fanout sim serve
    /// --faults`: e.g. refuse=5%,auth_fail=5%,hang_on_command=5% (the
    /// percentages are placed by --seed). The table's notes and the JSON's
    /// `errors` then count the failures per error kind, per executor.
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["inventory", "synthetic"], value_parser = parse_faults)]
    pub(crate) faults: Option<String>,

    /// Banner delay of the simulated slow_banner devices [default: 5s].
    #[arg(long, value_name = "DUR", conflicts_with_all = ["inventory", "synthetic"], value_parser = parse_duration)]
    pub(crate) slow_banner_delay: Option<Duration>,

    /// Put an SSH jump host (a simulated sshd, b1) in front of the
    /// simulated fleet and send every run's hosts through it (ProxyJump):
    /// the connection storm a bastion meets. It drops connections as a real
    /// sshd does by default (MaxStartups 10:30:100) unless
    /// --bastion-max-startups says otherwise.
    #[arg(long, conflicts_with_all = ["inventory", "synthetic", "externals"])]
    pub(crate) bastion: bool,

    /// sshd's MaxStartups on that jump host (implies --bastion): beyond
    /// START unauthenticated connections it drops new ones with probability
    /// RATE% rising to 100% at FULL. Real sshd's default: 10:30:100.
    #[arg(long, value_name = "START:RATE:FULL", conflicts_with_all = ["inventory", "synthetic", "externals"])]
    pub(crate) bastion_max_startups: Option<fanout_sim::MaxStartups>,

    /// sshd's MaxStartups on each simulated device (START:RATE:FULL or N).
    #[arg(long, value_name = "START:RATE:FULL", conflicts_with_all = ["inventory", "synthetic"])]
    pub(crate) max_startups: Option<fanout_sim::MaxStartups>,

    /// Connect rate passed to every run: RATE (N/s, N/m, N/h) or auto
    /// (see `fanout run --connect-rate`).
    #[arg(long, value_name = "RATE|auto")]
    pub(crate) connect_rate: Option<ConnectRateArg>,

    /// Per-jump-host connect rate passed to every run (see `fanout run
    /// --per-jump-rate`).
    #[arg(long = "per-jump-rate", value_name = "RATE")]
    pub(crate) per_jump_rate: Option<Rate>,

    /// Retries passed to every run (see `fanout run --retries`).
    #[arg(long, value_name = "N")]
    pub(crate) retries: Option<u32>,

    /// Seed of the simulated fleet: host keys, fault placement, jitter.
    #[arg(long, value_name = "N", conflicts_with_all = ["inventory", "synthetic"])]
    pub(crate) seed: Option<u64>,

    /// Platform of the simulated devices: ios, nxos, eos, junos, iosxr, linux.
    #[arg(long, value_name = "PLATFORM", default_value = "ios", value_parser = parse_profile_name)]
    pub(crate) profile: String,

    /// Timeout of one phase, passed to every run (see `fanout run --timeout`).
    #[arg(long = "timeout", value_name = "PHASE=DUR", value_parser = parse_timeout)]
    pub(crate) timeouts: Vec<(Phase, Option<Duration>)>,

    /// Host-key policy passed to every run.
    #[arg(long, value_enum)]
    pub(crate) host_keys: Option<HostKeysArg>,

    /// Another program as a further row, NAME=CMD (repeatable): CMD runs
    /// under `sh -c` against the same fleet, after {inventory} and
    /// {known_hosts} are replaced by the fleet's files (absolute paths,
    /// shell-quoted where needed: do not quote them) and {concurrency} by
    /// -c; measured like an executor's run. The fanout JSON Lines host
    /// objects and summary it prints count (the summary's wall_s is its
    /// wall time, else its whole process's); a non-zero exit keeps the row
    /// and makes compare exit 1. Not estimated: --max-run does not apply.
    #[arg(long = "external", value_name = "NAME=CMD", value_parser = crate::compare_external::parse_external)]
    pub(crate) externals: Vec<(String, String)>,

    /// After the recommendation, its reasoning in plain words with the
    /// measured ratios: what dominated (waiting, CPU, process start) and
    /// what would change the answer.
    #[arg(long)]
    pub(crate) explain: bool,

    /// No progress lines on stderr.
    #[arg(short = 'q', long)]
    pub(crate) quiet: bool,

    #[command(flatten)]
    pub(crate) serve: crate::live::ServeArgs,

    /// The task [default: cli 'show version'].
    #[command(subcommand)]
    pub(crate) task: Option<TaskCmd>,
}

/// What `--sweep` varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SweepParam {
    /// Fleet size.
    Hosts,
    /// `-c`.
    Concurrency,
}

fn parse_sweep(s: &str) -> Result<(SweepParam, Vec<u64>), String> {
    let (param, list) = s.split_once('=').ok_or_else(|| {
        format!("expected hosts=LIST or concurrency=LIST, e.g. hosts=10,100,1000, got `{s}`")
    })?;
    let param = match param {
        "hosts" => SweepParam::Hosts,
        "concurrency" | "c" => SweepParam::Concurrency,
        other => {
            return Err(format!(
                "cannot sweep `{other}`: use hosts=... or concurrency=..."
            ));
        }
    };
    let values = list
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| format!("`{v}` in --sweep must be a whole number from 1 to 1000000"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((param, values))
}

/// `--max-run`: a duration, or `none` (no limit: `Duration::MAX`).
fn parse_max_run(s: &str) -> Result<Duration, String> {
    match s {
        "none" | "off" => Ok(Duration::MAX),
        _ => match fanout_core::parse_duration(s)? {
            Duration::ZERO => {
                Err("--max-run 0 would skip every executor; use e.g. 30s, or none".into())
            }
            d => Ok(d),
        },
    }
}

fn parse_profile_name(s: &str) -> Result<String, String> {
    parse_platform(s).map(|p| p.as_str().to_string())
}

/// `fanout compare --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompareFormat {
    /// Aligned table, recommendation below.
    Table,
    /// One JSON document (its fields: the README's compare section).
    Json,
    /// A Markdown table, for READMEs and issues.
    Markdown,
}

/// `fanout compare --plot-metric`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlotMetricArg {
    /// Median wall time (s).
    Wall,
    /// Hosts per second.
    HostsPerS,
}

/// A `--faults` spec, checked here and passed on as written.
fn parse_faults(s: &str) -> Result<String, String> {
    s.parse::<fanout_sim::FaultSpec>()
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_sweep_parser() {
        assert_eq!(
            parse_sweep("hosts=10,100").unwrap(),
            (SweepParam::Hosts, vec![10, 100])
        );
        assert_eq!(
            parse_sweep("concurrency=5").unwrap().0,
            SweepParam::Concurrency
        );
        assert!(parse_sweep("hosts=0").is_err());
        assert!(
            parse_sweep("speed=1")
                .unwrap_err()
                .contains("cannot sweep `speed`")
        );
        assert!(parse_sweep("10,100").is_err());
        assert_eq!(parse_max_run("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_max_run("none"), Ok(Duration::MAX));
        assert!(
            parse_max_run("0s")
                .unwrap_err()
                .contains("skip every executor")
        );
    }
}
