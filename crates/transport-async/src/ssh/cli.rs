//! The `cli` task over russh: a PTY and a shell on one channel, driven by
//! `fanout-netcli`'s sans-IO [`Driver`] (prompt, paging, enable, config
//! mode, each command's output, each exchange's deadline and what a
//! timeout says); this loop moves the bytes.

use std::time::Instant;

use fanout_core::{CliMode, CommandOutput, Job, Target};
use fanout_engine::{AttemptError, Expired, HostDeadline};
use fanout_netcli::{Action, Stage};
use fanout_transport::ssh::{
    cli_driver, dialog_failed as dialog_error, exchange_deadline as deadline, text,
};
use russh::ChannelMsg;
use russh::client::{Handle, Msg};

use super::session::Client;

/// PTY width: wide, so devices never wrap a long line of output.
const PTY_WIDTH: u32 = 511;
/// PTY height: tall, for devices that page even after `terminal length 0`.
const PTY_HEIGHT: u32 = 1000;

/// What the next read brought.
enum Read {
    Data(Vec<u8>),
    Closed,
    Refused(&'static str),
}

/// Waits for the next bytes of the shell (stdout or stderr alike, as a
/// terminal shows them).
async fn next_bytes(channel: &mut russh::Channel<Box<Msg>>) -> Read {
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. } => {
                return Read::Data(data.to_vec());
            }
            ChannelMsg::Failure => return Read::Refused("a terminal (PTY) or shell"),
            ChannelMsg::Eof | ChannelMsg::Close => return Read::Closed,
            _ => {}
        }
    }
    Read::Closed
}

/// Opens a session channel with a PTY and a shell on it.
async fn open_shell(
    handle: &Handle<Client>,
    target: &Target,
) -> Result<russh::Channel<Box<Msg>>, AttemptError> {
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|e| text::channel_refused(target, e))?;
    channel
        .request_pty(true, "vt100", PTY_WIDTH, PTY_HEIGHT, 0, 0, &[])
        .await
        .map_err(|e| text::shell_refused(target, "a terminal (PTY)", e))?;
    channel
        .request_shell(true)
        .await
        .map_err(|e| text::shell_refused(target, "an interactive shell", e))?;
    Ok(channel)
}

/// Runs `commands` in `mode` in an interactive shell of the session,
/// driven by [`fanout_netcli::Driver`] (which owns each exchange's
/// deadline: the command timeout, or what is left of the host's).
pub(super) async fn run(
    handle: &Handle<Client>,
    target: &Target,
    job: &Job,
    commands: &[String],
    mode: CliMode,
    host_deadline: HostDeadline,
) -> Result<Vec<CommandOutput>, AttemptError> {
    let mut driver = cli_driver(job, target, commands, mode, host_deadline)?;
    let opened = deadline(&driver).run(open_shell(handle, target)).await;
    let mut channel = opened.map_err(|Expired| dialog_error(driver.expired(Stage::Open)))??;
    loop {
        match driver.next(Instant::now()) {
            Action::Send(bytes) => match deadline(&driver).run(channel.data(&bytes[..])).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(dialog_error(driver.closed())),
                Err(Expired) => return Err(dialog_error(driver.expired(Stage::Send))),
            },
            Action::Read => match deadline(&driver).run(next_bytes(&mut channel)).await {
                Ok(Read::Data(bytes)) => driver.received(&bytes),
                Ok(Read::Closed) => return Err(dialog_error(driver.closed())),
                Ok(Read::Refused(what)) => {
                    return Err(
                        text::shell_refused(target, what, "the channel request failed")
                            .with_outputs(driver.outputs().to_vec()),
                    );
                }
                Err(Expired) => return Err(dialog_error(driver.expired(Stage::Read))),
            },
            Action::Done(outputs) => {
                let _ = channel.eof().await;
                return Ok(outputs);
            }
            Action::Fail(e) => return Err(dialog_error(e)),
        }
    }
}
