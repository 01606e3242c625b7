//! Reading what a `fanout run --format jsonl` child printed: per-host
//! latencies and statuses, and its summary line.

use std::collections::BTreeMap;
use std::time::Duration;

use fanout_core::{ErrorKind, RunSummary, Status, StatusCounts};
use serde::Deserialize;

/// The parts of one JSON line that measuring needs (hosts' outputs are
/// skipped, whatever their size).
#[derive(Deserialize)]
struct Line {
    host: Option<String>,
    status: Option<Status>,
    error_kind: Option<ErrorKind>,
    /// Kept as text: an `--external` program may name a phase fanout has not.
    phase: Option<String>,
    message: Option<String>,
    timings_ms: Option<Timings>,
    summary: Option<RunSummary>,
}

#[derive(Deserialize)]
struct Timings {
    total: f64,
}

/// Hosts' results as a `fanout run --format jsonl` child reported them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunLog {
    /// Each host's total time (start to outcome, retries included).
    pub latencies: Vec<Duration>,
    /// Host lines per status.
    pub counts: StatusCounts,
    /// Not-ok hosts per error kind (`auth`, `connect`, ...; a timeout as
    /// `timeout in PHASE`, as `fanout run`'s failure report names it).
    pub errors: BTreeMap<String, usize>,
    /// The first not-ok host and its message, to show what went wrong.
    pub first_error: Option<String>,
    /// The final summary line, when the child got that far.
    pub summary: Option<RunSummary>,
}

impl RunLog {
    /// Parses the child's stdout. A line that is not one of ours is an
    /// error naming its line number (the child printed something else).
    pub fn parse(stdout: &str) -> Result<Self, String> {
        Self::read(stdout, true).map(|(log, _)| log)
    }

    /// Parses the stdout of another program (`compare --external`): its
    /// lines that are fanout JSON host objects or a summary count, any
    /// other line is passed over; returns the log and how many lines were
    /// passed over.
    pub fn parse_lenient(stdout: &str) -> (Self, usize) {
        Self::read(stdout, false).unwrap_or_default()
    }

    fn read(stdout: &str, strict: bool) -> Result<(Self, usize), String> {
        let mut log = RunLog::default();
        let mut other = 0;
        for (i, text) in stdout.lines().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            let line: Line = match serde_json::from_str(text) {
                Ok(line) => line,
                Err(_) if !strict => {
                    other += 1;
                    continue;
                }
                Err(e) => {
                    let shown: String = text.chars().take(120).collect();
                    return Err(format!(
                        "line {} of the run's output is not fanout JSON ({e}): {shown}",
                        i + 1
                    ));
                }
            };
            if let Some(summary) = line.summary {
                log.summary = Some(summary);
                continue;
            }
            let (Some(host), Some(status), Some(timings)) =
                (line.host, line.status, line.timings_ms)
            else {
                if !strict {
                    other += 1;
                    continue;
                }
                return Err(format!(
                    "line {} of the run's output has neither a host result nor a summary",
                    i + 1
                ));
            };
            log.latencies
                .push(Duration::try_from_secs_f64(timings.total / 1e3).unwrap_or_default());
            log.counts.add(status);
            if status != Status::Ok {
                let kind = match (status, line.phase.as_deref()) {
                    (Status::Timeout, Some(phase)) => format!("timeout in {phase}"),
                    _ => line
                        .error_kind
                        .map_or_else(|| status.as_str().to_string(), |k| k.as_str().to_string()),
                };
                *log.errors.entry(kind.clone()).or_default() += 1;
                if log.first_error.is_none() {
                    let message = line.message.unwrap_or_default();
                    log.first_error = Some(format!("{host}: {kind}: {message}"));
                }
            }
        }
        Ok((log, other))
    }

    /// Hosts reported.
    pub fn hosts(&self) -> usize {
        self.counts.total()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_summary() {
        let text = r#"{"host":"r1","status":"ok","outputs":[{"command":"show version","stdout":"big"}],"timings_ms":{"queued":0.0,"connect":1.5,"auth":2.0,"command":50.0,"total":53.5},"attempts":1,"worker":"task:0"}
{"host":"r2","status":"failed","error_kind":"auth","message":"password rejected","outputs":[],"timings_ms":{"queued":0.0,"connect":1.0,"auth":2.0,"command":0.0,"total":3.0},"attempts":1,"worker":"task:1"}
{"host":"r3","status":"timeout","error_kind":"timeout","phase":"command","message":"no prompt","outputs":[],"timings_ms":{"queued":0.0,"connect":1.0,"auth":2.0,"command":900.0,"total":903.0},"attempts":2,"worker":"task:2"}
{"summary":{"executor":"async","concurrency":100,"hosts":3,"ok":1,"failed":1,"timeout":1,"cancelled":0,"wall_s":0.91}}
"#;
        let log = RunLog::parse(text).unwrap();
        assert_eq!(log.hosts(), 3);
        assert_eq!(
            (
                log.counts.ok,
                log.counts.failed,
                log.counts.timeout,
                log.counts.cancelled
            ),
            (1, 1, 1, 0)
        );
        assert_eq!(log.latencies[0], Duration::from_micros(53_500));
        assert_eq!(log.errors.get("auth"), Some(&1));
        assert_eq!(log.errors.get("timeout in command"), Some(&1));
        assert_eq!(
            log.first_error.as_deref(),
            Some("r2: auth: password rejected")
        );
        let summary = log.summary.unwrap();
        assert_eq!(
            (summary.executor.as_str(), summary.concurrency),
            ("async", 100)
        );
        assert_eq!(summary.wall, Duration::from_millis(910));
    }

    #[test]
    fn foreign_output_is_an_error_with_its_line() {
        let err = RunLog::parse(
            "{\"host\":\"r1\",\"status\":\"ok\",\"timings_ms\":{\"total\":1.0}}\nhello\n",
        )
        .unwrap_err();
        assert!(err.starts_with("line 2 "), "{err}");
        let err = RunLog::parse("{\"x\":1}\n").unwrap_err();
        assert!(err.contains("neither a host result nor a summary"), "{err}");
        assert_eq!(RunLog::parse("").unwrap(), RunLog::default());
    }

    #[test]
    fn another_programs_output_counts_only_our_lines() {
        let text = "starting 2 hosts\n{\"host\":\"r1\",\"status\":\"ok\",\"timings_ms\":{\"total\":12.5}}\n{\"x\":1}\n{\"host\":\"r2\",\"status\":\"failed\",\"error_kind\":\"auth\",\"message\":\"denied\",\"timings_ms\":{\"total\":3.0}}\n{\"summary\":{\"executor\":\"asyncssh\",\"concurrency\":2,\"hosts\":2,\"ok\":1,\"failed\":1,\"timeout\":0,\"cancelled\":0,\"wall_s\":0.02}}\ndone\n";
        let (log, other) = RunLog::parse_lenient(text);
        assert_eq!(other, 3, "the banner, the foreign object and `done`");
        assert_eq!((log.hosts(), log.counts.ok, log.counts.failed), (2, 1, 1));
        assert_eq!(log.latencies[0], Duration::from_micros(12_500));
        assert_eq!(log.first_error.as_deref(), Some("r2: auth: denied"));
        assert_eq!(log.summary.unwrap().concurrency, 2);
        assert!(
            RunLog::parse(text).is_err(),
            "a fanout child may not do that"
        );
        let (nothing, other) = RunLog::parse_lenient("hello\nworld\n");
        assert_eq!((nothing, other), (RunLog::default(), 2));
    }
}
