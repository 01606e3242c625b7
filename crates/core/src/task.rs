use std::fmt;
use std::time::Duration;

use crate::Target;
use crate::http::{HttpMethod, HttpTemplateError};
use crate::template::{RenderError, Template, TemplateError};

/// Privilege level a [`Task::Cli`] runs its commands at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CliMode {
    /// As logged in (`R1>`).
    #[default]
    User,
    /// After `enable` with the target's secret (`R1#`).
    Enable,
    /// Inside `configure terminal` (`R1(config)#`); left with `end`.
    Config,
}

/// What to do on each target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// Run `command` on the SSH exec channel; capture stdout, stderr, exit status.
    Exec {
        /// The command line sent to the device.
        command: String,
    },
    /// Drive the device CLI interactively, like a network engineer would.
    Cli {
        /// Commands, each one's output captured without echo and prompt.
        commands: Vec<String>,
        /// Privilege level to run them at.
        mode: CliMode,
    },
    /// Wait without doing anything: the concurrency model alone.
    Sleep {
        /// How long each host waits.
        duration: Duration,
    },
    /// Wait a duration of its own per host, picked uniformly in
    /// `min..=max` from `(seed, host name)` (see [`seeded_duration`]): the
    /// same seed gives every executor the same durations for the same host.
    SleepRange {
        /// Shortest wait.
        min: Duration,
        /// Longest wait.
        max: Duration,
        /// Seed of the per-host durations.
        seed: u64,
    },
    /// CPU-bound work: [`cpu_burn`](crate::cpu_burn) for `iterations` rounds.
    Cpu {
        /// Hash-loop rounds (roughly a nanosecond each).
        iterations: u64,
    },
    /// A local subprocess per host; `{host}`, `{name}`, `{port}`, `{platform}`
    /// in the arguments are replaced (see [`render_template`](crate::render_template)).
    Local {
        /// Program and arguments (no shell).
        argv: Vec<String>,
    },
    /// One HTTP(S) request per host (a device REST API: RESTCONF, eAPI,
    /// NX-API); URL, header values and body are templates
    /// ([`Template`], a JSON body inside its strings).
    Http {
        /// The request method.
        method: HttpMethod,
        /// `https://{host}:{vars.http_port}/...`.
        url: String,
        /// Extra request headers, in order (`--header K:V`).
        headers: Vec<(String, String)>,
        /// The request body (`--body`), if any.
        body: Option<String>,
    },
}

/// The kind of a [`Task`], without its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// [`Task::Exec`].
    Exec,
    /// [`Task::Cli`].
    Cli,
    /// [`Task::Sleep`].
    Sleep,
    /// [`Task::Cpu`].
    Cpu,
    /// [`Task::Local`].
    Local,
    /// [`Task::Http`].
    Http,
}

impl TaskKind {
    /// Every task kind.
    pub const ALL: [TaskKind; 6] = [
        TaskKind::Exec,
        TaskKind::Cli,
        TaskKind::Sleep,
        TaskKind::Cpu,
        TaskKind::Local,
        TaskKind::Http,
    ];

    /// The CLI name of the task (`exec`, `cli`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Exec => "exec",
            TaskKind::Cli => "cli",
            TaskKind::Sleep => "sleep",
            TaskKind::Cpu => "cpu",
            TaskKind::Local => "local",
            TaskKind::Http => "http",
        }
    }

    /// Whether the task talks to the device (SSH, or HTTP for `http`):
    /// its attempts go through a transport.
    pub fn needs_network(self) -> bool {
        matches!(self, TaskKind::Exec | TaskKind::Cli | TaskKind::Http)
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Task {
    /// How long host `host` sleeps, for the sleep tasks (`None` for others).
    pub fn sleep_for(&self, host: &str) -> Option<Duration> {
        match self {
            Task::Sleep { duration } => Some(*duration),
            Task::SleepRange { min, max, seed } => Some(seeded_duration(*min, *max, *seed, host)),
            _ => None,
        }
    }

    /// The longest any host sleeps, for the sleep tasks (`None` for others).
    pub fn max_sleep(&self) -> Option<Duration> {
        match self {
            Task::Sleep { duration } => Some(*duration),
            Task::SleepRange { max, .. } => Some(*max),
            _ => None,
        }
    }

    /// The kind of this task.
    pub fn kind(&self) -> TaskKind {
        match self {
            Task::Exec { .. } => TaskKind::Exec,
            Task::Cli { .. } => TaskKind::Cli,
            Task::Sleep { .. } | Task::SleepRange { .. } => TaskKind::Sleep,
            Task::Cpu { .. } => TaskKind::Cpu,
            Task::Local { .. } => TaskKind::Local,
            Task::Http { .. } => TaskKind::Http,
        }
    }

    /// Whether running the task again after it started cannot change a device
    /// (so a command-phase timeout may be retried without `--retry-commands`).
    pub fn is_read_only(&self) -> bool {
        match self {
            Task::Sleep { .. } | Task::SleepRange { .. } | Task::Cpu { .. } => true,
            Task::Cli { mode, .. } => *mode != CliMode::Config,
            Task::Http { method, .. } => *method == HttpMethod::Get,
            Task::Exec { .. } | Task::Local { .. } => false,
        }
    }
}

impl Task {
    /// The texts this task sends to a device, each a [`Template`]: the
    /// `exec` command, the `cli` commands (none for the other tasks;
    /// `local` arguments have their own, lenient rule:
    /// [`render_template`](crate::render_template)).
    pub fn templates(&self) -> &[String] {
        match self {
            Task::Exec { command } => std::slice::from_ref(command),
            Task::Cli { commands, .. } => commands,
            _ => &[],
        }
    }

    /// Checks every template of the task (see [`Task::templates`]) before
    /// any host starts.
    pub fn check_templates(&self) -> Result<(), TemplateFailure> {
        if let Task::Http {
            url, headers, body, ..
        } = self
        {
            return Ok(crate::http::check(url, headers, body.as_deref())?);
        }
        for t in self.templates() {
            Template::parse(t)?;
        }
        Ok(())
    }

    /// The task as sent to `target`, its templates rendered; `Ok(None)`
    /// when no template has a placeholder (the task is sent as it is).
    pub fn for_target(&self, target: &Target) -> Result<Option<Task>, TemplateFailure> {
        if let Task::Http {
            method,
            url,
            headers,
            body,
        } = self
        {
            if crate::http::is_constant(url, headers, body.as_deref()) {
                return Ok(None);
            }
            let (url, headers, body) = crate::http::render(url, headers, body.as_deref(), target)?;
            return Ok(Some(Task::Http {
                method: *method,
                url,
                headers,
                body,
            }));
        }
        let mut rendered = Vec::with_capacity(self.templates().len());
        let mut constant = true;
        for t in self.templates() {
            let t = Template::parse(t)?;
            constant &= t.is_constant();
            rendered.push(t.render(target)?);
        }
        if constant {
            return Ok(None);
        }
        Ok(Some(match self {
            Task::Exec { .. } => Task::Exec {
                command: rendered.remove(0),
            },
            Task::Cli { mode, .. } => Task::Cli {
                commands: rendered,
                mode: *mode,
            },
            other => other.clone(),
        }))
    }
}

/// Why a task could not be rendered for a host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateFailure {
    /// The template itself is wrong (normally caught by
    /// [`Job::validate`](crate::Job::validate) before any host starts).
    #[error(transparent)]
    Parse(#[from] TemplateError),
    /// The host has no value for a placeholder.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A template of an `http` task is wrong, or has no value for the host.
    #[error(transparent)]
    Http(#[from] HttpTemplateError),
}

impl fmt::Display for Task {
    /// The task as it would be typed after `fanout run ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Exec { command } => write!(f, "exec {command}"),
            Task::Cli { commands, mode } => {
                f.write_str("cli")?;
                match mode {
                    CliMode::User => {}
                    CliMode::Enable => f.write_str(" --enable")?,
                    CliMode::Config => f.write_str(" --config")?,
                }
                for c in commands {
                    write!(f, " '{c}'")?;
                }
                Ok(())
            }
            Task::Sleep { duration } => write!(f, "sleep {}", crate::format_duration(*duration)),
            Task::SleepRange { min, max, .. } => {
                write!(f, "sleep {}", SleepSpec::Range(*min, *max))
            }
            Task::Cpu { iterations } => write!(f, "cpu {iterations}"),
            Task::Local { argv } => write!(f, "local {}", argv.join(" ")),
            Task::Http {
                method,
                url,
                headers,
                body,
            } => {
                f.write_str("http")?;
                if *method != HttpMethod::Get {
                    write!(f, " --method {method}")?;
                }
                for (k, v) in headers {
                    write!(f, " --header '{k}: {v}'")?;
                }
                if let Some(b) = body {
                    write!(f, " --body '{b}'")?;
                }
                write!(f, " '{url}'")
            }
        }
    }
}

/// The seed of `sleep MIN..MAX` when `--seed` is not given. Fixed, so that a
/// run is reproducible by default; pass `--seed N` for other durations.
pub const DEFAULT_SLEEP_SEED: u64 = 1;

/// What `fanout run sleep` was given: `1s`, or `1s..3s` (a range, bounds
/// included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepSpec {
    /// Every host waits this long.
    Fixed(Duration),
    /// Each host waits a seeded duration in `min..=max`.
    Range(Duration, Duration),
}

impl SleepSpec {
    /// The task this spec makes, with `seed` for a range.
    pub fn task(self, seed: u64) -> Task {
        match self {
            SleepSpec::Fixed(duration) => Task::Sleep { duration },
            SleepSpec::Range(min, max) => Task::SleepRange { min, max, seed },
        }
    }

    /// The longest wait.
    pub fn max(self) -> Duration {
        match self {
            SleepSpec::Fixed(d) | SleepSpec::Range(_, d) => d,
        }
    }
}

impl std::str::FromStr for SleepSpec {
    type Err = String;

    /// `DUR` or `MIN..MAX` (durations as [`parse_duration`](crate::parse_duration)).
    fn from_str(s: &str) -> Result<Self, String> {
        let Some((lo, hi)) = s.split_once("..") else {
            return crate::parse_duration(s).map(SleepSpec::Fixed);
        };
        let bound = |text: &str, which: &str| {
            crate::parse_duration(text).map_err(|e| {
                format!("the {which} bound of the sleep range `{s}` is not a duration ({e}); write e.g. 1s..3s")
            })
        };
        let (min, max) = (bound(lo, "lower")?, bound(hi, "upper")?);
        if min > max {
            return Err(format!(
                "the sleep range `{s}` is backwards: its lower bound is above its upper bound; write it as {}..{}",
                crate::format_duration(max),
                crate::format_duration(min)
            ));
        }
        Ok(SleepSpec::Range(min, max))
    }
}

impl fmt::Display for SleepSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SleepSpec::Fixed(d) => f.write_str(&crate::format_duration(*d)),
            SleepSpec::Range(lo, hi) => write!(
                f,
                "{}..{}",
                crate::format_duration(*lo),
                crate::format_duration(*hi)
            ),
        }
    }
}

/// A duration uniform in `min..=max` (to the nanosecond) that depends only
/// on `seed` and `host`: never on run order, executor or platform (FNV-1a
/// of the name, mixed with the seed by SplitMix64; both fixed forever, so a
/// seed means the same durations in every version).
pub fn seeded_duration(min: Duration, max: Duration, seed: u64, host: &str) -> Duration {
    if max <= min {
        return min;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in host.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
    }
    let span = (max - min).as_nanos();
    // Multiply-shift: uniform over span + 1 values, no modulo bias to speak of.
    let offset = (u128::from(z) * (span + 1)) >> 64;
    min + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn sleep_specs_parse_and_print() {
        assert_eq!("1s".parse(), Ok(SleepSpec::Fixed(ms(1000))));
        assert_eq!("1s..3s".parse(), Ok(SleepSpec::Range(ms(1000), ms(3000))));
        assert_eq!("1.5s..2s".parse(), Ok(SleepSpec::Range(ms(1500), ms(2000))));
        assert_eq!(SleepSpec::Range(ms(1000), ms(3000)).to_string(), "1s..3s");
        let backwards = "3s..1s".parse::<SleepSpec>().unwrap_err();
        assert!(
            backwards.contains("backwards") && backwards.contains("1s..3s"),
            "{backwards}"
        );
        let bad = "1s..x".parse::<SleepSpec>().unwrap_err();
        assert!(
            bad.contains("upper bound") && bad.contains("1s..x"),
            "{bad}"
        );
        let task = SleepSpec::Range(ms(1000), ms(3000)).task(7);
        assert_eq!(task.to_string(), "sleep 1s..3s");
        assert_eq!(task.kind(), TaskKind::Sleep);
        assert_eq!(task.max_sleep(), Some(ms(3000)));
    }

    #[test]
    fn seeded_durations_stay_in_range_and_depend_on_seed_and_name_only() {
        let (lo, hi) = (ms(1000), ms(3000));
        let names: Vec<String> = (1..=2000).map(|i| format!("host{i:04}")).collect();
        let a: Vec<Duration> = names
            .iter()
            .map(|n| seeded_duration(lo, hi, 1, n))
            .collect();
        assert!(a.iter().all(|d| (lo..=hi).contains(d)), "out of range");
        // Same seed, same durations, whatever the order of asking.
        for (n, d) in names.iter().zip(&a).rev() {
            assert_eq!(seeded_duration(lo, hi, 1, n), *d);
        }
        let b: Vec<Duration> = names
            .iter()
            .map(|n| seeded_duration(lo, hi, 2, n))
            .collect();
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert!(same < 10, "seeds 1 and 2 agree on {same} of 2000 hosts");
        // Spread over the whole range: every fifth of it gets a fair share.
        let mut bins = [0usize; 5];
        for d in &a {
            let i = ((*d - lo).as_nanos() * 5 / (hi - lo).as_nanos()).min(4) as usize;
            bins[i] += 1;
        }
        assert!(bins.iter().all(|n| (300..=500).contains(n)), "{bins:?}");
        assert_eq!(seeded_duration(ms(5), ms(5), 9, "x"), ms(5));
        // Pinned: a seed means these durations in every version.
        assert_eq!(
            seeded_duration(lo, hi, 1, "host0001"),
            Duration::from_nanos(1_097_135_354)
        );
    }
}
