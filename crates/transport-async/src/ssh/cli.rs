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

use fanout_engine::Expired;

use fanout_transport::ssh::endpoint;

use super::session::Client;
use fanout_engine::{AttemptError, Deadline};

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

/// Opens a session channel with a PTY and a shell on it.
async fn open_shell(
    handle: &Handle<Client>,
    at: &str,
) -> Result<russh::Channel<Msg>, AttemptError> {
    let hint = "check that the device allows interactive SSH sessions (or use an exec task)";
    let channel = handle.channel_open_session().await.map_err(|e| {
        channel_error(
            format!("could not open an SSH channel on {at}: {e}; check the device's session limits (e.g. MaxSessions, vty lines)"),
            &[],
        )
    })?;
    channel
        .request_pty(true, "vt100", PTY_WIDTH, PTY_HEIGHT, 0, 0, &[])
        .await
        .map_err(|e| channel_error(format!("could not request a PTY on {at}: {e}; {hint}"), &[]))?;
    channel
        .request_shell(true)
        .await
        .map_err(|e| channel_error(format!("could not start a shell on {at}: {e}; {hint}"), &[]))?;
    Ok(channel)
}

/// Runs `commands` in `mode` in an interactive shell of the session.
pub(super) async fn run(
    handle: &Handle<Client>,
    target: &Target,
    commands: &[String],
    mode: CliMode,
    command_timeout: Option<Duration>,
    host_deadline: Option<(Instant, Duration)>,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut dialog = Dialog::new(DialogSpec::for_target(target, commands, mode))
        .map_err(|e| AttemptError::new(e.kind(), None, e.to_string()))?;
    let at = endpoint(target);
    // The command timeout bounds each exchange (from sending a line to the
    // prompt that ends its answer, pager answers included), not each read:
    // a device that keeps talking without ever showing its prompt still
    // times out. Opening the channel, PTY and shell counts as the first
    // exchange, and every send waits within the current one: a device that
    // never confirms the channel or never opens its window cannot hold the
    // host past the command timeout.
    let mut exchange = Deadline::new(
        Instant::now(),
        Phase::Command,
        command_timeout,
        host_deadline,
    );
    let setup = exchange.run(open_shell(handle, &at)).await;
    let mut channel = setup.map_err(|Expired| {
        let mut err = exchange.timeout_error(Vec::new());
        err.message = format!(
            "{} while {at} opened the shell channel (the device never confirmed the channel, PTY or shell); check that it allows interactive SSH sessions (or use an exec task)",
            err.message
        );
        err
    })??;
    let mut exchange_no = dialog.exchanges();
    loop {
        match dialog.progress().map_err(dialog_error)? {
            Progress::Send(bytes) => {
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
                match exchange.run(channel.data(&bytes[..])).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        return Err(channel_error(
                            format!(
                                "could not send to {at}: {e}; the device closed the session (check its logs, session limits and idle timeout)"
                            ),
                            dialog.outputs(),
                        ));
                    }
                    Err(Expired) => {
                        let mut err = exchange.timeout_error(dialog.outputs().to_vec());
                        err.message = format!(
                            "{} while sending to {at}: the device stopped accepting input (its SSH window stayed closed); check the device's load and session limits",
                            err.message
                        );
                        return Err(err);
                    }
                }
            }
            Progress::Read => match exchange.run(next_bytes(&mut channel)).await {
                Ok(Read::Data(bytes)) => dialog.feed(&bytes),
                Ok(Read::Closed) => return Err(dialog_error(dialog.closed())),
                Ok(Read::Refused(what)) => {
                    return Err(channel_error(
                        format!(
                            "{at} refused {what} on the SSH channel; use an exec task for this device"
                        ),
                        dialog.outputs(),
                    ));
                }
                Err(Expired) if exchange.phase == Phase::Host => {
                    // The whole-host limit, not the command timeout, ran out.
                    let last = dialog_error(dialog.timed_out(exchange.after));
                    let mut err = exchange.timeout_error(last.outputs);
                    err.message = format!("{}; {}", err.message, last.message);
                    return Err(err);
                }
                Err(Expired) => return Err(dialog_error(dialog.timed_out(exchange.after))),
            },
            Progress::Done => break,
        }
    }
    let _ = channel.eof().await;
    Ok(dialog.into_outputs())
}
