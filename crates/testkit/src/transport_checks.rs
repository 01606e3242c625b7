//! What every transport, blocking or async, must give for one attempt
//! against the simulated fleet: the assertions both transport crates' own
//! tests make, written once (their attempt helpers differ: a cancel token,
//! or a dropped future).

use std::time::Duration;

use fanout_core::{CommandOutput, ErrorKind, Phase};
use fanout_engine::{AttemptError, Progress};

/// `show version` on a simulated IOS device: its output with exit status
/// 0, and connect, auth and command each timed, the last phase `command`.
pub fn assert_show_version(outputs: &[CommandOutput], progress: &Progress) {
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(outputs[0].command, "show version");
    assert!(
        outputs[0].stdout.contains("Cisco IOS Software"),
        "{outputs:?}"
    );
    assert_eq!(outputs[0].exit_status, Some(0));
    let t = progress.timings;
    assert!(
        t.connect > Duration::ZERO && t.auth > Duration::ZERO && t.command > Duration::ZERO,
        "every phase timed: {t:?}"
    );
    assert_eq!(
        progress.phase,
        Some(Phase::Command),
        "the last phase it was in"
    );
}

/// A device that rejects every login: `auth`, naming what was tried and
/// never the password, the host last in the auth phase.
pub fn assert_rejected_login(err: &AttemptError, progress: &Progress, password: &str) {
    assert_eq!(err.kind, ErrorKind::Auth, "{err:?}");
    assert!(err.message.contains("tried password"), "{}", err.message);
    assert!(!err.message.contains(password), "{}", err.message);
    assert_eq!(progress.phase, Some(Phase::Auth));
}

/// One device with a single session (a vty line), refusing any more with
/// an SSH disconnect (`TooManyConnections`), and a bare TCP connection
/// that holds that session: the device is out of sessions until the
/// returned stream is dropped.
pub fn device_out_of_sessions(password: &str) -> (fanout_sim::Fleet, std::net::TcpStream) {
    let fleet = fanout_sim::Fleet::builder()
        .devices(1)
        .credentials("admin", password, Some("en"))
        .max_sessions(1, fanout_sim::SessionLimitMode::Refuse)
        .start()
        .expect("the simulated fleet starts");
    let t = &fleet.targets()[0];
    let hog =
        std::net::TcpStream::connect((t.address.as_str(), t.port)).expect("the device listens");
    // The device takes the session as it accepts the connection (the
    // count goes up as the slot is taken).
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while fleet.stats().connections == 0 {
        assert!(
            std::time::Instant::now() < until,
            "the device never accepted the connection"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    (fleet, hog)
}

/// A device out of sessions: a handshake the device cut off (`connect`,
/// a storm against the device for `--connect-rate auto`), never `auth`
/// (no credential was judged).
pub fn assert_out_of_sessions(err: &AttemptError) {
    assert_eq!(err.kind, ErrorKind::Connect, "{err:?}");
    assert_eq!(
        err.congested,
        Some(fanout_engine::Congestion::Target),
        "{err:?}"
    );
    assert!(
        err.message.contains("SSH handshake with")
            && err
                .message
                .contains("failed: the device disconnected: too many sessions"),
        "in the device's words: {}",
        err.message
    );
}
