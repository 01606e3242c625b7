//! `fanout compare --serve`: each executor run is a `fanout run` child
//! process; it sends its events to the comparing process over a Unix socket
//! (JSON Lines), and the comparing process puts each child's run on its
//! page as a section of its own.
//!
//! Lines: `{"type":"run_start","info":RunInfo}`, then one
//! `{"type":"host","outcome":{...}}` per host, then
//! `{"type":"run_end","summary":{...}}`. A child that dies before its
//! summary ends its section with `summary: null`.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fanout_core::{HostOutcome, RunSummary};
use serde::{Deserialize, Serialize};

use crate::event::RunInfo;
use crate::{LiveError, LiveHandle, RunId};

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    RunStart { info: RunInfo },
    Host { outcome: HostOutcome },
    RunEnd { summary: RunSummary },
}

/// The comparing process's end: a socket in a private temporary folder
/// that children connect to (one connection per child run).
pub struct FeedListener {
    path: PathBuf,
    _dir: tempfile::TempDir,
    /// Child connections read to their end, and a wake-up for each.
    finished: Arc<(Mutex<usize>, Condvar)>,
}

impl FeedListener {
    /// Listens in a new private folder; every connection becomes a run
    /// section of `live`.
    pub fn start(live: LiveHandle) -> Result<Self, LiveError> {
        let dir = tempfile::Builder::new()
            .prefix("fanout-live-")
            .tempdir()
            .map_err(|source| LiveError::Feed {
                path: std::env::temp_dir(),
                source,
            })?;
        let path = dir.path().join("feed.sock");
        let listener = UnixListener::bind(&path).map_err(|source| LiveError::Feed {
            path: path.clone(),
            source,
        })?;
        let finished: Arc<(Mutex<usize>, Condvar)> = Arc::default();
        let counter = Arc::clone(&finished);
        std::thread::Builder::new()
            .name("fanout-live-feed".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { break };
                    let live = live.clone();
                    let counter = Arc::clone(&counter);
                    let _ = std::thread::Builder::new()
                        .name("fanout-live-child".into())
                        .spawn(move || {
                            read_child(stream, &live);
                            let (count, woken) = &*counter;
                            *count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                            woken.notify_all();
                        });
                }
            })
            .map_err(|source| LiveError::Feed {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            path,
            _dir: dir,
            finished,
        })
    }

    /// Waits until `runs` child connections have been read to their end
    /// (a child that exited may still have lines in the socket), at most
    /// `limit`; whether they all were.
    pub fn wait_for(&self, runs: usize, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let (count, woken) = &*self.finished;
        let mut done = count.lock().unwrap_or_else(|e| e.into_inner());
        while *done < runs {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            done = woken
                .wait_timeout(done, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// What to pass to a child as `--live-feed`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_child(stream: UnixStream, live: &LiveHandle) {
    let mut run: Option<RunId> = None;
    let mut ended = false;
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Line>(&line) {
            Ok(Line::RunStart { info }) if run.is_none() => run = Some(live.begin_run(info)),
            Ok(Line::Host { outcome }) => {
                if let Some(run) = run {
                    live.host(run, outcome);
                }
            }
            Ok(Line::RunEnd { summary }) => {
                if let Some(run) = run {
                    live.end_run(run, Some(&summary));
                    ended = true;
                }
            }
            // A second start or a line we cannot read: ignore it; the
            // child's own output is what `compare` measures.
            _ => {}
        }
    }
    if let (Some(run), false) = (run, ended) {
        live.end_run(run, None);
    }
}

/// A child's end: sends its run to the comparing process from a thread of
/// its own, so the run never waits for the socket.
pub struct FeedWriter {
    tx: Option<mpsc::Sender<Line>>,
    thread: Option<JoinHandle<()>>,
}

impl FeedWriter {
    /// Connects to `path` and announces the run.
    pub fn connect(path: &Path, info: RunInfo) -> Result<Self, LiveError> {
        let stream = UnixStream::connect(path).map_err(|source| LiveError::Feed {
            path: path.to_path_buf(),
            source,
        })?;
        let (tx, rx) = mpsc::channel::<Line>();
        let thread = std::thread::Builder::new()
            .name("fanout-live-feed".into())
            .spawn(move || {
                let mut out = BufWriter::new(stream);
                for line in rx {
                    let sent = serde_json::to_writer(&mut out, &line)
                        .map_err(std::io::Error::other)
                        .and_then(|()| out.write_all(b"\n"))
                        .and_then(|()| out.flush());
                    // The comparing process went away: stop sending.
                    if sent.is_err() {
                        break;
                    }
                }
            })
            .map_err(|source| LiveError::Feed {
                path: path.to_path_buf(),
                source,
            })?;
        let writer = Self {
            tx: Some(tx),
            thread: Some(thread),
        };
        writer.send(Line::RunStart { info });
        Ok(writer)
    }

    fn send(&self, line: Line) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(line);
        }
    }

    /// One host finished.
    pub fn host(&self, outcome: HostOutcome) {
        self.send(Line::Host { outcome });
    }

    /// The run ended: sends the summary and waits until everything is sent.
    pub fn finish(mut self, summary: &RunSummary) {
        self.send(Line::RunEnd {
            summary: summary.clone(),
        });
        self.close();
    }

    fn close(&mut self) {
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FeedWriter {
    fn drop(&mut self) {
        self.close();
    }
}
