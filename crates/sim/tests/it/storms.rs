//! Connection storms: sshd's `MaxStartups START:RATE:FULL` random early
//! drop, measured from outside with bare TCP connections that never log in
//! (a dropped one is closed before the SSH banner).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fanout_sim::{Fleet, MaxStartups};

use crate::support::{have_ssh, lab, text};

/// Connects and reads the first line: `Some(stream)` when the device sent
/// its SSH banner, `None` when it closed the connection first.
fn connect(fleet: &Fleet, name: &str) -> Option<TcpStream> {
    let d = fleet.devices().iter().find(|d| d.name == name).unwrap();
    let stream = TcpStream::connect((d.address, d.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    match BufReader::new(&stream).read_line(&mut line) {
        Ok(n) if n > 0 => {
            assert!(line.starts_with("SSH-2.0-"), "{line:?}");
            Some(stream)
        }
        _ => None,
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `n` probes while the held connections stay: each accepted probe is
/// closed and the device given time to count it out. Returns which were
/// dropped.
fn probes(fleet: &Fleet, name: &str, held: usize, n: usize) -> Vec<bool> {
    (0..n)
        .map(|_| match connect(fleet, name) {
            Some(s) => {
                drop(s);
                wait_for("the probe to close", || fleet.stats().active == held);
                false
            }
            None => {
                wait_for("the drop to close", || fleet.stats().active == held);
                true
            }
        })
        .collect()
}

/// Opens unauthenticated connections until `n` more than the `base` ones
/// already open are held.
fn hold(fleet: &Fleet, name: &str, base: usize, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    let mut attempts = 0;
    while held.len() < n {
        attempts += 1;
        assert!(attempts < 20 * n + 100, "could not hold {n} connections");
        if let Some(s) = connect(fleet, name) {
            held.push(s);
        }
        wait_for("the attempt to settle", || {
            fleet.stats().active == base + held.len()
        });
    }
    held
}

#[test]
fn max_startups_drops_like_sshd() {
    let limit: MaxStartups = "10:30:100".parse().unwrap();
    let fleet = Fleet::builder()
        .devices(1)
        .seed(21)
        .max_startups(limit)
        .start()
        .unwrap();
    // Below START: nothing is dropped.
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(connect(&fleet, "r1").expect("below START every connection is served"));
    }
    wait_for("ten held", || fleet.stats().active == 10);
    assert_eq!(fleet.stats().startups_dropped, 0);

    // At START: RATE (30 %). 300 tries: mean 90, sd 7.9; bounds over 5 sd.
    let at_start = probes(&fleet, "r1", 10, 300);
    let dropped = at_start.iter().filter(|d| **d).count();
    assert!(
        (50..=130).contains(&dropped),
        "{dropped} of 300 dropped at 30 %"
    );
    assert_eq!(fleet.stats().startups_dropped, dropped);

    // Halfway (55 unauthenticated): 30 + 70 * 45/90 = 65 %. 200 tries:
    // mean 130, sd 6.7.
    held.extend(hold(&fleet, "r1", 10, 45));
    assert_eq!(held.len(), 55);
    let before = fleet.stats().startups_dropped;
    let mid = probes(&fleet, "r1", 55, 200);
    let dropped_mid = mid.iter().filter(|d| **d).count();
    assert!(
        (95..=165).contains(&dropped_mid),
        "{dropped_mid} of 200 dropped at 65 %"
    );
    assert_eq!(fleet.stats().startups_dropped - before, dropped_mid);

    // Closing the unauthenticated ones brings the rate back to zero.
    drop(held);
    wait_for("all closed", || fleet.stats().active == 0);
    assert!(probes(&fleet, "r1", 0, 20).iter().all(|d| !d));

    // Seeded: the same seed and the same connections drop the same ones.
    let again = Fleet::builder()
        .devices(1)
        .seed(21)
        .max_startups(limit)
        .start()
        .unwrap();
    let _held: Vec<TcpStream> = (0..10).map(|_| connect(&again, "r1").unwrap()).collect();
    wait_for("ten held", || again.stats().active == 10);
    assert_eq!(probes(&again, "r1", 10, 300), at_start);
}

#[test]
fn max_startups_full_drops_everything_and_logins_do_not_count() {
    if !have_ssh() {
        return;
    }
    // `MaxStartups 1`: one unauthenticated connection at a time.
    let lab = lab(Fleet::builder()
        .devices(1)
        .latency(Duration::from_secs(3), Duration::ZERO)
        .max_startups("1".parse().unwrap()));
    let fleet = &lab.fleet;
    let first = connect(fleet, "r1").expect("the first is served");
    wait_for("one held", || fleet.stats().active == 1);
    assert!(
        probes(fleet, "r1", 1, 20).iter().all(|d| *d),
        "FULL: all dropped"
    );
    // What OpenSSH says about a dropped connection.
    let out = lab
        .with_key("r1")
        .args(["cisco@127.0.0.1", "show clock"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // Closed before the banner (a reset when OpenSSH had sent its own).
    assert!(
        text(&out).1.contains("kex_exchange_identification"),
        "{}",
        text(&out).1
    );
    drop(first);
    wait_for("closed", || fleet.stats().active == 0);

    // A logged-in session is not a startup: beside it, a new connection
    // is served.
    let session = lab
        .with_key("r1")
        .args(["cisco@127.0.0.1", "show clock"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the login", || fleet.stats().commands >= 1);
    let probe = connect(fleet, "r1");
    assert!(probe.is_some(), "the authenticated session does not count");
    drop(probe);
    let out = session.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(fleet.stats().startups_dropped, 21);
}
