//! The README (and the guide, docs/guide/) is the source of this test: every command of its `sh` and
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
        std::os::unix::fs::symlink(repo().join("scripts"), dir.path().join("scripts")).unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_fanout"), dir.path().join("bin/fanout"))
            .unwrap();
        // `cargo run --release --example NAME` (the guide's) runs as
        // `fanout-example NAME`: the debug example at a tenth of its scale.
        let examples = crate::examples::examples_dir();
        let wrapper = dir.path().join("bin/fanout-example");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nname=\"$1\"; shift\nFANOUT_EXAMPLE_SCALE=${{FANOUT_EXAMPLE_SCALE:-0.1}} exec '{}'/\"$name\" \"$@\"\n",
                examples.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
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
    let failures = run_markdown("README.md");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The guide (docs/guide/*.md) is tested the same way, chapter by chapter,
/// each in its own scratch folder; its `cargo run --release --example NAME`
/// commands run the example built by `cargo test` (debug) at a tenth of its
/// time scale (`FANOUT_EXAMPLE_SCALE=0.1`), so their lines are checked but
/// their figures only by shape. scripts/guide.py reruns the same commands
/// on the release build and rewrites the figures.
#[test]
fn every_guide_command_does_what_the_guide_says() {
    let dir = repo().join("docs/guide");
    let mut chapters: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.ends_with(".md").then(|| format!("docs/guide/{name}"))
        })
        .collect();
    chapters.sort();
    assert!(
        chapters.len() >= 7,
        "the guide has a chapter per concept: {chapters:?}"
    );
    let failures: Vec<String> = chapters.iter().flat_map(|c| run_markdown(c)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs every command of the Markdown file `file` (relative to the repo)
/// and returns what did not do what the file says.
fn run_markdown(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let actions = plan(&text).unwrap_or_else(|errors| {
        let errors: Vec<String> = errors
            .iter()
            .map(|e| e.replacen("README.md:", &format!("{file}:"), 1))
            .collect();
        panic!("{}", errors.join("\n"))
    });
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
                        failures.push(format!("{file}:{}: `{}` {why}", step.line, step.command))
                    }
                }
            }
            Action::Run {
                step,
                exit,
                loose,
                any_order,
            } => {
                if let Some(name) = example_name(&step.command) {
                    // Refuses a missing or stale example with what to do.
                    crate::examples::binary(name);
                }
                let t = Instant::now();
                let (code, stdout, stderr) = work.run(&step.command);
                eprintln!(
                    "{file}:{} ({:.1} s, exit {code}): {}",
                    step.line,
                    t.elapsed().as_secs_f64(),
                    step.command
                );
                let mut output = format!("{stdout}{stderr}");
                if example_name(&step.command).is_some() {
                    // The guide shows the examples at their own scale.
                    output = output.replace(" at scale 0.1)", ")");
                }
                let missing = missing_lines(&step.expected, &output, &loose, any_order);
                if code != exit || !missing.is_empty() {
                    failures.push(format!(
                        "{file}:{}: `{}` exited {code} (the file expects {exit}){}\n--- stdout:\n{}\n--- stderr:\n{}",
                        step.line,
                        step.command,
                        if missing.is_empty() {
                            String::new()
                        } else {
                            format!("; lines the file shows but it did not print:\n  {}", missing.join("\n  "))
                        },
                        tail(&stdout),
                        tail(&stderr)
                    ));
                }
            }
        }
    }
    drop(servers);
    eprintln!("{file} commands: {:.1} s", started.elapsed().as_secs_f64());
    failures
}

/// `NAME` of a `fanout-example NAME ...` command.
fn example_name(command: &str) -> Option<&str> {
    command
        .strip_prefix("fanout-example ")?
        .split_whitespace()
        .next()
}

/// The last 40 lines of `text`, for messages.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
