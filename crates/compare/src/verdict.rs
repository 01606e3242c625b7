//! What a comparison may conclude: a recommendation only when the figures
//! measure the task (no host failed, unless asked anyway), and only among
//! executors that ran like with like (at a point of a concurrency sweep,
//! those that had that many hosts in flight).

use std::fmt::Write as _;

use serde::Serialize;

use crate::recommend::{Recommendation, Workload, recommend_among};
use crate::result::ExecutorResult;

/// The rules a comparison's conclusion follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// This comparison is the point `concurrency = C` of a sweep: only
    /// executors that had `min(C, hosts)` hosts in flight are compared
    /// (seq always runs 1, rayon one per core).
    pub at_concurrency: Option<usize>,
    /// Recommend even when hosts failed (`--recommend-anyway`).
    pub recommend_anyway: bool,
}

/// The conclusion of one comparison.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Verdict {
    /// The executor to use, and why.
    pub recommendation: Option<Recommendation>,
    /// Why there is no recommendation although executors ran.
    pub withheld: Option<String>,
    /// Executors left out of the comparison, and why (one line).
    pub left_out: Option<String>,
}

/// `async 2 of 2 (auth 2), seq 1 of 2 (timeout in command 1)`.
fn failures_summary(results: &[ExecutorResult]) -> String {
    results
        .iter()
        .filter(|r| r.failures() > 0)
        .map(|r| {
            let kinds: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
            format!(
                "{} {} of {} ({})",
                r.executor,
                r.failures(),
                r.hosts,
                kinds.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Concludes a comparison: the recommendation under `rules`, or why none.
/// Only fanout's executors are recommended and their failures judged:
/// `--external` programs' rows are figures to compare against, not
/// candidates (nor evidence of the workload).
pub fn conclude(results: &[ExecutorResult], workload: &Workload, rules: Rules) -> Verdict {
    let mut verdict = Verdict::default();
    let executors: Vec<ExecutorResult> = results
        .iter()
        .filter(|r| !r.is_external())
        .cloned()
        .collect();
    let results = executors.as_slice();
    if results.is_empty() {
        return verdict;
    }
    let mut candidates: Vec<&ExecutorResult> = results.iter().collect();
    if let Some(c) = rules.at_concurrency {
        let target = c.min(workload.hosts.max(1));
        let (at, off): (Vec<&ExecutorResult>, Vec<&ExecutorResult>) =
            results.iter().partition(|r| r.in_flight() == target);
        if !off.is_empty() {
            let mut line = format!("compared at {target} in flight only; not compared:");
            for (i, r) in off.iter().enumerate() {
                let _ = write!(
                    line,
                    "{} {} ({} in flight)",
                    if i == 0 { "" } else { "," },
                    r.executor,
                    r.in_flight()
                );
            }
            verdict.left_out = Some(line);
        }
        if at.is_empty() {
            verdict.withheld = Some(format!(
                "no executor ran {target} hosts in flight (concurrency {c}), so none compares like with like"
            ));
            return verdict;
        }
        candidates = at;
    }
    let failed: Vec<ExecutorResult> = candidates
        .iter()
        .filter(|r| r.failures() > 0)
        .map(|r| (*r).clone())
        .collect();
    if !failed.is_empty() && !rules.recommend_anyway {
        verdict.withheld = Some(format!(
            "hosts failed ({}), so these figures measure the failures as much as the task; fix what failed (see the failures lines) or pass --recommend-anyway",
            failures_summary(&failed)
        ));
        return verdict;
    }
    verdict.recommendation = recommend_among(results, &candidates, workload);
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::WorkloadClass;
    use crate::result::tests::result;

    const IO: Workload = Workload {
        hosts: 100,
        cores: 2,
        hint: Some(WorkloadClass::IoBound),
    };

    #[test]
    fn failed_hosts_withhold_the_recommendation_unless_asked() {
        // Two hosts, both failed everywhere: the figures time the failures.
        let results = vec![
            result("seq", 1, 2, 40, 25, 2),
            result("async", 100, 2, 20, 12, 2),
        ];
        let two = Workload { hosts: 2, ..IO };
        let v = conclude(&results, &two, Rules::default());
        assert_eq!(v.recommendation, None);
        let why = v.withheld.unwrap();
        assert!(
            why.starts_with("hosts failed (seq 2 of 2 (auth 2), async 2 of 2 (auth 2))"),
            "{why}"
        );
        assert!(why.contains("--recommend-anyway"), "{why}");
        let anyway = Rules {
            recommend_anyway: true,
            ..Rules::default()
        };
        let v = conclude(&results, &two, anyway);
        assert!(v.recommendation.is_some() && v.withheld.is_none(), "{v:?}");
        // No failures: a recommendation, nothing withheld or left out.
        let clean = vec![
            result("seq", 1, 2, 40, 1, 0),
            result("async", 100, 2, 20, 1, 0),
        ];
        let v = conclude(&clean, &two, Rules::default());
        assert_eq!(v.recommendation.unwrap().executor, "async");
        assert_eq!((v.withheld, v.left_out), (None, None));
        assert_eq!(conclude(&[], &two, Rules::default()), Verdict::default());
        // An external program is never recommended, and its failures
        // withhold nothing: it is not a fanout executor.
        let mut py = result("py", 2, 2, 5, 1, 2);
        py.external = Some(crate::External {
            command: "python3 x.py".into(),
            exit_status: 1,
            exit_problem: Some("exit code 1".into()),
            wall_from_summary: false,
            other_lines: 0,
            left_running: false,
        });
        let with_py = [clean.clone(), vec![py.clone()]].concat();
        let v = conclude(&with_py, &two, Rules::default());
        assert_eq!(v.recommendation.unwrap().executor, "async");
        assert_eq!(v.withheld, None);
        assert_eq!(conclude(&[py], &two, Rules::default()), Verdict::default());
    }

    #[test]
    fn a_concurrency_point_compares_like_with_like() {
        // At concurrency 1 every I/O-bound executor runs one host at a time
        // except rayon (one thread per core): its 2 in flight must not win.
        let results = vec![
            result("seq", 1, 100, 5200, 60, 0),
            result("process", 1, 100, 5400, 300, 0),
            result("threads", 1, 100, 5250, 60, 0),
            result("rayon", 2, 100, 2600, 60, 0),
            result("async", 1, 100, 5150, 50, 0),
        ];
        let at_1 = Rules {
            at_concurrency: Some(1),
            ..Rules::default()
        };
        let v = conclude(&results, &IO, at_1);
        let rec = v.recommendation.unwrap();
        assert_eq!(rec.executor, "async", "{rec}");
        assert!(rec.reason.contains("at 1 in flight"), "{rec}");
        assert_eq!(
            v.left_out.as_deref(),
            Some("compared at 1 in flight only; not compared: rayon (2 in flight)")
        );
        // Unrestricted, rayon's two threads would have won.
        let free = conclude(&results, &IO, Rules::default());
        assert_eq!(free.recommendation.unwrap().executor, "rayon");
        // At 10 in flight seq and rayon sit out; at 10 on 4 hosts, 4 counts.
        let at_10 = vec![
            result("seq", 1, 100, 5200, 60, 0),
            result("rayon", 2, 100, 2600, 60, 0),
            result("threads", 10, 100, 530, 60, 0),
        ];
        let rules = Rules {
            at_concurrency: Some(10),
            ..Rules::default()
        };
        let v = conclude(&at_10, &IO, rules);
        assert_eq!(v.recommendation.unwrap().executor, "threads");
        assert!(
            v.left_out
                .unwrap()
                .ends_with("seq (1 in flight), rayon (2 in flight)"),
        );
        let four = vec![
            result("threads", 10, 4, 53, 6, 0),
            result("seq", 1, 4, 200, 6, 0),
        ];
        let v = conclude(&four, &Workload { hosts: 4, ..IO }, rules);
        assert_eq!(v.recommendation.unwrap().executor, "threads");
        // Nobody at the point: no recommendation, and it says why.
        let v = conclude(&at_10[..2], &IO, rules);
        assert_eq!(v.recommendation, None);
        assert!(
            v.withheld
                .unwrap()
                .starts_with("no executor ran 10 hosts in flight")
        );
    }
}
