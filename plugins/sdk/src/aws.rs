//! Typed views of AWS API objects as the agent serves them: the JSON shape of the
//! AWS API (`InstanceId`, `IpPermissions` …), with only the fields checks use.
//! Unknown fields are ignored and missing ones take their defaults, so a check
//! keeps working when the host adds data.

pub mod ec2;
pub mod ip;
pub mod routes;
pub mod vpc;

use serde::de::DeserializeOwned;

/// An inventory kind with a typed document.
pub trait Kind: DeserializeOwned {
    /// The inventory kind string, e.g. `ec2:instance`.
    const KIND: &'static str;
}

/// Seconds since the Unix epoch of an RFC 3339 UTC timestamp as AWS returns
/// them (`2024-05-01T12:30:00Z`, optionally with fractional seconds or an
/// offset of `+00:00`). `None` when the text is not such a timestamp.
pub fn unix_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn parses_aws_timestamps() {
        assert_eq!(super::unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            super::unix_seconds("2000-03-01T00:00:00Z"),
            Some(951_868_800)
        );
        assert_eq!(
            super::unix_seconds("2024-02-29T12:30:15.123Z"),
            Some(1_709_209_815)
        );
        assert_eq!(super::unix_seconds("yesterday"), None);
        assert_eq!(super::unix_seconds("2024-13-01T00:00:00Z"), None);
    }
}
