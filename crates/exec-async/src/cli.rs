//! The `cli` task over russh: a PTY and a shell on one channel, driven by
//! `fanout-netcli`'s pure [`Dialog`] (prompt, paging, enable, config mode,
//! each command's output). Each exchange (a line sent, up to the prompt that
//! ends its answer) gets the command timeout (or what is left of the
//! host's); a timeout reports the last output seen.

use std::time::{Duration, Instant};

use fanout_core::{CliMode, CommandOutput, ErrorKind, Phase, Target};
use fanout_netcli::{Dialog, DialogError, DialogSpec, Progress};
use russh::ChannelMsg;
use russh::client::{Handle, Msg};

use crate::host::{AttemptError, Deadline};
use crate::ssh::Client;

/// PTY width: wide, so devices never wrap a long line of output.
const PTY_WIDTH: u32 = 511;
/// PTY height: tall, for devices that page even after `terminal length 0`.
const PTY_HEIGHT: u32 = 1000;

fn dialog_error(e: DialogError) -> AttemptError {
    let (kind, phase, message) = (e.kind(), e.phase(), e.message().to_string());
    AttemptError::new(kind, phase, message).with_outputs(e.into_outputs())
}

fn channel_error(message: String, outputs: &[CommandOutput]) -> AttemptError {
    AttemptError::new(ErrorKind::Channel, None, message).with_outputs(outputs.to_vec())
}

/// What the next read brought.
enum Read {
    Data(Vec<u8>),
    Closed,
    Refused(&'static str),
}

/// Waits for the next bytes of the shell (stdout or stderr alike, as a
/// terminal shows them).
async fn next_bytes(channel: &mut russh::Channel<Msg>) -> Read {
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. } => {
                return Read::Data(data.to_vec());
            }
            ChannelMsg::Failure => return Read::Refused("a PTY or shell"),
            ChannelMsg::Eof | ChannelMsg::Close => return Read::Closed,
            _ => {}
        }
    }
    Read::Closed
}

/// Runs `commands` in `mode` in an interactive shell of the session.
pub(crate) async fn run(
    handle: &Handle<Client>,
    target: &Target,
    commands: &[String],
    mode: CliMode,
    command_timeout: Option<Duration>,
    host_deadline: Option<(Instant, Duration)>,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut dialog = Dialog::new(DialogSpec::for_target(target, commands, mode))
        .map_err(|e| AttemptError::new(e.kind(), None, e.to_string()))?;
    let mut channel = handle
        .channel_open_session()
        .await
        .map_err(|e| channel_error(format!("could not open an SSH channel: {e}"), &[]))?;
    channel
        .request_pty(true, "vt100", PTY_WIDTH, PTY_HEIGHT, 0, 0, &[])
        .await
        .map_err(|e| channel_error(format!("could not request a PTY: {e}"), &[]))?;
    channel
        .request_shell(true)
        .await
        .map_err(|e| channel_error(format!("could not start a shell: {e}"), &[]))?;
    // The command timeout bounds each exchange (from sending a line to the
    // prompt that ends its answer, pager answers included), not each read:
    // a device that keeps talking without ever showing its prompt still
    // times out.
    let mut exchange = Deadline::new(
        Instant::now(),
        Phase::Command,
        command_timeout,
        host_deadline,
    );
    let mut exchange_no = dialog.exchanges();
    loop {
        match dialog.progress().map_err(dialog_error)? {
            Progress::Send(bytes) => {
                if let Err(e) = channel.data(&bytes[..]).await {
                    return Err(channel_error(
                        format!("could not send to the device: {e}"),
                        dialog.outputs(),
                    ));
                }
                if dialog.exchanges() != exchange_no {
                    // A new line, not a pager answer within the current one.
                    exchange_no = dialog.exchanges();
                    exchange = Deadline::new(
                        Instant::now(),
                        Phase::Command,
                        command_timeout,
                        host_deadline,
                    );
                }
            }
            Progress::Read => match exchange.run(next_bytes(&mut channel)).await {
                Ok(Read::Data(bytes)) => dialog.feed(&bytes),
                Ok(Read::Closed) => return Err(dialog_error(dialog.closed())),
                Ok(Read::Refused(what)) => {
                    return Err(channel_error(
                        format!("the device refused {what} on the SSH channel; use an exec task"),
                        dialog.outputs(),
                    ));
                }
                Err(()) if exchange.phase == Phase::Host => {
                    // The whole-host limit, not the command timeout, ran out.
                    let last = dialog_error(dialog.timed_out(exchange.after));
                    let mut err = exchange.timeout_error(last.outputs);
                    err.message = format!("{}; {}", err.message, last.message);
                    return Err(err);
                }
                Err(()) => return Err(dialog_error(dialog.timed_out(exchange.after))),
            },
            Progress::Done => break,
        }
    }
    let _ = channel.eof().await;
    Ok(dialog.into_outputs())
}
