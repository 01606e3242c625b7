//! Ctrl-C at random instants (issue 17): on every executor, SIGINT at
//! seeded random instants into `fanout run` with an SSH exec, a cli, a
//! local and a sleep task against a simulated fleet. Each run exits 130 (or
//! 0 if it had already finished, every host ok), reports every host exactly
//! once (ok, or cancelled), leaves no process behind (workers, local
//! children: found by an environment marker only our child carries), and
//! leaves its `--out-dir` complete with no staging folder beside it.
//!
//! `FANOUT_CTRL_C_RUNS` (default 2) instants per executor and task;
//! `FANOUT_CTRL_C_SEED` replays a failure (the seed is in every message).

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::{fanout, json_lines};

const EXECUTORS: [&str; 5] = ["seq", "threads", "rayon", "process", "async"];
const HOSTS: usize = 8;

/// xorshift64*: enough for instants, and replayable from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Processes (other than ours) whose environment carries `mark`.
fn marked_processes(mark: &str) -> Vec<String> {
    let needle = format!("FANOUT_CC_MARK={mark}");
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let env = std::fs::read(e.path().join("environ")).ok()?;
            let hit = env.split(|b| *b == 0).any(|var| var == needle.as_bytes());
            let cmd = std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default();
            hit.then(|| format!("{pid}: {}", cmd.replace('\0', " ")))
        })
        .collect()
}

/// One interrupted run: `fanout run -i INV -e EXECUTOR -c 3 TASK`, SIGINT
/// after `after`; what it must have done, or why not.
fn interrupted(
    inventory: &Path,
    executor: &str,
    task: &[&str],
    out_dir: &Path,
    after: Duration,
    mark: &str,
) -> Result<bool, String> {
    let mut child = fanout()
        .arg("run")
        .arg("-i")
        .arg(inventory)
        .args(["-e", executor, "-c", "3", "--format", "jsonl", "--out-dir"])
        .arg(out_dir)
        .args(task)
        .env("FANOUT_CC_MARK", mark)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start fanout: {e}"))?;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let (mut o, mut e) = (String::new(), String::new());
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        (o, e)
    });
    // The clock starts once the run has staged its --out-dir (the inventory
    // is loaded; Ctrl-C is handled from then on), however loaded the machine.
    let staging = out_dir
        .parent()
        .unwrap()
        .join(format!(".out.fanout-tmp-{}", child.id()));
    let until = Instant::now() + Duration::from_secs(30);
    while !staging.exists() && Instant::now() < until {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(after);
    if child.try_wait().map_err(|e| e.to_string())?.is_none() {
        // SAFETY: signalling our own child process, not yet reaped.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let (stdout, stderr) = reader.join().unwrap();
    let code = status.code().unwrap_or(-1);
    let context = || format!("exit {code}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}");
    let lines = json_lines(&stdout);
    let hosts: Vec<_> = lines.iter().filter(|l| l.get("host").is_some()).collect();
    let mut names: Vec<&str> = hosts.iter().filter_map(|h| h["host"].as_str()).collect();
    names.sort();
    names.dedup();
    if hosts.len() != HOSTS || names.len() != HOSTS {
        return Err(format!(
            "{} host lines for {HOSTS} hosts: {}",
            hosts.len(),
            context()
        ));
    }
    let ok = hosts.iter().filter(|h| h["status"] == "ok").count();
    if let Some(bad) = hosts
        .iter()
        .find(|h| h["status"] != "ok" && h["status"] != "cancelled")
    {
        return Err(format!(
            "a host neither ok nor cancelled: {bad}\n{}",
            context()
        ));
    }
    match code {
        130 => {}
        0 if ok == HOSTS => {}
        _ => return Err(format!("expected exit 130: {}", context())),
    }
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let left = marked_processes(mark);
        if left.is_empty() {
            break;
        }
        if Instant::now() > until {
            return Err(format!("left running: {left:?}\n{}", context()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let summary = std::fs::read_to_string(out_dir.join("summary.json"))
        .map_err(|e| format!("--out-dir has no summary.json ({e}): {}", context()))?;
    let summary: serde_json::Value = serde_json::from_str(&summary)
        .map_err(|e| format!("--out-dir's summary.json is not JSON ({e})"))?;
    if summary["summary"]["hosts"] != HOSTS {
        return Err(format!("--out-dir is not a complete run: {summary}"));
    }
    let beside: Vec<String> = std::fs::read_dir(out_dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "out")
        .collect();
    if !beside.is_empty() {
        return Err(format!("left beside --out-dir: {beside:?}"));
    }
    Ok(code == 130)
}

#[test]
fn ctrl_c_at_random_instants_on_every_executor_and_task() {
    let runs: usize = std::env::var("FANOUT_CTRL_C_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    let seed: u64 = std::env::var("FANOUT_CTRL_C_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let inventory = tmp.path().join("fleet.yaml");
    let _fleet = fanout_sim::Fleet::builder()
        .devices(HOSTS)
        .latency(Duration::from_millis(300), Duration::from_millis(50))
        .inventory_out(&inventory)
        .start()
        .unwrap();
    let hold = tmp.path().join("hold.sh");
    std::fs::write(&hold, "sleep 0.8; echo \"$1\"\n").unwrap();
    let hold = hold.to_str().unwrap().to_string();
    let tasks: [(&str, Vec<&str>); 4] = [
        ("exec", vec!["exec", "show version"]),
        ("cli", vec!["cli", "--enable", "show version"]),
        ("local", vec!["local", "sh", &hold, "{name}"]),
        ("sleep", vec!["sleep", "600ms"]),
    ];
    let mut failures = Vec::new();
    let (mut count, mut cut) = (0, 0);
    for executor in EXECUTORS {
        for (name, task) in &tasks {
            let cell = tmp.path().join(format!("{executor}-{name}"));
            std::fs::create_dir(&cell).unwrap();
            for run in 0..runs {
                // Within the first second (every task takes longer than that
                // on every executor): before the first login, mid-command.
                let after = Duration::from_millis(20 + rng.below(1000));
                let mark = format!("{seed}-{executor}-{name}-{run}");
                count += 1;
                match interrupted(&inventory, executor, task, &cell.join("out"), after, &mark) {
                    Ok(was_cut) => cut += usize::from(was_cut),
                    Err(why) => failures.push(format!(
                        "-e {executor} {name}, SIGINT after {after:?} (FANOUT_CTRL_C_SEED={seed}): {why}"
                    )),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} interrupted runs went wrong:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // A run that ignored SIGINT would end ok with exit 0: most must be cut.
    assert!(
        cut * 2 >= count,
        "only {cut} of {count} runs were cut short by SIGINT (FANOUT_CTRL_C_SEED={seed})"
    );
    eprintln!("{cut} of {count} runs cut short by SIGINT, seed {seed}");
}

/// SIGKILL while a run writes `--out-dir`: the previous folder stays
/// intact, and the next run names the killed run's staging folder and
/// removes it.
#[test]
fn a_killed_run_leaves_the_previous_folder_and_the_next_removes_its_staging() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run_to = |sleep: &str| {
        let mut cmd = fanout();
        cmd.args(["run", "--synthetic", "3", "--out-dir"])
            .arg(&out)
            .args(["sleep", sleep])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };
    let first = run_to("1ms").output().unwrap();
    assert!(first.status.success(), "{first:?}");
    let before = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let mut child = run_to("30s").spawn().unwrap();
    let staging = tmp.path().join(format!(".out.fanout-tmp-{}", child.id()));
    let until = Instant::now() + Duration::from_secs(30);
    while !staging.exists() {
        assert!(Instant::now() < until, "the run never staged its folder");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("summary.json")).unwrap(),
        before,
        "the previous folder is intact"
    );
    assert!(staging.exists(), "SIGKILL leaves the staging folder");
    let next = run_to("1ms").output().unwrap();
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert!(next.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("removed {}", staging.display())),
        "{stderr}"
    );
    assert!(!staging.exists(), "the stale staging folder is gone");
}
