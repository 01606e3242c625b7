//! `fanout compare --external NAME=CMD`: another program run against the
//! same fleet as a further row, measured like an executor's run; what it
//! printed in fanout's JSON Lines counts, anything else is passed over.

use std::time::Duration;

use crate::child::ChildMeasurement;
use crate::result::RunMeasurement;
use crate::runlog::RunLog;

/// What an `--external` program was and how its run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct External {
    /// The command as given (before its placeholders were replaced).
    pub command: String,
    /// Its exit status as a shell reports it: the exit code, or 128 + the
    /// signal that ended it.
    pub exit_status: i32,
    /// `exit code 3: <last line of stderr>` when it did not exit 0.
    pub exit_problem: Option<String>,
    /// Its wall time is from its own fanout summary line (first host to
    /// last outcome) rather than its whole process.
    pub wall_from_summary: bool,
    /// Lines of its stdout that were neither fanout JSON host objects nor a
    /// summary (not counted).
    pub other_lines: usize,
    /// It exited with processes of its group still running (killed then).
    pub left_running: bool,
}

/// The last non-empty line (a Python traceback ends with the exception).
fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().rev().find(|l| !l.trim().is_empty());
    line.unwrap_or("").trim().chars().take(300).collect()
}

impl RunMeasurement {
    /// Interprets a finished `--external` program `name` (`command` as
    /// given). Always a measurement: a non-zero exit is kept (and said);
    /// its fanout JSON host lines and summary count when it printed them,
    /// other lines are passed over. Wall time is its summary's when it
    /// printed one, else its whole process's.
    pub fn from_external(
        name: &str,
        command: &str,
        child: ChildMeasurement,
        fleet_cpu: Option<Duration>,
    ) -> Self {
        let (log, other_lines) = RunLog::parse_lenient(&String::from_utf8_lossy(&child.stdout));
        let exit_status = match (child.code, child.signal) {
            (Some(code), _) => code,
            (None, Some(signal)) => 128 + signal,
            (None, None) => -1,
        };
        let exit_problem = (exit_status != 0).then(|| {
            let why = last_line(&child.stderr);
            if why.is_empty() {
                child.exit_description()
            } else {
                format!("{}: {why}", child.exit_description())
            }
        });
        let wall = log.summary.as_ref().map(|s| s.wall);
        Self {
            executor: name.to_string(),
            concurrency: log.summary.as_ref().map_or(0, |s| s.concurrency),
            wall: wall.unwrap_or(child.wall),
            process_wall: child.wall,
            cpu: child.cpu,
            core_wait: child.core_wait,
            peak_pss_bytes: child.peak_tree_pss_bytes,
            peak_rss_bytes: child.peak_tree_rss_bytes.max(child.kernel_maxrss_bytes),
            kernel_maxrss_bytes: child.kernel_maxrss_bytes,
            peak_private_bytes: child.peak_private_estimate_bytes,
            peak_processes: child.peak_processes,
            fleet_cpu,
            sampler_cpu: child.sampler_cpu,
            external: Some(External {
                command: command.to_string(),
                exit_status,
                exit_problem,
                wall_from_summary: wall.is_some(),
                other_lines,
                left_running: child.left_running,
            }),
            log,
        }
    }
}

/// The external part of an executor's result: see [`ExecutorResult::external`].
pub(crate) fn external(runs: &[RunMeasurement]) -> Option<External> {
    let all: Vec<&External> = runs.iter().filter_map(|r| r.external.as_ref()).collect();
    let shown = all
        .iter()
        .find(|x| x.exit_status != 0)
        .or(all.first())
        .copied()?;
    Some(External {
        wall_from_summary: all.iter().all(|x| x.wall_from_summary),
        other_lines: all.iter().map(|x| x.other_lines).max().unwrap_or(0),
        left_running: all.iter().any(|x| x.left_running),
        ..shown.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::ExecutorResult;
    use crate::result::tests::{child, result};

    #[test]
    fn an_external_program_is_always_a_row() {
        // It printed fanout host lines and a summary, with chatter around them.
        let out = "hello\n{\"host\":\"h1\",\"status\":\"ok\",\"timings_ms\":{\"total\":10.0}}\n{\"host\":\"h2\",\"status\":\"timeout\",\"error_kind\":\"timeout\",\"timings_ms\":{\"total\":900.0}}\n{\"summary\":{\"executor\":\"py\",\"concurrency\":2,\"hosts\":2,\"ok\":1,\"failed\":0,\"timeout\":1,\"cancelled\":0,\"wall_s\":0.05}}\n";
        let m = RunMeasurement::from_external(
            "py",
            "python3 x.py {inventory}",
            child(
                Some(1),
                out,
                "Traceback (most recent call last):\n  File x\nValueError: no\n\n",
            ),
            None,
        );
        assert_eq!((m.executor.as_str(), m.concurrency), ("py", 2));
        assert_eq!(m.wall, Duration::from_millis(50), "from its summary");
        assert_eq!(m.process_wall, Duration::from_millis(80));
        assert_eq!(
            (m.log.counts.ok, m.log.counts.timeout, m.failures()),
            (1, 1, 1)
        );
        let x = m.external.clone().unwrap();
        assert_eq!(x.exit_status, 1);
        assert_eq!(
            x.exit_problem.as_deref(),
            Some("exit code 1: ValueError: no")
        );
        assert!(x.wall_from_summary);
        assert_eq!(
            (x.other_lines, x.command.as_str()),
            (1, "python3 x.py {inventory}")
        );
        // No summary and no host lines: the whole process is its wall; a signal is 128 + N.
        let bare = RunMeasurement::from_external("sh", "sleep 1", child(None, "", ""), None);
        assert_eq!(bare.wall, Duration::from_millis(80));
        assert_eq!((bare.concurrency, bare.log.hosts()), (0, 0));
        let x = bare.external.clone().unwrap();
        assert_eq!((x.exit_status, x.wall_from_summary), (137, false));
        assert_eq!(x.exit_problem.as_deref(), Some("killed by signal 9"));
        // Aggregated: the failed exit is the one shown, and it counts as a failure.
        let ok = RunMeasurement::from_external("py", "x", child(Some(0), out, ""), None);
        let r = ExecutorResult::aggregate(&[ok.clone(), m]).unwrap();
        assert!(r.is_external() && r.exit_failed());
        assert_eq!(r.external.as_ref().unwrap().exit_status, 1);
        let fine = ExecutorResult::aggregate(&[ok]).unwrap();
        assert!(fine.is_external() && !fine.exit_failed());
        assert!(!result("seq", 1, 1, 1, 1, 0).is_external());
    }
}
