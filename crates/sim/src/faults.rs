//! Fault knobs: what a misbehaving device does, and the `--faults` grammar
//! (`KIND=TARGETS,...` where TARGETS is `N%` of the devices or
//! `name+name+...`), e.g. `auth_fail=5%,hang_on_command=r3+r7`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One way a simulated device misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The port is closed: connections are refused.
    Refuse,
    /// Every authentication attempt is rejected.
    AuthFail,
    /// TCP is accepted but the SSH banner never comes.
    HangOnConnect,
    /// Logins and the prompt work, but commands never answer.
    HangOnCommand,
    /// Half of a command's output is sent, then the connection drops.
    DropMidOutput,
    /// The SSH banner comes only after the slow-banner delay (default 5 s).
    SlowBanner,
    /// The device presents a host key other than the one in known_hosts.
    WrongHostKey,
    /// Only old key exchanges, ciphers and MACs
    /// (diffie-hellman-group-exchange-sha1, group14-sha1, group1-sha1;
    /// aes128-cbc, 3des-cbc; hmac-sha1), and an RSA host key (`ssh-rsa`,
    /// SHA-1 signatures) besides the ed25519 one, like an old IOS box.
    LegacyAlgorithms,
    /// Logins work, but the device never stops talking: an exec command's
    /// output, and a shell from the moment it opens, are
    /// [`Fault::ENDLESS_LINE`] again and again, as fast as the client reads:
    /// never a prompt, never an exit status.
    EndlessOutput,
    /// HTTPS device APIs only: every request that passes authentication
    /// is answered `503 Service Unavailable` with a JSON error body (SSH
    /// is unaffected).
    Http5xx,
}

impl Fault {
    /// Every fault, in documentation order.
    pub const ALL: [Fault; 10] = [
        Fault::Refuse,
        Fault::AuthFail,
        Fault::HangOnConnect,
        Fault::HangOnCommand,
        Fault::DropMidOutput,
        Fault::SlowBanner,
        Fault::WrongHostKey,
        Fault::LegacyAlgorithms,
        Fault::EndlessOutput,
        Fault::Http5xx,
    ];

    /// The line an [`Fault::EndlessOutput`] device repeats forever (it never
    /// looks like a prompt).
    pub const ENDLESS_LINE: &'static str = "Loopback0   10.0.0.1   YES manual up   up\r\n";

    /// The name used in fault specs and inventory vars.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Refuse => "refuse",
            Fault::AuthFail => "auth_fail",
            Fault::HangOnConnect => "hang_on_connect",
            Fault::HangOnCommand => "hang_on_command",
            Fault::DropMidOutput => "drop_mid_output",
            Fault::SlowBanner => "slow_banner",
            Fault::WrongHostKey => "wrong_host_key",
            Fault::LegacyAlgorithms => "legacy_algorithms",
            Fault::EndlessOutput => "endless_output",
            Fault::Http5xx => "http_5xx",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Fault::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown fault `{s}`: expected one of {}", names.join(", "))
            })
    }
}

/// Which devices a fault hits.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultTargets {
    /// This percentage of the fleet (rounded, chosen deterministically from the seed).
    Percent(f64),
    /// These device names.
    Names(BTreeSet<String>),
}

/// A parsed `--faults` spec.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSpec {
    /// Each fault and the devices it hits.
    pub entries: Vec<(Fault, FaultTargets)>,
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut entries = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, targets) = part.split_once('=').ok_or_else(|| {
                format!(
                    "fault `{part}` needs targets: KIND=N% or KIND=name+name, e.g. auth_fail=5%"
                )
            })?;
            let fault: Fault = kind.parse()?;
            let targets = targets.trim();
            let targets = if let Some(p) = targets.strip_suffix('%') {
                let p: f64 = p
                    .trim()
                    .parse()
                    .ok()
                    .filter(|p: &f64| (0.0..=100.0).contains(p))
                    .ok_or_else(|| {
                        format!("`{targets}` in `{part}`: the percentage must be 0-100")
                    })?;
                FaultTargets::Percent(p)
            } else {
                let names: BTreeSet<String> = targets
                    .split('+')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect();
                if names.is_empty() {
                    return Err(format!(
                        "`{part}` names no device: use KIND=N% or KIND=r1+r2"
                    ));
                }
                FaultTargets::Names(names)
            };
            entries.push((fault, targets));
        }
        Ok(Self { entries })
    }
}

impl FaultSpec {
    /// The faults of each of `names` (same order), `Percent` targets chosen
    /// by a seeded shuffle so the same seed hits the same devices.
    pub fn assign(&self, names: &[String], seed: u64) -> Result<Vec<BTreeSet<Fault>>, String> {
        let mut out = vec![BTreeSet::new(); names.len()];
        for (i, (fault, targets)) in self.entries.iter().enumerate() {
            match targets {
                FaultTargets::Percent(p) => {
                    let count = ((names.len() as f64) * p / 100.0).round() as usize;
                    let mut order: Vec<usize> = (0..names.len()).collect();
                    let mut rng =
                        SplitMix(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    for k in (1..order.len()).rev() {
                        let j = (rng.next() % (k as u64 + 1)) as usize;
                        order.swap(k, j);
                    }
                    for &d in order.iter().take(count) {
                        out[d].insert(*fault);
                    }
                }
                FaultTargets::Names(wanted) => {
                    for name in wanted {
                        let d = names.iter().position(|n| n == name).ok_or_else(|| {
                            format!(
                                "fault {fault} names device `{name}`, which is not in the fleet"
                            )
                        })?;
                        out[d].insert(*fault);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A tiny deterministic generator (splitmix64) for fault placement and
/// latency jitter: repeatable from the fleet seed, no dependency.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("r{i}")).collect()
    }

    #[test]
    fn parses_and_assigns() {
        let spec: FaultSpec = "auth_fail=10%, hang_on_command=r3+r7".parse().unwrap();
        let faults = spec.assign(&names(100), 1).unwrap();
        let auth = faults
            .iter()
            .filter(|f| f.contains(&Fault::AuthFail))
            .count();
        assert_eq!(auth, 10);
        assert!(
            faults[3].contains(&Fault::HangOnCommand) && faults[7].contains(&Fault::HangOnCommand)
        );
        assert_eq!(
            faults,
            spec.assign(&names(100), 1).unwrap(),
            "deterministic per seed"
        );
        assert_ne!(faults, spec.assign(&names(100), 2).unwrap());
    }

    #[test]
    fn every_fault_parses_by_its_name() {
        for fault in Fault::ALL {
            assert_eq!(fault.as_str().parse::<Fault>(), Ok(fault));
        }
        let spec: FaultSpec = "endless_output=r1".parse().unwrap();
        assert_eq!(
            spec.assign(&names(2), 0).unwrap()[1],
            BTreeSet::from([Fault::EndlessOutput])
        );
    }

    #[test]
    fn errors_say_what_to_write() {
        assert!(
            "auth_fail"
                .parse::<FaultSpec>()
                .unwrap_err()
                .contains("KIND=N%")
        );
        assert!(
            "melt=5%"
                .parse::<FaultSpec>()
                .unwrap_err()
                .contains("hang_on_command")
        );
        assert!(
            "refuse=150%"
                .parse::<FaultSpec>()
                .unwrap_err()
                .contains("0-100")
        );
        let spec: FaultSpec = "refuse=r9".parse().unwrap();
        assert!(
            spec.assign(&names(3), 0)
                .unwrap_err()
                .contains("not in the fleet")
        );
    }
}
