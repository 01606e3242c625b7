//! Shared by the examples: the time scale, the "Completed in" line with the
//! seed's figure, `datetime.now()`-style timestamps, and a simulated lab.
//!
//! Every example includes this file with `#[path = "common/mod.rs"] mod common;`
//! and uses the parts it needs.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fanout_core::{Platform, Target};
use fanout_sim::{Fleet, FleetBuilder};

/// `FANOUT_EXAMPLE_SCALE` (default 1): every sleep and device latency is
/// multiplied by it, so the tests run the examples fast; at 1 they take the
/// seed's seconds.
pub fn scale() -> f64 {
    match std::env::var("FANOUT_EXAMPLE_SCALE") {
        Err(_) => 1.0,
        Ok(text) => match text.parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => s,
            _ => panic!("FANOUT_EXAMPLE_SCALE={text}: expected a number above 0, e.g. 0.05"),
        },
    }
}

/// `seconds` of the seed, scaled.
pub fn secs(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds * scale())
}

/// `FANOUT_EXAMPLE_DEVICES` if set (the tests use fewer devices), else `default`.
pub fn devices(default: usize) -> usize {
    std::env::var("FANOUT_EXAMPLE_DEVICES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// The seed's closing line, with our figure next to the seed's:
/// `Completed in 1.00 seconds. (seed: 1.00 s; ideal: 1.00 s)`.
/// `seed` is what the seed printed (None: it printed no time); `ideal` is
/// the time the waits alone take at scale 1, shown scaled.
pub fn completed(elapsed: Duration, seed: Option<f64>, ideal: Option<f64>) {
    println!(
        "Completed in {:.2} seconds. ({})",
        elapsed.as_secs_f64(),
        versus(seed, ideal)
    );
}

/// `seed: 3.00 s; ideal: 0.15 s at scale 0.05`, for lines of our own.
pub fn versus(seed: Option<f64>, ideal: Option<f64>) -> String {
    let mut text = match seed {
        Some(s) => format!("seed: {s:.2} s"),
        None => "seed: printed no time".to_string(),
    };
    if let Some(ideal) = ideal {
        let s = scale();
        text.push_str(&format!("; ideal: {:.2} s", ideal * s));
        if s != 1.0 {
            text.push_str(&format!(" at scale {s}"));
        }
    }
    text
}

/// Now as Python's `datetime.now()` prints it, in UTC:
/// `2026-12-01 09:54:42.163949`.
pub fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (days, rem) = (since.as_secs() / 86_400, since.as_secs() % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A simulated lab of `n` devices on loopback that behaves like the seed's
/// real ones: logging in costs 0.4 s (the SSH banner comes late) and every
/// command takes 0.15 s, both scaled. Add faults or change the platform on
/// the returned builder, then `.start()`.
pub fn lab(n: usize, platform: Platform) -> FleetBuilder {
    Fleet::builder()
        .devices(n)
        .platform(platform)
        .banner_delay(secs(0.4))
        .latency(secs(0.15), Duration::ZERO)
}

/// What `lab()` devices cost, in seconds at scale 1: the login (banner
/// delay) and each command line (paging off counts as one).
pub const LOGIN: f64 = 0.4;
/// See [`LOGIN`].
pub const COMMAND: f64 = 0.15;

/// The seed's four lab devices of 001's `devices.yaml`: r1 and r2 answer,
/// r3 will be given a wrong password, and r4 is "unreachable": it accepts
/// TCP but never sends the SSH banner, so the connection times out as it
/// does behind a dead route.
pub fn seed_lab() -> Fleet {
    lab(4, Platform::Ios)
        .faults("hang_on_connect=r4".parse().expect("fault spec"))
        .start()
        .expect("simulated fleet")
}

/// The seed's `timeout_socket: 5` in seconds, scaled but never under 2 s:
/// a working login must not time out on a busy machine at a small scale.
pub fn socket_timeout() -> f64 {
    (5.0 * scale()).max(2.0)
}

/// Writes the seed's `devices.yaml` (scrapli keys, one entry per device)
/// for the fleet of [`seed_lab`]: r3's password is wrong (`ciscoe`, as in
/// the seed). The timeouts are the seed's 5 s / 10 s, scaled but never
/// under 2 s / 4 s ([`socket_timeout`]).
pub fn write_devices_yaml(fleet: &Fleet, path: &Path) -> std::io::Result<()> {
    let mut yaml = String::new();
    for d in fleet.devices() {
        let password = if d.name == "r3" { "ciscoe" } else { "cisco" };
        yaml.push_str(&format!(
            "- host: {}\n  name: {}\n  port: {}\n  auth_username: cisco\n  auth_password: {password}\n  auth_secondary: cisco\n  timeout_socket: {:.2}\n  timeout_transport: {:.2}\n  platform: cisco_iosxe\n  transport: asyncssh\n",
            d.address,
            d.name,
            d.port,
            socket_timeout(),
            (10.0 * scale()).max(4.0),
        ));
    }
    std::fs::write(path, yaml)
}

/// `host:port` of a target, as the seed's messages name a device.
pub fn addr(t: &Target) -> String {
    format!("{}:{}", t.address, t.port)
}
