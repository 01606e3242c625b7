//! The teaching kit (`examples/`): every example runs at a reduced time
//! scale (`FANOUT_EXAMPLE_SCALE`) and must show the shape of its lesson —
//! the seed's lines in the seed's order, and timings in the seed's ratios
//! (with wide margins: the machine is shared).
//!
//! A plain `cargo test` builds the examples (debug) next to this test
//! binary, `target/debug/examples/NAME`; `cargo test FILTER` and
//! `cargo test --test e2e` do not, so run `cargo build --examples` first
//! then (a missing or stale example fails with that advice).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::support::repo;

const HINT: &str = "run `cargo build --examples` (a plain `cargo test` builds them too, `cargo test FILTER` does not)";

/// Where `cargo test` puts the examples it builds: target/PROFILE/examples.
pub(crate) fn examples_dir() -> PathBuf {
    let test_exe = std::env::current_exe().expect("test binary path");
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("target/PROFILE");
    profile_dir.join("examples")
}

/// The compiled example, refusing a missing or stale one (e.g. after
/// `cargo test --test e2e`, which does not build examples).
pub(crate) fn binary(name: &str) -> PathBuf {
    let bin = examples_dir().join(name);
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {HINT}", bin.display()));
    // The example's file and the shared files it includes (`#[path]`).
    let main = repo().join("examples").join(format!("{name}.rs"));
    let text = std::fs::read_to_string(&main).unwrap_or_default();
    let shared = ["mod.rs", "session.rs", "queue.rs"]
        .into_iter()
        .filter(|f| text.contains(&format!("\"common/{f}\"")))
        .map(|f| repo().join("examples/common").join(f));
    for src in std::iter::once(main.clone()).chain(shared) {
        let changed = std::fs::metadata(&src)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        assert!(
            changed <= built,
            "{} is older than {}: {HINT}",
            bin.display(),
            src.display()
        );
    }
    bin
}

struct Run {
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The seconds of every `Completed in X seconds.` line, in order.
    fn completed(&self) -> Vec<f64> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("Completed in "))
            .map(|rest| {
                let secs = rest.split(" seconds.").next().expect("seconds");
                secs.parse()
                    .unwrap_or_else(|_| panic!("not a number: {rest}"))
            })
            .collect()
    }

    /// Index of the first line equal to `line` (panics if absent).
    fn index(&self, line: &str) -> usize {
        self.lines()
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no line {line:?} in:\n{}", self.stdout))
    }

    /// The lines that start with `prefix`.
    fn starting(&self, prefix: &str) -> Vec<&str> {
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }
}

/// Runs example `name` at `scale` (with extra environment) and checks it exited 0.
fn run_with(name: &str, scale: f64, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(binary(name));
    cmd.env("FANOUT_EXAMPLE_SCALE", scale.to_string())
        .envs(env.iter().copied());
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("run example {name}: {e}"));
    let run = Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{}\n{}",
        out.status,
        run.stdout,
        run.stderr
    );
    run
}

fn run(name: &str, scale: f64) -> Run {
    run_with(name, scale, &[])
}

#[test]
fn sync_count_and_async_count_print_the_seeds_lines_and_gather_is_3x_faster() {
    let sync = run("sync_count", 0.5);
    assert_eq!(
        &sync.lines()[..6],
        ["One", "Two", "One", "Two", "One", "Two"]
    );
    let asy = run("async_count", 0.5);
    assert_eq!(
        &asy.lines()[..6],
        ["One", "One", "One", "Two", "Two", "Two"]
    );
    let (s, a) = (sync.completed()[0], asy.completed()[0]);
    assert!(s >= 1.5, "three 0.5 s sleeps one after another: {s}");
    assert!(
        s / a >= 2.5,
        "gather should be ~3x faster: sync {s} s, async {a} s"
    );
    assert!(sync.stdout.contains("(seed: 3.00 s;"), "{}", sync.stdout);
    assert!(asy.stdout.contains("(seed: 1.00 s;"), "{}", asy.stdout);
}

#[test]
fn asyncio_1_waits_one_then_two_seconds() {
    let r = run("asyncio_1", 0.1);
    assert_eq!(
        &r.lines()[..3],
        ["Hello ...", "... World!", "... and again."]
    );
    assert!(r.completed()[0] >= 0.3, "{}", r.stdout);
}

#[test]
fn multiprocess_1_runs_five_processes_with_their_own_pids() {
    let r = run("multiprocess_1", 1.0);
    let lines = r.lines();
    let mut numbers = Vec::new();
    let mut pids = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some(n) = l.strip_prefix("Worker number ") {
            numbers.push(n.parse::<u32>().expect("worker number"));
            let pid = lines[i + 1]
                .strip_prefix("process id: ")
                .expect("pid line after number");
            pids.push(pid.parse::<u32>().expect("pid"));
        }
    }
    numbers.sort_unstable();
    assert_eq!(numbers, [0, 1, 2, 3, 4], "{}", r.stdout);
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(
        pids.len(),
        5,
        "every worker is its own process: {}",
        r.stdout
    );
    assert!(!pids.contains(&std::process::id()));
}

#[test]
fn threading_1_runs_five_threads_and_prints_their_ids() {
    let r = run("threading_1", 1.0);
    let lines = r.lines();
    let mut numbers: Vec<u32> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some(n) = l.strip_prefix("Worker number ") {
            numbers.push(n.parse().expect("number"));
            let id = lines[i + 1]
                .strip_prefix("thread id: ")
                .expect("id line after number");
            id.parse::<u64>().expect("a pthread handle");
        }
    }
    numbers.sort_unstable();
    assert_eq!(numbers, [0, 1, 2, 3, 4], "{}", r.stdout);
}

#[test]
fn scrapli_examples_print_show_version_in_device_order() {
    let one = run("scrapli_example_1", 1.0);
    assert!(
        one.stdout
            .starts_with("Cisco Nexus Operating System (NX-OS) Software"),
        "{}",
        one.stdout
    );
    assert!(one.stdout.contains("Device name: r1"), "{}", one.stdout);
    // The seed's own latencies (see asyncssh_session's test).
    let two = run("scrapli_example_2", 1.0);
    let (r1, r2) = (
        two.stdout.find("Device name: r1"),
        two.stdout.find("Device name: r2"),
    );
    assert!(
        r1.is_some() && r1 < r2,
        "gather's order r1, r2:\n{}",
        two.stdout
    );
    assert!(
        two.stdout.contains("(seed: 1.37 s; ideal: "),
        "{}",
        two.stdout
    );
    // Two devices at once take about one device's time (one alone: 0.7 s
    // of waits; one after another would be 1.4 s).
    assert!(
        two.completed()[0] < one.completed()[0] * 1.8,
        "{}\n{}",
        one.stdout,
        two.stdout
    );
}

#[test]
fn await_twice_takes_six_seconds_create_task_four() {
    let r = run("await_vs_create_task", 0.2);
    let first: Vec<&str> = r
        .lines()
        .into_iter()
        .filter(|l| l.starts_with(">>>") || l.starts_with("<<<"))
        .collect();
    assert_eq!(
        first,
        [
            ">>> start task1",
            "<<< end   task1",
            ">>> start task2",
            "<<< end   task2",
            ">>> start task1",
            ">>> start task2",
            "<<< end   task2",
            "<<< end   task1",
        ],
        "{}",
        r.stdout
    );
    assert!(r.index("Все задачи запущены") > r.index(">>> start task2"));
    let t = r.completed();
    let ratio = t[1] / t[0];
    assert!(
        (0.55..0.8).contains(&ratio),
        "create_task should take ~4/6 of awaiting: {t:?}"
    );
}

#[test]
fn a_blocking_sleep_stalls_the_loop_and_spawn_blocking_fixes_it() {
    let r = run("blocking_in_async", 0.1);
    let blocks: Vec<&str> = r.stdout.split("Completed in ").collect();
    assert_eq!(blocks.len(), 4, "{}", r.stdout);
    let interleaved = |b: &str| {
        let lines: Vec<&str> = b.lines().collect();
        let first_hello = lines.iter().position(|l| *l == "hello").expect("hello");
        first_hello
            < lines
                .iter()
                .position(|l| *l == "<<< End   task1")
                .expect("end")
    };
    assert!(
        interleaved(blocks[0]),
        "asyncio.sleep interleaves:\n{}",
        blocks[0]
    );
    let stalled: Vec<&str> = blocks[1].lines().collect();
    let last_42 = stalled.iter().rposition(|l| *l == "42").expect("42");
    let task2 = stalled
        .iter()
        .position(|l| *l == ">>> Start task2")
        .expect("task2");
    assert!(last_42 < task2, "time.sleep stalls task2:\n{}", blocks[1]);
    assert!(
        interleaved(blocks[2]),
        "spawn_blocking interleaves again:\n{}",
        blocks[2]
    );
    let t = r.completed();
    assert!(
        t[1] > t[0] * 1.1 && t[1] > t[2] * 1.1,
        "the stalled run is the slow one (11 vs 9): {t:?}"
    );
}

#[test]
fn gather_keeps_input_order_as_completed_does_not() {
    let r = run("gather_vs_as_completed", 0.1);
    let sent: Vec<&str> = r.starting("Отправляю команду test на устройство ");
    let sent: Vec<&str> = sent.iter().map(|l| l.rsplit(' ').next().unwrap()).collect();
    assert_eq!(
        sent,
        ["2", "3", "5", "7"],
        "devices answer in completion order"
    );
    r.index("['test 5', 'test 2', 'test 3', 'test 7']");
    let done: Vec<&str> = r.starting("DONE ");
    assert_eq!(
        done,
        [
            "DONE task 1",
            "DONE task 5",
            "DONE task 3",
            "DONE task 4",
            "DONE task 2"
        ]
    );
    let started: Vec<&str> = r.starting(">>> start ");
    assert_eq!(started.len(), 5);
}

#[test]
fn fail_fast_gather_stops_at_the_first_error_return_exceptions_keeps_all() {
    let r = run("gather_return_exceptions", 0.1);
    let (part1, part2) = r.stdout.split_once("Completed in ").expect("two parts");
    assert!(
        part1.contains("OSError: Не могу подключиться к 3"),
        "{part1}"
    );
    assert!(
        !part1.contains("устройство 5"),
        "fail-fast never reaches device 5: {part1}"
    );
    assert!(
        part2.contains("['test 5', 'test 2', OSError('Не могу подключиться к 3'), 'test 7']"),
        "{part2}"
    );
    let t = r.completed();
    assert!(t[0] < t[1] * 0.6, "fail-fast ends at 3 of 8 s: {t:?}");
}

#[test]
fn wait_for_times_out_and_keeps_the_last_output() {
    let r = run("wait_for_last_output", 0.2);
    let timeout = r.index("TimeoutError при выполнении reader.readuntil('>')");
    assert_eq!(r.lines()[timeout + 1], "Последний вывод:");
    assert!(
        r.lines()[timeout + 2..]
            .iter()
            .any(|l| l.starts_with("Interface")),
        "{}",
        r.stdout
    );
    assert!(
        r.index("r1#") > timeout,
        "the last output ends with the real prompt"
    );
    r.index("Current privilege level is 15");
    assert!(r.stdout.contains("strict=False kept"), "{}", r.stdout);
}

#[test]
fn asyncssh_session_reads_until_each_prompt_and_gathers_three_devices() {
    // At the seed's own latencies: at a smaller scale the logins' CPU (a
    // debug build, on a loaded machine) outweighs the waits gather overlaps.
    let r = run("asyncssh_session", 1.0);
    assert_eq!(
        &r.lines()[..4],
        [
            r#""\nr1>""#,
            r#""enable\nPassword""#,
            r#"": \nr1#""#,
            r#""terminal length 0\nr1#""#
        ]
    );
    assert_eq!(
        r.starting("Ok(\"sh ip int br\\nInterface").len(),
        3,
        "{}",
        r.stdout
    );
    let last = r.starting("one device: ")[0];
    let nums: Vec<f64> = last
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        nums[1] < nums[0] * 2.0,
        "three gathered take about one device's time: {last}"
    );
}

#[test]
fn ex11_sends_show_and_config_commands_in_one_session() {
    let r = run("ex11_asyncssh_basic_class", 0.2);
    r.index("r1(config)#logging buffered 20010");
    r.index("r1(config)#ip http server");
    let tail = &r.lines()[r.index("r1(config)#end")..];
    assert!(
        tail.contains(&"logging buffered 20010") && tail.contains(&"ip http server"),
        "{}",
        r.stdout
    );
}

#[test]
fn ex05_scans_two_good_a_wrong_password_and_an_unreachable_device() {
    let r = run("ex05_async_iterator_ssh", 0.2);
    let results: Vec<&str> = r
        .lines()
        .into_iter()
        .filter_map(|l| l.split_once(" SSH. "))
        .map(|(_, m)| m)
        .collect();
    assert_eq!(results.len(), 4, "{}", r.stdout);
    assert_eq!(results[0], "Подключение успешно: r1#");
    assert_eq!(results[1], "Подключение успешно: r2#");
    assert!(results[2].starts_with("Не удалось подключиться: all authentication methods failed"));
    assert!(results[3].starts_with("Не удалось подключиться: timed out opening connection"));
}

#[test]
fn devices_yaml_reports_each_failure_kind_and_none_in_its_place() {
    let r = run("devices_yaml", 0.2);
    r.index("Authentication Error on r3");
    r.index("Connection Timeout on r4");
    let list: Vec<&str> = r.lines()[r.index("[") + 1..r.index("]")].to_vec();
    assert!(
        list[0].starts_with("  Some(\"Interface") && list[1].starts_with("  Some(\"Interface"),
        "{list:?}"
    );
    assert_eq!(&list[2..], ["  None,", "  None,"]);
}

#[test]
fn semaphore_20_never_lets_more_than_20_in() {
    let r = run("semaphore_20", 0.02);
    assert_eq!(r.starting("Подключаюсь к ").len(), 500);
    assert_eq!(r.starting("Ответ от ").len(), 500);
    r.index("most connections in flight at once: 20 (Semaphore(20))");
    assert!(
        r.completed()[0] >= 25.0 * 0.02,
        "25 rounds of 20 ms: {}",
        r.stdout
    );
}

#[test]
fn async_subprocess_runs_both_commands_and_the_failing_one_reports_first() {
    let r = run("async_subprocess", 0.2);
    let ls = r.index("['ls /zzz' exited with 2]");
    assert!(r.lines()[ls + 1] == "[stderr]", "{}", r.stdout);
    let sleep = r
        .lines()
        .iter()
        .position(|l| l.starts_with("['sleep 0.2; echo \"hello\"' exited with 0]"));
    assert!(sleep > Some(ls), "{}", r.stdout);
    r.index("hello");
}

#[test]
fn sync_primitives_each_do_their_job() {
    let r = run("sync_primitives", 0.2);
    r.index(r#"Lock: ["writer 1 start", "writer 1 end", "writer 2 start", "writer 2 end", "writer 3 start", "writer 3 end"]"#);
    assert!(r.index("waiting for it ...") < r.index("... got it!"));
    r.index("Condition: the counter reached 3");
    r.index("Semaphore: at most 10 of 30 held a permit at once");
    r.index("Queue: put_nowait 1, 2, 3 -> [true, true, false]; get -> Some(1), Some(2)");
    r.index(r#"PriorityQueue: ["high", "mid", "low"]; LifoQueue: ["third", "second", "first"]"#);
}

#[test]
fn three_queue_workers_take_about_a_third_of_the_total_sleep() {
    let r = run("queue_workers", 0.2);
    assert_eq!(r.starting("worker-").len(), 20, "{}", r.stdout);
    let value = |prefix: &str| -> f64 {
        let l = r.starting(prefix)[0];
        l[prefix.len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (parallel, total) = (
        value("3 workers slept in parallel for "),
        value("total expected sleep time: "),
    );
    assert!(
        parallel >= total / 3.0 * 0.95 && parallel < total / 2.0,
        "parallel {parallel} vs total {total}"
    );
}

#[test]
fn two_stage_pipeline_runs_stage_two_for_every_role_in_order() {
    let r = run("two_stage_pipeline", 0.2);
    let cmds = r.starting("echo restart service on 'name@(");
    assert_eq!(cmds.len(), 3, "{}", r.stdout);
    for (cmd, role) in cmds.iter().zip(["cache", "relay", "live"]) {
        assert!(cmd.contains(&format!("({role}-Ethernet0/2)")), "{cmd}");
    }
    assert_eq!(
        r.lines()
            .iter()
            .filter(|l| l.ends_with("exited with 0]"))
            .count(),
        3
    );
}

#[test]
fn ping_subprocess_splits_reachable_from_unreachable_with_overlapping_checks() {
    let r = run("ping_subprocess", 0.25);
    let reachable = r.starting("reachable:   ")[0];
    let unreachable = r.starting("unreachable: ")[0];
    assert_eq!(reachable.matches("127.0.0.1:").count(), 2, "{reachable}");
    assert_eq!(
        unreachable.matches("127.0.0.1:").count(),
        1,
        "{unreachable}"
    );
    r.index("[true, true, false]");
    // One check takes 2 x 0.25 s; three one after another would be 1.5 s.
    for t in r.completed() {
        assert!((0.45..1.1).contains(&t), "checks overlap: {}", r.stdout);
    }
}

#[test]
fn process_queue_joins_every_process_then_reads_every_result() {
    let r = run("process_queue", 0.2);
    let lines = r.lines();
    let last_add = lines
        .iter()
        .rposition(|l| *l == "Adding Process to the list")
        .unwrap();
    let first_join = r.index("Joining the finished process to the main truck");
    let last_join = lines
        .iter()
        .rposition(|l| *l == "Joining the finished process to the main truck")
        .unwrap();
    let first_move = r.index("Moving the result from the queue to the results list");
    assert!(
        last_add < first_join && last_join < first_move,
        "{}",
        r.stdout
    );
    assert_eq!(r.starting("Moving the result").len(), 5);
    assert_eq!(
        r.stdout.matches("Building configuration...").count(),
        5,
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stderr
            .matches("Adding the result to the multiprocess queue")
            .count(),
        5
    );
}

#[test]
fn threads_processes_async_all_finish_the_same_devices() {
    let r = run_with(
        "threads_processes_async",
        0.2,
        &[("FANOUT_EXAMPLE_DEVICES", "12")],
    );
    for model in ["threads", "processes", "async"] {
        let line = r.starting(model)[0];
        assert!(line.contains("  12/12 ok in "), "{line}");
    }
}

#[test]
fn to_thread_overlaps_what_the_blocking_call_serialises() {
    let r = run("to_thread", 0.2);
    let t = r.completed();
    assert!(
        t[0] > t[1] * 2.0,
        "three blocking calls on the loop vs on threads: {t:?}"
    );
    assert_eq!(r.starting("r1: *").len(), 2, "{}", r.stdout);
}

#[test]
fn eight_connections_async_wins_only_what_the_devices_session_limit_allows() {
    let r = run("eight_connections", 0.4);
    let t = r.completed();
    assert_eq!(t.len(), 2, "{}", r.stdout);
    let (sync, asy) = (t[0], t[1]);
    assert!(
        sync >= 8.0 * 0.75 * 0.4,
        "8 connections of 0.3 s one after another: {}",
        r.stdout
    );
    assert!(
        asy < sync * 0.8,
        "async faster than sync (ideal: half): {}",
        r.stdout
    );
    assert!(
        asy >= 4.0 * 0.75 * 0.4,
        "one session per device: 4 rounds, however many the client opens: {}",
        r.stdout
    );
    // What the simulated devices counted: never more sessions at once than
    // their limit, and the async client did try to open more.
    let peaks = r.starting("most sessions at once per device: ")[0];
    let counts: Vec<&str> = peaks["most sessions at once per device: ".len()..]
        .split(" (")
        .next()
        .unwrap()
        .split(", ")
        .collect();
    assert_eq!(counts, ["r1 1", "r2 1"], "{peaks}");
    assert!(peaks.ends_with("(limit 1 per device)"), "{peaks}");
    let waited = r.starting("connections that waited for a free session: ")[0];
    let asy_waited: usize = waited.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        waited.contains("sync 0,") && asy_waited >= 4,
        "async queued at the devices: {waited}"
    );
    assert_eq!(r.lines().len(), 7, "no failed connection: {}", r.stdout);
}

#[test]
fn cdp_cabling_sees_every_planned_cable_from_both_ends_but_the_unplugged_one() {
    let r = run_with("cdp_cabling", 0.2, &[("FANOUT_EXAMPLE_DEVICES", "20")]);
    // The same fleet (same size, cables and seed) wires the same way: the
    // plan the example checked against.
    let fleet = fanout_sim::Fleet::builder()
        .devices(20)
        .cables(140)
        .start()
        .expect("fleet");
    let plan = fleet.cabling();
    assert_eq!(plan.len(), 140);
    r.index(
        "20 devices, 140 cables in the plan; `show cdp neighbors detail` on every device at once",
    );
    assert_eq!(
        r.starting("collected 20/20 devices in ").len(),
        1,
        "{}",
        r.stdout
    );
    r.index("CDP sees 139 cables, 139 of them from both ends");
    r.index("one-sided (the far end does not list it back): none");
    r.index("seen but not planned: none");
    let missing = r.starting("planned but not seen: ");
    assert_eq!(missing.len(), 1, "{}", r.stdout);
    let missing = &missing[0]["planned but not seen: ".len()..];
    assert!(
        plan.iter().any(|c| {
            let (a, b) = (
                format!("{} {}", c.a.0, c.a.1),
                format!("{} {}", c.b.0, c.b.1),
            );
            missing == format!("{a} <-> {b}") || missing == format!("{b} <-> {a}")
        }),
        "the unplugged cable is one of the plan's: {missing}"
    );
}

#[test]
fn memory_arp_parses_every_device_and_agrees_with_the_simulators_figures() {
    let r = run_with("memory_arp", 0.2, &[("FANOUT_EXAMPLE_DEVICES", "40")]);
    r.index("40 devices, 40 at a time: `show memory statistics` and `show ip arp` on each");
    assert_eq!(
        r.starting("parsed 40/40 devices in ").len(),
        1,
        "{}",
        r.stdout
    );
    r.index("checked against the devices' own figures (`show processes memory`, `show ip arp` on the simulator's console): 40/40 agree");
    // Least free first, as a share of the pool.
    let share = |l: &str| -> f64 {
        let pct = l.rsplit('(').next().unwrap().trim_end_matches(" %)");
        pct.parse().unwrap()
    };
    let least = r.starting("least free memory: ");
    assert_eq!(least.len(), 3, "{}", r.stdout);
    let most = r.starting("most free memory:  ")[0];
    assert!(
        share(least[0]) <= share(least[1])
            && share(least[1]) <= share(least[2])
            && share(least[2]) <= share(most),
        "{}",
        r.stdout
    );
    // The spread of ARP table sizes covers all 40 devices and adds up.
    let arp = r.starting("ARP tables: ")[0];
    let (total, spread) = arp["ARP tables: ".len()..]
        .split_once(" entries in all; ")
        .unwrap();
    let (mut entries, mut devices) = (0, 0);
    for part in spread.split(", ") {
        let (e, d) = part.split_once(" entries: ").unwrap();
        let (e, d): (usize, usize) = (
            e.parse().unwrap(),
            d.trim_end_matches(" devices").parse().unwrap(),
        );
        entries += e * d;
        devices += d;
    }
    assert_eq!(devices, 40, "{arp}");
    assert_eq!(entries, total.parse::<usize>().unwrap(), "{arp}");
    assert!(spread.contains(", "), "IOS and IOS-XE tables differ: {arp}");
}

#[test]
fn protocol_scans_classify_every_device_and_take_about_the_longest_scan() {
    let r = run("protocol_scans", 0.5);
    let list = |prefix: &str| {
        let lines = r.starting(prefix);
        assert_eq!(lines.len(), 1, "one {prefix:?} line in:\n{}", r.stdout);
        lines[0].strip_prefix(prefix).unwrap().to_string()
    };
    assert_eq!(list("SSH    reachable:   "), "r1, r2", "{}", r.stdout);
    let ssh_down = list("SSH    unreachable: ");
    assert!(ssh_down.starts_with("r3 (auth: "), "{}", r.stdout);
    assert_eq!(list("Telnet reachable:   "), "r1, r2", "{}", r.stdout);
    let telnet_down = list("Telnet unreachable: ");
    assert!(telnet_down.starts_with("r3 (connect: "), "{}", r.stdout);
    // The "icmp" scan: SSH r3 answers (only its login fails), telnet r3's
    // port is closed.
    let icmp_up = list("ICMP   reachable:   ");
    assert!(
        icmp_up.contains("(SSH r3)") && icmp_up.contains("(Telnet r1)"),
        "{}",
        r.stdout
    );
    assert_eq!(icmp_up.matches("127.0.0.1:").count(), 2, "{}", r.stdout);
    let icmp_down = list("ICMP   unreachable: ");
    assert!(
        icmp_down.contains("(Telnet r3) (no answer to 3 TCP connects)")
            && icmp_down.matches("127.0.0.1:").count() == 1,
        "{}",
        r.stdout
    );
    // The seed's lines: one per device and protocol, as they came.
    assert_eq!(r.stdout.matches(". Подключение успешно: ").count(), 6);
    assert_eq!(r.stdout.matches(". Не удалось подключиться: ").count(), 3);
    // Timing: the sum of the three one after another, against all at once.
    let apart = r.starting("one after another: ")[0];
    let sum: f64 = apart
        .rsplit("= ")
        .next()
        .and_then(|t| t.strip_suffix(" s"))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no total in {apart:?}"));
    let together = r.completed()[0];
    // Ideal at scale 0.5: SSH 0.9 + telnet 0.7 + ICMP 0.9 = 2.5 s one
    // after another, 0.9 s at once.
    assert!(sum >= 2.0, "three scans' waits one after another: {apart}");
    assert!(together >= 0.8, "at least the longest scan: {}", r.stdout);
    assert!(
        together < 0.75 * sum,
        "concurrent scans take about the longest one, well below the sum: {}",
        r.stdout
    );
}
