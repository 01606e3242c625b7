//! Time without a clock crate: broken-down UTC, the date formats each
//! platform prints, and uptimes in words.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Utc {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) millis: u32,
    pub(crate) weekday: u32,
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `(year, month 1-12, day 1-31)` of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

/// Breaks `t` down in UTC.
pub(crate) fn utc(t: SystemTime) -> Utc {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Utc {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
        second: (rem % 60) as u32,
        millis: d.subsec_millis(),
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

impl Utc {
    pub(super) fn dow(&self) -> &'static str {
        DAYS[self.weekday as usize % 7]
    }
    pub(super) fn mon(&self) -> &'static str {
        MONTHS[(self.month as usize + 11) % 12]
    }
    pub(super) fn hms(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
    /// `10:15:42.123 UTC Wed Nov 25 2026` (Cisco `show clock`).
    pub(super) fn cisco(&self) -> String {
        let (d, m, y) = (self.dow(), self.mon(), self.year);
        format!(
            "{}.{:03} UTC {d} {m} {} {y}",
            self.hms(),
            self.millis,
            self.day
        )
    }
    /// `Wed Nov 25 10:15:42 2026`.
    pub(super) fn ctime(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.dow(),
            self.mon(),
            self.day,
            self.hms(),
            self.year
        )
    }
    /// `2026-11-25 10:15:42 UTC` (JunOS).
    pub(super) fn iso(&self) -> String {
        format!(
            "{}-{:02}-{:02} {} UTC",
            self.year,
            self.month,
            self.day,
            self.hms()
        )
    }
    /// `Wed Nov 25 10:15:42.123 UTC` (the IOS-XR line heading every show).
    pub(crate) fn xr_stamp(&self) -> String {
        format!(
            "{} {} {} {}.{:03} UTC",
            self.dow(),
            self.mon(),
            self.day,
            self.hms(),
            self.millis
        )
    }
}

fn plural(n: u64, unit: &str) -> String {
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `1 week, 2 days, 3 hours, 4 minutes` style uptime.
pub(super) fn uptime_words(up: Duration, sep: &str, last_sep: &str) -> String {
    let m = up.as_secs() / 60;
    let parts: Vec<String> = [
        (m / 10_080, "week"),
        (m / 1440 % 7, "day"),
        (m / 60 % 24, "hour"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, u)| plural(*n, u))
    .chain(std::iter::once(plural(m % 60, "minute")))
    .collect();
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}{last_sep}{last}", rest.join(sep)),
        _ => parts.join(sep),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
        let t = UNIX_EPOCH + Duration::from_millis(1_795_601_742_123);
        let u = utc(t);
        assert_eq!(u.cisco(), "10:15:42.123 UTC Wed Nov 25 2026");
        assert_eq!(u.xr_stamp(), "Wed Nov 25 10:15:42.123 UTC");
    }
}
