//! An interactive SSH session driven by hand, as the seed drives asyncssh:
//! `open_session()` gives a reader and a writer, and the script writes a
//! line, then reads until the prompt it expects. This is what fanout's
//! `cli` task (fanout-netcli's dialog) does for you; the examples that
//! teach the dialog itself use this file (`#[path = "common/session.rs"]`).
//!
//! Transport: russh, the SSH library of fanout's async engine.
#![allow(dead_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fanout_core::Target;
use russh::client::{self, Handle, Msg};
use russh::keys::{PublicKey, PublicKeyOrCertificate, check_known_hosts_path};
use russh::{Channel, ChannelMsg, Disconnect};

/// What went wrong, in the categories the seed's `except` clauses catch.
#[derive(Debug)]
pub enum Error {
    /// `asyncssh.PermissionDenied`: the device refused the login.
    PermissionDenied(String),
    /// `asyncssh.Error` / `OSError`: anything else (connect, handshake, channel).
    Ssh(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::PermissionDenied(m) | Error::Ssh(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Checks the device's host key against a known_hosts file. (Never accept
/// any key, as many examples on the web do: that is what lets a
/// man-in-the-middle read your passwords.)
struct KnownHosts {
    file: PathBuf,
    host: String,
    port: u16,
}

impl client::Handler for KnownHosts {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            return Ok(false);
        };
        let key: &PublicKey = key;
        Ok(check_known_hosts_path(&self.host, self.port, key, &self.file).unwrap_or(false))
    }
}

/// One logged-in shell on a device: a PTY like a terminal's, and a buffer
/// of what the device printed that no `read_until` has consumed yet.
pub struct Session {
    handle: Handle<KnownHosts>,
    // Box<Msg>: fanout builds a patched russh (vendor/russh/PATCHES.md).
    channel: Channel<Box<Msg>>,
    unread: String,
}

impl Session {
    /// `asyncssh.connect(...)` then `open_session(term_type="Dumb",
    /// term_size=(200, 24))`: TCP, SSH handshake, host-key check, password
    /// login, PTY and shell. Wrap it in `tokio::time::timeout` for the
    /// seed's `wait_for(connect, timeout)`.
    pub async fn connect(target: &Target, known_hosts: &Path) -> Result<Self, Error> {
        let at = format!("{}:{}", target.address, target.port);
        let ssh = |e: russh::Error| Error::Ssh(format!("{e} ({at})"));
        let checker = KnownHosts {
            file: known_hosts.to_path_buf(),
            host: target.address.clone(),
            port: target.port,
        };
        let config = Arc::new(client::Config {
            nodelay: true,
            ..client::Config::default()
        });
        let mut handle = client::connect(config, (target.address.as_str(), target.port), checker)
            .await
            .map_err(ssh)?;
        let user = target.username.clone().unwrap_or_default();
        let password = target
            .credentials
            .password
            .as_ref()
            .map_or("", |p| p.expose());
        let auth = handle
            .authenticate_password(&user, password)
            .await
            .map_err(ssh)?;
        if !auth.success() {
            return Err(Error::PermissionDenied(
                "all authentication methods failed".into(),
            ));
        }
        let channel = handle.channel_open_session().await.map_err(ssh)?;
        channel
            .request_pty(true, "Dumb", 200, 24, 0, 0, &[])
            .await
            .map_err(ssh)?;
        channel.request_shell(true).await.map_err(ssh)?;
        Ok(Self {
            handle,
            channel,
            unread: String::new(),
        })
    }

    /// `writer.write(text)`. (asyncssh buffers it and returns at once; russh
    /// awaits room in the SSH window, which is why this is async.)
    pub async fn write(&mut self, text: &str) -> Result<(), Error> {
        self.channel
            .data(text.as_bytes())
            .await
            .map_err(|e| Error::Ssh(format!("writing to the device: {e}")))
    }

    /// `await reader.readuntil(patterns)`: everything the device printed up
    /// to and including the first of `patterns`; what follows stays unread.
    /// It waits as long as it takes — the seed's point is that it needs a
    /// timeout around it. Safe to cancel: what was read stays in the buffer.
    pub async fn read_until(&mut self, patterns: &[&str]) -> Result<String, Error> {
        loop {
            let found = patterns
                .iter()
                .filter_map(|p| self.unread.find(p).map(|at| at + p.len()))
                .min();
            if let Some(end) = found {
                return Ok(self.unread.drain(..end).collect());
            }
            if !self.receive().await {
                return Err(Error::Ssh(format!(
                    "the device closed the session; last output: {:?}",
                    self.unread
                )));
            }
        }
    }

    /// What arrives until the device has been quiet for `quiet` (the seed's
    /// `reader.read(1000)` in a loop under `wait_for(..., 0.1)`), together
    /// with whatever was still unread.
    pub async fn read_available(&mut self, quiet: Duration) -> String {
        while let Ok(true) = tokio::time::timeout(quiet, self.receive()).await {}
        std::mem::take(&mut self.unread)
    }

    /// Waits for the next piece of output; false once the channel is closed.
    async fn receive(&mut self) -> bool {
        loop {
            match self.channel.wait().await {
                // Devices end lines with CR LF; keep LF so printing is clean.
                Some(ChannelMsg::Data { data }) => {
                    self.unread
                        .push_str(&String::from_utf8_lossy(&data).replace("\r\n", "\n"));
                    return true;
                }
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return false,
                Some(_) => {}
            }
        }
    }

    /// `ssh.close()`: a polite SSH disconnect.
    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }
}
