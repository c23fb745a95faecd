//! Observe (RFC 7641): which notification is the freshest.

use std::time::{Duration, Instant};

/// RFC 7641 §3.4: after this long, any notification counts as newer.
const REORDER_WINDOW: Duration = Duration::from_secs(128);
/// Half the 24-bit sequence space: the wrap-around boundary of the comparison.
const HALF: u32 = 1 << 23;

/// The newest notification seen on one observation.
#[derive(Debug, Default)]
pub struct Freshness {
    last: Option<(u32, Instant)>,
}

impl Freshness {
    /// True when a notification numbered `seq` arriving at `now` is newer than
    /// every one seen so far; it then becomes the one to compare against.
    pub fn accept(&mut self, seq: u32, now: Instant) -> bool {
        let fresh = match self.last {
            None => true,
            Some((v1, t1)) => {
                let v2 = seq;
                (v1 < v2 && v2 - v1 < HALF)
                    || (v1 > v2 && v1 - v2 > HALF)
                    || now > t1 + REORDER_WINDOW
            }
        };
        if fresh {
            self.last = Some((seq, now));
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_numbers_pass_and_stale_or_repeated_ones_are_dropped() {
        let t = Instant::now();
        let mut f = Freshness::default();
        assert!(f.accept(5, t));
        assert!(f.accept(7, t));
        assert!(!f.accept(6, t), "reordered older notification");
        assert!(!f.accept(7, t), "same number again");
        assert!(f.accept(8, t));
    }

    #[test]
    fn wraps_around_the_24_bit_space() {
        let t = Instant::now();
        let mut f = Freshness::default();
        assert!(f.accept((1 << 24) - 2, t));
        assert!(f.accept(1, t), "1 follows 2^24-2 after the wrap");
        assert!(!f.accept((1 << 24) - 1, t));
    }

    #[test]
    fn anything_is_fresh_after_128_seconds() {
        let t = Instant::now();
        let mut f = Freshness::default();
        assert!(f.accept(100, t));
        assert!(!f.accept(3, t + Duration::from_secs(127)));
        assert!(
            f.accept(3, t + Duration::from_secs(129)),
            "a rebooted device restarts its numbers"
        );
    }
}
