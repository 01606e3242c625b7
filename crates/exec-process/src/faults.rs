//! Test-only fault injection for `fanout worker`: make a worker crash, be
//! killed, exit, hang or talk garbage on a chosen host, so the parent's
//! isolation and cleanup can be tested against real dying processes.
//!
//! Read only by `fanout worker` from [`FAULTS_ENV`]; never set it in
//! production. Spec: comma-separated `KIND:HOST[@DELAY]`, e.g.
//! `abort:h03,kill:h05@200ms`. Kinds:
//!
//! - `abort` — `abort()` (SIGABRT), as a crashing worker would;
//! - `kill` — SIGKILL itself, as the kernel's out-of-memory killer would;
//! - `exit` — exit with status 3 without reporting the host;
//! - `hang` — stop reacting (ignores cancel) until killed;
//! - `garbage` — print a line that is not protocol JSON instead of the outcome.
//!
//! With a DELAY (`50ms`, `1s`) `abort`, `kill` and `exit` strike that long
//! after the host started, while its task runs, and `hang` once the task is
//! done, instead of reporting it; without one, before the task starts.
//! `garbage` always replaces the outcome.

use std::time::Duration;

use crate::ProcessError;

/// Environment variable `fanout worker` reads its injected faults from
/// (test-only; see the [module docs](self)).
pub const FAULTS_ENV: &str = "FANOUT_WORKER_FAULTS";

/// What an injected fault does to the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// `abort()`: killed by SIGABRT.
    Abort,
    /// SIGKILL itself (what the out-of-memory killer does).
    Kill,
    /// Exit with status 3 without reporting the host.
    Exit,
    /// Stop reacting, cancel included, until killed.
    Hang,
    /// Print a line that is not protocol JSON instead of the outcome.
    Garbage,
}

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// On which host (target name).
    pub host: String,
    /// How long after the host started (`None`: before it starts).
    pub delay: Option<Duration>,
}

/// The faults a worker injects (usually none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    faults: Vec<Fault>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a spec such as `abort:h03,kill:h05@200ms`.
    pub fn parse(spec: &str) -> Result<Self, ProcessError> {
        let bad = |item: &str, why: &str| ProcessError::FaultSpec {
            item: item.to_string(),
            why: why.to_string(),
        };
        let mut faults = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (kind, rest) = item
                .split_once(':')
                .ok_or_else(|| bad(item, "expected KIND:HOST[@DELAY]"))?;
            let kind = match kind {
                "abort" => FaultKind::Abort,
                "kill" => FaultKind::Kill,
                "exit" => FaultKind::Exit,
                "hang" => FaultKind::Hang,
                "garbage" => FaultKind::Garbage,
                _ => return Err(bad(item, "KIND is one of abort, kill, exit, hang, garbage")),
            };
            let (host, delay) = match rest.split_once('@') {
                Some((host, delay)) => (
                    host,
                    Some(fanout_core::parse_duration(delay).map_err(|e| bad(item, &e))?),
                ),
                None => (rest, None),
            };
            if host.is_empty() {
                return Err(bad(item, "HOST is missing"));
            }
            faults.push(Fault {
                kind,
                host: host.to_string(),
                delay,
            });
        }
        Ok(Self { faults })
    }

    /// The faults in [`FAULTS_ENV`] (none when unset).
    pub fn from_env() -> Result<Self, ProcessError> {
        match std::env::var(FAULTS_ENV) {
            Ok(spec) => Self::parse(&spec),
            Err(_) => Ok(Self::none()),
        }
    }

    /// The fault to inject on `host`, if any.
    pub fn for_host(&self, host: &str) -> Option<&Fault> {
        self.faults.iter().find(|f| f.host == host)
    }

    /// Whether no fault is configured.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }
}

/// Makes the worker die now, the way `kind` says (never returns for
/// abort, kill and exit).
pub(crate) fn strike(kind: FaultKind, host: &str) {
    eprintln!("fanout worker: injected fault `{kind:?}` on {host} ({FAULTS_ENV})");
    match kind {
        FaultKind::Abort => std::process::abort(),
        FaultKind::Kill => {
            // SAFETY: signals this very process.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            // SIGKILL cannot be caught; wait for it to land.
            loop {
                std::thread::park();
            }
        }
        FaultKind::Exit => std::process::exit(3),
        FaultKind::Hang => loop {
            std::thread::park();
        },
        FaultKind::Garbage => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs_and_explains_mistakes() {
        let f = Faults::parse("abort:h03, kill:h05@200ms,exit:x,hang:y,garbage:z").unwrap();
        assert_eq!(
            f.for_host("h05"),
            Some(&Fault {
                kind: FaultKind::Kill,
                host: "h05".into(),
                delay: Some(Duration::from_millis(200)),
            })
        );
        assert_eq!(f.for_host("h03").unwrap().delay, None);
        assert_eq!(f.for_host("z").unwrap().kind, FaultKind::Garbage);
        assert!(f.for_host("h04").is_none());
        assert!(Faults::parse("").unwrap().is_empty());
        for (spec, hint) in [
            ("boom:h1", "abort, kill"),
            ("abort", "KIND:HOST"),
            ("abort:", "HOST is missing"),
            ("kill:h1@soon", "invalid duration"),
        ] {
            let err = Faults::parse(spec).unwrap_err().to_string();
            assert!(
                err.contains(hint) && err.contains(FAULTS_ENV),
                "{spec}: {err}"
            );
        }
    }
}
