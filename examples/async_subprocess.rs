//! Seed 004 (blog "libraries used with asyncio", lines 12-39): asyncio's
//! subprocesses — two shell commands at once.
//!
//! `create_subprocess_shell` starts a command without blocking the event
//! loop; `communicate()` awaits its output. `gather` runs `ls /zzz` (which
//! fails: exit 2 and a message on stderr) and `sleep 1; echo "hello"`
//! together, so the whole thing takes the longer one, 1 s, and the failing
//! command reports first. tokio's `process::Command` is the same thing.
//!
//! ```text
//! cargo run --release --example async_subprocess
//! ```
//! fanout's `local` task runs a program per host this way (no shell:
//! `fanout run --synthetic 3 -e async local -- echo {host}`).

#[path = "common/mod.rs"]
mod common;

use std::process::Stdio;
use std::time::Instant;

use tokio::process::Command;

async fn run(cmd: String) -> std::io::Result<()> {
    let proc = Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // `await proc.communicate()`: both pipes read to the end, then the exit.
    let out = proc.wait_with_output().await?;
    let code = out.status.code().unwrap_or(-1);
    // One print per command, so the two commands' reports never interleave.
    let mut report = format!("['{cmd}' exited with {code}]\n");
    if !out.stdout.is_empty() {
        report += &format!("[stdout]\n{}\n", String::from_utf8_lossy(&out.stdout));
    }
    if !out.stderr.is_empty() {
        report += &format!("[stderr]\n{}\n", String::from_utf8_lossy(&out.stderr));
    }
    print!("{report}");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let s = Instant::now();
    let sleep = common::secs(1.0).as_secs_f64(); // "sleep 1" at scale 1
    let (a, b) = tokio::join!(
        run("ls /zzz".to_string()),
        run(format!("sleep {sleep}; echo \"hello\"")),
    );
    a?;
    b?;
    common::completed(s.elapsed(), None, Some(1.0));
    Ok(())
}
