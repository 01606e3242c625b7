//! The README is the source of this test: every command of its `sh` and
//! `console` blocks runs, in order, against the binary under test and a
//! fleet the README itself starts (`fanout sim serve ... --inventory-out
//! fleet.yaml`, in the background), and must exit 0 (or what a marker says)
//! and print the lines the README shows under `$ ` commands.
//!
//! HTML comments right above a block adapt it (see the README's
//! Development section): `replace`, `run ... as`, `skip`, `exit`, `loose`,
//! `not-run`. Anything the test cannot run unmarked — a command that is not
//! fanout, a plain block that looks like commands, a marker that matches
//! nothing — fails it, so commands added later are covered or marked.

mod markers;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::repo;
use markers::{Action, missing_lines, plan};

/// The longest any one README command may take here (debug build, shared
/// 2-core machine).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a background fleet may take to write its inventory.
const SERVE_TIMEOUT: Duration = Duration::from_secs(120);

/// A background `fanout sim serve`, stopped (SIGINT, then SIGKILL) on drop.
struct Server {
    child: Child,
    inventory: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scratch folder the commands run in: `inventories/` of the repo, an
/// empty `docs/`, and `bin/fanout`, the binary under test.
struct Workdir {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

impl Workdir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(repo().join("inventories"), dir.path().join("inventories"))
            .unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_fanout"), dir.path().join("bin/fanout"))
            .unwrap();
        let path = format!(
            "{}:{}",
            dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Self {
            dir,
            env: BTreeMap::from([("PATH".to_string(), path)]),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn bash(&self, script: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.args(["-o", "pipefail", "-c", script])
            .current_dir(self.path())
            .env_remove("LAB_PW")
            .env_remove("LAB_ENABLE")
            .envs(&self.env)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `script`: exit code (-1 on a signal or timeout) and output.
    fn run(&self, script: &str) -> (i32, String, String) {
        let mut child = self
            .bash(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let collect = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let out = collect(Box::new(child.stdout.take().unwrap()));
        let err = collect(Box::new(child.stderr.take().unwrap()));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break -1;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (code, out.join().unwrap(), err.join().unwrap())
    }

    /// Starts `script` in the background and waits for `inventory`.
    fn serve(&self, script: &str, inventory: &str) -> Result<Server, String> {
        let inventory = self.path().join(inventory);
        let _ = std::fs::remove_file(&inventory);
        let log = std::fs::File::create(self.path().join("serve.log")).unwrap();
        let mut child = self
            .bash(&format!("exec {script}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !inventory.exists() {
            let log = || std::fs::read_to_string(self.path().join("serve.log")).unwrap_or_default();
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "exited ({status}) before writing {}:\n{}",
                    inventory.display(),
                    log()
                ));
            }
            if started.elapsed() > SERVE_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "wrote no {} in {SERVE_TIMEOUT:?}:\n{}",
                    inventory.display(),
                    log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Server { child, inventory })
    }
}

#[test]
fn every_readme_command_does_what_the_readme_says() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let actions = plan(&readme).unwrap_or_else(|errors| panic!("{}", errors.join("\n")));
    let mut work = Workdir::new();
    let mut servers: Vec<Server> = Vec::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    for action in actions {
        match action {
            Action::Nothing => {}
            Action::Export(vars) => work.env.extend(vars),
            Action::Serve { step, inventory } => {
                // A new fleet on the same inventory replaces the old one.
                let path = work.path().join(&inventory);
                servers.retain(|s| s.inventory != path);
                match work.serve(&step.command, &inventory) {
                    Ok(server) => servers.push(server),
                    Err(why) => {
                        failures.push(format!("README.md:{}: `{}` {why}", step.line, step.command))
                    }
                }
            }
            Action::Run { step, exit, loose } => {
                let t = Instant::now();
                let (code, stdout, stderr) = work.run(&step.command);
                eprintln!(
                    "README.md:{} ({:.1} s, exit {code}): {}",
                    step.line,
                    t.elapsed().as_secs_f64(),
                    step.command
                );
                let output = format!("{stdout}{stderr}");
                let missing = missing_lines(&step.expected, &output, &loose);
                if code != exit || !missing.is_empty() {
                    failures.push(format!(
                        "README.md:{}: `{}` exited {code} (the README expects {exit}){}\n--- stdout:\n{}\n--- stderr:\n{}",
                        step.line,
                        step.command,
                        if missing.is_empty() {
                            String::new()
                        } else {
                            format!("; lines the README shows but it did not print:\n  {}", missing.join("\n  "))
                        },
                        tail(&stdout),
                        tail(&stderr)
                    ));
                }
            }
        }
    }
    drop(servers);
    eprintln!("README commands: {:.1} s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The last 40 lines of `text`, for messages.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
