//! What both transports obey, as they use it: per-target timeouts in an
//! attempt's budget, the credential check, the output tail quoted in
//! timeout messages, and the telnet layer under made-up device streams
//! ([`telnet`]).

#[path = "policy/telnet.rs"]
mod telnet;

use std::time::Duration;

use fanout_core::{CliMode, ErrorKind, Job, Secret, Target, Task};
use fanout_transport::ssh::{
    LAST_OUTPUT_CHARS, max_attempt, require_credentials, require_username,
};
use fanout_transport::{CapturedStreams, last_line};

#[test]
fn an_attempts_budget_uses_the_targets_own_timeouts() {
    let mut job = Job::new(Task::Cli {
        commands: vec!["show clock".into()],
        mode: CliMode::User,
    });
    job.timeouts.connect = Some(Duration::from_secs(10));
    job.timeouts.auth = Some(Duration::from_secs(10));
    job.timeouts.command = Some(Duration::from_secs(10));
    let mut target = Target::new("r1", "127.0.0.1");
    let default = max_attempt(&job, &target).unwrap();
    target.timeouts.command = Some(Duration::from_secs(1));
    target.timeouts.connect = Some(Duration::from_secs(2));
    let own = max_attempt(&job, &target).unwrap();
    // Connect 8 s less, and every exchange 9 s less.
    assert!(
        own < default - Duration::from_secs(8 + 9),
        "{own:?} vs {default:?}"
    );
    assert_eq!(
        (default - own - Duration::from_secs(8)).as_secs() % 9,
        0,
        "each exchange gets the command timeout"
    );
}

#[test]
fn any_one_way_to_log_in_will_do_and_none_is_an_invalid_target() {
    let mut target = Target::new("r1", "127.0.0.1");
    target.username = Some("admin".into());
    assert_eq!(require_username(&target).unwrap(), "admin");
    let err = require_credentials(&target).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidTarget);
    assert!(
        err.message.starts_with("r1 has no credentials"),
        "{}",
        err.message
    );
    let mut with_password = target.clone();
    with_password.credentials.password = Some(Secret::new("x"));
    let mut with_key = target.clone();
    with_key.credentials.key_file = Some("/keys/id_ed25519".into());
    let mut with_agent = target.clone();
    with_agent.credentials.agent = true;
    for t in [with_password, with_key, with_agent] {
        assert!(require_credentials(&t).is_ok(), "{t:?}");
    }
}

#[test]
fn a_timeout_quotes_at_most_the_tail_of_the_last_line_seen() {
    let mut got = CapturedStreams::default();
    got.push_stdout(b"Building configuration...\n");
    got.push_stdout(format!("{}\n\n", "x".repeat(500)).as_bytes());
    let stdout = got.output("show run", None).stdout;
    let quoted = last_line(&stdout, LAST_OUTPUT_CHARS).unwrap();
    assert_eq!(quoted.len(), LAST_OUTPUT_CHARS, "{quoted}");
    assert_eq!(
        last_line("Building configuration...\n", LAST_OUTPUT_CHARS).as_deref(),
        Some("Building configuration...")
    );
}

#[test]
fn an_agent_out_of_file_descriptors_is_blamed_on_the_limit_not_the_agent() {
    use fanout_transport::ssh::auth::agent_connect_failed;
    for errno in [24, 23] {
        // EMFILE, ENFILE
        let said = agent_connect_failed(&std::io::Error::from_raw_os_error(errno));
        assert!(said.contains("out of file descriptors"), "{said}");
        assert!(said.contains("lower -c"), "{said}");
        assert!(!said.contains("start one"), "{said}");
    }
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    let said = agent_connect_failed(&refused);
    assert!(said.contains("start one or remove `agent: true`"), "{said}");
}
