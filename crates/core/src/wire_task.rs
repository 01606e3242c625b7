//! [`WireTask`]: the one serialised form of a [`Task`], shared by every
//! protocol that ships a task to another process (fanout-exec-process's
//! pipe, fanout-queue's job message). Spelled out apart from [`Task`] so
//! that a change to the in-memory type cannot silently change the wire.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{CliMode, HttpMethod, Task};

/// A [`Task`] on the wire: JSON `{"kind":"exec","command":..}`,
/// `{"kind":"cli","commands":[..],"mode":"user"|"enable"|"config"}`,
/// `{"kind":"sleep","duration":{"secs":..,"nanos":..}}`, and so on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)] // the fields are those of the same-named `Task` variants
pub enum WireTask {
    Exec {
        command: String,
    },
    Cli {
        commands: Vec<String>,
        mode: WireCliMode,
    },
    Sleep {
        duration: Duration,
    },
    SleepRange {
        min: Duration,
        max: Duration,
        seed: u64,
    },
    Cpu {
        iterations: u64,
    },
    Local {
        argv: Vec<String>,
    },
    Http {
        method: WireHttpMethod,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
    },
}

/// An [`HttpMethod`] on the wire: `get`, `post`, `put`, `patch`, `delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the same-named `HttpMethod` variants
pub enum WireHttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl From<HttpMethod> for WireHttpMethod {
    fn from(m: HttpMethod) -> Self {
        match m {
            HttpMethod::Get => WireHttpMethod::Get,
            HttpMethod::Post => WireHttpMethod::Post,
            HttpMethod::Put => WireHttpMethod::Put,
            HttpMethod::Patch => WireHttpMethod::Patch,
            HttpMethod::Delete => WireHttpMethod::Delete,
        }
    }
}

impl From<WireHttpMethod> for HttpMethod {
    fn from(m: WireHttpMethod) -> Self {
        match m {
            WireHttpMethod::Get => HttpMethod::Get,
            WireHttpMethod::Post => HttpMethod::Post,
            WireHttpMethod::Put => HttpMethod::Put,
            WireHttpMethod::Patch => HttpMethod::Patch,
            WireHttpMethod::Delete => HttpMethod::Delete,
        }
    }
}

/// A [`CliMode`] on the wire: `user`, `enable` or `config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the same-named `CliMode` variants
pub enum WireCliMode {
    User,
    Enable,
    Config,
}

impl From<&Task> for WireTask {
    fn from(task: &Task) -> Self {
        match task {
            Task::Exec { command } => WireTask::Exec {
                command: command.clone(),
            },
            Task::Cli { commands, mode } => WireTask::Cli {
                commands: commands.clone(),
                mode: match mode {
                    CliMode::User => WireCliMode::User,
                    CliMode::Enable => WireCliMode::Enable,
                    CliMode::Config => WireCliMode::Config,
                },
            },
            Task::Sleep { duration } => WireTask::Sleep {
                duration: *duration,
            },
            Task::SleepRange { min, max, seed } => WireTask::SleepRange {
                min: *min,
                max: *max,
                seed: *seed,
            },
            Task::Cpu { iterations } => WireTask::Cpu {
                iterations: *iterations,
            },
            Task::Local { argv } => WireTask::Local { argv: argv.clone() },
            Task::Http {
                method,
                url,
                headers,
                body,
            } => WireTask::Http {
                method: (*method).into(),
                url: url.clone(),
                headers: headers.clone(),
                body: body.clone(),
            },
        }
    }
}

impl From<WireTask> for Task {
    fn from(w: WireTask) -> Self {
        match w {
            WireTask::Exec { command } => Task::Exec { command },
            WireTask::Cli { commands, mode } => Task::Cli {
                commands,
                mode: match mode {
                    WireCliMode::User => CliMode::User,
                    WireCliMode::Enable => CliMode::Enable,
                    WireCliMode::Config => CliMode::Config,
                },
            },
            WireTask::Sleep { duration } => Task::Sleep { duration },
            WireTask::SleepRange { min, max, seed } => Task::SleepRange { min, max, seed },
            WireTask::Cpu { iterations } => Task::Cpu { iterations },
            WireTask::Local { argv } => Task::Local { argv },
            WireTask::Http {
                method,
                url,
                headers,
                body,
            } => Task::Http {
                method: method.into(),
                url,
                headers,
                body,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_task() -> Vec<Task> {
        let mut tasks = vec![
            Task::Exec {
                command: "show version".into(),
            },
            Task::Sleep {
                duration: Duration::from_millis(1500),
            },
            Task::SleepRange {
                min: Duration::from_millis(10),
                max: Duration::from_secs(2),
                seed: 7,
            },
            Task::Cpu { iterations: 42 },
            Task::Local {
                argv: vec!["echo".into(), "{host}".into()],
            },
            Task::Http {
                method: HttpMethod::Post,
                url: "https://{host}:{vars.http_port}/command-api".into(),
                headers: vec![("X-Site".into(), "{vars.site}".into())],
                body: Some(r#"{"cmds": ["show version"]}"#.into()),
            },
        ];
        for mode in [CliMode::User, CliMode::Enable, CliMode::Config] {
            tasks.push(Task::Cli {
                commands: vec!["show clock".into(), "show ip int brief".into()],
                mode,
            });
        }
        tasks
    }

    #[test]
    fn every_task_round_trips_through_json() {
        for task in every_task() {
            let json = serde_json::to_string(&WireTask::from(&task)).unwrap();
            let back: WireTask = serde_json::from_str(&json).unwrap();
            assert_eq!(Task::from(back), task, "{json}");
        }
    }

    #[test]
    fn wire_form_is_pinned() {
        // Both protocols' peers parse exactly this: changing it needs a
        // protocol version bump in fanout-exec-process and fanout-queue.
        let json = |t: &Task| serde_json::to_string(&WireTask::from(t)).unwrap();
        assert_eq!(
            json(&Task::Cli {
                commands: vec!["show clock".into()],
                mode: CliMode::Enable
            }),
            r#"{"kind":"cli","commands":["show clock"],"mode":"enable"}"#
        );
        assert_eq!(
            json(&Task::Sleep {
                duration: Duration::from_millis(1500)
            }),
            r#"{"kind":"sleep","duration":{"secs":1,"nanos":500000000}}"#
        );
        assert_eq!(
            json(&Task::SleepRange {
                min: Duration::ZERO,
                max: Duration::from_secs(1),
                seed: 3
            }),
            r#"{"kind":"sleep_range","min":{"secs":0,"nanos":0},"max":{"secs":1,"nanos":0},"seed":3}"#
        );
        assert_eq!(
            json(&Task::Http {
                method: HttpMethod::Get,
                url: "https://h/x".into(),
                headers: vec![("A".into(), "b".into())],
                body: None,
            }),
            r#"{"kind":"http","method":"get","url":"https://h/x","headers":[["A","b"]],"body":null}"#
        );
        let bad = r#"{"kind":"cli","commands":[],"mode":"root"}"#;
        assert!(serde_json::from_str::<WireTask>(bad).is_err());
    }
}
