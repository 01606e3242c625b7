use std::time::Duration;

/// The longest duration accepted anywhere (100 years): beyond it, deadlines
/// computed as `Instant + duration` could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Parses a human duration: `50ms`, `1s`, `2m`, `1h30m`, `1.5s`. A bare number
/// is rejected (say which unit you mean), and so is anything over 100 years.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = if let Some(secs) = text.strip_suffix('s').filter(|s| s.contains('.')) {
        // humantime has no fractions; `1.5s` is common enough to accept.
        secs.parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| format!("invalid duration `{text}`: expected e.g. 50ms, 1s, 1.5s, 2m"))
    } else {
        parse_whole(text)
    }?;
    if parsed > MAX_DURATION {
        return Err(format!("duration `{text}` is too long: at most 100 years"));
    }
    Ok(parsed)
}

fn parse_whole(text: &str) -> Result<Duration, String> {
    // humantime overflows (and panics) on absurdly long numbers; nothing
    // under 100 years needs more than 12 digits in one unit.
    let longest_number = text
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if longest_number > 12 {
        return Err(format!("duration `{text}` is too long: at most 100 years"));
    }
    humantime::parse_duration(text).map_err(|e| {
        if text.chars().all(|c| c.is_ascii_digit()) && !text.is_empty() {
            format!("invalid duration `{text}`: add a unit, e.g. {text}s or {text}ms")
        } else {
            format!("invalid duration `{text}` ({e}): expected e.g. 50ms, 1s, 1.5s, 2m")
        }
    })
}

/// Formats a duration the way the CLI accepts it back (`1s`, `250ms`).
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("50ms").unwrap(), Duration::from_millis(50));
        assert_eq!(parse_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    }

    #[test]
    fn absurd_values_are_errors_not_panics() {
        assert!(parse_duration("1.0e30s").is_err());
        assert!(parse_duration("-1.5s").is_err());
        assert!(parse_duration("500000000000y").is_err());
        assert!(parse_duration("99y").is_ok());
        assert!(parse_duration("18446744073709551615s 999999999ns 1ns").is_err());
    }

    #[test]
    fn bare_number_asks_for_a_unit() {
        let err = parse_duration("5").unwrap_err();
        assert!(err.contains("5s"), "{err}");
        assert!(parse_duration("fast").is_err());
    }
}
