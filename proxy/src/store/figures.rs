//! What the owner learns from the stand: the analytics over a range of days
//! and the wait to quote a party, both computed from the parties table (one
//! indexed range read, no per-party queries), on the tablet's clock.

use rusqlite::params;
use shared::stand::{
    size_bucket, Analytics, DayFigures, HourFigures, Quote, SizeFigures, Spread, Summary,
    SIZE_BUCKETS,
};

use super::Store;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How far back a quote looks: four weeks of the same stand.
pub const QUOTE_WEEKS: i64 = 4;
/// The fewest past parties a quote rests on.
pub const QUOTE_MIN: usize = 8;

/// One past party, as the figures need it.
#[derive(Clone, Copy, Debug)]
pub struct Past {
    pub created_ms: i64,
    pub first_paged_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub seated: bool,
    pub removed: bool,
    pub pages: u32,
    pub party_size: Option<u32>,
    pub goal_s: u32,
    pub ahead: Option<u32>,
}

impl Past {
    fn wait_to_page_s(&self) -> Option<i64> {
        self.first_paged_ms.map(|at| (at - self.created_ms) / 1000)
    }

    fn wait_to_seat_s(&self) -> Option<i64> {
        self.ended_ms
            .filter(|_| self.seated)
            .map(|at| (at - self.created_ms) / 1000)
    }
}

impl Store {
    /// Every party created in the range.
    pub fn past(&self, from_ms: i64, to_ms: i64) -> rusqlite::Result<Vec<Past>> {
        let conn = self.reader()?;
        let mut statement = conn.prepare_cached(
            "SELECT created_ms, first_paged_ms, ended_ms, outcome, pages, party_size, goal_s, ahead
             FROM parties WHERE venue = ?1 AND created_ms >= ?2 AND created_ms < ?3",
        )?;
        let rows = statement
            .query_map(params![self.venue(), from_ms, to_ms], |row| {
                let outcome: String = row.get(3)?;
                Ok(Past {
                    created_ms: row.get(0)?,
                    first_paged_ms: row.get(1)?,
                    ended_ms: row.get(2)?,
                    seated: outcome == "seated",
                    removed: outcome == "removed",
                    pages: row.get(4)?,
                    party_size: row.get(5)?,
                    goal_s: row.get(6)?,
                    ahead: row.get(7)?,
                })
            })?
            .collect();
        rows
    }

    /// The analytics of `[from_ms, to_ms)`, hours and days on a clock
    /// `tz_offset_min` east of UTC, with the period before it to compare.
    pub fn analytics(
        &self,
        from_ms: i64,
        to_ms: i64,
        tz_offset_min: i32,
    ) -> rusqlite::Result<Analytics> {
        let span = to_ms - from_ms;
        let parties = self.past(from_ms, to_ms)?;
        let before = self.past(from_ms - span, from_ms)?;
        Ok(analytics(&parties, &before, from_ms, to_ms, tz_offset_min))
    }

    /// A wait to quote a party of `size` arriving at `at_ms` with `ahead`
    /// parties waiting, learned from the four weeks before.
    pub fn quote(
        &self,
        size: u32,
        ahead: u32,
        at_ms: i64,
        tz_offset_min: i32,
    ) -> rusqlite::Result<Quote> {
        let past = self.past(at_ms - QUOTE_WEEKS * 7 * DAY_MS, at_ms)?;
        Ok(quote(&past, size, ahead, at_ms, tz_offset_min))
    }
}

/// The figures themselves, from the rows (also used by tests and the
/// bench): one pass puts each party in its hour, day and size.
pub fn analytics(
    parties: &[Past],
    before: &[Past],
    from_ms: i64,
    to_ms: i64,
    tz_offset_min: i32,
) -> Analytics {
    let local = |ms: i64| ms + i64::from(tz_offset_min) * 60_000;
    let first_day = local(from_ms).div_euclid(DAY_MS);
    let last_day = (local(to_ms) - 1).div_euclid(DAY_MS).max(first_day);
    let mut hours: Vec<Vec<&Past>> = vec![Vec::new(); 24];
    let mut sizes: Vec<Vec<&Past>> = vec![Vec::new(); SIZE_BUCKETS.len()];
    let mut days = vec![(0u32, 0u32); (last_day - first_day + 1) as usize];
    for p in parties {
        let at = local(p.created_ms);
        hours[(at.rem_euclid(DAY_MS) / HOUR_MS) as usize].push(p);
        sizes[size_bucket(p.party_size)].push(p);
        if let Some(day) = days.get_mut((at.div_euclid(DAY_MS) - first_day) as usize) {
            day.0 += 1;
            day.1 += u32::from(p.seated);
        }
    }
    let by_hour: Vec<HourFigures> = hours
        .iter()
        .enumerate()
        .map(|(hour, these)| HourFigures {
            hour: hour as u8,
            arrivals: these.len() as u32,
            served: these.iter().filter(|p| p.seated).count() as u32,
            wait_to_page: spread(these.iter().filter_map(|p| p.wait_to_page_s())),
            wait_to_seat: spread(these.iter().filter_map(|p| p.wait_to_seat_s())),
        })
        .collect();
    let by_size = sizes
        .iter()
        .zip(SIZE_BUCKETS)
        .map(|(these, sizes)| SizeFigures {
            sizes: sizes.to_string(),
            arrivals: these.len() as u32,
            wait_to_page: spread(these.iter().filter_map(|p| p.wait_to_page_s())),
            wait_to_seat: spread(these.iter().filter_map(|p| p.wait_to_seat_s())),
        })
        .collect();
    let by_day = days
        .iter()
        .enumerate()
        .map(|(i, &(arrivals, served))| DayFigures {
            day: date(first_day + i as i64),
            arrivals,
            served,
        })
        .collect();
    let mut busiest: Vec<&HourFigures> = by_hour.iter().filter(|h| h.arrivals > 0).collect();
    busiest.sort_by_key(|h| (std::cmp::Reverse(h.arrivals), h.hour));
    Analytics {
        from_ms,
        to_ms,
        summary: summary(parties),
        previous: summary(before),
        busiest_hours: busiest.iter().take(3).map(|h| h.hour).collect(),
        by_hour,
        by_day,
        by_size,
    }
}

fn summary(parties: &[Past]) -> Summary {
    let paged: Vec<&Past> = parties
        .iter()
        .filter(|p| p.first_paged_ms.is_some())
        .collect();
    let within = |p: &Past| p.wait_to_page_s().is_some_and(|s| s <= i64::from(p.goal_s));
    Summary {
        arrivals: parties.len() as u32,
        served: parties.iter().filter(|p| p.seated).count() as u32,
        wait_to_page: spread(parties.iter().filter_map(Past::wait_to_page_s)),
        wait_to_seat: spread(parties.iter().filter_map(Past::wait_to_seat_s)),
        within_goal: paged.iter().filter(|p| within(p)).count() as u32,
        late: paged.iter().filter(|p| !within(p)).count() as u32,
        walk_aways: parties.iter().filter(|p| p.removed && p.pages == 0).count() as u32,
    }
}

/// Median and 90th percentile (nearest rank).
pub fn spread(values: impl Iterator<Item = i64>) -> Spread {
    let mut values: Vec<i64> = values.collect();
    values.sort_unstable();
    let rank = |q: f64| {
        values
            .get(((values.len() as f64 * q).ceil() as usize).max(1) - 1)
            .copied()
    };
    Spread {
        median_s: rank(0.5),
        p90_s: rank(0.9),
        n: values.len() as u32,
    }
}

/// The quote: the median wait to page of the past parties most like this
/// one — the same size bucket, arrived near this hour of the day, with about
/// as many parties ahead. Widened once if too few; none below [`QUOTE_MIN`].
pub fn quote(past: &[Past], size: u32, ahead: u32, at_ms: i64, tz_offset_min: i32) -> Quote {
    let minute_of_day =
        |ms: i64| (ms + i64::from(tz_offset_min) * 60_000).rem_euclid(DAY_MS) / 60_000;
    let now = minute_of_day(at_ms);
    let bucket = size_bucket(Some(size));
    let alike = |hours: i64, more: u32| -> Vec<i64> {
        past.iter()
            .filter(|p| size_bucket(p.party_size) == bucket)
            .filter(|p| p.ahead.is_some_and(|a| a.abs_diff(ahead) <= more))
            .filter(|p| {
                let d = (minute_of_day(p.created_ms) - now).abs();
                d.min(24 * 60 - d) <= hours * 60
            })
            .filter_map(Past::wait_to_page_s)
            .collect()
    };
    let sizes = SIZE_BUCKETS[bucket];
    for (hours, more) in [(1, 2), (2, 4)] {
        let waits = alike(hours, more);
        if waits.len() >= QUOTE_MIN {
            let median = spread(waits.iter().copied()).median_s.unwrap_or(0);
            return Quote {
                // As hosts quote: to the nearest five minutes.
                minutes: Some((((median + 150) / 300) * 5).max(5) as u32),
                based_on: waits.len() as u32,
                how: format!(
                    "the median wait of {} parties of {sizes} that arrived within {hours} h of this time with {} to {} parties ahead, in the last {QUOTE_WEEKS} weeks",
                    waits.len(),
                    ahead.saturating_sub(more),
                    ahead + more
                ),
            };
        }
    }
    Quote {
        minutes: None,
        based_on: alike(2, 4).len() as u32,
        how: format!("too few parties of {sizes} like this one in the last {QUOTE_WEEKS} weeks to learn from"),
    }
}

/// `YYYY-MM-DD` of a day number since 1970-01-01.
fn date(day: i64) -> String {
    let at = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(day);
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_796_000_000_000 - 1_796_000_000_000 % DAY_MS; // a UTC midnight

    fn party(at_h: f64, to_page_min: Option<i64>, size: u32, ahead: u32) -> Past {
        let created_ms = T0 + (at_h * HOUR_MS as f64) as i64;
        Past {
            created_ms,
            first_paged_ms: to_page_min.map(|m| created_ms + m * 60_000),
            ended_ms: to_page_min.map(|m| created_ms + (m + 2) * 60_000),
            seated: to_page_min.is_some(),
            removed: to_page_min.is_none(),
            pages: u32::from(to_page_min.is_some()),
            party_size: Some(size),
            goal_s: 900,
            ahead: Some(ahead),
        }
    }

    #[test]
    fn figures_by_hour_size_and_outcome() {
        let parties = [
            party(19.1, Some(10), 2, 1),
            party(19.5, Some(20), 4, 3),
            party(19.9, Some(30), 2, 5),
            party(20.2, None, 7, 2),
        ];
        let a = analytics(&parties, &[], T0, T0 + DAY_MS, 0);
        assert_eq!(a.summary.arrivals, 4);
        assert_eq!(a.summary.served, 3);
        assert_eq!(
            (a.summary.within_goal, a.summary.late, a.summary.walk_aways),
            (1, 2, 1)
        );
        assert_eq!(a.by_hour[19].arrivals, 3);
        assert_eq!(
            a.by_hour[19].wait_to_page,
            Spread {
                median_s: Some(1200),
                p90_s: Some(1800),
                n: 3
            }
        );
        assert_eq!(a.by_size[0].wait_to_page.median_s, Some(600));
        assert_eq!(a.busiest_hours, [19, 20]);
        assert_eq!(a.by_day.len(), 1);
        // The same parties two hours east: the hours move, the day stays.
        let east = analytics(&parties, &[], T0, T0 + DAY_MS, 120);
        assert_eq!(east.by_hour[21].arrivals, 3);
    }

    #[test]
    fn a_quote_rests_on_alike_parties_or_says_it_cannot() {
        let mut past: Vec<Past> = (0..10)
            .map(|i| party(19.0 + f64::from(i) / 20.0, Some(20 + i64::from(i)), 2, 3))
            .collect();
        // Unlike ones: other sizes, other hours, a much longer queue.
        past.extend((0..10).map(|_| party(19.2, Some(90), 8, 3)));
        past.extend((0..10).map(|_| party(13.0, Some(2), 2, 3)));
        past.extend((0..10).map(|_| party(19.2, Some(60), 2, 12)));
        let at = T0 + 7 * DAY_MS + 19 * HOUR_MS + 15 * 60_000;
        let q = quote(&past, 2, 3, at, 0);
        assert_eq!((q.minutes, q.based_on), (Some(25), 10), "{}", q.how);
        let thin = quote(&past[..5], 2, 3, at, 0);
        assert_eq!(thin.minutes, None);
        assert!(thin.how.contains("too few"));
    }
}
