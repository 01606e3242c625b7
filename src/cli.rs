//! Command-line interface (clap derive). Doc comments here are `--help`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) use crate::cli_compare::{CompareArgs, CompareFormat, PlotMetricArg, SweepParam};
use fanout_core::{Phase, Rate};

/// Run one job against many network devices with the executor you choose,
/// and measure how each concurrency model behaves.
#[derive(Debug, Parser)]
#[command(name = "fanout", version, propagate_version = true)]
#[command(after_help = "Examples:
  fanout run --synthetic 3 -e seq sleep 1s
  fanout run -i inventories/seed-devices.yaml local -- echo {host}
  fanout run -i inventories/synthetic.example.yaml -l group:rack_a --format jsonl cpu 1000000
  fanout inventory check -i inventories/lab.example.yaml

Exit codes: 0 all hosts ok; 1 some hosts failed (results still printed);
2 usage, inventory or configuration error; 130 interrupted (Ctrl-C).")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one task on every selected host and report each as it completes.
    ///
    /// Options go before the task: `fanout run -i inv.yaml -c 50 exec 'show version'`.
    Run(Box<RunArgs>),
    /// Check an inventory for mistakes, or list its hosts.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
    /// A simulated fleet of SSH network devices on loopback.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    /// Internal: a `-e process` worker. Reads the job and hosts as JSON
    /// lines on stdin, writes one outcome line per host on stdout. Started by
    /// `fanout run -e process`; not meant to be run by hand.
    #[command(hide = true)]
    Worker(Box<crate::worker_cmd::WorkerArgs>),
    /// Run the same task on every executor and compare them side by side.
    ///
    /// With no arguments: starts a simulated fleet of 100 IOS devices (50 ms
    /// command latency) as its own process, runs `cli 'show version'` on
    /// every executor — each a fresh `fanout run` child, so its CPU and
    /// memory are its own — and prints wall time, hosts/s, client CPU, peak
    /// RSS, host latency percentiles and failures, with a recommendation
    /// (none when hosts failed: see --recommend-anyway).
    ///
    /// Before the runs, each executor's run time is estimated; one over
    /// --max-run (60 s) is skipped with a line saying how to include it.
    /// Options go before the task: `fanout compare --synthetic 1000 sleep 1s`
    /// (about 30 s: seq, 1,000 s, and rayon, 500 s, are skipped).
    Compare(Box<CompareArgs>),
    /// Compare two `fanout run --out-dir` folders: per host what changed
    /// (status, unified diff of the output), hosts only in one, and a count.
    ///
    /// Exit status as diff(1): 0 no differences, 1 differences, 2 error.
    /// Example: `fanout diff yesterday/ today/`.
    Diff(crate::diff_cmd::DiffArgs),
    /// Before a big run: check this machine's limits and the inventory
    /// (open files, local ports, memory, threads, known_hosts, ssh_config,
    /// jump hosts), one ok/warn/FAIL line each with what to do.
    #[command(long_about = crate::doctor_cmd::LONG_HELP)]
    Doctor(Box<crate::doctor_cmd::DoctorArgs>),
    /// Print a shell completion script: `fanout completions bash >
    /// ~/.local/share/bash-completion/completions/fanout`.
    Completions(crate::completions_cmd::CompletionsArgs),
    /// Print the man page (roff): `fanout man | man -l -`; `--dir DIR`
    /// writes one page per subcommand.
    Man(crate::completions_cmd::ManArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Serve a fleet until Ctrl-C; writes an inventory and known_hosts for it.
    ///
    /// Example: `fanout sim serve -n 1000 --profile ios --latency 50ms
    /// --inventory-out fleet.yaml`, then in another shell
    /// `fanout run -i fleet.yaml ...`. The inventory and known_hosts are
    /// written atomically once every device accepts connections.
    Serve(Box<SimServeArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct SimServeArgs {
    /// Number of generated devices (r1, r2, ...; r0001... from 1,000 on).
    #[arg(
        short = 'n',
        long = "devices",
        value_name = "N",
        default_value_t = 10,
        conflicts_with = "inventory"
    )]
    pub(crate) devices: usize,

    /// Serve the hosts of this inventory instead (their 127.x address,
    /// port, credentials, platform; vars sim_latency, sim_jitter,
    /// sim_faults, sim_banner_delay, sim_extra_lines, sim_auth_delay,
    /// sim_max_sessions, sim_max_sessions_mode, sim_max_startups per host).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub(crate) inventory: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) read: InventoryFormatArgs,

    /// Platform of generated devices: ios, iosxe, nxos, eos, junos, iosxr, linux.
    #[arg(long, value_name = "PLATFORM", default_value = "ios", value_parser = parse_platform)]
    pub(crate) profile: fanout_core::Platform,

    /// Time each command takes before its output comes.
    #[arg(long, value_name = "DUR", default_value = "0ms", value_parser = parse_duration)]
    pub(crate) latency: Duration,

    /// Uniform ± spread of the latency.
    #[arg(long, value_name = "DUR", default_value = "0ms", value_parser = parse_duration)]
    pub(crate) jitter: Duration,

    /// Delay before every device's SSH banner (login delay).
    #[arg(long, value_name = "DUR", default_value = "0ms", value_parser = parse_duration)]
    pub(crate) banner_delay: Duration,

    /// Banner delay of slow_banner devices.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration)]
    pub(crate) slow_banner_delay: Duration,

    /// Extra lines in long outputs such as show running-config (output size).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) extra_lines: usize,

    /// Most SSH sessions open at once per device (IOS: its vty lines, 5 by
    /// default); see --max-sessions-mode for what an extra one gets.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_sessions: Option<u32>,

    /// What a connection beyond --max-sessions gets: refuse (closed during
    /// the handshake with "too many sessions", as IOS, NX-OS, EOS and JunOS
    /// do) or queue (waits, no banner, until a session ends).
    #[arg(
        long,
        value_name = "MODE",
        default_value = "refuse",
        requires = "max_sessions"
    )]
    pub(crate) max_sessions_mode: fanout_sim::SessionLimitMode,

    /// Time a device takes to accept a login (real boxes: 0.5-1 s).
    #[arg(long, value_name = "DUR", default_value = "0ms", value_parser = parse_duration)]
    pub(crate) auth_delay: Duration,

    /// sshd's MaxStartups per device: beyond START unauthenticated
    /// connections, drop new ones with probability RATE% rising to 100% at
    /// FULL (seeded). Example: 10:30:100 (sshd's default), or N.
    #[arg(long, value_name = "START:RATE:FULL")]
    pub(crate) max_startups: Option<fanout_sim::MaxStartups>,

    /// Serve the fleet over telnet instead of SSH: the platform's login
    /// dialog (Username:/Password: on Cisco), then the same console; the
    /// inventory says transport: telnet.
    #[arg(long)]
    pub(crate) telnet: bool,

    /// Cables between the devices for show cdp/lldp neighbors and show ip
    /// arp (seeded; default: a ring). Example: -n 100 --cables 700.
    #[arg(long, value_name = "N")]
    pub(crate) cables: Option<usize>,

    /// Faults: KIND=N% or KIND=name+name, comma-separated. Kinds: refuse,
    /// auth_fail, hang_on_connect, hang_on_command, drop_mid_output,
    /// slow_banner, wrong_host_key, legacy_algorithms, endless_output.
    /// Example: auth_fail=5%,hang_on_command=r3+r7
    #[arg(long, value_name = "SPEC")]
    pub(crate) faults: Option<fanout_sim::FaultSpec>,

    /// Seed of host keys, fault placement and jitter (same seed, same fleet).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) seed: u64,

    /// Loopback address of generated devices.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub(crate) address: std::net::IpAddr,

    /// First port of generated devices (device i on PORT+i); 0 = any free port.
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub(crate) base_port: u16,

    /// Tokio worker threads serving the fleet.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) threads: usize,

    /// Login user of generated devices.
    #[arg(long, default_value = "cisco")]
    pub(crate) username: String,

    /// Login password of generated devices.
    #[arg(long, default_value = "cisco")]
    pub(crate) password: String,

    /// Enable secret of generated devices.
    #[arg(long, default_value = "cisco")]
    pub(crate) secret: String,

    /// Write the fleet's inventory here (default: a temporary file).
    #[arg(long, value_name = "FILE")]
    pub(crate) inventory_out: Option<PathBuf>,

    /// Write known_hosts here (default: INVENTORY_known_hosts beside the inventory).
    #[arg(long, value_name = "FILE")]
    pub(crate) known_hosts_out: Option<PathBuf>,

    /// Also write the client private key every device accepts, and name it
    /// in the inventory as key_file.
    #[arg(long, value_name = "FILE")]
    pub(crate) client_key_out: Option<PathBuf>,

    /// Cap the open files of the fleet process at N once it listens (to try
    /// fd exhaustion: devices keep their sessions and accept again later).
    #[arg(long, value_name = "N")]
    pub(crate) fd_limit: Option<u64>,

    /// Also start an SSH jump host (b1) that forwards only to the fleet's
    /// devices, and write an ssh_config reaching each device through it
    /// (ProxyJump). The inventory keeps listing the devices directly.
    #[arg(long)]
    pub(crate) bastion: bool,

    /// A chain of N jump hosts: b2 reachable only through b1, ..., the
    /// devices through bN (the ssh_config says ProxyJump b1,b2). Implies
    /// --bastion.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=8))]
    pub(crate) bastions: Option<u32>,

    /// Login user of the bastions (the client key of --client-key-out works too).
    #[arg(long, value_name = "USER", default_value = "jump")]
    pub(crate) bastion_username: String,

    /// Login password of the bastions.
    #[arg(long, value_name = "PASSWORD", default_value = "jump")]
    pub(crate) bastion_password: String,

    /// sshd's MaxStartups on the bastions (a real jump host drops parallel
    /// connections beyond 10 unauthenticated): START:RATE:FULL or N.
    #[arg(long, value_name = "START:RATE:FULL")]
    pub(crate) bastion_max_startups: Option<fanout_sim::MaxStartups>,

    /// Write an OpenSSH client config here: one Host per device (through
    /// the bastions, if any) and per bastion, with HostName, Port, User,
    /// UserKnownHostsFile (and IdentityFile with --client-key-out), for
    /// `ssh -F FILE r1 'show version'` (default with bastions:
    /// INVENTORY_ssh_config beside the inventory).
    #[arg(long, value_name = "FILE")]
    pub(crate) ssh_config_out: Option<PathBuf>,

    /// Also serve HTTPS device APIs per device (RESTCONF-style JSON under
    /// /restconf/data, eAPI-style POST /command-api; basic auth with the
    /// device login); the inventory gets vars.http_port and ca_file:.
    #[arg(long)]
    pub(crate) http: bool,

    /// Write the CA certificate (PEM) of the HTTPS listeners here
    /// (default: INVENTORY_ca.pem beside the inventory).
    #[arg(long, value_name = "FILE", requires = "http")]
    pub(crate) ca_out: Option<PathBuf>,
}

impl SimServeArgs {
    /// How many bastions to start (--bastion: 1, --bastions N: N).
    pub(crate) fn bastion_count(&self) -> usize {
        match (self.bastions, self.bastion) {
            (Some(n), _) => n as usize,
            (None, true) => 1,
            (None, false) => 0,
        }
    }
}

pub(crate) fn parse_platform(s: &str) -> Result<fanout_core::Platform, String> {
    s.parse()
}

/// `--connect-rate`: a fixed rate, or `auto` (adaptive per endpoint).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ConnectRateArg {
    Fixed(Rate),
    Auto,
}

impl ConnectRateArg {
    /// The fixed rate, if one.
    pub(crate) fn fixed(self) -> Option<Rate> {
        match self {
            ConnectRateArg::Fixed(r) => Some(r),
            ConnectRateArg::Auto => None,
        }
    }
}

impl std::str::FromStr for ConnectRateArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(ConnectRateArg::Auto);
        }
        s.parse::<Rate>()
            .map(ConnectRateArg::Fixed)
            .map_err(|e| format!("{e}, or auto"))
    }
}

impl std::fmt::Display for ConnectRateArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectRateArg::Fixed(r) => write!(f, "{r}"),
            ConnectRateArg::Auto => f.write_str("auto"),
        }
    }
}

/// An `--error-pattern`, checked before any host starts.
fn parse_error_pattern(s: &str) -> Result<String, String> {
    fanout_netcli::error_pattern(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

#[derive(Debug, Subcommand)]
pub(crate) enum InventoryCommand {
    /// Parse and validate an inventory; report every problem with file:line:col.
    Check(InventoryArgs),
    /// List the hosts of an inventory (after filters), without secrets.
    List(InventoryListArgs),
    /// Show one host's resolved settings and where each came from (the
    /// inventory, an ssh_config file:line, a default), without secrets.
    ///
    /// Example: `fanout inventory show -i lab.yaml --ssh-config ~/.ssh/config r1`.
    Show(InventoryShowArgs),
    /// Write an inventory in another format (fanout, nornir, ansible).
    ///
    /// Secrets are not resolved: `${VAR}` and `*_env` references stay
    /// references (`{{ lookup('env', 'VAR') }}` for Ansible); only secrets
    /// written as plain text in the source are plain text in the output.
    /// Example: `fanout inventory convert -i hosts.ini --to nornir -o inv/`.
    Convert(InventoryConvertArgs),
}

/// How an inventory is read (shared by every command taking `-i`).
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct InventoryFormatArgs {
    /// The inventory's format: fanout, nornir (a directory with
    /// hosts.yaml), ansible (YAML or INI) or netbox (JSON export of
    /// /api/dcim/devices/) [default: detected].
    #[arg(
        id = "inventory_format",
        long = "inventory-format",
        value_name = "FORMAT",
        value_parser = parse_format,
        requires = "inventory"
    )]
    pub(crate) format: Option<fanout_inventory::Format>,

    /// Settings every host of the inventory takes last (a YAML map with the
    /// keys of fanout's `defaults:`), e.g. credentials for a NetBox export
    /// [default for netbox: defaults.yaml beside the export, if any].
    #[arg(
        long = "inventory-defaults",
        value_name = "FILE",
        requires = "inventory"
    )]
    pub(crate) defaults: Option<PathBuf>,

    /// Read this OpenSSH client config for every host without its own
    /// `ssh_config_file:` (e.g. --ssh-config ~/.ssh/config). Its Host
    /// patterns match the inventory address; HostName, Port, User,
    /// IdentityFile, StrictHostKeyChecking, UserKnownHostsFile,
    /// KexAlgorithms, HostKeyAlgorithms, Ciphers, MACs, ProxyJump and
    /// ProxyCommand are applied, the inventory's own values winning. Not
    /// read unless asked [default: none].
    #[arg(long = "ssh-config", value_name = "FILE", requires = "inventory")]
    pub(crate) ssh_config: Option<PathBuf>,
}

impl InventoryFormatArgs {
    pub(crate) fn options(&self) -> fanout_inventory::LoadOptions {
        fanout_inventory::LoadOptions {
            format: self.format,
            defaults: self.defaults.clone(),
            ssh_config: self.ssh_config.clone(),
        }
    }

    /// The same options for a `fanout run` child.
    pub(crate) fn run_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(format) = self.format {
            out.extend(["--inventory-format".to_string(), format.to_string()]);
        }
        if let Some(path) = &self.defaults {
            out.extend([
                "--inventory-defaults".to_string(),
                path.display().to_string(),
            ]);
        }
        out
    }
}

fn parse_format(s: &str) -> Result<fanout_inventory::Format, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub(crate) struct InventoryConvertArgs {
    /// The inventory to convert (a file, or a Nornir directory).
    #[arg(short = 'i', long, value_name = "PATH")]
    pub(crate) inventory: PathBuf,
    /// The format to write: fanout (a YAML file), nornir (a directory:
    /// hosts.yaml, groups.yaml, defaults.yaml) or ansible (a YAML file).
    #[arg(long = "to", value_name = "FORMAT", value_parser = parse_format)]
    pub(crate) to: fanout_inventory::Format,
    /// Where to write it.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub(crate) output: PathBuf,
    #[command(flatten)]
    pub(crate) read: InventoryFormatArgs,
}

/// Where the hosts come from: exactly one of `-i` and `--synthetic` (a
/// missing one is a usage error naming both).
#[derive(Debug, Args)]
#[group(skip)]
#[command(group(
    clap::ArgGroup::new("host_source")
        .args(["inventory", "synthetic"])
        .required(true)
))]
pub(crate) struct HostSource {
    /// Inventory: fanout YAML (a device list or defaults/groups/hosts
    /// sections), a Nornir directory, an Ansible YAML/INI file or a NetBox
    /// JSON export (see --inventory-format).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub(crate) inventory: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) read: InventoryFormatArgs,

    /// Use N generated hosts (host0001... on 127.0.0.1, in group
    /// `synthetic`) instead of an inventory: for sleep, cpu and local tasks.
    #[arg(long, value_name = "N")]
    pub(crate) synthetic: Option<usize>,

    /// Select hosts. Comma-separated terms are OR-ed, repeated -l are AND-ed,
    /// `!` negates. Terms: a host-name glob (`r1*`), `group:NAME`,
    /// `platform:NAME`, `name:GLOB`, `KEY=VALUE` (vars; value may be a glob).
    #[arg(short = 'l', long = "limit", value_name = "FILTER")]
    pub(crate) filters: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct InventoryArgs {
    /// Inventory (a file, or a Nornir directory).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub(crate) inventory: PathBuf,
    #[command(flatten)]
    pub(crate) read: InventoryFormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InventoryListArgs {
    /// Inventory (a file, or a Nornir directory).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub(crate) inventory: PathBuf,
    #[command(flatten)]
    pub(crate) read: InventoryFormatArgs,
    /// Select hosts (same syntax as `fanout run -l`).
    #[arg(short = 'l', long = "limit", value_name = "FILTER")]
    pub(crate) filters: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
}

#[derive(Debug, Args)]
pub(crate) struct InventoryShowArgs {
    /// Inventory (a file, or a Nornir directory).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub(crate) inventory: PathBuf,
    #[command(flatten)]
    pub(crate) read: InventoryFormatArgs,
    /// The host's name.
    pub(crate) host: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    /// Aligned columns.
    Table,
    /// A JSON array of hosts.
    Json,
}

/// Which concurrency model runs the hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExecutorName {
    /// The default: async for exec, cli, sleep and local tasks (hosts wait
    /// on the network, timers and child processes, so thousands in flight
    /// cost a few KiB each), process for cpu tasks (every core, and a host
    /// that crashes takes only its worker down). Names its choice on stderr.
    Auto,
    /// One host after another on one thread: the baseline (ignores -c).
    Seq,
    /// A fixed pool of -c OS threads (default 100, at most 10000) pulling
    /// hosts from a queue, each blocking in its host's SSH session (ssh2).
    /// Simple and predictable up to a few thousand hosts in flight.
    Threads,
    /// Hosts as tasks on a rayon pool, one thread per core unless -c is
    /// given. Great for cpu tasks (work stealing on every core), wrong for
    /// blocking I/O (exec, cli, sleep, local): only as many hosts as
    /// threads are ever in flight. Compare: `fanout run --synthetic 100 -e
    /// rayon sleep 100ms` vs `-e threads`.
    Rayon,
    /// OS processes: each host runs in a `fanout worker` child process,
    /// either one per host or a pool (see --process-mode). Real parallelism
    /// on every core and crash isolation (a dying worker fails only its
    /// host); costs a process start (a few ms) and a few MiB per worker.
    /// Wins for cpu tasks: `fanout run --synthetic 8 -e process cpu
    /// 300000000` vs `-e seq`.
    Process,
    /// One tokio task per host (tokio + russh): a host waiting on the
    /// network or a timer costs a few KiB, not a thread, so -c (hosts in
    /// flight) can be in the thousands. Best for I/O-bound fleets (exec,
    /// cli, sleep); cpu tasks go to tokio's blocking pool. Try: `fanout run
    /// --synthetic 10000 -e async -c 10000 sleep 1s` vs `-e threads`.
    Async,
    /// -e async on a current-thread runtime (`-e async --runtime
    /// current-thread`): every host on one thread, like Python's one
    /// asyncio event loop. As fast for timers and I/O waits; SSH handshakes
    /// share one core.
    #[value(name = "async-ct")]
    AsyncCt,
}

impl ExecutorName {
    /// The name `-e` takes.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ExecutorName::Auto => "auto",
            ExecutorName::Seq => "seq",
            ExecutorName::Threads => "threads",
            ExecutorName::Rayon => "rayon",
            ExecutorName::Process => "process",
            ExecutorName::Async => "async",
            ExecutorName::AsyncCt => "async-ct",
        }
    }
}

/// How `-e process` spreads hosts over worker processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProcessModeArg {
    /// A fresh worker process per host, at most -c alive at once (Python's
    /// multiprocessing.Process per device). Pays a process start per host;
    /// each host gets a clean process.
    PerHost,
    /// -c long-lived workers [default -c: one per core], each taking the
    /// next host when free (multiprocessing.Pool). Pays a process start per
    /// worker, not per host; a crashed worker is replaced.
    Pool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// Status line per host as it completes, outputs folded across hosts, summary.
    Table,
    /// One JSON object per host as it completes, then {"summary": ...}.
    Jsonl,
    /// One JSON document {"hosts": [...], "summary": {...}} at the end.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum HostKeysArg {
    /// Refuse unknown or changed host keys.
    Strict,
    /// Append unknown keys to known_hosts; refuse changed ones.
    AcceptNew,
    /// Do not verify host keys (you will be warned).
    Off,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) hosts: HostSource,

    /// Executor (concurrency model).
    #[arg(short = 'e', long = "executor", value_enum, default_value_t = ExecutorName::Auto)]
    pub(crate) executor: ExecutorName,

    /// Hosts in flight at once [default: 100; -e process (pool): one worker
    /// per core; -e rayon: one thread per core]. For threads, rayon and the
    /// process pool this is the pool size. -e seq always runs 1 (and says
    /// so if -c is given).
    #[arg(short = 'c', long, value_name = "N")]
    pub(crate) concurrency: Option<usize>,

    /// With -e process: per-host (a fresh process per host, at most -c
    /// alive) or pool (-c long-lived workers, default one per core).
    /// Per-host pays ~1-4 ms of process start per host, pool only per
    /// worker; processes beat threads and async for cpu tasks, not for I/O.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = ProcessModeArg::Pool)]
    pub(crate) process_mode: ProcessModeArg,

    /// Stack of each pool thread of -e threads and -e rayon, e.g. 256k, 1m
    /// [default: 256k]. Small stacks make 1,000+ threads cheap (only touched
    /// pages cost memory); raise it only if a host crashes with a stack overflow.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) stack_size: Option<usize>,

    /// At most N hosts of GROUP in flight at once (repeatable).
    #[arg(long = "per-group", value_name = "GROUP=N", value_parser = parse_group_cap)]
    pub(crate) per_group: Vec<(String, usize)>,

    /// At most N hosts in flight through each jump host (the first hop of
    /// a host's ProxyJump chain, by address:port); hosts dialled directly
    /// are not counted. A bastion's sshd drops new connections past its
    /// MaxStartups (default 10:30:100: from 10 unauthenticated at once,
    /// 30% dropped, rising to all at 100), so -c 200 through one bastion
    /// fails hosts that --per-jump 10 would not.
    #[arg(long = "per-jump", value_name = "N")]
    pub(crate) per_jump: Option<usize>,

    /// Start at most this many host attempts per second (N/s, N/m or N/h),
    /// like an sshd MaxStartups limit forces you to; or `auto`: each
    /// endpoint (the first jump host, and the device's address:port: an
    /// attempt books with both) starts unpaced, and every connection it
    /// drops during the SSH handshake halves its rate (once per storm) and
    /// is retried on top of --retries, every attempt that gets through
    /// raising it again (AIMD, as TCP does).
    #[arg(long, value_name = "RATE|auto")]
    pub(crate) connect_rate: Option<ConnectRateArg>,

    /// Start at most this many host attempts per second through each jump
    /// host (N/s, N/m or N/h; the first hop, by address:port, as
    /// --per-jump counts them), on top of --connect-rate; hosts dialled
    /// directly are not paced by it. A bastion's MaxStartups counts
    /// handshakes in progress, so pacing new ones keeps it under its limit
    /// however fast the devices behind it answer.
    #[arg(long = "per-jump-rate", value_name = "RATE")]
    pub(crate) per_jump_rate: Option<Rate>,

    /// Timeout of one phase: connect, auth, command or host (whole host,
    /// retries included); DUR like 500ms, 10s, 2m, or `none`. Repeatable.
    /// Defaults: connect=10s auth=10s command=60s host=none.
    #[arg(long = "timeout", value_name = "PHASE=DUR", value_parser = parse_timeout)]
    pub(crate) timeouts: Vec<(Phase, Option<Duration>)>,

    /// Extra attempts after a connect failure or a timeout (never after an
    /// auth failure or a failed command).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) retries: u32,

    /// Backoff before the first retry; doubles each retry, with jitter.
    #[arg(long, value_name = "DUR", default_value = "100ms", value_parser = parse_duration)]
    pub(crate) retry_backoff: Duration,

    /// Also retry tasks that may have changed the device (exec, local,
    /// cli --config) when their command timed out.
    #[arg(long)]
    pub(crate) retry_commands: bool,

    /// Host-key verification policy.
    #[arg(long, value_enum, default_value_t = HostKeysArg::Strict)]
    pub(crate) host_keys: HostKeysArg,

    /// known_hosts file checked first (repeatable; then the inventory's
    /// `known_hosts:`, then ~/.ssh/known_hosts). `accept-new` appends to the
    /// first file of that list.
    #[arg(long, value_name = "FILE")]
    pub(crate) known_hosts: Vec<PathBuf>,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub(crate) format: FormatArg,

    /// With --format table: show at most N lines of each distinct output
    /// (a note counts the rest); 0 shows everything. JSON, JSON Lines and
    /// --out-dir always keep the whole output.
    #[arg(long, value_name = "N", default_value_t = fanout_report::DEFAULT_MAX_LINES)]
    pub(crate) table_lines: usize,

    /// Also write HOST.txt per host and summary.json into DIR, swapped in
    /// atomically at the end (an existing fanout output folder is replaced whole).
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) live: crate::live::RunLiveArgs,

    #[command(flatten)]
    pub(crate) results: crate::results::RunResultsArgs,

    #[command(flatten)]
    pub(crate) lessons: crate::run_lessons::RunLessonArgs,

    #[command(flatten)]
    pub(crate) queue: crate::worker_cmd::QueueArgs,

    // Operator options (issue 16): their own block, src/run_opts.rs.
    #[command(flatten)]
    pub(crate) ops: crate::run_opts::RunOpsArgs,

    #[command(subcommand)]
    pub(crate) task: TaskCmd,
}

/// What to do on each host.
#[derive(Debug, Subcommand)]
pub(crate) enum TaskCmd {
    /// Run a command on the SSH exec channel: `exec show version`.
    ///
    /// The command is a template rendered per host: {name}, {host}
    /// (address), {port}, {platform}, {user}, {vars.KEY} (a host or group
    /// variable); {{ and }} are literal braces. An unknown placeholder
    /// stops the run before any host starts; a host without the variable
    /// fails alone. Example: `exec 'ping {vars.peer}'`.
    Exec {
        /// The command (words are joined with spaces).
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Drive the device CLI interactively: `cli --enable 'show run' 'show ip int brief'`.
    ///
    /// Each command is a template rendered per host, as for exec: {name},
    /// {host}, {port}, {platform}, {user}, {vars.KEY}; {{ and }} are
    /// literal braces. Example: `cli --config 'hostname lab-{name}'`.
    ///
    /// A command that asks a question: `cli --enable 'copy run start'
    /// --expect 'filename \[startup-config\]\?' --answer ''`. An --expect
    /// belongs to the command right before it (options sit among the
    /// commands, so each question stays next to its command; no `--`
    /// before them) and needs an --answer right after it.
    Cli {
        /// Enter enable mode (with the host's secret) first.
        #[arg(long, conflicts_with = "config")]
        enable: bool,
        /// Run the commands in configuration mode (implies enable).
        #[arg(long)]
        config: bool,
        /// A regex (repeatable) whose match in a command's output fails the
        /// host command_failed, besides the platform's error lines (`% Invalid
        /// input`, `Bad mask ...`); `^` and `$` match at each line, e.g.
        /// `--error-pattern '^Overlaps with'`.
        #[arg(long = "error-pattern", value_name = "REGEX", value_parser = parse_error_pattern)]
        error_patterns: Vec<String>,
        /// A regex ending the output of the command before it: the
        /// device's question instead of the prompt. It must match the end of
        /// the question (`\[confirm\]`, `\[startup-config\]\?`): the dialog
        /// answers as soon as the text so far ends with a match.
        #[arg(long = "expect", value_name = "REGEX")]
        expect_args: Vec<String>,
        /// The line sent when the --expect before it matched ('' sends just
        /// Enter); it is reported as a command of its own.
        #[arg(long = "answer", value_name = "TEXT", allow_hyphen_values = true)]
        answer_args: Vec<String>,
        /// By command index, the --expect of that command (filled in from
        /// the positions on the command line: src/cli_expect.rs).
        #[arg(skip)]
        expects: Vec<Option<String>>,
        /// Commands, one per argument.
        #[arg(required = true)]
        commands: Vec<String>,
    },
    /// Wait DUR on every host: the concurrency model alone, no network.
    /// `sleep MIN..MAX` gives each host its own duration in that range,
    /// picked from --seed and the host's name (the same on every executor).
    Sleep {
        /// How long, e.g. 50ms, 1s; or a range, e.g. 1s..3s.
        #[arg(value_name = "DUR|MIN..MAX")]
        duration: fanout_core::SleepSpec,
    },
    /// CPU-bound work: ITER rounds of a hash loop (about 1 ns each).
    Cpu {
        /// Rounds, e.g. 100000000 (about 0.1-0.3 s).
        iterations: u64,
    },
    /// Run a local program per host, no shell: `local -- ping -c1 {host}`.
    /// {host} is the address, {name} the host name, {port}, {platform},
    /// {user}; `{{` and `}}` are literal braces (`{{name}}` gives `{name}`);
    /// any other brace is left alone.
    Local {
        /// Program and arguments.
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<String>,
    },
    /// One HTTP(S) request per host (RESTCONF, eAPI, NX-API):
    /// `http 'https://{host}:{vars.http_port}/restconf/data/...'`.
    ///
    /// URL, header values and body are templates, as for exec ({host},
    /// {vars.KEY}...); a JSON body is templated inside its strings only.
    /// Basic auth from the host's username/password, or a bearer token
    /// from its `token_env:`. Certificates are checked against the
    /// system's roots and the inventory's `ca_file:`. Each output carries
    /// "status" and "body" (parsed JSON when the answer is JSON); a status
    /// of 400 or more fails the host (401/403: auth, else command_failed).
    Http {
        /// The request method.
        #[arg(long, short = 'X', value_name = "METHOD", default_value = "GET", value_parser = parse_http_method)]
        method: fanout_core::HttpMethod,
        /// The request body: JSON text, or @FILE to read it from a file.
        #[arg(long, value_name = "JSON|@FILE")]
        body: Option<String>,
        /// An extra request header `K:V` (repeatable), e.g.
        /// `--header 'Accept: application/yang-data+json'`.
        #[arg(long = "header", short = 'H', value_name = "K:V", value_parser = parse_header)]
        headers: Vec<(String, String)>,
        /// Do not verify the devices' TLS certificates (warned about on
        /// stderr); prefer `ca_file:` in the inventory.
        #[arg(long)]
        insecure: bool,
        /// The URL, e.g. 'https://{host}:{vars.http_port}/restconf/data/Cisco-IOS-XE-native:native/hostname'.
        url: String,
    },
}

fn parse_http_method(s: &str) -> Result<fanout_core::HttpMethod, String> {
    s.parse()
}

/// `K:V` (spaces around V trimmed).
fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once(':')
        .ok_or_else(|| format!("header `{s}` has no `:`; write it as 'Name: value'"))?;
    let k = k.trim();
    let ok = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !ok {
        return Err(format!(
            "`{k}` is not a header name (letters, digits and -); write it as 'Name: value'"
        ));
    }
    Ok((k.to_string(), v.trim().to_string()))
}

/// `-c` when not given.
pub(crate) const DEFAULT_CONCURRENCY: usize = 100;

impl RunArgs {
    /// `-c`, or its default.
    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
    }
}

/// A size in bytes: `262144`, `256k`, `1m` (powers of 1024).
fn parse_size(s: &str) -> Result<usize, String> {
    let lower = s.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(['k', 'm', 'g', 'i', 'b']);
    let shift = match &lower[digits.len()..] {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "invalid size `{s}`: expected e.g. 256k, 1m or 262144"
            ));
        }
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("invalid size `{s}`: expected e.g. 256k, 1m or 262144"))
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    fanout_core::parse_duration(s)
}

fn parse_group_cap(s: &str) -> Result<(String, usize), String> {
    let (group, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected GROUP=N, e.g. core=5, got `{s}`"))?;
    let n: usize = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("the cap in `{s}` must be a whole number >= 1"))?;
    if group.is_empty() {
        return Err(format!("missing group name in `{s}`; expected GROUP=N"));
    }
    Ok((group.to_string(), n))
}

pub(crate) fn parse_timeout(s: &str) -> Result<(Phase, Option<Duration>), String> {
    let (phase, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected PHASE=DUR, e.g. command=30s, got `{s}`"))?;
    let phase: Phase = phase.parse()?;
    let value = match value {
        "none" | "off" => None,
        v => Some(fanout_core::parse_duration(v)?),
    };
    if value == Some(Duration::ZERO) {
        return Err(format!(
            "a {phase} timeout of 0 would fail every host; use `{phase}=none` for no limit"
        ));
    }
    Ok((phase, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn option_parsers() {
        assert_eq!(parse_group_cap("core=5").unwrap(), ("core".into(), 5));
        assert!(parse_group_cap("core=0").is_err());
        assert!(parse_group_cap("core").is_err());
        assert_eq!(
            parse_timeout("host=2s").unwrap(),
            (Phase::Host, Some(Duration::from_secs(2)))
        );
        assert_eq!(
            parse_timeout("command=none").unwrap(),
            (Phase::Command, None)
        );
        assert_eq!(parse_size("256k"), Ok(256 << 10));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("65536"), Ok(65536));
        assert!(parse_size("12x").is_err() && parse_size("k").is_err());
        assert_eq!(parse_error_pattern("^Bad mask"), Ok("^Bad mask".into()));
        let e = parse_error_pattern("(").unwrap_err();
        assert!(e.contains("--error-pattern regex `(`"), "{e}");
        assert!(
            parse_timeout("dns=1s")
                .unwrap_err()
                .contains("connect, auth, command or host")
        );
    }
}
