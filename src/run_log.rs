//! `fanout run -v` / `-vv`: per-host logs on stderr through `tracing`.
//! `-v`: each host starting and ending (status, error kind, phase, time,
//! message); `-vv` also each attempt and, when a host starts, its target
//! (address, port, user, platform: `Target`'s Debug, whose secrets print
//! as `***`) and the phase timings of its end. Secrets never reach a log:
//! outcome messages are written without them by the drivers, and the only
//! target data logged is its Debug form.

use std::collections::HashMap;

use fanout_core::{HostOutcome, RunObserver, Target};
use tracing::{debug, info};

/// Sends `-v` logs to stderr (nothing for `verbose == 0`).
pub(crate) fn init(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The run's log: an observer writing `tracing` events.
pub(crate) struct RunLog {
    targets: HashMap<String, Target>,
}

impl RunLog {
    pub(crate) fn new(targets: &[Target]) -> Self {
        Self {
            targets: targets
                .iter()
                .map(|t| (t.name.clone(), t.clone()))
                .collect(),
        }
    }
}

impl RunObserver for RunLog {
    fn host_started(&self, host: &str) {
        info!(host, "host started");
        if let Some(target) = self.targets.get(host) {
            debug!(host, ?target, "target");
        }
    }

    fn attempt_started(&self, host: &str, attempt: u32) {
        debug!(host, attempt, "attempt started");
    }

    fn host_finished(&self, o: &HostOutcome) {
        let ms = o.timings.total.as_secs_f64() * 1e3;
        info!(
            host = %o.host,
            status = o.status.as_str(),
            kind = o.error_kind.map(|k| k.as_str()),
            phase = o.phase.map(|p| p.as_str()),
            ms = format!("{ms:.1}"),
            attempts = o.attempts,
            message = o.message.as_deref(),
            "host finished"
        );
        let t = &o.timings;
        debug!(
            host = %o.host,
            queued_ms = format!("{:.1}", t.queued.as_secs_f64() * 1e3),
            connect_ms = format!("{:.1}", t.connect.as_secs_f64() * 1e3),
            auth_ms = format!("{:.1}", t.auth.as_secs_f64() * 1e3),
            command_ms = format!("{:.1}", t.command.as_secs_f64() * 1e3),
            "phase timings"
        );
    }
}

/// Every observer of a run (the bar, the log), as one.
pub(crate) struct Observers(pub(crate) Vec<std::sync::Arc<dyn RunObserver>>);

impl RunObserver for Observers {
    fn host_started(&self, host: &str) {
        for o in &self.0 {
            o.host_started(host);
        }
    }

    fn attempt_started(&self, host: &str, attempt: u32) {
        for o in &self.0 {
            o.attempt_started(host, attempt);
        }
    }

    fn host_finished(&self, outcome: &HostOutcome) {
        for o in &self.0 {
            o.host_finished(outcome);
        }
    }
}
