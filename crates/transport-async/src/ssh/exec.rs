//! The `exec` task on russh: one command on an exec channel; stdout,
//! stderr and the exit status come back separately.

use fanout_core::{CommandOutput, Target};
use fanout_engine::{AttemptError, Deadline, Expired};
use fanout_transport::CapturedStreams;
use fanout_transport::ssh::text;
use russh::ChannelMsg;
use russh::client::Handle;

use super::session::Client;

/// What came back on an exec channel.
#[derive(Default)]
struct Captured {
    streams: CapturedStreams,
    exit: Option<u32>,
    signal: Option<String>,
    eof: bool,
    closed: bool,
}

/// Runs `command` on an exec channel until the device closes it.
pub(super) async fn exec(
    h: &Handle<Client>,
    target: &Target,
    command: &str,
    deadline: Deadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut got = Captured::default();
    let ran = deadline
        .run(exec_channel(h, target, command, &mut got))
        .await;
    match ran {
        Err(Expired) => Err(text::exec_timed_out(
            deadline.timeout_error(Vec::new()),
            command,
            &got.streams,
        )),
        Ok(Err(err)) => Err(err.with_outputs(vec![got.streams.output(command, None)])),
        Ok(Ok(())) if got.exit.is_none() && got.signal.is_none() && !got.eof && !got.closed => {
            Err(text::exec_dropped(command, &got.streams))
        }
        Ok(Ok(())) => {
            let exit_status = got.exit.map(|s| i32::try_from(s).unwrap_or(i32::MAX));
            text::exec_verdict(command, &got.streams, exit_status, got.signal.as_deref())
        }
    }
}

async fn exec_channel(
    h: &Handle<Client>,
    target: &Target,
    command: &str,
    got: &mut Captured,
) -> Result<(), AttemptError> {
    let mut channel = h
        .channel_open_session()
        .await
        .map_err(|e| text::channel_refused(target, e))?;
    if channel.exec(true, command).await.is_err() {
        // The request could not be sent: the connection is gone.
        return Err(text::exec_dropped(command, &got.streams));
    }
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => got.streams.push_stdout(&data),
            ChannelMsg::ExtendedData { data, .. } => got.streams.push_stderr(&data),
            ChannelMsg::ExitStatus { exit_status } => got.exit = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                got.signal = Some(format!("{signal_name:?}"))
            }
            ChannelMsg::Failure => return Err(text::exec_refused(target, command)),
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
