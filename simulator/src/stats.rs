//! The statistics tally and its integer arithmetic.
//!
//! Decided rounding (the docs show integers and give no rule): averages and
//! percentages round to the nearest whole number, halves up;
//! `percentLate = 100 − percentOnTime` once anything was served, so the two
//! always add up to 100; everything is 0 when nothing was served.

use shared::device::Statistics;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    created: u32,
    served: u32,
    on_time: u32,
    total_wait_seconds: u64,
}

impl Tally {
    pub fn record_created(&mut self) {
        self.created += 1;
    }

    /// A session's first page. A page exactly at the goal counts as on time;
    /// a negative wait (the clock was set back) counts as zero.
    pub fn record_first_page(&mut self, waited_seconds: i64, goal_seconds: u32) {
        let waited = u64::try_from(waited_seconds).unwrap_or(0);
        self.served += 1;
        self.total_wait_seconds += waited;
        if waited <= u64::from(goal_seconds) {
            self.on_time += 1;
        }
    }

    pub fn statistics(&self) -> Statistics {
        if self.served == 0 {
            return Statistics {
                num_sessions: self.created,
                ..Statistics::default()
            };
        }
        let served = u64::from(self.served);
        let percent_on_time = rounded_ratio(100 * u64::from(self.on_time), served);
        Statistics {
            guests_served: self.served,
            percent_late: 100 - percent_on_time,
            percent_on_time,
            average_time_served: rounded_ratio(self.total_wait_seconds, served),
            num_sessions: self.created,
        }
    }
}

fn rounded_ratio(numerator: u64, denominator: u64) -> u32 {
    u32::try_from((2 * numerator + denominator) / (2 * denominator)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_served_is_all_zero_but_counts_sessions() {
        let mut tally = Tally::default();
        tally.record_created();
        assert_eq!(
            tally.statistics(),
            Statistics {
                num_sessions: 1,
                ..Statistics::default()
            }
        );
    }

    #[test]
    fn a_page_exactly_at_the_goal_is_on_time_one_second_later_is_late() {
        let mut tally = Tally::default();
        tally.record_first_page(300, 300);
        assert_eq!(tally.statistics().percent_on_time, 100);
        tally.record_first_page(301, 300);
        let stats = tally.statistics();
        assert_eq!((stats.percent_on_time, stats.percent_late), (50, 50));
        assert_eq!(stats.average_time_served, 301); // 300.5 rounds up
    }

    #[test]
    fn percentages_round_half_up_and_add_to_100() {
        // The research notes' example: 41 on time, 1 late → 97.6 % → 98 / 2.
        let mut tally = Tally::default();
        for _ in 0..41 {
            tally.record_first_page(10, 60);
        }
        tally.record_first_page(250, 60);
        let stats = tally.statistics();
        assert_eq!((stats.percent_on_time, stats.percent_late), (98, 2));
        // 1 on time of 3 → 33.3 % → 33, late 67.
        let mut thirds = Tally::default();
        thirds.record_first_page(0, 0);
        thirds.record_first_page(5, 0);
        thirds.record_first_page(7, 0);
        let stats = thirds.statistics();
        assert_eq!((stats.percent_on_time, stats.percent_late), (33, 67));
        assert_eq!(stats.average_time_served, 4);
    }

    #[test]
    fn a_negative_wait_counts_as_zero_and_on_time() {
        let mut tally = Tally::default();
        tally.record_first_page(-30, 0);
        let stats = tally.statistics();
        assert_eq!((stats.average_time_served, stats.percent_on_time), (0, 100));
    }
}
