//! `--serve`: the live view of `fanout run` and `fanout compare`, read by a
//! websocket client (here) and by headless Chromium (live_browser.rs).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{fanout, json_lines};

/// A `fanout` child serving a live view.
pub(crate) struct Serving {
    pub(crate) child: Child,
    pub(crate) url: String,
    stderr: mpsc::Receiver<String>,
    stdout: Option<JoinHandle<String>>,
}

/// Starts `fanout ARGS` and waits for the URL it prints on stderr.
pub(crate) fn serve(args: &[&str]) -> Serving {
    let mut child = fanout()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let url = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no URL on stderr; it said {seen:?}"));
        if let Some(rest) = line.strip_prefix("fanout: live view at ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        seen.push(line);
    };
    Serving {
        child,
        url,
        stderr: rx,
        stdout: Some(stdout),
    }
}

impl Serving {
    /// Ctrl-C (ends `--serve-linger`).
    pub(crate) fn interrupt(&self) {
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
    }

    /// Waits for the exit: (code, stdout, stderr lines after the URL).
    pub(crate) fn wait(mut self, limit: Duration) -> (i32, String, Vec<String>) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("fanout did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout.take().unwrap().join().unwrap();
        let stderr = self.stderr.try_iter().collect();
        (status.code().unwrap_or(-1), stdout, stderr)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every event the websocket sends until `done` (or the server closes).
pub(crate) fn ws_events(url: &str, limit: Duration) -> Vec<Value> {
    let ws = match url.split_once('?') {
        Some((base, query)) => format!("{base}ws?{query}"),
        None => format!("{url}ws"),
    }
    .replacen("http://", "ws://", 1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
        let mut events: Vec<Value> = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        while events.last().is_none_or(|e| e["type"] != "done") {
            match tokio::time::timeout_at(deadline, socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    events.extend(serde_json::from_str::<Vec<Value>>(&text).unwrap());
                }
                Ok(Some(Ok(Message::Close(_))) | None) => break,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("websocket: {e}"),
                Err(_) => panic!("no `done` within {limit:?}; got {} events", events.len()),
            }
        }
        events
    })
}

pub(crate) fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

#[test]
fn run_serve_streams_every_outcome_and_the_summary_and_lingers_for_late_browsers() {
    let s = serve(&[
        "run",
        "--synthetic",
        "30",
        "-e",
        "async",
        "-c",
        "5",
        "--format",
        "jsonl",
        "--serve",
        "127.0.0.1:0",
        "--serve-linger",
        "2m",
        "sleep",
        "100ms",
    ]);
    assert!(s.url.starts_with("http://127.0.0.1:"), "{}", s.url);
    assert!(!s.url.contains("token"), "no token on loopback: {}", s.url);
    // Whether this connects during the run or after it, it gets it all.
    let events = ws_events(&s.url, Duration::from_secs(60));
    assert_eq!(events[0]["type"], "hello");
    let start = of_type(&events, "run_start");
    assert_eq!(start[0]["hosts"], 30);
    assert_eq!(start[0]["executor"], "async");
    assert_eq!(start[0]["concurrency"], 5);
    assert_eq!(start[0]["task"], "sleep 100ms");
    let hosts = of_type(&events, "host");
    let mut names: Vec<&str> = hosts
        .iter()
        .map(|e| e["outcome"]["host"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let expected: Vec<String> = (1..=30).map(|n| format!("host{n:04}")).collect();
    assert_eq!(names, expected);
    assert_eq!(hosts[29]["progress"]["done"], 30);
    s.interrupt();
    let (code, stdout, stderr) = s.wait(Duration::from_secs(30));
    assert_eq!(
        code, 0,
        "Ctrl-C while lingering is not an interrupted run: {stderr:?}"
    );
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 31, "30 hosts then the summary on stdout");
    let end = of_type(&events, "run_end");
    assert_eq!(
        end[0]["summary"], lines[30]["summary"],
        "page and stdout agree"
    );
    // The same host objects as --format jsonl (sleep outputs are tiny: not cut).
    let first = &lines[0];
    let same = hosts
        .iter()
        .find(|e| e["outcome"]["host"] == first["host"])
        .unwrap();
    assert_eq!(same["outcome"], *first);
    assert_eq!(same["cut"], false);
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("live view stays up for 2m")),
        "{stderr:?}"
    );
}

#[test]
fn serve_beyond_loopback_needs_serve_public_and_then_a_token() {
    let r = crate::support::run(&[
        "run",
        "--synthetic",
        "1",
        "--serve",
        "0.0.0.0:0",
        "sleep",
        "1ms",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a loopback address"), "{}", r.stderr);
    assert!(r.stderr.contains("--serve-public"), "{}", r.stderr);
    let r = crate::support::run(&["run", "--synthetic", "1", "--serve-public", "sleep", "1ms"]);
    assert_eq!(r.code, 2, "--serve-public needs --serve: {}", r.stderr);

    // Tests stay on 127.0.0.0/8: --serve-public on loopback still gets a token.
    let s = serve(&[
        "run",
        "--synthetic",
        "2",
        "--serve",
        "127.0.0.1:0",
        "--serve-public",
        "--serve-linger",
        "2m",
        "sleep",
        "1ms",
    ]);
    let (base, token) = s.url.split_once("/?token=").expect("a token in the URL");
    assert_eq!(token.len(), 32, "{}", s.url);
    let events = ws_events(&s.url, Duration::from_secs(60));
    assert_eq!(of_type(&events, "host").len(), 2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let without = format!("{}/ws", base.replacen("http://", "ws://", 1));
    assert!(
        rt.block_on(tokio_tungstenite::connect_async(without))
            .is_err(),
        "the websocket needs the token"
    );
    s.interrupt();
    let (code, _, _) = s.wait(Duration::from_secs(30));
    assert_eq!(code, 0);
}

#[test]
fn compare_serve_shows_each_executor_run_as_its_own_section() {
    let s = serve(&[
        "compare",
        "--synthetic",
        "10",
        "-e",
        "seq,async",
        "-q",
        "--serve",
        "127.0.0.1:0",
        "--serve-linger",
        "2m",
        "sleep",
        "20ms",
    ]);
    let events = ws_events(&s.url, Duration::from_secs(120));
    assert!(
        events[0]["title"]
            .as_str()
            .unwrap()
            .starts_with("fanout compare -e seq,async: sleep 20ms"),
        "{}",
        events[0]
    );
    let starts = of_type(&events, "run_start");
    let labels: Vec<&str> = starts
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["[1/2] seq run 1", "[2/2] async run 1"]);
    for (run, executor) in [(0, "seq"), (1, "async")] {
        assert_eq!(starts[run]["executor"], executor);
        let hosts = of_type(&events, "host")
            .into_iter()
            .filter(|e| e["run"] == run)
            .count();
        assert_eq!(hosts, 10, "run {run}");
        let end = of_type(&events, "run_end")
            .into_iter()
            .find(|e| e["run"] == run)
            .unwrap();
        assert_eq!(end["summary"]["ok"], 10);
        assert_eq!(end["summary"]["executor"], executor);
    }
    s.interrupt();
    let (code, stdout, _) = s.wait(Duration::from_secs(30));
    assert_eq!(code, 0);
    assert!(stdout.contains("async"), "the comparison table: {stdout}");
}
