//! `fanout run --group similar` on the simulator's outputs: per-device
//! host names, clocks and uptimes fold into one group, marked.

use fanout_core::Platform;

use crate::support::run;

#[test]
fn sim_show_version_and_clock_fold_into_one_marked_group() {
    let tmp = tempfile::tempdir().unwrap();
    let inventory = tmp.path().join("fleet.yaml");
    let _fleet = fanout_sim::Fleet::builder()
        .devices(4)
        .platform(Platform::Nxos)
        .inventory_out(&inventory)
        .start()
        .unwrap();
    let inv = inventory.to_str().unwrap();
    let commands = [
        "cli",
        "show version",
        "show clock",
        "show ip interface brief",
    ];
    let mut args = vec!["run", "-i", inv, "-e", "async"];
    args.extend_from_slice(&commands);
    // Exact grouping: every device prints its own name, so 4 groups.
    let exact = run(&args);
    assert_eq!(exact.code, 0, "{}", exact.stderr);
    assert_eq!(
        exact.stdout.matches(" (1)\n").count(),
        4,
        "{}",
        exact.stdout
    );

    let mut args = vec!["run", "-i", inv, "-e", "async", "--group", "similar"];
    args.extend_from_slice(&commands);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let title = r
        .stdout
        .lines()
        .find(|l| l.starts_with("r[1-4] (4)"))
        .unwrap_or_else(|| panic!("one group of the 4 devices: {}", r.stdout));
    // The host name always varies; the clock does unless every device
    // answered within the same tick (then "1 field varies").
    assert!(
        title.contains("1 field varies «marked»") || title.contains("fields vary «marked»"),
        "{title}"
    );
    // The host name is marked where it varies (the representative is the
    // first device to answer); the addresses of the sim's devices are the
    // same on every one, so they are not.
    assert!(
        (1..=4).any(|i| r.stdout.contains(&format!("Device name: «r{i}»\n"))),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("203.0.113.1 "), "{}", r.stdout);
    assert!(!r.stdout.contains("«203.0.113.1»"), "{}", r.stdout);
    assert_eq!(r.stdout.lines().filter(|l| l.starts_with("ok ")).count(), 4);
    assert!(
        r.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("4 hosts: 4 ok"),
        "{}",
        r.stdout
    );

    let json = run(&[
        "run",
        "-i",
        inv,
        "--group",
        "similar",
        "--format",
        "json",
        "exec",
        "show clock",
    ]);
    assert_eq!(json.code, 2);
    assert!(
        json.stderr.contains("use it with --format table"),
        "{}",
        json.stderr
    );
}
