//! `fanout run --parse / --templates / --group / --diff-against`: what is
//! done with each outcome after it arrives (the work is in fanout-parse and
//! fanout-report; this module is the wiring).
//!
//! Parsing happens here, per host as its outcome reaches the binary, not in
//! the executors: they stay ignorant of templates (a `-e process` worker
//! would otherwise need them too), every executor gets it for free, and a
//! parse is ~0.1-1 ms against an SSH session's ~1 ms of CPU and the
//! device's latency.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use fanout_core::{HostOutcome, Status, Target};
use fanout_parse::Parser;
use fanout_report::{
    Change, Format, HostChange, HostDiffJson, HostExtras, OutputExtras, Reporter, RunDiff,
    SimilarTableReporter, Snapshot, SnapshotHost,
};

/// The options of `fanout run`.
#[derive(Debug, Args)]
pub(crate) struct RunResultsArgs {
    /// Parse every output of an ok host into records: `textfsm` picks a
    /// TextFSM template per platform and command as ntc-templates' index
    /// does (templates for ios/nxos/eos show version, show ip interface
    /// brief, show clock and a few more are shipped; --templates DIR for
    /// others); a FILE.textfsm parses every output with that template.
    /// Records go into `outputs[].parsed` of --format json/jsonl and
    /// --out-dir's summary.json; a failure is `outputs[].parse_error` and
    /// a line on stderr.
    #[arg(long, value_name = "textfsm|FILE")]
    pub(crate) parse: Option<String>,

    /// With --parse textfsm: the templates and their `index` from DIR (e.g.
    /// an ntc-templates checkout's ntc_templates/templates) instead of the
    /// shipped ones.
    #[arg(long, value_name = "DIR", requires = "parse")]
    pub(crate) templates: Option<PathBuf>,

    /// --format table: group `exact`ly identical outputs, or `similar`
    /// ones — outputs that differ only in the host's name, addresses, MACs,
    /// numbers, times and uptimes — printed once with the varying fields
    /// marked «...».
    #[arg(long, value_enum, value_name = "HOW", default_value_t = GroupArg::Exact)]
    pub(crate) group: GroupArg,

    /// After the run, show what changed against DIR, an earlier --out-dir
    /// (per host: status, unified diff of the output, hosts only on one
    /// side, counts). DIR may be this run's own --out-dir: it is read
    /// before the run. JSON formats get `"changed"` (and `"diff"`) per host.
    #[arg(long, value_name = "DIR")]
    pub(crate) diff_against: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GroupArg {
    /// Identical outputs together (like clush -b / dshbak -c).
    Exact,
    /// Outputs equal but for names, addresses, numbers and times together.
    Similar,
}

/// At most this many parse errors are printed on stderr; JSON has them all.
const PARSE_ERRORS_SHOWN: usize = 20;

/// What `fanout run` computes from each outcome.
pub(crate) struct Results {
    parser: Option<Parser>,
    /// Host name → ntc-templates platform (`cisco_ios`).
    platforms: HashMap<String, &'static str>,
    against: Option<Against>,
    parse_errors: usize,
}

struct Against {
    dir: PathBuf,
    old: Snapshot,
    /// This run's hosts so far, for the report at the end.
    seen: Vec<SnapshotHost>,
}

/// How the new side is called in diffs.
const THIS_RUN: &str = "this run";

impl Results {
    /// Checks the options (usage errors before any host starts) and loads
    /// the parser and the folder to diff against.
    pub(crate) fn new(args: &RunResultsArgs, targets: &[Target], format: Format) -> Result<Self> {
        if args.group == GroupArg::Similar && format != Format::Table {
            bail!("--group similar groups the table's outputs; use it with --format table");
        }
        let parser = match (args.parse.as_deref(), &args.templates) {
            (None, _) => None,
            (Some("textfsm"), None) => Some(Parser::builtin()),
            (Some("textfsm"), Some(dir)) => Some(
                Parser::from_dir(dir)
                    .with_context(|| format!("in --templates {}", dir.display()))?,
            ),
            (Some(_), Some(_)) => {
                bail!("--templates DIR goes with --parse textfsm, not with a template file")
            }
            (Some(file), None) => Some(template_file(Path::new(file))?),
        };
        // Only `--parse` reads it: a run without one keeps no copy of every
        // host's name (100,000 hosts: ~6 MiB).
        let platforms = match parser {
            Some(_) => targets
                .iter()
                .map(|t| (t.name.clone(), fanout_parse::ntc_platform(t.platform)))
                .collect(),
            None => HashMap::new(),
        };
        let against = args
            .diff_against
            .as_ref()
            .map(|dir| -> Result<Against> {
                Ok(Against {
                    old: Snapshot::load(dir).context("in --diff-against")?,
                    dir: dir.clone(),
                    seen: Vec::new(),
                })
            })
            .transpose()?;
        Ok(Self {
            parser,
            platforms,
            against,
            parse_errors: 0,
        })
    }

    /// The reporter for stdout: `--group similar` has its own table.
    pub(crate) fn reporter<'a>(
        args: &RunResultsArgs,
        format: Format,
        table: fanout_report::TableOptions,
        out: Box<dyn Write + 'a>,
    ) -> Box<dyn Reporter + 'a> {
        match (format, args.group) {
            (Format::Table, GroupArg::Similar) => Box::new(SimilarTableReporter::new(out)),
            _ => fanout_report::reporter_with(format, table, out),
        }
    }

    /// What this outcome adds to its JSON object; parse errors are also
    /// said on stderr.
    pub(crate) fn host(&mut self, outcome: &HostOutcome) -> HostExtras {
        let mut extras = HostExtras::default();
        if let Some(parser) = &self.parser
            && outcome.status == Status::Ok
        {
            let platform = self
                .platforms
                .get(&outcome.host)
                .copied()
                .unwrap_or_else(|| fanout_parse::ntc_platform(None));
            for out in &outcome.outputs {
                let parsed = parser.parse(platform, &out.command, &out.stdout);
                extras.outputs.push(match parsed {
                    Ok(p) => OutputExtras {
                        parsed: Some(p.records),
                        parse_error: None,
                    },
                    Err(e) => {
                        note_parse_error(&mut self.parse_errors, &outcome.host, &out.command, &e);
                        OutputExtras {
                            parsed: None,
                            parse_error: Some(e.to_string()),
                        }
                    }
                });
            }
        }
        if let Some(against) = &mut self.against {
            let new = SnapshotHost::from_outcome(THIS_RUN, outcome);
            let change = HostChange::between(against.old.get(&outcome.host), &new);
            extras.diff = Some(HostDiffJson {
                changed: change.change != Change::Same,
                unified: change.unified,
            });
            against.seen.push(new);
        }
        extras
    }

    /// After the run: the diff against `--diff-against DIR` — the whole
    /// report on stdout for the table (coloured on a terminal), its count
    /// line on stderr for the JSON formats (whose stdout is JSON).
    pub(crate) fn finish(self, format: Format) -> Result<()> {
        if self.parse_errors > 0 {
            crate::note!(
                "fanout: {} output{} not parsed",
                self.parse_errors,
                if self.parse_errors == 1 {
                    " was"
                } else {
                    "s were"
                }
            );
        }
        let Some(against) = self.against else {
            return Ok(());
        };
        let label = against.dir.display().to_string();
        let diff = RunDiff::between(&label, &against.old, THIS_RUN, &Snapshot::new(against.seen));
        if format == Format::Table {
            let mut out = io::stdout().lock();
            writeln!(out, "--- changes against {label} ---")
                .and_then(|()| diff.write(&mut out, crate::diff_cmd::stdout_wants_color()))
                .and_then(|()| out.flush())
                .context("writing to standard output")?;
        } else {
            crate::note!("fanout: against {label}: {}", diff.count_line());
        }
        Ok(())
    }
}

/// One more output not parsed: said on stderr (the first few).
fn note_parse_error(count: &mut usize, host: &str, command: &str, e: &fanout_parse::ParseError) {
    *count += 1;
    if *count <= PARSE_ERRORS_SHOWN {
        crate::note!("fanout: {host}: `{command}` not parsed: {e}");
    } else if *count == PARSE_ERRORS_SHOWN + 1 {
        crate::note!(
            "fanout: more outputs were not parsed; each host's `parse_error` is in --format json/jsonl and --out-dir's summary.json"
        );
    }
}

/// `--parse FILE`: the template is checked now, so a broken one stops the
/// run before any host starts.
fn template_file(path: &Path) -> Result<Parser> {
    if !path.is_file() {
        bail!(
            "--parse {}: no such template file; pass `--parse textfsm` (templates chosen by ntc-templates' index) or the path of a .textfsm file",
            path.display()
        );
    }
    Parser::from_template_file(path).context("in --parse")
}
