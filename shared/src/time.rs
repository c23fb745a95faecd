//! The T7470's clock: local wall time with no zone, written `YYYY-MM-DDTHH:MM:SS`.
//!
//! A `DeviceTime` is that wall time as seconds since 1970-01-01T00:00:00 *of the
//! same naive calendar*, so subtracting two of them gives a real duration and
//! adding an offset to a UTC clock gives "what the device's clock says now".
//! Calendar arithmetic is done here (proleptic Gregorian, Howard Hinnant's
//! days-from-civil) so the wasm build needs no date crate.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceTime(i64);

/// A timestamp that is not `YYYY-MM-DDTHH:MM:SS` or names a day that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadTimestamp(pub String);

impl fmt::Display for BadTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not a device timestamp (expected YYYY-MM-DDTHH:MM:SS)",
            self.0
        )
    }
}

impl std::error::Error for BadTimestamp {}

impl DeviceTime {
    pub const fn from_seconds(seconds: i64) -> Self {
        DeviceTime(seconds)
    }

    pub const fn seconds(self) -> i64 {
        self.0
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        DeviceTime(self.0 + seconds)
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn seconds_since(self, earlier: DeviceTime) -> i64 {
        self.0 - earlier.0
    }

    /// The hour of the day, 0–23.
    pub fn hour(self) -> u8 {
        (self.0.rem_euclid(86_400) / 3600) as u8
    }

    /// Midnight at the start of this day.
    pub fn start_of_day(self) -> Self {
        DeviceTime(self.0 - self.0.rem_euclid(86_400))
    }

    pub fn parse(text: &str) -> Result<Self, BadTimestamp> {
        let bad = || BadTimestamp(text.to_string());
        let b = text.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad());
        }
        let field = |from: usize, to: usize| -> Result<i64, BadTimestamp> {
            // `get`, not indexing: no panic path (and its formatting) in the wasm.
            let digits = text.get(from..to).ok_or_else(bad)?;
            if !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            digits.parse().map_err(|_| bad())
        };
        let (year, month, day) = (field(0, 4)?, field(5, 7)?, field(8, 10)?);
        let (hour, minute, second) = (field(11, 13)?, field(14, 16)?, field(17, 19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(bad());
        }
        let days = days_from_civil(year, month, day);
        Ok(DeviceTime(
            days * 86_400 + hour * 3600 + minute * 60 + second,
        ))
    }
}

impl fmt::Display for DeviceTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

impl Serialize for DeviceTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DeviceTime::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_docs_timestamp() {
        let t = DeviceTime::parse("2018-03-15T11:50:27").unwrap();
        assert_eq!(t.to_string(), "2018-03-15T11:50:27");
        assert_eq!(t.seconds(), 1_521_114_627);
        assert_eq!(t.hour(), 11);
    }

    #[test]
    fn differences_are_real_durations_across_month_and_leap_day() {
        let a = DeviceTime::parse("2024-02-28T23:59:30").unwrap();
        let b = DeviceTime::parse("2024-03-01T00:00:30").unwrap();
        assert_eq!(b.seconds_since(a), 86_400 + 60);
        assert_eq!(
            DeviceTime::parse("2024-02-29T12:00:00")
                .unwrap()
                .start_of_day()
                .to_string(),
            "2024-02-29T00:00:00"
        );
    }

    #[test]
    fn rejects_what_is_not_a_device_timestamp() {
        for text in [
            "",
            "2018-03-15 11:50:27",
            "2018-03-15T11:50:27Z",
            "2018-02-30T00:00:00",
            "2019-02-29T00:00:00",
            "2018-13-01T00:00:00",
            "2018-03-15T24:00:00",
            "2018-03-15T11:60:00",
            "+018-03-15T11:50:27",
            "2018-03-15T11:50:2x",
        ] {
            assert!(DeviceTime::parse(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let start = DeviceTime::parse("1900-01-01T00:00:00").unwrap();
        for day in 0..(400 * 366) {
            let t = start.plus_seconds(day * 86_400 + 3661);
            assert_eq!(DeviceTime::parse(&t.to_string()), Ok(t));
        }
    }
}
