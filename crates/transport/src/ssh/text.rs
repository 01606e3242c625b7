//! What both SSH transports say about a connection, a channel and a
//! command, and the exec verdict: one text per situation, so that the same
//! device fault reads the same on every executor (the conformance suite
//! compares the messages, numbers masked). A library's own wording of an
//! error goes in only where no fault of the suite reaches it (a handshake
//! or channel failure), as `detail`.

use std::fmt::Display;
use std::io;

use fanout_core::{CommandOutput, ErrorKind, Target};
use fanout_engine::AttemptError;

use super::{LAST_OUTPUT_CHARS, endpoint};
use crate::{CapturedStreams, last_line};

/// TCP connect failed on every address (`last`: the last error, `None`
/// when the name resolved to no address).
pub fn connect_failed(target: &Target, last: Option<&io::Error>) -> AttemptError {
    let why = match last {
        Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => format!(
            "connection refused: nothing listens there; check the port and that {} is enabled on the device",
            match target.transport {
                fanout_core::Transport::Ssh => "SSH",
                fanout_core::Transport::Telnet => "telnet",
            }
        ),
        Some(e) => fanout_engine::limits::describe_io_error(
            e,
            "check the address and port, and that the device is reachable",
        ),
        None => "the name resolved to no address".to_string(),
    };
    AttemptError::new(
        ErrorKind::Connect,
        None,
        format!("could not connect to {}: {why}", endpoint(target)),
    )
}

/// The target's host name could not be resolved.
pub fn resolve_failed(target: &Target, e: &io::Error) -> AttemptError {
    AttemptError::new(
        ErrorKind::Connect,
        None,
        format!(
            "cannot resolve `{}`: {e}; check the hostname in the inventory",
            target.address
        ),
    )
}

/// The connect timeout `timeout` (the deadline's error) ran out while the
/// name was being resolved.
pub fn resolve_timed_out(mut timeout: AttemptError, target: &Target) -> AttemptError {
    timeout.message.push_str(&format!(
        " while resolving `{}` (check the DNS servers, or use its IP address)",
        target.address
    ));
    timeout
}

/// The SSH handshake failed for a reason other than algorithms or the host
/// key (`detail`: the library's reason). Where the endpoint cut it off
/// (closed, reset, disconnected), the transport marks it
/// [`congested`](AttemptError::congested) for `--connect-rate auto`.
pub fn handshake_failed(target: &Target, detail: impl Display) -> AttemptError {
    AttemptError::new(
        ErrorKind::Connect,
        None,
        format!(
            "SSH handshake with {} failed: {detail}; check that an SSH server listens there and that the device accepts more sessions",
            endpoint(target)
        ),
    )
}

/// SSH's disconnect reason for a server out of connections (RFC 4253
/// 11.1, `SSH_DISCONNECT_TOO_MANY_CONNECTIONS`): a device out of sessions.
pub const TOO_MANY_CONNECTIONS: u32 = 12;

/// What a device said in its SSH disconnect (reason `code`,
/// `description`), for a message: `the device disconnected: ...`, in its
/// words made safe to print, or its reason code when it gave none.
pub fn disconnect_words(code: u32, description: &str) -> String {
    let words = device_words(description);
    if words.is_empty() {
        format!("the device disconnected (reason {code})")
    } else {
        format!("the device disconnected: {words}")
    }
}

/// The device ended the handshake with an SSH disconnect (a device out of
/// sessions: "too many sessions ..."): a handshake it cut off, which
/// `--connect-rate auto` counts as a storm.
pub fn disconnected_in_handshake(target: &Target, code: u32, description: &str) -> AttemptError {
    handshake_failed(target, disconnect_words(code, description)).congested()
}

/// Longest device text quoted in a message, in characters.
const DEVICE_WORDS: usize = 400;

/// A device's own text made safe to print: control characters (escape
/// sequences, bells, line breaks) become spaces, runs of white space one,
/// and at most [`DEVICE_WORDS`] characters are kept.
fn device_words(words: &str) -> String {
    let clean: String = words
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let out = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > DEVICE_WORDS {
        out.chars().take(DEVICE_WORDS).collect::<String>() + "..."
    } else {
        out
    }
}

/// No session channel could be opened (`detail`: the library's reason).
pub fn channel_refused(target: &Target, detail: impl Display) -> AttemptError {
    AttemptError::new(
        ErrorKind::Channel,
        None,
        format!(
            "could not open an SSH channel on {}: {detail}; check the device's session limits (e.g. MaxSessions, vty lines)",
            endpoint(target)
        ),
    )
}

/// The device refused the exec request for `command`.
pub fn exec_refused(target: &Target, command: &str) -> AttemptError {
    AttemptError::new(
        ErrorKind::Channel,
        None,
        format!(
            "{} refused to run `{command}` on an exec channel; use a cli task for this device",
            endpoint(target)
        ),
    )
}

/// The device refused a PTY or a shell (`what`), or the request could not
/// be sent (`detail`).
pub fn shell_refused(target: &Target, what: &str, detail: impl Display) -> AttemptError {
    AttemptError::new(
        ErrorKind::Channel,
        None,
        format!(
            "{} refused {what}: {detail}; check that the device allows interactive SSH sessions (or use an exec task)",
            endpoint(target)
        ),
    )
}

/// The connection broke (or the channel closed without an exit status,
/// EOF or close) while `command` ran; its output so far is kept.
pub fn exec_dropped(command: &str, got: &CapturedStreams) -> AttemptError {
    let received = got.received();
    AttemptError::new(
        ErrorKind::Channel,
        None,
        format!(
            "the connection dropped while `{command}` was running, after {received} bytes of output; the partial output is kept"
        ),
    )
    .with_outputs(vec![got.output(command, None)])
}

/// `timeout` (the command deadline's error) with what `command` had
/// printed: its last line, up to [`LAST_OUTPUT_CHARS`] characters, and the
/// output kept.
pub fn exec_timed_out(
    mut timeout: AttemptError,
    command: &str,
    got: &CapturedStreams,
) -> AttemptError {
    let output = got.output(command, None);
    timeout
        .message
        .push_str(&format!("; `{command}` had not finished"));
    match last_line(&output.stdout, LAST_OUTPUT_CHARS) {
        Some(tail) => timeout
            .message
            .push_str(&format!("; last output seen: `{tail}`")),
        None => timeout.message.push_str("; no output was received"),
    }
    timeout.with_outputs(vec![output])
}

/// The verdict on a finished exec channel: killed by `signal` (its exit
/// status then unknown) or a non-zero exit status is `command_failed`,
/// with the output kept; otherwise the output.
pub fn exec_verdict(
    command: &str,
    got: &CapturedStreams,
    exit_status: Option<i32>,
    signal: Option<&str>,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let failed = |message: String, output: CommandOutput| {
        Err(AttemptError::new(ErrorKind::CommandFailed, None, message).with_outputs(vec![output]))
    };
    if let Some(signal) = signal {
        return failed(
            format!("`{command}` was killed by signal {signal}"),
            got.output(command, None),
        );
    }
    let output = got.output(command, exit_status);
    match exit_status {
        Some(code) if code != 0 => failed(format!("`{command}` exited with status {code}"), output),
        _ => Ok(vec![output]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exec_verdict_keeps_the_output_and_names_the_failure() {
        let mut got = CapturedStreams::default();
        got.push_stdout(b"done\n");
        assert_eq!(
            exec_verdict("x", &got, Some(0), None).unwrap()[0].stdout,
            "done\n"
        );
        let err = exec_verdict("x", &got, Some(2), None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::CommandFailed);
        assert_eq!(err.message, "`x` exited with status 2");
        assert_eq!(err.outputs[0].exit_status, Some(2));
        let err = exec_verdict("x", &got, Some(0), Some("KILL")).unwrap_err();
        assert_eq!(err.message, "`x` was killed by signal KILL");
        assert_eq!(err.outputs[0].exit_status, None, "unknown after a signal");
    }

    #[test]
    fn a_refused_connection_says_what_to_check() {
        let mut target = Target::new("r1", "127.0.0.1");
        target.port = 2201;
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            connect_failed(&target, Some(&refused)).message,
            "could not connect to 127.0.0.1:2201: connection refused: nothing listens there; check the port and that SSH is enabled on the device"
        );
        let mut got = CapturedStreams::default();
        got.push_stdout(b"line one\npartial");
        let err = exec_dropped("show run", &got);
        assert!(err.message.contains("after 16 bytes"), "{}", err.message);
        assert_eq!(err.outputs[0].stdout, "line one\npartial");
    }

    #[test]
    fn a_devices_disconnect_is_quoted_clean_and_short() {
        let target = Target::new("r1", "127.0.0.1");
        let e = disconnected_in_handshake(&target, 12, "too many\r\n\x1b[31msessions\x07 ");
        assert_eq!(e.kind, ErrorKind::Connect);
        assert!(e.congested.is_some(), "a storm for --connect-rate auto");
        assert!(
            e.message
                .contains("failed: the device disconnected: too many [31msessions;"),
            "{}",
            e.message
        );
        let long = disconnected_in_handshake(&target, 12, &"x".repeat(5000));
        assert!(long.message.contains(&format!("{}...;", "x".repeat(400))));
        assert!(!long.message.contains(&"x".repeat(401)));
    }
}
