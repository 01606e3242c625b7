//! Building a fleet: [`FleetBuilder`]'s knobs, and [`FleetBuilder::start`],
//! which binds every device, starts serving and writes the fleet's files.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fanout_core::Platform;
use tokio::net::TcpListener;

use crate::SimError;
use crate::console::DeviceConfig;
use crate::device::{Device, DeviceSpec};
use crate::faults::{Fault, FaultSpec};
use crate::files::{FleetFiles, inventory_yaml, write_atomic};
use crate::fleet::{DeviceInfo, Fleet, target};
use crate::keys::HostKeys;
use crate::limits::{MaxStartups, SessionLimit, SessionLimitMode};
use crate::stats::Stats;
use crate::topology::{Cabling, Site, Topology};

/// Builds a [`Fleet`] (by-value builder; every setting has a default).
#[derive(Clone, Debug)]
pub struct FleetBuilder {
    devices: usize,
    platform: Platform,
    specs: Option<Vec<DeviceSpec>>,
    address: IpAddr,
    base_port: u16,
    username: String,
    password: String,
    secret: Option<String>,
    latency: Duration,
    jitter: Duration,
    banner_delay: Duration,
    slow_banner_delay: Duration,
    extra_lines: usize,
    max_sessions: Option<SessionLimit>,
    auth_delay: Duration,
    max_startups: Option<MaxStartups>,
    cables: Option<usize>,
    telnet: bool,
    faults: FaultSpec,
    seed: u64,
    worker_threads: usize,
    inventory_out: Option<PathBuf>,
    known_hosts_out: Option<PathBuf>,
    client_key_out: Option<PathBuf>,
    bastions: usize,
    bastion_username: String,
    bastion_password: String,
    bastion_max_startups: Option<MaxStartups>,
    ssh_config_out: Option<PathBuf>,
    http: bool,
    ca_out: Option<PathBuf>,
}

impl Default for FleetBuilder {
    fn default() -> Self {
        Self {
            devices: 1,
            platform: Platform::Ios,
            specs: None,
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: 0,
            username: "cisco".into(),
            password: "cisco".into(),
            secret: Some("cisco".into()),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            banner_delay: Duration::ZERO,
            slow_banner_delay: Duration::from_secs(5),
            extra_lines: 0,
            max_sessions: None,
            auth_delay: Duration::ZERO,
            max_startups: None,
            cables: None,
            telnet: false,
            faults: FaultSpec::default(),
            seed: 1,
            worker_threads: 2,
            inventory_out: None,
            known_hosts_out: None,
            client_key_out: None,
            bastions: 0,
            bastion_username: "jump".into(),
            bastion_password: "jump".into(),
            bastion_max_startups: None,
            ssh_config_out: None,
            http: false,
            ca_out: None,
        }
    }
}

impl FleetBuilder {
    /// Number of generated devices, named `r1`.. (`r0001`.. for larger fleets).
    pub fn devices(mut self, n: usize) -> Self {
        self.devices = n;
        self
    }
    /// Platform of generated devices.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }
    /// Serve exactly these devices instead of generated ones (`sim serve -i`).
    pub fn specs(mut self, specs: Vec<DeviceSpec>) -> Self {
        self.specs = Some(specs);
        self
    }
    /// Loopback address of generated devices (default 127.0.0.1).
    pub fn address(mut self, address: IpAddr) -> Self {
        self.address = address;
        self
    }
    /// First port of generated devices (device i on base+i); 0 = any free port.
    pub fn base_port(mut self, port: u16) -> Self {
        self.base_port = port;
        self
    }
    /// Login credentials of generated devices (default cisco/cisco, secret cisco).
    pub fn credentials(mut self, username: &str, password: &str, secret: Option<&str>) -> Self {
        self.username = username.into();
        self.password = password.into();
        self.secret = secret.map(String::from);
        self
    }
    /// Command latency and its ± jitter.
    pub fn latency(mut self, latency: Duration, jitter: Duration) -> Self {
        self.latency = latency;
        self.jitter = jitter;
        self
    }
    /// Delay before every device's SSH banner.
    pub fn banner_delay(mut self, delay: Duration) -> Self {
        self.banner_delay = delay;
        self
    }
    /// Banner delay of `slow_banner` devices (default 5 s).
    pub fn slow_banner_delay(mut self, delay: Duration) -> Self {
        self.slow_banner_delay = delay;
        self
    }
    /// Extra lines in long outputs (output-size knob).
    pub fn extra_lines(mut self, n: usize) -> Self {
        self.extra_lines = n;
        self
    }
    /// A limit on SSH connections open at once per generated device, and
    /// what an extra one gets (see [`SessionLimitMode`]).
    pub fn max_sessions(mut self, max: usize, mode: SessionLimitMode) -> Self {
        self.max_sessions = Some(SessionLimit {
            max: max.max(1),
            mode,
        });
        self
    }
    /// Time a generated device takes to accept (or reject) a login.
    pub fn auth_delay(mut self, delay: Duration) -> Self {
        self.auth_delay = delay;
        self
    }
    /// sshd's `MaxStartups` on every generated device: random early drop
    /// of new connections while many are unauthenticated.
    pub fn max_startups(mut self, limit: MaxStartups) -> Self {
        self.max_startups = Some(limit);
        self
    }
    /// Cables between the devices (default: a ring), for `show cdp
    /// neighbors` and the like; see [`Fleet::cabling`].
    pub fn cables(mut self, n: usize) -> Self {
        self.cables = Some(n);
        self
    }
    /// Serve every device over telnet instead of SSH (login dialog, then
    /// the same console); the inventory says `transport: telnet`.
    pub fn telnet(mut self, on: bool) -> Self {
        self.telnet = on;
        self
    }
    /// Faults to inject (added to per-device faults of `specs`).
    pub fn faults(mut self, faults: FaultSpec) -> Self {
        self.faults = faults;
        self
    }
    /// Seed of host keys, fault placement and jitter (default 1).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Tokio worker threads of the fleet's own runtime (default 2).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n.max(1);
        self
    }
    /// Where to write the generated inventory (default: a temporary folder owned by the fleet).
    pub fn inventory_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.inventory_out = Some(path.into());
        self
    }
    /// Where to write known_hosts (default: beside the inventory).
    pub fn known_hosts_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.known_hosts_out = Some(path.into());
        self
    }
    /// Also write the client private key every device authorizes, and name
    /// it as `key_file` in the inventory.
    pub fn client_key_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_key_out = Some(path.into());
        self
    }

    /// SSH jump hosts in front of the fleet (default 0): `b1`, `b2`, ...
    /// chained — bastion k+1 reachable only through bastion k, the last one
    /// forwarding only to the fleet's devices (which stay reachable directly
    /// too). Writes an ssh_config (see [`Self::ssh_config_out`]).
    pub fn bastions(mut self, n: usize) -> Self {
        self.bastions = n;
        self
    }
    /// Login of every bastion (default `jump`/`jump`; the fleet's client
    /// key is accepted too).
    pub fn bastion_credentials(mut self, username: &str, password: &str) -> Self {
        self.bastion_username = username.into();
        self.bastion_password = password.into();
        self
    }
    /// sshd's `MaxStartups` on every bastion (as a real jump host drops
    /// parallel connections beyond 10 unauthenticated).
    pub fn bastion_max_startups(mut self, limit: MaxStartups) -> Self {
        self.bastion_max_startups = Some(limit);
        self
    }
    /// Where to write the OpenSSH client config (`ssh -F FILE r1`; default
    /// with bastions: beside the inventory, `NAME_ssh_config`).
    pub fn ssh_config_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssh_config_out = Some(path.into());
        self
    }

    /// An HTTPS listener per device too (RESTCONF-style JSON and eAPI
    /// `POST /command-api`, HTTP/1.1 keep-alive, basic auth), with a
    /// certificate of a CA generated for the fleet; the inventory gets
    /// `vars.http_port` per host and a top-level `ca_file:`.
    pub fn http(mut self, on: bool) -> Self {
        self.http = on;
        self
    }
    /// Where to write the CA certificate (PEM) of the HTTPS listeners
    /// (default: beside the inventory, `NAME_ca.pem`).
    pub fn ca_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_out = Some(path.into());
        self
    }

    fn generated_specs(&self) -> Vec<DeviceSpec> {
        let width = if self.devices < 1000 {
            1
        } else {
            self.devices.to_string().len()
        };
        (0..self.devices)
            .map(|i| DeviceSpec {
                name: format!("r{:0width$}", i + 1),
                address: self.address,
                port: if self.base_port == 0 {
                    0
                } else {
                    self.base_port.saturating_add(i as u16)
                },
                platform: self.platform,
                username: self.username.clone(),
                password: self.password.clone(),
                secret: self.secret.clone(),
                faults: BTreeSet::new(),
                latency: self.latency,
                jitter: self.jitter,
                banner_delay: self.banner_delay,
                slow_banner_delay: self.slow_banner_delay,
                extra_lines: self.extra_lines,
                max_sessions: self.max_sessions,
                auth_delay: self.auth_delay,
                max_startups: self.max_startups,
            })
            .collect()
    }

    /// Binds every device, starts serving, writes the inventory and
    /// known_hosts (atomically, once every device accepts connections).
    pub fn start(self) -> Result<Fleet, SimError> {
        let started = Instant::now();
        let mut specs = self.specs.clone().unwrap_or_else(|| self.generated_specs());
        if specs.is_empty() {
            return Err(SimError::Config(
                "a fleet needs at least one device (-n N with N >= 1)".into(),
            ));
        }
        let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        let assigned = self
            .faults
            .assign(&names, self.seed)
            .map_err(SimError::Config)?;
        for (spec, faults) in specs.iter_mut().zip(assigned) {
            spec.faults.extend(faults);
            if !is_loopback(spec.address) {
                return Err(SimError::Config(format!(
                    "device {} would listen on {}: the simulator serves loopback addresses (127.0.0.0/8, ::1) only",
                    spec.name, spec.address
                )));
            }
        }
        // One descriptor per listener and per session, on both ends when the
        // client runs in this process too.
        let fd_limit = crate::raise_fd_limit((specs.len() as u64) * 4 + 4096);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.worker_threads)
            .thread_name("fanout-sim")
            .enable_all()
            .build()
            .map_err(|e| SimError::Io("starting the fleet's tokio runtime".into(), e))?;
        let stats = Arc::new(Stats::default());
        let client_key = crate::keys::client_key(self.seed);
        let client_public = client_key.public_key().clone();
        let seed = self.seed;
        let host_keys = all_host_keys(&specs, seed)?;
        let topology = topology(&specs, self.cables, seed)?;
        let tls = if self.http {
            let addrs: BTreeSet<IpAddr> = specs.iter().map(|s| s.address).collect();
            Some(crate::http::Tls::generate(
                &addrs.into_iter().collect::<Vec<_>>(),
            )?)
        } else {
            None
        };
        let mut http_ports: Vec<u16> = Vec::new();
        let devices = runtime.block_on(async {
            let mut bound = Vec::with_capacity(specs.len());
            for (i, (spec, keys)) in specs.into_iter().zip(host_keys).enumerate() {
                let site = Site {
                    topology: topology.clone(),
                    index: i as u32,
                };
                let mut device = Device::new(
                    spec,
                    i,
                    seed,
                    client_public.clone(),
                    stats.clone(),
                    keys,
                    site,
                );
                device.telnet = self.telnet;
                let device = Arc::new(device);
                let addr = SocketAddr::new(device.spec.address, device.spec.port);
                let could_not = |e| {
                    SimError::Io(
                        format!("device {} could not listen on {addr}", device.spec.name),
                        e,
                    )
                };
                let port = if device.has(Fault::Refuse) {
                    // Bound but never listening: connections get a RST
                    // (refused), and the port stays ours, so a fleet started
                    // meanwhile (tests run in parallel) cannot take it over
                    // and answer in the dead device's place. No SO_REUSEADDR,
                    // so no later bind can share it.
                    let socket = match addr {
                        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
                    }
                    .map_err(could_not)?;
                    socket.bind(addr).map_err(could_not)?;
                    let port = socket
                        .local_addr()
                        .map(|a| a.port())
                        .unwrap_or(device.spec.port);
                    tokio::spawn(async move {
                        let _held_until_the_fleet_stops = socket;
                        std::future::pending::<()>().await
                    });
                    port
                } else {
                    let listener = TcpListener::bind(addr).await.map_err(could_not)?;
                    let port = listener
                        .local_addr()
                        .map(|a| a.port())
                        .unwrap_or(device.spec.port);
                    tokio::spawn(crate::accept::serve(listener, device.clone()));
                    port
                };
                if let Some(tls) = &tls {
                    let addr = SocketAddr::new(device.spec.address, 0);
                    let could_not = |e| {
                        SimError::Io(
                            format!(
                                "device {} could not listen for HTTPS on {addr}",
                                device.spec.name
                            ),
                            e,
                        )
                    };
                    let http_port = if device.has(Fault::Refuse) {
                        let socket = match addr {
                            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
                        }
                        .map_err(could_not)?;
                        socket.bind(addr).map_err(could_not)?;
                        let p = socket.local_addr().map(|a| a.port()).unwrap_or(0);
                        tokio::spawn(async move {
                            let _held_until_the_fleet_stops = socket;
                            std::future::pending::<()>().await
                        });
                        p
                    } else {
                        let listener = TcpListener::bind(addr).await.map_err(could_not)?;
                        let p = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                        let acceptor = if device.has(Fault::WrongHostKey) {
                            tls.wrong.clone()
                        } else if device.has(Fault::LegacyAlgorithms) {
                            tls.legacy.clone()
                        } else {
                            tls.good.clone()
                        };
                        tokio::spawn(crate::http::serve(listener, device.clone(), acceptor));
                        p
                    };
                    http_ports.push(http_port);
                }
                bound.push((device, port));
            }
            Ok::<_, SimError>(bound)
        })?;

        if self.telnet && (self.bastions > 0 || self.ssh_config_out.is_some()) {
            return Err(SimError::Config(
                "bastions and --ssh-config-out need an SSH fleet: leave out --telnet".into(),
            ));
        }
        let device_addrs: Vec<SocketAddr> = devices
            .iter()
            .map(|(d, port)| SocketAddr::new(d.spec.address, *port))
            .collect();
        let setups = (0..self.bastions)
            .map(|i| crate::bastion::BastionSetup {
                name: format!("b{}", i + 1),
                address: IpAddr::V4(Ipv4Addr::LOCALHOST),
                username: self.bastion_username.clone(),
                password: self.bastion_password.clone(),
                key: crate::keys::bastion_key(seed, i),
                client_key: client_public.clone(),
                max_startups: self.bastion_max_startups,
                seed,
            })
            .collect();
        let bastions =
            runtime.block_on(async { crate::bastion::start(setups, &device_addrs).await })?;
        let bastion_infos: Vec<_> = bastions.iter().map(|b| b.info.clone()).collect();

        let files = match &self.inventory_out {
            Some(path) => FleetFiles::at(path.clone(), self.known_hosts_out.clone()),
            None => FleetFiles::temporary(self.known_hosts_out.clone())?,
        };
        let client_key_path = self.client_key_out.clone();
        if let Some(path) = &client_key_path {
            let pem = client_key
                .to_openssh(russh::keys::ssh_key::LineEnding::LF)
                .map_err(|e| SimError::Config(format!("encoding the client key: {e}")))?;
            write_atomic(path, pem.as_bytes(), 0o600)?;
        }
        let ca_path = match (&self.ca_out, &tls) {
            (_, None) => None,
            (Some(p), Some(_)) => Some(p.clone()),
            (None, Some(_)) => Some(files.ca.clone()),
        };
        if let (Some(path), Some(tls)) = (&ca_path, &tls) {
            write_atomic(path, tls.ca_pem.as_bytes(), 0o644)?;
        }
        let infos: Vec<DeviceInfo> = devices
            .iter()
            .enumerate()
            .map(|(i, (d, port))| DeviceInfo {
                http_port: http_ports.get(i).copied(),
                name: d.spec.name.clone(),
                address: d.spec.address,
                port: *port,
                platform: d.spec.platform,
                faults: d.spec.faults.clone(),
            })
            .collect();
        let mut known_hosts = String::new();
        if self.telnet {
            known_hosts.push_str("# fanout-sim: a telnet fleet has no host keys\n");
        }
        for (d, port) in devices.iter().filter(|_| !self.telnet) {
            for key in &d.known_keys {
                known_hosts.push_str(&crate::keys::known_hosts_line(
                    &d.spec.address.to_string(),
                    *port,
                    key,
                ));
            }
        }
        for b in &bastion_infos {
            known_hosts.push_str(&b.known_hosts_line);
        }
        write_atomic(&files.known_hosts, known_hosts.as_bytes(), 0o644)?;
        let ssh_config_path = match (&self.ssh_config_out, self.bastions) {
            (Some(path), _) => Some(path.clone()),
            (None, 0) => None,
            (None, _) => Some(files.ssh_config.clone()),
        };
        if let Some(path) = &ssh_config_path {
            let text = crate::files::ssh_config(
                &devices,
                &bastion_infos,
                &files.known_hosts,
                client_key_path.as_deref(),
            )?;
            write_atomic(path, text.as_bytes(), 0o644)?;
        }
        let mut inventory = inventory_yaml(
            &devices,
            &files,
            client_key_path.as_deref(),
            self.telnet,
            ca_path.as_deref().map(|p| (p, http_ports.as_slice())),
        );
        if let Some(path) = ssh_config_path.as_ref().filter(|_| self.bastions > 0) {
            // Jump hosts are no inventory key yet: the hosts stay direct.
            let names: Vec<&str> = bastion_infos.iter().map(|b| b.name.as_str()).collect();
            inventory = format!(
                "# The devices are also reachable through bastion{} {} (ssh -F {}).\n{inventory}",
                if names.len() == 1 { "" } else { "s" },
                names.join(" then "),
                path.display()
            );
        }
        write_atomic(&files.inventory, inventory.as_bytes(), 0o600)?;

        let targets = devices
            .iter()
            .map(|(d, port)| target(d, *port, client_key_path.as_deref()))
            .collect();
        let served = devices.iter().map(|(d, _)| d.clone()).collect();
        Ok(Fleet {
            runtime: Some(runtime),
            topology,
            served,
            devices: infos,
            targets,
            files,
            client_key,
            client_key_path,
            stats,
            start_time: started.elapsed(),
            telnet: self.telnet,
            fd_limit,
            bastions,
            bastion_infos,
            ssh_config_path,
            ca_path,
            ca_pem: tls.map(|t| t.ca_pem),
        })
    }
}

/// Every device's host keys, generated on all cores: an RSA key (legacy
/// devices) costs milliseconds, and a big fleet may have hundreds.
fn all_host_keys(specs: &[DeviceSpec], seed: u64) -> Result<Vec<HostKeys>, SimError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = specs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = specs
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(k, spec)| {
                            crate::keys::device_keys(
                                seed,
                                c * chunk + k,
                                spec.faults.contains(&Fault::LegacyAlgorithms),
                                spec.faults.contains(&Fault::WrongHostKey),
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(specs.len());
        for w in workers {
            let part = w
                .join()
                .map_err(|_| SimError::Config("generating host keys panicked".into()))??;
            all.extend(part);
        }
        Ok(all)
    })
}

/// The cabling and every device's (not yet seeded) running state.
fn topology(
    specs: &[DeviceSpec],
    cables: Option<usize>,
    seed: u64,
) -> Result<Arc<Topology>, SimError> {
    let platforms: Vec<Platform> = specs.iter().map(|s| s.platform).collect();
    let cabling = Cabling::generate(&platforms, cables, seed).map_err(SimError::Config)?;
    let nodes = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut config = DeviceConfig::new(&s.name);
            config.ports = cabling.ports_needed(i);
            (Arc::new(Mutex::new(config)), s.platform)
        })
        .collect();
    Ok(Arc::new(Topology { cabling, nodes }))
}

fn is_loopback(addr: IpAddr) -> bool {
    addr.is_loopback()
}
