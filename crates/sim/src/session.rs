//! One console session over any transport: echo at once, command output
//! after the simulated latency, and the faults that act on command output
//! (`hang_on_command`, `drop_mid_output`, `endless_output`). The transport
//! supplies a [`Wire`] to write to and a channel of keystrokes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::console::{Console, Step};
use crate::device::{Device, LatencySource};
use crate::faults::Fault;

/// Where a console session's output goes.
pub(crate) trait Wire: Send {
    /// Sends bytes; false once the peer is gone.
    fn send(&mut self, bytes: Vec<u8>) -> impl Future<Output = bool> + Send;
    /// Cuts the connection at once (with a reset).
    fn kill(&mut self);
    /// Ends the session normally (SSH: exit status, EOF, close).
    fn finish(&mut self, exit_status: u32) -> impl Future<Output = ()> + Send;
}

/// Runs one console: a shell (`run`) or one exec command (`exec`).
pub(crate) struct ShellTask<W: Wire> {
    device: Arc<Device>,
    wire: W,
    latency: LatencySource,
    console: Console,
    input: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Keystrokes that came before the console started (telnet type-ahead
    /// after the password).
    typeahead: Vec<u8>,
}

impl<W: Wire> ShellTask<W> {
    pub(crate) fn new(
        device: &Arc<Device>,
        wire: W,
        input: mpsc::UnboundedReceiver<Vec<u8>>,
    ) -> Self {
        Self {
            latency: device.latency_source(),
            device: device.clone(),
            console: device.console(),
            wire,
            input,
            typeahead: Vec::new(),
        }
    }

    /// Keystrokes to feed before reading more; `after_cr`: the last one
    /// before them was a CR (so a LF or NUL that follows is part of it).
    pub(crate) fn with_typeahead(mut self, bytes: Vec<u8>, after_cr: bool) -> Self {
        self.typeahead = bytes;
        if after_cr {
            self.console.after_cr();
        }
        self
    }

    async fn send(&mut self, bytes: Vec<u8>) -> bool {
        bytes.is_empty() || self.wire.send(bytes).await
    }

    /// Sends a command's output, or misbehaves. Returns false when the
    /// session is over.
    async fn reply(&mut self, bytes: Vec<u8>) -> bool {
        self.device.stats.command();
        if self.device.has(Fault::HangOnCommand) {
            // Never answer; swallow input until the client gives up.
            while self.input.recv().await.is_some() {}
            return false;
        }
        tokio::time::sleep(self.latency.next()).await;
        if self.device.has(Fault::EndlessOutput) {
            self.endless_output().await;
            return false;
        }
        if self.device.has(Fault::DropMidOutput) {
            let half = bytes.len() / 2;
            let _ = self.send(bytes[..half].to_vec()).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.wire.kill();
            return false;
        }
        self.send(bytes).await
    }

    /// Output that never ends, as fast as the client reads, until the
    /// client closes the channel or the connection is gone. Keystrokes are
    /// ignored.
    async fn endless_output(&mut self) {
        let chunk = Fault::ENDLESS_LINE.repeat(256).into_bytes();
        while self.wire.send(chunk.clone()).await {
            while self.input.try_recv().is_ok() {}
        }
    }

    pub(crate) async fn run(mut self) {
        if self.device.has(Fault::EndlessOutput) {
            self.endless_output().await;
            return;
        }
        let banner = self.console.open();
        if !self.send(banner).await {
            return;
        }
        let mut next = Some(std::mem::take(&mut self.typeahead));
        loop {
            let bytes = match next.take() {
                Some(b) => b,
                None => match self.input.recv().await {
                    Some(b) => b,
                    None => return,
                },
            };
            for step in self.console.input(&bytes) {
                let alive = match step {
                    Step::Echo(b) => self.send(b).await,
                    Step::Reply(b) => self.reply(b).await,
                    Step::Close => {
                        self.wire.finish(0).await;
                        false
                    }
                };
                if !alive {
                    return;
                }
            }
        }
    }

    pub(crate) async fn exec(mut self, command: String) {
        let reply = self.console.exec(&command);
        if !self.reply(reply.output).await {
            return;
        }
        self.wire.finish(reply.exit_status).await;
    }
}
