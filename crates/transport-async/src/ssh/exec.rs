//! The `exec` task on russh: one command on an exec channel; stdout,
//! stderr and the exit status come back separately.

use fanout_core::{CommandOutput, ErrorKind, Target};
use fanout_engine::{AttemptError, Deadline, Expired};
use fanout_transport::CapturedStreams;
use fanout_transport::ssh::{TAIL_ASYNC as TAIL, endpoint};
use russh::ChannelMsg;
use russh::client::Handle;

use super::session::Client;

/// The last line of `text` worth quoting, shortened to [`TAIL`] chars.
pub(super) fn last_output(text: &str) -> Option<String> {
    fanout_transport::last_line(text, TAIL)
}

/// What came back on an exec channel.
#[derive(Default)]
struct Captured {
    streams: CapturedStreams,
    exit: Option<u32>,
    signal: Option<String>,
    eof: bool,
    closed: bool,
}

impl Captured {
    fn output(&self, command: &str) -> CommandOutput {
        let exit_status = self
            .exit
            .map(|s| i32::try_from(s).unwrap_or(-1))
            .or(self.signal.as_ref().map(|_| -1));
        self.streams.output(command, exit_status)
    }
}

/// Runs `command` on an exec channel until the device closes it.
pub(super) async fn exec(
    h: &Handle<Client>,
    target: &Target,
    command: &str,
    deadline: Deadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut got = Captured::default();
    let at = endpoint(target);
    let ran = deadline.run(exec_channel(h, &at, command, &mut got)).await;
    let output = got.output(command);
    match ran {
        Err(Expired) => {
            let mut err = deadline.timeout_error(Vec::new());
            err.message
                .push_str(&format!("; `{command}` had not finished"));
            match last_output(&output.stdout) {
                Some(tail) => err
                    .message
                    .push_str(&format!("; last output seen: `{tail}`")),
                None => err.message.push_str("; no output was received"),
            }
            Err(err.with_outputs(vec![output]))
        }
        Ok(Err(message)) => {
            Err(AttemptError::new(ErrorKind::Channel, None, message).with_outputs(vec![output]))
        }
        Ok(Ok(())) => {
            if let Some(signal) = &got.signal {
                let message = format!("`{command}` was killed by signal {signal}");
                return Err(AttemptError::new(ErrorKind::CommandFailed, None, message)
                    .with_outputs(vec![output]));
            }
            if got.exit.is_none() && !got.eof && !got.closed {
                return Err(AttemptError::new(
                    ErrorKind::Channel,
                    None,
                    format!(
                        "the connection closed before `{command}` finished; the partial output is kept"
                    ),
                )
                .with_outputs(vec![output]));
            }
            match got.exit {
                Some(code) if code != 0 => {
                    let message = format!("`{command}` exited with status {code}");
                    Err(AttemptError::new(ErrorKind::CommandFailed, None, message)
                        .with_outputs(vec![output]))
                }
                _ => Ok(vec![output]),
            }
        }
    }
}

async fn exec_channel(
    h: &Handle<Client>,
    at: &str,
    command: &str,
    got: &mut Captured,
) -> Result<(), String> {
    let mut channel = h.channel_open_session().await.map_err(|e| {
        format!(
            "could not open an SSH channel on {at}: {e}; check the device's session limits (e.g. MaxSessions, vty lines)"
        )
    })?;
    channel.exec(true, command).await.map_err(|e| {
        format!(
            "could not send `{command}` to {at}: {e}; the device closed the session (check its logs and session limits)"
        )
    })?;
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => got.streams.push_stdout(&data),
            ChannelMsg::ExtendedData { data, .. } => got.streams.push_stderr(&data),
            ChannelMsg::ExitStatus { exit_status } => got.exit = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                got.signal = Some(format!("{signal_name:?}"))
            }
            ChannelMsg::Failure => {
                return Err(format!(
                    "{at} refused to run `{command}` on an exec channel; use a cli task for this device"
                ));
            }
            ChannelMsg::Eof => got.eof = true,
            ChannelMsg::Close => {
                got.closed = true;
                break;
            }
            _ => {}
        }
    }
    Ok(())
}
