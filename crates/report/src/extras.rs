//! What `fanout run` adds to a host's JSON object after its outcome
//! arrived: parsed records per output (`--parse`) and how the host compares
//! with an earlier run (`--diff-against`).

use fanout_core::{CommandOutput, HostOutcome};
use fanout_parse::Record;
use serde::Serialize;

/// Additions to one host's object in every JSON format (`jsonl`, `json`,
/// an output folder's `summary.json`). The default adds nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostExtras {
    /// Per output, in the order of [`HostOutcome::outputs`]; outputs past
    /// the end get nothing.
    pub outputs: Vec<OutputExtras>,
    /// `--diff-against DIR`: how this host compares with DIR.
    pub diff: Option<HostDiffJson>,
}

/// Additions to one output: `"parsed": [records]` or `"parse_error"`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputExtras {
    /// The records the output parsed into.
    pub parsed: Option<Vec<Record>>,
    /// Why it did not parse.
    pub parse_error: Option<String>,
}

/// `"changed": bool` and, when the output text differs, `"diff"`: the
/// unified diff from DIR's file to this run's output.
#[derive(Clone, Debug, PartialEq)]
pub struct HostDiffJson {
    /// Status or output differ, or the host is not in DIR.
    pub changed: bool,
    /// The unified diff of the output texts, when they differ.
    pub unified: Option<String>,
}

impl HostExtras {
    /// Nothing to add.
    pub fn is_empty(&self) -> bool {
        self.diff.is_none() && self.outputs.iter().all(|o| *o == OutputExtras::default())
    }
}

/// A host object: the outcome's fields, each output with its extras, then
/// `changed` / `diff`. Without extras it is exactly the outcome's JSON.
pub(crate) struct HostJson<'a> {
    pub(crate) outcome: &'a HostOutcome,
    pub(crate) extras: Option<&'a HostExtras>,
}

#[derive(Serialize)]
struct OutputJson<'a> {
    #[serde(flatten)]
    output: &'a CommandOutput,
    #[serde(skip_serializing_if = "Option::is_none")]
    parsed: Option<&'a [Record]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_error: Option<&'a str>,
}

impl Serialize for HostJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(extras) = self.extras.filter(|e| !e.is_empty()) else {
            return self.outcome.serialize(s);
        };
        // Every field of HostOutcome, by name: a field added to it in core
        // breaks this destructuring, so it cannot go missing here.
        let HostOutcome {
            host,
            status,
            error_kind,
            phase,
            message,
            outputs,
            timings,
            attempts,
            worker,
            legacy_algorithms,
        } = self.outcome;
        #[derive(Serialize)]
        struct Json<'a> {
            host: &'a str,
            status: &'a fanout_core::Status,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_kind: &'a Option<fanout_core::ErrorKind>,
            #[serde(skip_serializing_if = "Option::is_none")]
            phase: &'a Option<fanout_core::Phase>,
            #[serde(skip_serializing_if = "Option::is_none")]
            message: &'a Option<String>,
            outputs: Vec<OutputJson<'a>>,
            timings_ms: &'a fanout_core::PhaseTimings,
            attempts: &'a u32,
            worker: &'a fanout_core::Worker,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            legacy_algorithms: &'a Vec<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            changed: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            diff: Option<&'a str>,
        }
        let outputs = outputs
            .iter()
            .enumerate()
            .map(|(i, output)| {
                let extra = extras.outputs.get(i);
                OutputJson {
                    output,
                    parsed: extra.and_then(|e| e.parsed.as_deref()),
                    parse_error: extra.and_then(|e| e.parse_error.as_deref()),
                }
            })
            .collect();
        Json {
            host,
            status,
            error_kind,
            phase,
            message,
            outputs,
            timings_ms: timings,
            attempts,
            worker,
            legacy_algorithms,
            changed: extras.diff.as_ref().map(|d| d.changed),
            diff: extras.diff.as_ref().and_then(|d| d.unified.as_deref()),
        }
        .serialize(s)
    }
}

/// A list of host objects: `outcomes[i]` with `extras[i]` (if any).
pub(crate) struct HostsJson<'a> {
    pub(crate) outcomes: &'a [HostOutcome],
    pub(crate) extras: &'a [HostExtras],
}

impl Serialize for HostsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.outcomes
                .iter()
                .enumerate()
                .map(|(i, outcome)| HostJson {
                    outcome,
                    extras: self.extras.get(i),
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_core::{ErrorKind, Phase, Worker};
    use serde_json::json;

    fn full_outcome() -> HostOutcome {
        let mut o = HostOutcome::failed("r1", ErrorKind::Timeout, "slow", Worker::Task(3));
        o.phase = Some(Phase::Command);
        o.attempts = 2;
        o.legacy_algorithms = vec!["hmac-sha1".into()];
        o.outputs = vec![
            CommandOutput {
                command: "show version".into(),
                stdout: "v\n".into(),
                stderr: Some("e".into()),
                exit_status: Some(0),
                ..Default::default()
            },
            CommandOutput {
                command: "show clock".into(),
                stdout: "c\n".into(),
                ..Default::default()
            },
        ];
        o
    }

    fn record() -> Record {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t.textfsm");
        std::fs::write(
            &path,
            "Value B (\\S+)\nValue A (\\S+)\n\nStart\n  ^${B} ${A} -> Record\n",
        )
        .unwrap();
        let parser = fanout_parse::Parser::from_template_file(&path).unwrap();
        parser.parse("p", "c", "2 1\n").unwrap().records.remove(0)
    }

    #[test]
    fn without_extras_a_host_is_its_outcome() {
        let o = full_outcome();
        let plain = serde_json::to_string(&o).unwrap();
        let empty = HostExtras {
            outputs: vec![OutputExtras::default()],
            diff: None,
        };
        for extras in [None, Some(&empty)] {
            let host = HostJson {
                outcome: &o,
                extras,
            };
            assert_eq!(serde_json::to_string(&host).unwrap(), plain);
        }
    }

    #[test]
    fn extras_join_their_output_and_keep_every_outcome_field() {
        let o = full_outcome();
        let extras = HostExtras {
            outputs: vec![
                OutputExtras {
                    parsed: Some(vec![record()]),
                    parse_error: None,
                },
                OutputExtras {
                    parsed: None,
                    parse_error: Some("no template".into()),
                },
            ],
            diff: Some(HostDiffJson {
                changed: true,
                unified: Some("-a\n+b\n".into()),
            }),
        };
        let text = serde_json::to_string(&HostJson {
            outcome: &o,
            extras: Some(&extras),
        })
        .unwrap();
        // Records keep the template's order (B before A), not sorted keys.
        assert!(text.contains(r#""parsed":[{"B":"2","A":"1"}]"#), "{text}");
        let got: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut want = serde_json::to_value(&o).unwrap();
        want["outputs"][0]["parsed"] = json!([{"B": "2", "A": "1"}]);
        want["outputs"][1]["parse_error"] = json!("no template");
        want["changed"] = json!(true);
        want["diff"] = json!("-a\n+b\n");
        assert_eq!(got, want);
    }
}
