use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A rate such as `50/s` or `600/m`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    per_second: f64,
}

impl Rate {
    /// `n` events per second: between one a day and a billion a second.
    pub fn per_second(n: f64) -> Option<Self> {
        (n.is_finite() && (1.0 / 86_400.0..=1e9).contains(&n)).then_some(Self { per_second: n })
    }

    /// Events per second.
    pub fn as_per_second(self) -> f64 {
        self.per_second
    }

    /// Time between two events.
    pub fn interval(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_second)
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `50/s`, `50/sec`, `600/m`, `3600/h` or a bare `50` (per second).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("invalid rate `{s}`: expected N/s, N/m or N/h, from 1/day to 1e9/s, e.g. 50/s")
        };
        let (n, unit) = s.split_once('/').unwrap_or((s, "s"));
        let n: f64 = n.trim().parse().map_err(|_| bad())?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            _ => return Err(bad()),
        };
        Rate::per_second(n / seconds).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates() {
        assert_eq!("50/s".parse::<Rate>().unwrap().as_per_second(), 50.0);
        assert_eq!("600/m".parse::<Rate>().unwrap().as_per_second(), 10.0);
        assert_eq!("20".parse::<Rate>().unwrap().as_per_second(), 20.0);
        assert!("0/s".parse::<Rate>().is_err());
        assert!("1e-30/s".parse::<Rate>().is_err());
        assert!("5/fortnight".parse::<Rate>().is_err());
    }
}
