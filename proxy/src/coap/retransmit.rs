//! The RFC 7252 §4.2 retransmission schedule of one Confirmable message.

use std::time::{Duration, Instant};

use rand::Rng;

use super::Config;

#[derive(Debug)]
pub struct Schedule {
    pub first_sent: Instant,
    pub retransmits: u32,
    timeout: Duration,
    next: Instant,
}

/// What to do when [`Schedule::due`] has passed.
#[derive(Debug, PartialEq, Eq)]
pub enum Tick {
    Retransmit,
    GiveUp,
}

impl Schedule {
    /// The first timeout is random in [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR].
    pub fn start(config: &Config, rng: &mut impl Rng, now: Instant) -> Self {
        let factor = rng.gen_range(1.0..=config.ack_random_factor.max(1.0));
        let timeout = config.ack_timeout.mul_f64(factor);
        Schedule {
            first_sent: now,
            retransmits: 0,
            timeout,
            next: now + timeout,
        }
    }

    pub fn due(&self) -> Instant {
        self.next
    }

    /// Called at or after `due`: retransmit and double the timeout, or give up
    /// once MAX_RETRANSMIT retransmissions have gone unanswered.
    pub fn tick(&mut self, config: &Config) -> Tick {
        if self.retransmits >= config.max_retransmit {
            return Tick::GiveUp;
        }
        self.retransmits += 1;
        self.timeout *= 2;
        // From the planned time, not `now`, so a late wake-up does not stretch the schedule.
        self.next += self.timeout;
        Tick::Retransmit
    }
}
