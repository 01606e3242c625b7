//! The websocket protocol: every message the page (or any client) receives.
//!
//! Each websocket text message is a JSON array of events, in order. Every
//! event has a `"type"`:
//!
//! - `hello` (first, to each client; not in the replay log):
//!   `{"type":"hello","title","server_now_ms","preview_bytes"}`
//! - `run_start`: `{"type":"run_start","run":R,"label","executor",
//!   "concurrency","hosts","task","started_ms"}` (`started_ms`: Unix time)
//! - `host`: `{"type":"host","run":R,"i":I,"cut":bool,"outcome":{...},
//!   "progress":{...}}` where `outcome` is the JSON Lines host object of
//!   `fanout run --format jsonl` (outputs cut to a preview when `cut`; the
//!   full outcome is at `/api/output?run=R&i=I`) and `progress` is
//!   `{"hosts","done","ok","failed","timeout","cancelled","elapsed_ms",
//!   "rate"}` just after this host
//! - `run_end`: `{"type":"run_end","run":R,"summary":{...}|null}` (the
//!   JSON Lines summary object; `null` when the run broke off without one)
//! - `done`: `{"type":"done","linger_ms"}`: nothing more will come.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fanout_core::{CommandOutput, HostOutcome, RunSummary, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Bytes of output (stdout and stderr of every command together) a `host`
/// event carries; the rest is fetched on click.
pub const PREVIEW_BYTES: usize = 4096;

/// What a run section of the page shows in its header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Section title (`fanout compare`: `[3/10] async run 1`).
    pub label: String,
    /// Executor name.
    pub executor: String,
    /// Hosts in flight at most.
    pub concurrency: usize,
    /// Hosts the run will report.
    pub hosts: usize,
    /// The task, as the user would type it.
    pub task: String,
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn hello(title: &str) -> String {
    json!({
        "type": "hello",
        "title": title,
        "server_now_ms": unix_ms(SystemTime::now()),
        "preview_bytes": PREVIEW_BYTES,
    })
    .to_string()
}

pub(crate) fn run_start(run: usize, info: &RunInfo, started: SystemTime) -> String {
    json!({
        "type": "run_start",
        "run": run,
        "label": info.label,
        "executor": info.executor,
        "concurrency": info.concurrency,
        "hosts": info.hosts,
        "task": info.task,
        "started_ms": unix_ms(started),
    })
    .to_string()
}

/// Counts of one run as its outcomes arrive.
#[derive(Clone, Debug, Default)]
pub(crate) struct Progress {
    pub(crate) hosts: usize,
    pub(crate) counts: [usize; 4],
}

impl Progress {
    pub(crate) fn count(&mut self, status: Status) {
        let slot = match status {
            Status::Ok => 0,
            Status::Failed => 1,
            Status::Timeout => 2,
            Status::Cancelled => 3,
        };
        self.counts[slot] += 1;
    }

    fn done(&self) -> usize {
        self.counts.iter().sum()
    }

    fn to_json(&self, elapsed: Duration) -> Value {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            (self.done() as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        };
        json!({
            "hosts": self.hosts.max(self.done()),
            "done": self.done(),
            "ok": self.counts[0],
            "failed": self.counts[1],
            "timeout": self.counts[2],
            "cancelled": self.counts[3],
            "elapsed_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "rate": rate,
        })
    }
}

/// The `host` event of `outcome` (index `i` of run `run`), its outputs cut
/// to [`PREVIEW_BYTES`].
pub(crate) fn host(
    run: usize,
    i: usize,
    outcome: &HostOutcome,
    progress: &Progress,
    elapsed: Duration,
) -> String {
    let (preview, cut) = preview(outcome);
    let outcome = serde_json::to_value(preview.as_ref().unwrap_or(outcome))
        .unwrap_or_else(|e| json!({ "host": outcome.host, "error": e.to_string() }));
    json!({
        "type": "host",
        "run": run,
        "i": i,
        "cut": cut,
        "outcome": outcome,
        "progress": progress.to_json(elapsed),
    })
    .to_string()
}

pub(crate) fn run_end(run: usize, summary: Option<&RunSummary>) -> String {
    json!({ "type": "run_end", "run": run, "summary": summary }).to_string()
}

pub(crate) fn done(linger: Duration) -> String {
    json!({
        "type": "done",
        "linger_ms": u64::try_from(linger.as_millis()).unwrap_or(u64::MAX),
    })
    .to_string()
}

/// `outcome` with its outputs cut to [`PREVIEW_BYTES`] in all, or `None`
/// when they fit as they are; and whether anything was cut. Only the kept
/// bytes are copied.
fn preview(outcome: &HostOutcome) -> (Option<HostOutcome>, bool) {
    let size: usize = outcome
        .outputs
        .iter()
        .map(|o| o.stdout.len() + o.stderr.as_ref().map_or(0, String::len))
        .sum();
    if size <= PREVIEW_BYTES {
        return (None, false);
    }
    let mut budget = PREVIEW_BYTES;
    let outputs = outcome
        .outputs
        .iter()
        .map(|o| CommandOutput {
            command: o.command.clone(),
            stdout: cut_to(&o.stdout, &mut budget),
            stderr: o.stderr.as_deref().map(|e| cut_to(e, &mut budget)),
            exit_status: o.exit_status,
            status: o.status,
            ..Default::default()
        })
        .collect();
    let short = HostOutcome {
        host: outcome.host.clone(),
        status: outcome.status,
        error_kind: outcome.error_kind,
        phase: outcome.phase,
        message: outcome.message.clone(),
        outputs,
        timings: outcome.timings,
        attempts: outcome.attempts,
        worker: outcome.worker,
        legacy_algorithms: outcome.legacy_algorithms.clone(),
    };
    (Some(short), true)
}

/// At most `budget` bytes of `text` (cut on a char boundary).
fn cut_to(text: &str, budget: &mut usize) -> String {
    let mut end = text.len().min(*budget);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    *budget -= end;
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::Worker;

    fn outcome(stdout: &str, stderr: Option<&str>) -> HostOutcome {
        HostOutcome::ok(
            "r1",
            vec![CommandOutput {
                command: "show run".into(),
                stdout: stdout.into(),
                stderr: stderr.map(str::to_string),
                exit_status: Some(0),
                ..Default::default()
            }],
            Worker::Task(1),
        )
    }

    #[test]
    fn host_event_carries_the_json_lines_object_and_progress() {
        let o = outcome("IOS 15.2\n", None);
        let mut p = Progress {
            hosts: 4,
            ..Progress::default()
        };
        p.count(Status::Ok);
        p.count(Status::Failed);
        let v: Value =
            serde_json::from_str(&host(0, 1, &o, &p, Duration::from_millis(500))).unwrap();
        assert_eq!(v["type"], "host");
        assert_eq!(v["cut"], false);
        assert_eq!(v["outcome"], serde_json::to_value(&o).unwrap());
        assert_eq!(v["progress"]["done"], 2);
        assert_eq!(v["progress"]["failed"], 1);
        assert_eq!(v["progress"]["hosts"], 4);
        assert_eq!(v["progress"]["rate"], 4.0);
    }

    #[test]
    fn long_outputs_are_cut_to_the_preview_on_char_boundaries() {
        let big = "é".repeat(PREVIEW_BYTES); // 2 bytes each
        let o = outcome(&big, Some("warning\n"));
        let v: Value =
            serde_json::from_str(&host(2, 0, &o, &Progress::default(), Duration::ZERO)).unwrap();
        assert_eq!(v["cut"], true);
        let out = &v["outcome"]["outputs"][0];
        assert_eq!(out["stdout"].as_str().unwrap().len(), PREVIEW_BYTES);
        assert_eq!(out["stderr"], "", "the budget is shared by every stream");
        assert_eq!(v["outcome"]["host"], "r1");
    }
}
