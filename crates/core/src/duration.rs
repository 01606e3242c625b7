use std::time::Duration;

/// Parses a human duration: `50ms`, `1s`, `2m`, `1h30m`, `1.5s`. A bare number
/// is rejected (say which unit you mean).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Some(secs) = text.strip_suffix('s').filter(|s| s.contains('.')) {
        // humantime has no fractions; `1.5s` is common enough to accept.
        return secs
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("invalid duration `{text}`: expected e.g. 50ms, 1s, 1.5s, 2m"));
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
    fn bare_number_asks_for_a_unit() {
        let err = parse_duration("5").unwrap_err();
        assert!(err.contains("5s"), "{err}");
        assert!(parse_duration("fast").is_err());
    }
}
