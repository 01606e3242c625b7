//! One simulated device: what it is ([`DeviceSpec`]) and what it runs with
//! (keys, server config, shared running config).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use fanout_core::Platform;
use russh::keys::{Algorithm, PublicKey};
use russh::{MethodKind, MethodSet, Preferred, SshId};

use tokio::sync::Semaphore;

use crate::console::{Console, ConsoleOptions, SharedConfig};
use crate::faults::{Fault, SplitMix};
use crate::keys::HostKeys;
use crate::limits::{MaxStartups, SessionLimit, SessionLimitMode, Startup, StartupGate};
use crate::stats::Stats;
use crate::topology::Site;

/// Everything that defines one simulated device.
#[derive(Clone, Debug)]
pub struct DeviceSpec {
    /// Name (inventory key) and hostname (prompt).
    pub name: String,
    /// Loopback address to listen on.
    pub address: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Which CLI it speaks.
    pub platform: Platform,
    /// Login user.
    pub username: String,
    /// Login password (also answers keyboard-interactive).
    pub password: String,
    /// Enable secret (none: `enable` needs no password).
    pub secret: Option<String>,
    /// Misbehaviours.
    pub faults: BTreeSet<Fault>,
    /// Time each command takes before its output comes.
    pub latency: Duration,
    /// Uniform random spread around `latency` (±).
    pub jitter: Duration,
    /// Delay before the SSH banner on every connection.
    pub banner_delay: Duration,
    /// Delay before the banner of a `slow_banner` device.
    pub slow_banner_delay: Duration,
    /// Extra lines in long outputs (`show running-config`).
    pub extra_lines: usize,
    /// Most SSH connections open at once, and what an extra one gets
    /// (`None`: no limit).
    pub max_sessions: Option<SessionLimit>,
    /// Time the device takes to accept (or reject) a login, as an AAA
    /// lookup does on real boxes (0.5-1 s); not spent on `none` probes.
    pub auth_delay: Duration,
    /// sshd's `MaxStartups`: random early drop of new connections while
    /// many are unauthenticated (`None`: never).
    pub max_startups: Option<MaxStartups>,
}

impl DeviceSpec {
    /// A device with the fleet defaults: 127.0.0.1, any free port, IOS,
    /// `cisco`/`cisco`, enable secret `cisco`, no faults, no delays, no
    /// session limit.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            address: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port: 0,
            platform: Platform::Ios,
            username: "cisco".into(),
            password: "cisco".into(),
            secret: Some("cisco".into()),
            faults: BTreeSet::new(),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            banner_delay: Duration::ZERO,
            slow_banner_delay: Duration::from_secs(5),
            extra_lines: 0,
            max_sessions: None,
            auth_delay: Duration::ZERO,
            max_startups: None,
        }
    }
}

impl Default for DeviceSpec {
    fn default() -> Self {
        Self::new("r1")
    }
}

/// A device ready to serve: its spec plus keys, server config and state.
pub(crate) struct Device {
    pub(crate) spec: DeviceSpec,
    pub(crate) config: Arc<russh::server::Config>,
    /// The keys written to known_hosts (ed25519, and RSA for legacy
    /// devices; other than the presented ones for `wrong_host_key`).
    pub(crate) known_keys: Vec<PublicKey>,
    pub(crate) client_key: PublicKey,
    pub(crate) running: SharedConfig,
    /// Its place in the fleet's cabling.
    pub(crate) site: Site,
    /// Served over telnet instead of SSH.
    pub(crate) telnet: bool,
    /// The session limit and its slots.
    pub(crate) limit: Option<(SessionLimitMode, Semaphore)>,
    pub(crate) stats: Arc<Stats>,
    /// `max_startups`: connections not yet authenticated, and the coin.
    startups: Arc<StartupGate>,
    seed: u64,
    sessions: AtomicU64,
    /// Sessions being served now (past the session limit) and the most at once.
    in_use: AtomicUsize,
    peak_in_use: AtomicUsize,
}

impl Device {
    pub(crate) fn new(
        spec: DeviceSpec,
        index: usize,
        seed: u64,
        client_key: PublicKey,
        stats: Arc<Stats>,
        keys: HostKeys,
        site: Site,
    ) -> Self {
        let preferred = if spec.faults.contains(&Fault::LegacyAlgorithms) {
            legacy_algorithms()
        } else {
            Preferred::default()
        };
        let config = russh::server::Config {
            server_id: SshId::Standard(server_id(spec.platform).into()),
            methods: MethodSet::from(
                &[
                    MethodKind::PublicKey,
                    MethodKind::KeyboardInteractive,
                    MethodKind::Password,
                ][..],
            ),
            auth_rejection_time: Duration::from_millis(20),
            // OpenSSH probes with "none" first; never make that cost time.
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: keys.presented,
            inactivity_timeout: Some(Duration::from_secs(1800)),
            nodelay: true,
            preferred,
            ..Default::default()
        };
        let running = site.topology.nodes[site.index as usize].0.clone();
        let limit = spec
            .max_sessions
            .map(|l| (l.mode, Semaphore::new(l.max.max(1))));
        let seed = seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407);
        Self {
            startups: Arc::new(StartupGate::new(spec.max_startups, seed)),
            spec,
            config: Arc::new(config),
            known_keys: keys.known,
            client_key,
            running,
            site,
            telnet: false,
            limit,
            stats,
            seed,
            sessions: AtomicU64::new(0),
            in_use: AtomicUsize::new(0),
            peak_in_use: AtomicUsize::new(0),
        }
    }

    pub(crate) fn has(&self, fault: Fault) -> bool {
        self.spec.faults.contains(&fault)
    }

    /// A console session on this device.
    pub(crate) fn console(&self) -> Console {
        let spec = &self.spec;
        Console::new(
            spec.platform,
            self.running.clone(),
            &spec.username,
            spec.secret.as_deref(),
            ConsoleOptions {
                extra_lines: spec.extra_lines,
                ..ConsoleOptions::default()
            },
        )
        .with_site(Some(self.site.clone()))
    }

    /// A new connection under `max_startups`: `None` when it is dropped
    /// (counted), else its place among the unauthenticated ones.
    pub(crate) fn startup(&self) -> Option<Startup> {
        let admitted = self.startups.admit();
        if admitted.is_none() {
            self.stats.startup_dropped();
        }
        admitted
    }

    /// A connection past the session limit (it holds a vty line, or the
    /// device has no limit): counted until the guard drops.
    pub(crate) fn serving(self: &Arc<Self>) -> Serving {
        let now = self.in_use.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_use.fetch_max(now, Ordering::SeqCst);
        Serving(self.clone())
    }

    /// The most connections this device served at once (queued or refused
    /// ones not counted): never above its `max_sessions`.
    pub(crate) fn peak_sessions(&self) -> usize {
        self.peak_in_use.load(Ordering::SeqCst)
    }

    /// A latency generator for one session (repeatable per device).
    pub(crate) fn latency_source(&self) -> LatencySource {
        let n = self.sessions.fetch_add(1, Ordering::Relaxed);
        LatencySource {
            base: self.spec.latency,
            jitter: self.spec.jitter,
            rng: SplitMix(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }
}

/// One connection being served, counted in [`Device::peak_sessions`].
pub(crate) struct Serving(Arc<Device>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.in_use.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Draws command latencies: `base ± jitter`, uniform, never negative.
pub(crate) struct LatencySource {
    base: Duration,
    jitter: Duration,
    rng: SplitMix,
}

impl LatencySource {
    pub(crate) fn next(&mut self) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let spread = self.jitter.as_secs_f64() * (2.0 * self.rng.unit() - 1.0);
        Duration::from_secs_f64((self.base.as_secs_f64() + spread).max(0.0))
    }
}

/// The SSH version string real devices of each platform send.
fn server_id(platform: Platform) -> &'static str {
    match platform {
        Platform::Ios | Platform::Iosxe => "SSH-2.0-Cisco-1.25",
        Platform::Nxos => "SSH-2.0-OpenSSH_8.3",
        Platform::Iosxr => "SSH-2.0-Cisco-2.0",
        Platform::Eos => "SSH-2.0-OpenSSH_8.8",
        Platform::Junos => "SSH-2.0-OpenSSH_7.5",
        Platform::Linux => "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
    }
}

/// What an old IOS 12.x / 15.x box offers: SHA-1 Diffie-Hellman (group
/// exchange, group14, group1), CBC ciphers, hmac-sha1, and `ssh-rsa` (RSA
/// with SHA-1 signatures) besides ed25519 as host-key algorithms.
fn legacy_algorithms() -> Preferred {
    use std::borrow::Cow;
    Preferred {
        kex: Cow::Borrowed(&[
            russh::kex::DH_GEX_SHA1,
            russh::kex::DH_G14_SHA1,
            russh::kex::DH_G1_SHA1,
        ]),
        key: Cow::Borrowed(&[Algorithm::Ed25519, Algorithm::Rsa { hash: None }]),
        cipher: Cow::Borrowed(&[russh::cipher::AES_128_CBC, russh::cipher::TRIPLE_DES_CBC]),
        mac: Cow::Borrowed(&[russh::mac::HMAC_SHA1]),
        ..Preferred::default()
    }
}
