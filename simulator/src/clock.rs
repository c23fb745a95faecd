//! The device's wall clock and its daily statistics-clear schedule.
//!
//! The clock is a reading taken at some host `Instant` plus the whole seconds
//! elapsed since, so tests move time by passing later `Instant`s and never sleep.
//! `POST /v1/settings` with `datetime` re-bases the reading.

use std::time::Instant;

use shared::time::DeviceTime;

const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Clone, Debug)]
pub struct DeviceClock {
    reading: DeviceTime,
    read_at: Instant,
}

impl DeviceClock {
    pub fn new(reading: DeviceTime, read_at: Instant) -> Self {
        DeviceClock { reading, read_at }
    }

    pub fn now(&self, at: Instant) -> DeviceTime {
        let elapsed = at.saturating_duration_since(self.read_at).as_secs();
        self.reading
            .plus_seconds(i64::try_from(elapsed).unwrap_or(i64::MAX / 2))
    }

    pub fn set(&mut self, reading: DeviceTime, at: Instant) {
        *self = DeviceClock::new(reading, at);
    }
}

/// The host's local wall time, which is what a freshly powered T7470 shows
/// after it was set up on site.
pub fn host_local_time() -> DeviceTime {
    let local = chrono::Local::now().naive_local();
    DeviceTime::from_seconds(local.and_utc().timestamp())
}

/// The first moment strictly after `after` at which hour `mark` begins.
/// A mark of 24 is midnight, the same instant as 0: "the end of the day".
pub fn next_statistics_clear(after: DeviceTime, mark: u32) -> DeviceTime {
    let hour = i64::from(mark % 24);
    let today = after.start_of_day().plus_seconds(hour * 3600);
    if today > after {
        today
    } else {
        today.plus_seconds(SECONDS_PER_DAY)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(text: &str) -> DeviceTime {
        DeviceTime::parse(text).unwrap()
    }

    #[test]
    fn the_clock_advances_in_whole_seconds_from_its_reading() {
        let start = Instant::now();
        let mut clock = DeviceClock::new(at("2018-03-15T11:50:27"), start);
        assert_eq!(
            clock.now(start + Duration::from_millis(1999)).to_string(),
            "2018-03-15T11:50:28"
        );
        clock.set(at("2018-03-15T12:35:33"), start + Duration::from_secs(5));
        assert_eq!(
            clock.now(start + Duration::from_secs(65)).to_string(),
            "2018-03-15T12:36:33"
        );
    }

    #[test]
    fn mark_24_is_midnight_like_mark_0() {
        let noon = at("2018-03-15T12:00:00");
        assert_eq!(next_statistics_clear(noon, 24), at("2018-03-16T00:00:00"));
        assert_eq!(next_statistics_clear(noon, 0), at("2018-03-16T00:00:00"));
    }

    #[test]
    fn the_next_clear_is_strictly_later() {
        assert_eq!(
            next_statistics_clear(at("2018-03-15T02:59:59"), 3),
            at("2018-03-15T03:00:00")
        );
        assert_eq!(
            next_statistics_clear(at("2018-03-15T03:00:00"), 3),
            at("2018-03-16T03:00:00")
        );
    }
}
