//! The RFC 7252 §4.2 retransmission schedule of one Confirmable message:
//! the wait doubles after every copy, up to a ceiling (see
//! [`super::rtt::RttEstimator::longest_wait`]), and after MAX_RETRANSMIT
//! copies it gives up.

use std::time::{Duration, Instant};

use super::Config;

#[derive(Debug)]
pub struct Schedule {
    pub first_sent: Instant,
    pub retransmits: u32,
    timeout: Duration,
    longest: Duration,
    next: Instant,
    last_sent: Instant,
    /// The wait between the last two copies.
    gap_before: Duration,
}

/// What to do when [`Schedule::due`] has passed.
#[derive(Debug, PartialEq, Eq)]
pub enum Tick {
    Retransmit,
    GiveUp,
}

impl Schedule {
    /// `timeout` is the first wait, `longest` the most any wait may grow
    /// to (both from [`super::rtt::RttEstimator`]).
    pub fn start(timeout: Duration, longest: Duration, now: Instant) -> Self {
        Schedule {
            first_sent: now,
            retransmits: 0,
            timeout,
            longest,
            next: now + timeout,
            last_sent: now,
            gap_before: Duration::ZERO,
        }
    }

    pub fn due(&self) -> Instant {
        self.next
    }

    /// The round trip an answer arriving `now` measures, when it can only be
    /// the answer to one copy. Karn's rule takes only never-retransmitted
    /// messages; that leaves a lossy link on RFC 7252's 2–3 s guess for
    /// as long as every exchange needs a retry. So an answer that comes
    /// within a quarter of the gap since the copy before the latest also
    /// counts, measured from the latest copy: an answer to the earlier copy
    /// would have been delayed by three times that gap, seconds on a link
    /// whose round trip is milliseconds.
    pub fn round_trip(&self, now: Instant) -> Option<std::time::Duration> {
        if self.retransmits == 0 {
            return Some(now - self.first_sent);
        }
        let rtt = now.checked_duration_since(self.last_sent)?;
        (rtt * 4 <= self.gap_before).then_some(rtt)
    }

    /// Called at or after `due`: retransmit and double the timeout, or give up
    /// once MAX_RETRANSMIT retransmissions have gone unanswered.
    pub fn tick(&mut self, config: &Config) -> Tick {
        if self.retransmits >= config.max_retransmit {
            return Tick::GiveUp;
        }
        self.retransmits += 1;
        self.gap_before = self.timeout;
        self.last_sent = self.next;
        self.timeout = (self.timeout * 2).min(self.longest);
        // From the planned time, not `now`, so a late wake-up does not stretch the schedule.
        self.next += self.timeout;
        Tick::Retransmit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn waits_double_up_to_the_longest_then_it_gives_up() {
        let t0 = Instant::now();
        let config = Config::default();
        let mut s = Schedule::start(250 * MS, 1000 * MS, t0);
        let mut copies = vec![];
        while s.tick(&config) == Tick::Retransmit {
            copies.push(s.last_sent - t0);
        }
        assert_eq!(copies, [250 * MS, 750 * MS, 1750 * MS, 2750 * MS]);
        assert_eq!(
            s.due() - t0,
            3750 * MS,
            "gives up a full wait after the last copy"
        );
    }

    #[test]
    fn an_answer_right_after_a_copy_is_a_round_trip_one_long_after_is_not() {
        let t0 = Instant::now();
        let config = Config::default();
        let mut s = Schedule::start(2000 * MS, 8000 * MS, t0);
        assert_eq!(s.round_trip(t0 + 3 * MS), Some(3 * MS));
        s.tick(&config); // the copy at 2 s
        assert_eq!(s.round_trip(t0 + 2004 * MS), Some(4 * MS));
        // 600 ms after the copy: could be the first copy's late answer.
        assert_eq!(s.round_trip(t0 + 2600 * MS), None);
    }
}
