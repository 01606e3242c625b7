//! `--serve ADDR`: the live browser view of `fanout run` and `fanout
//! compare` (the server is crates/live; this module is its wiring).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use fanout_core::{CancelToken, HostOutcome, RunSummary};
use fanout_live::{FeedListener, FeedWriter, LiveServer, RunId, RunInfo, ServeConfig};

/// The options of both commands.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Serve a live view of the run: open http://ADDR/ in a browser while
    /// it runs. ADDR is 127.0.0.1:PORT, localhost:PORT, [::1]:PORT or just
    /// PORT (port 0 picks a free one; the URL is printed on stderr).
    #[arg(long, value_name = "ADDR", value_parser = parse_serve_addr)]
    pub(crate) serve: Option<SocketAddr>,

    /// Allow --serve on a non-loopback address (e.g. 0.0.0.0:8080). The page
    /// shows every host's output to whoever can reach it, so it then needs a
    /// random token, printed as part of the URL.
    #[arg(long, requires = "serve")]
    pub(crate) serve_public: bool,

    /// Keep the live view up this long after the run ends (Ctrl-C stops
    /// waiting), so a browser can still open it or load outputs.
    #[arg(long, value_name = "DUR", requires = "serve", value_parser = parse_duration)]
    pub(crate) serve_linger: Option<Duration>,
}

/// `fanout run`'s options: `--serve`, plus the hidden feed to a comparing
/// `fanout compare --serve` process.
#[derive(Debug, Args)]
pub(crate) struct RunLiveArgs {
    #[command(flatten)]
    pub(crate) serve: ServeArgs,

    /// Internal (`fanout compare --serve`): send this run's outcomes to the
    /// comparing process's live view over this Unix socket.
    #[arg(long, value_name = "SOCKET", hide = true, conflicts_with = "serve")]
    pub(crate) live_feed: Option<PathBuf>,

    /// Internal: the title of this run's section on that page.
    #[arg(long, value_name = "LABEL", hide = true, requires = "live_feed")]
    pub(crate) live_label: Option<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    fanout_core::parse_duration(s)
}

/// `PORT`, `IP:PORT`, `[IPv6]:PORT` or `localhost:PORT`.
fn parse_serve_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("invalid port in `{s}`"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    s.parse().map_err(|_| {
        format!(
            "invalid address `{s}`: expected 127.0.0.1:PORT, localhost:PORT, [::1]:PORT or PORT"
        )
    })
}

fn start_server(args: &ServeArgs, title: String) -> Result<Option<LiveServer>> {
    let Some(addr) = args.serve else {
        return Ok(None);
    };
    let server = LiveServer::start(ServeConfig {
        addr,
        public: args.serve_public,
        title,
    })?;
    let url = server.url();
    if args.serve_public {
        eprintln!("fanout: live view at {url} (anyone with this URL can read every host's output)");
    } else {
        eprintln!("fanout: live view at {url}");
    }
    Ok(Some(server))
}

/// How long to linger, and a note about it on stderr.
fn linger(args: &ServeArgs, server: &LiveServer) -> Duration {
    let linger = args.serve_linger.unwrap_or(Duration::ZERO);
    if !linger.is_zero() {
        eprintln!(
            "fanout: the live view stays up for {} at {} (Ctrl-C to stop now)",
            fanout_core::format_duration(linger),
            server.url()
        );
    }
    linger
}

/// Waits out the linger of a server until Ctrl-C. A run that was already
/// interrupted waits for a second Ctrl-C (which exits the process).
fn finish_server(server: LiveServer, linger: Duration, cancel: &CancelToken) {
    let already = cancel.is_cancelled();
    server.finish(linger, &|| !already && cancel.is_cancelled());
}

/// The live side of one `fanout run`.
pub(crate) enum RunLive {
    Server { server: LiveServer, run: RunId },
    Feed(FeedWriter),
}

impl RunLive {
    /// Starts the server (`--serve`) or connects the feed (`--live-feed`);
    /// `None` without either.
    pub(crate) fn start(args: &RunLiveArgs, info: RunInfo) -> Result<Option<Self>> {
        if let Some(path) = &args.live_feed {
            let mut info = info;
            if let Some(label) = &args.live_label {
                info.label = label.clone();
            }
            let feed = FeedWriter::connect(path, info)
                .context("connecting to the live view of `fanout compare --serve`")?;
            return Ok(Some(Self::Feed(feed)));
        }
        let title = format!(
            "fanout run -e {} -c {}: {} ({} hosts)",
            info.executor, info.concurrency, info.task, info.hosts
        );
        let Some(server) = start_server(&args.serve, title)? else {
            return Ok(None);
        };
        let run = server.handle().begin_run(info);
        Ok(Some(Self::Server { server, run }))
    }

    /// One host finished (returns at once).
    pub(crate) fn host(&self, outcome: HostOutcome) {
        match self {
            Self::Server { server, run } => server.handle().host(*run, outcome),
            Self::Feed(feed) => feed.host(outcome),
        }
    }

    /// The run is over: the summary, then the linger (`--serve-linger`).
    pub(crate) fn finish(self, summary: &RunSummary, args: &RunLiveArgs, cancel: &CancelToken) {
        match self {
            Self::Server { server, run } => {
                server.handle().end_run(run, Some(summary));
                let linger = linger(&args.serve, &server);
                finish_server(server, linger, cancel);
            }
            Self::Feed(feed) => feed.finish(summary),
        }
    }
}

/// The live side of one `fanout compare`: a server, and the socket its
/// How long `compare --serve` waits, after its last run, for the children's
/// last lines to reach the page.
const FEED_DRAIN: Duration = Duration::from_secs(5);

/// `fanout run` children send their runs to.
pub(crate) struct CompareLive {
    server: LiveServer,
    feed: FeedListener,
    /// Child runs given the feed's arguments.
    children: std::sync::atomic::AtomicUsize,
}

impl CompareLive {
    pub(crate) fn start(args: &ServeArgs, title: String) -> Result<Option<Self>> {
        let Some(server) = start_server(args, title)? else {
            return Ok(None);
        };
        let feed = FeedListener::start(server.handle().clone())?;
        Ok(Some(Self {
            server,
            feed,
            children: Default::default(),
        }))
    }

    /// Extra `fanout run` arguments for one child run, titled `label`.
    pub(crate) fn child_args(&self, label: &str) -> Vec<std::ffi::OsString> {
        self.children
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        vec![
            "--live-feed".into(),
            self.feed.path().into(),
            "--live-label".into(),
            label.into(),
        ]
    }

    /// Every run is done: linger (not after Ctrl-C), then stop.
    pub(crate) fn finish(self, args: &ServeArgs, interrupted: &dyn Fn() -> bool) {
        let linger = if interrupted() {
            Duration::ZERO
        } else {
            linger(args, &self.server)
        };
        let Self {
            server,
            feed,
            children,
        } = self;
        // Every child's last lines on the page before it says `done` (a
        // child that never connected costs the wait).
        if !interrupted() {
            feed.wait_for(children.into_inner(), FEED_DRAIN);
        }
        server.finish(linger, interrupted);
        drop(feed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_addresses() {
        assert_eq!(
            parse_serve_addr("8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            parse_serve_addr("localhost:0").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(
            parse_serve_addr("[::1]:9").unwrap(),
            "[::1]:9".parse().unwrap()
        );
        assert!(parse_serve_addr("example.com:80").is_err());
    }
}
