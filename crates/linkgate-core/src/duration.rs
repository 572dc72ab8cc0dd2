//! Human durations for lifetimes: `90s`, `15m`, `24h`, `7d`.

/// Parse `<digits><unit>` with unit `s`, `m`, `h` or `d` into seconds.
/// Refuses zero, missing units, signs, spaces and overflow.
pub fn parse_duration(text: &str) -> Option<u64> {
    let unit_at = text.len().checked_sub(1)?;
    let (digits, unit) = text.split_at_checked(unit_at)?;
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    let secs = n.checked_mul(mult)?;
    (secs > 0).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("7d"), Some(604_800));
    }

    #[test]
    fn refusals() {
        for bad in ["", "s", "10", "0s", "-5m", "+5m", "5 m", "5M", "1.5h", "5w", "ms", "1é", "999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
