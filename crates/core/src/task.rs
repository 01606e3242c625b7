use std::fmt;
use std::time::Duration;

use crate::Target;
use crate::template::{RenderError, Template, TemplateError};

/// Privilege level a [`Task::Cli`] runs its commands at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CliMode {
    /// As logged in (`R1>`).
    #[default]
    User,
    /// After `enable` with the target's secret (`R1#`).
    Enable,
    /// Inside `configure terminal` (`R1(config)#`); left with `end`.
    Config,
}

/// What to do on each target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// Run `command` on the SSH exec channel; capture stdout, stderr, exit status.
    Exec {
        /// The command line sent to the device.
        command: String,
    },
    /// Drive the device CLI interactively, like a network engineer would.
    Cli {
        /// Commands, each one's output captured without echo and prompt.
        commands: Vec<String>,
        /// Privilege level to run them at.
        mode: CliMode,
    },
    /// Wait without doing anything: the concurrency model alone.
    Sleep {
        /// How long each host waits.
        duration: Duration,
    },
    /// CPU-bound work: [`cpu_burn`](crate::cpu_burn) for `iterations` rounds.
    Cpu {
        /// Hash-loop rounds (roughly a nanosecond each).
        iterations: u64,
    },
    /// A local subprocess per host; `{host}`, `{name}`, `{port}`, `{platform}`
    /// in the arguments are replaced (see [`render_template`](crate::render_template)).
    Local {
        /// Program and arguments (no shell).
        argv: Vec<String>,
    },
}

/// The kind of a [`Task`], without its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// [`Task::Exec`].
    Exec,
    /// [`Task::Cli`].
    Cli,
    /// [`Task::Sleep`].
    Sleep,
    /// [`Task::Cpu`].
    Cpu,
    /// [`Task::Local`].
    Local,
}

impl TaskKind {
    /// Every task kind.
    pub const ALL: [TaskKind; 5] = [
        TaskKind::Exec,
        TaskKind::Cli,
        TaskKind::Sleep,
        TaskKind::Cpu,
        TaskKind::Local,
    ];

    /// The CLI name of the task (`exec`, `cli`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Exec => "exec",
            TaskKind::Cli => "cli",
            TaskKind::Sleep => "sleep",
            TaskKind::Cpu => "cpu",
            TaskKind::Local => "local",
        }
    }

    /// Whether the task talks to the device over SSH.
    pub fn needs_network(self) -> bool {
        matches!(self, TaskKind::Exec | TaskKind::Cli)
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Task {
    /// The kind of this task.
    pub fn kind(&self) -> TaskKind {
        match self {
            Task::Exec { .. } => TaskKind::Exec,
            Task::Cli { .. } => TaskKind::Cli,
            Task::Sleep { .. } => TaskKind::Sleep,
            Task::Cpu { .. } => TaskKind::Cpu,
            Task::Local { .. } => TaskKind::Local,
        }
    }

    /// Whether running the task again after it started cannot change a device
    /// (so a command-phase timeout may be retried without `--retry-commands`).
    pub fn is_read_only(&self) -> bool {
        match self {
            Task::Sleep { .. } | Task::Cpu { .. } => true,
            Task::Cli { mode, .. } => *mode != CliMode::Config,
            Task::Exec { .. } | Task::Local { .. } => false,
        }
    }
}

impl Task {
    /// The texts this task sends to a device, each a [`Template`]: the
    /// `exec` command, the `cli` commands (none for the other tasks;
    /// `local` arguments have their own, lenient rule:
    /// [`render_template`](crate::render_template)).
    pub fn templates(&self) -> &[String] {
        match self {
            Task::Exec { command } => std::slice::from_ref(command),
            Task::Cli { commands, .. } => commands,
            _ => &[],
        }
    }

    /// Checks every template of the task (see [`Task::templates`]) before
    /// any host starts.
    pub fn check_templates(&self) -> Result<(), TemplateError> {
        for t in self.templates() {
            Template::parse(t)?;
        }
        Ok(())
    }

    /// The task as sent to `target`, its templates rendered; `Ok(None)`
    /// when no template has a placeholder (the task is sent as it is).
    pub fn for_target(&self, target: &Target) -> Result<Option<Task>, TemplateFailure> {
        let mut rendered = Vec::with_capacity(self.templates().len());
        let mut constant = true;
        for t in self.templates() {
            let t = Template::parse(t)?;
            constant &= t.is_constant();
            rendered.push(t.render(target)?);
        }
        if constant {
            return Ok(None);
        }
        Ok(Some(match self {
            Task::Exec { .. } => Task::Exec {
                command: rendered.remove(0),
            },
            Task::Cli { mode, .. } => Task::Cli {
                commands: rendered,
                mode: *mode,
            },
            other => other.clone(),
        }))
    }
}

/// Why a task could not be rendered for a host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateFailure {
    /// The template itself is wrong (normally caught by
    /// [`Job::validate`](crate::Job::validate) before any host starts).
    #[error(transparent)]
    Parse(#[from] TemplateError),
    /// The host has no value for a placeholder.
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl fmt::Display for Task {
    /// The task as it would be typed after `fanout run ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Exec { command } => write!(f, "exec {command}"),
            Task::Cli { commands, mode } => {
                f.write_str("cli")?;
                match mode {
                    CliMode::User => {}
                    CliMode::Enable => f.write_str(" --enable")?,
                    CliMode::Config => f.write_str(" --config")?,
                }
                for c in commands {
                    write!(f, " '{c}'")?;
                }
                Ok(())
            }
            Task::Sleep { duration } => write!(f, "sleep {}", crate::format_duration(*duration)),
            Task::Cpu { iterations } => write!(f, "cpu {iterations}"),
            Task::Local { argv } => write!(f, "local {}", argv.join(" ")),
        }
    }
}
