//! fanout's job API: what to run ([`Task`]) on which hosts ([`Target`]), under
//! which limits ([`Job`]), and what came back ([`HostOutcome`], [`RunSummary`]).
//!
//! This crate owns the vocabulary every other fanout crate speaks and the
//! [`Executor`] trait with its [contract](executor#contract). It has no network
//! dependencies: executors (`fanout-exec-*`) depend on it, never the reverse.
//! It also holds the few value-level rules every executor must share so
//! that their results are comparable: the CPU work loop ([`cpu_burn`]), the
//! `{host}` templating of local commands, retry decisions and backoff
//! ([`RetryPolicy`]) and the per-status counters of a [`RunSummary`]
//! ([`StatusCounts`]). How runs are driven (deadlines, admission, the
//! every-host-once ledger, drivers) is `fanout-engine`'s.

mod cancel;
mod duration;
pub mod executor;
mod http;
mod job;
mod max_fail;
mod observer;
mod order;
mod outcome;
mod rare;
mod rate;
mod sink;
mod summary;
mod target;
mod task;
mod template;
mod wire_task;
mod work;

pub use cancel::{CancelToken, Cancelled};
pub use duration::{MAX_DURATION, format_duration, parse_duration};
pub use executor::{ExecError, Executor};
pub use http::{HttpMethod, HttpTemplateError, INSECURE_WARNING, is_json_body};
pub use job::{
    CliOptions, HostKeyPolicy, HttpOptions, Job, JobError, Limits, Phase, RetryPolicy, Timeouts,
};
pub use max_fail::{FailGate, MaxFail, MaxFailError};
pub use observer::{Observer, RunObserver};
pub use order::{InOrder, ResultOrder};
pub use outcome::{
    CommandOutput, ErrorKind, HostOutcome, OUTPUT_CAP, PhaseTimings, Status, Worker,
    output_cut_marker,
};
pub use rare::{Rare, StaticDefault};
pub use rate::Rate;
pub use sink::{CollectSink, Flow, Sink};
pub use summary::{RunSummary, StatusCounts};
pub use target::{
    Credentials, JumpHop, Platform, Reach, Secret, Target, TimeoutOverrides, Transport,
};
pub use task::{
    CliMode, DEFAULT_SLEEP_SEED, SleepSpec, Task, TaskKind, TemplateFailure, seeded_duration,
};
pub use template::{Field, PLACEHOLDERS, RenderError, Template, TemplateError};
pub use wire_task::{WireCliMode, WireHttpMethod, WireTask};
pub use work::{cpu_burn, render_template};
