//! Helpers: run the binary, parse its JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fanout() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fanout"));
    cmd.current_dir(repo());
    cmd.env_remove("LAB_PW").env_remove("LAB_ENABLE");
    cmd
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn inventory(name: &str) -> PathBuf {
    repo().join("inventories").join(name)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Run {
    let out = fanout().args(args).output().expect("run fanout");
    finish(out)
}

pub fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Runs `fanout ARGS` with stdout on a pipe, reads `lines` lines, closes the
/// pipe (as `| head -n LINES` does) and waits: the exit code, stderr, the
/// lines read, and how long it ran after the pipe was closed.
pub fn read_then_close(args: &[&str], lines: usize) -> (Run, std::time::Duration) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = fanout()
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start fanout");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut read = String::new();
    for _ in 0..lines {
        stdout.read_line(&mut read).unwrap();
    }
    drop(stdout);
    let closed = std::time::Instant::now();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (
        Run {
            code: status.code().unwrap_or(-1),
            stdout: read,
            stderr,
        },
        closed.elapsed(),
    )
}
