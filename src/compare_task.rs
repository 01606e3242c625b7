//! `fanout compare`'s task: as `fanout run` arguments for its children,
//! as a title for people, and what kind of work it suggests.

use std::time::Duration;

use fanout_compare::WorkloadClass;

use crate::cli::TaskCmd;
use fanout_core::SleepSpec;

/// Quotes a word for display the way a shell would need it.
pub(crate) fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%{}".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// The task as `fanout run` arguments.
pub(crate) fn task_argv(task: &TaskCmd) -> Vec<String> {
    match task {
        TaskCmd::Exec { command } => ["exec", "--"]
            .into_iter()
            .map(String::from)
            .chain(command.iter().cloned())
            .collect(),
        TaskCmd::Cli {
            enable,
            config,
            error_patterns,
            expects,
            commands,
            ..
        } => {
            let mut argv = vec!["cli".to_string()];
            if *enable {
                argv.push("--enable".into());
            }
            if *config {
                argv.push("--config".into());
            }
            for p in error_patterns {
                argv.push(format!("--error-pattern={p}"));
            }
            if expects.iter().all(Option::is_none) {
                argv.push("--".into());
                argv.extend(commands.iter().cloned());
                return argv;
            }
            // An --expect follows its command and the answer follows it,
            // so no `--` before the commands.
            let mut i = 0;
            while i < commands.len() {
                argv.push(commands[i].clone());
                if let Some(Some(e)) = expects.get(i) {
                    argv.push(format!("--expect={e}"));
                    if let Some(answer) = commands.get(i + 1) {
                        argv.push(format!("--answer={answer}"));
                        i += 1;
                    }
                }
                i += 1;
            }
            argv
        }
        TaskCmd::Sleep { duration } => vec!["sleep".into(), format_sleep(*duration)],
        TaskCmd::Cpu { iterations } => vec!["cpu".into(), iterations.to_string()],
        TaskCmd::Local { argv } => ["local", "--"]
            .into_iter()
            .map(String::from)
            .chain(argv.iter().cloned())
            .collect(),
        TaskCmd::Http {
            method,
            body,
            headers,
            insecure,
            url,
        } => {
            let mut argv = vec!["http".to_string(), format!("--method={method}")];
            if let Some(b) = body {
                argv.push(format!("--body={b}"));
            }
            for (k, v) in headers {
                argv.push(format!("--header={k}: {v}"));
            }
            if *insecure {
                argv.push("--insecure".into());
            }
            argv.push("--".into());
            argv.push(url.clone());
            argv
        }
    }
}

/// A duration `fanout run` parses back exactly (whole milliseconds or
/// microseconds).
pub(crate) fn format_duration(d: Duration) -> String {
    if d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}us", d.as_micros())
    }
}

/// A sleep spec `fanout run` parses back exactly.
fn format_sleep(spec: SleepSpec) -> String {
    match spec {
        SleepSpec::Fixed(d) => format_duration(d),
        SleepSpec::Range(lo, hi) => format!("{}..{}", format_duration(lo), format_duration(hi)),
    }
}

/// The task as people read it: `cli 'show version'`, `sleep 1s`.
pub(crate) fn task_title(task: &TaskCmd) -> String {
    let argv = task_argv(task);
    let shown: Vec<String> = argv
        .iter()
        .filter(|w| *w != "--")
        .map(|w| shell_word(w))
        .collect();
    match task {
        TaskCmd::Sleep { duration } => format!("sleep {duration}"),
        _ => shown.join(" "),
    }
}

pub(crate) fn hint(task: &TaskCmd) -> Option<WorkloadClass> {
    match task {
        TaskCmd::Cpu { .. } => Some(WorkloadClass::CpuBound),
        TaskCmd::Sleep { .. }
        | TaskCmd::Exec { .. }
        | TaskCmd::Cli { .. }
        | TaskCmd::Http { .. } => Some(WorkloadClass::IoBound),
        // A local program may wait (ping) or compute (gzip): measure it.
        TaskCmd::Local { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_become_run_arguments_and_titles() {
        let cli = TaskCmd::Cli {
            enable: true,
            config: false,
            error_patterns: Vec::new(),
            expect_args: Vec::new(),
            answer_args: Vec::new(),
            expects: Vec::new(),
            commands: vec!["show version".into()],
        };
        assert_eq!(task_argv(&cli), ["cli", "--enable", "--", "show version"]);
        let asks = TaskCmd::Cli {
            enable: true,
            config: false,
            error_patterns: Vec::new(),
            expect_args: Vec::new(),
            answer_args: Vec::new(),
            expects: vec![None, Some("Destination".into())],
            commands: vec!["show clock".into(), "copy run start".into(), String::new()],
        };
        assert_eq!(
            task_argv(&asks),
            [
                "cli",
                "--enable",
                "show clock",
                "copy run start",
                "--expect=Destination",
                "--answer="
            ]
        );
        assert_eq!(task_title(&cli), "cli --enable 'show version'");
        let sleep = TaskCmd::Sleep {
            duration: SleepSpec::Fixed(Duration::from_millis(1500)),
        };
        assert_eq!(task_argv(&sleep), ["sleep", "1500ms"]);
        assert_eq!(task_title(&sleep), "sleep 1s 500ms");
        let range = TaskCmd::Sleep {
            duration: SleepSpec::Range(
                Duration::from_millis(500),
                Duration::from_micros(2_000_500),
            ),
        };
        assert_eq!(task_argv(&range), ["sleep", "500ms..2000500us"]);
        assert_eq!(
            task_argv(&range)[1].parse::<SleepSpec>(),
            Ok(SleepSpec::Range(
                Duration::from_millis(500),
                Duration::from_micros(2_000_500)
            ))
        );
        assert_eq!(task_title(&range), "sleep 500ms..2s 500us");
        let exec = TaskCmd::Exec {
            command: vec!["-x".into(), "it's".into()],
        };
        assert_eq!(task_argv(&exec), ["exec", "--", "-x", "it's"]);
        assert_eq!(task_title(&exec), r"exec -x 'it'\''s'");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500us");
    }
}
