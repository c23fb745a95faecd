//! The retransmission timeout, learnt from the link (RFC 6298 as CoCoA applies
//! it to CoAP, draft-ietf-core-cocoa).
//!
//! RFC 7252's ACK_TIMEOUT of 2–3 s is a guess for an unknown network. On a
//! venue's LAN the device answers in milliseconds, so after a few exchanges
//! the first timeout follows the measured round trip instead:
//! `RTO = SRTT + 4·RTTVAR`, from exchanges answered without a retransmission
//! (Karn's rule), never below [`RTO_FLOOR`] and never above RFC 7252's
//! ceiling (ACK_TIMEOUT × ACK_RANDOM_FACTOR). An exchange that gives up
//! doubles the timeout for the next one until a fresh sample arrives
//! (RFC 6298 §5.5). With [`super::Config::adaptive`] off, every exchange uses
//! the RFC's fixed random [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR].

use std::time::Duration;

use rand::Rng;

use super::Config;

/// The lowest first timeout. A device that cannot answer at once acknowledges
/// with an empty ACK and answers separately; the empty ACK comes after it has
/// parsed the request, which on a T7470-class device can take some 100 ms of
/// radio and flash work when it is busy. 250 ms leaves that margin on top of
/// a LAN's round trip, so a slow-but-alive device is not retransmitted to
/// (harmless — the device deduplicates — but it doubles the traffic exactly
/// when the device is busiest). It also keeps the whole retransmission span
/// (31 × RTO with MAX_RETRANSMIT 4) at 7.75 s or more, well beyond how long a
/// datagram can linger on a LAN, which the exactly-once rule relies on.
pub const RTO_FLOOR: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RttEstimate {
    /// Smoothed round trip; `None` before the first sample.
    pub srtt: Option<Duration>,
    pub rttvar: Duration,
    /// The first timeout the next exchange will use (before dithering).
    pub rto: Duration,
}

#[derive(Debug)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    /// Doublings since the last sample, from exchanges that gave up.
    backoff: u32,
}

impl Default for RttEstimator {
    fn default() -> Self {
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            backoff: 0,
        }
    }
}

impl RttEstimator {
    /// One round trip of a message answered on its first transmission.
    pub fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(rtt);
                self.rttvar = self.rttvar * 3 / 4 + delta / 4;
                self.srtt = Some(srtt * 7 / 8 + rtt / 8);
            }
        }
        self.backoff = 0;
    }

    /// An exchange retransmitted until it gave up: the link is worse than measured.
    pub fn gave_up(&mut self) {
        self.backoff = (self.backoff + 1).min(8);
    }

    pub fn estimate(&self, config: &Config) -> RttEstimate {
        RttEstimate {
            srtt: self.srtt,
            rttvar: self.rttvar,
            rto: self.rto(config),
        }
    }

    /// The first timeout before dithering. Without a sample (or with fixed
    /// timers) it is ACK_TIMEOUT, as RFC 7252 says.
    fn rto(&self, config: &Config) -> Duration {
        let ceiling = ceiling(config);
        let base = match (config.adaptive, self.srtt) {
            (true, Some(srtt)) => (srtt + self.rttvar * 4).max(RTO_FLOOR.min(ceiling)),
            _ => config.ack_timeout,
        };
        base.saturating_mul(1 << self.backoff).min(ceiling)
    }

    /// The first timeout for one exchange: RTO dithered by up to
    /// ACK_RANDOM_FACTOR so that many senders do not retransmit in step, and
    /// never above the RFC's ceiling.
    pub fn first_timeout(&self, config: &Config, rng: &mut impl Rng) -> Duration {
        let factor = rng.gen_range(1.0..=config.ack_random_factor.max(1.0));
        self.rto(config).mul_f64(factor).min(ceiling(config))
    }
}

impl RttEstimator {
    /// The longest one wait between copies may grow to. RFC 7252 doubles it
    /// after every copy (2, 4, 8, 16 s), a guard against congestion on an
    /// unknown path. On a link whose round trip has been measured, loss is
    /// noise rather than congestion, and doubling from a 250 ms timeout to
    /// 4 s only stretches a lossy exchange (7.75 s for five copies) and with
    /// it the host's wait; so with learnt timers the wait stops doubling at
    /// 4 × the first (five copies in 3.75 s). Still exponential, still five
    /// copies at most, and the last wait (≥ 1 s) still outlasts any straggling
    /// datagram on a LAN before the exchange gives up. Fixed timers double
    /// without end, as the RFC does.
    pub fn longest_wait(&self, config: &Config, first: Duration) -> Duration {
        match (config.adaptive, self.srtt) {
            (true, Some(_)) => first * 4,
            _ => Duration::MAX,
        }
    }
}

/// RFC 7252's largest first timeout: ACK_TIMEOUT × ACK_RANDOM_FACTOR (3 s by default).
fn ceiling(config: &Config) -> Duration {
    config
        .ack_timeout
        .mul_f64(config.ack_random_factor.max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn without_a_sample_the_rfc_timeout_is_used() {
        let e = RttEstimator::default();
        assert_eq!(e.estimate(&Config::default()).rto, 2000 * MS);
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let t = e.first_timeout(&Config::default(), &mut rng);
            assert!((2000 * MS..=3000 * MS).contains(&t), "{t:?}");
        }
    }

    #[test]
    fn a_fast_link_brings_the_timeout_down_to_the_floor() {
        let mut e = RttEstimator::default();
        e.sample(2 * MS);
        // SRTT 2 ms + 4 × 1 ms is far below the floor.
        assert_eq!(e.estimate(&Config::default()).rto, RTO_FLOOR);
        let mut rng = StdRng::seed_from_u64(1);
        let t = e.first_timeout(&Config::default(), &mut rng);
        assert!((250 * MS..=375 * MS).contains(&t), "{t:?}");
    }

    #[test]
    fn follows_rfc_6298_smoothing() {
        let mut e = RttEstimator::default();
        e.sample(400 * MS);
        assert_eq!(e.estimate(&Config::default()).rto, 400 * MS + 800 * MS);
        e.sample(200 * MS);
        // RTTVAR = 3/4·200 + 1/4·200 = 200; SRTT = 7/8·400 + 1/8·200 = 375.
        let estimate = e.estimate(&Config::default());
        assert_eq!(estimate.srtt, Some(375 * MS));
        assert_eq!(estimate.rttvar, 200 * MS);
        assert_eq!(estimate.rto, 1175 * MS);
    }

    #[test]
    fn giving_up_backs_off_to_the_ceiling_until_a_new_sample() {
        let mut e = RttEstimator::default();
        e.sample(MS);
        e.gave_up();
        assert_eq!(e.estimate(&Config::default()).rto, 500 * MS);
        for _ in 0..10 {
            e.gave_up();
        }
        assert_eq!(e.estimate(&Config::default()).rto, 3000 * MS, "ceiling");
        e.sample(MS);
        assert_eq!(e.estimate(&Config::default()).rto, RTO_FLOOR);
    }

    #[test]
    fn fixed_timers_ignore_the_samples() {
        let config = Config {
            adaptive: false,
            ..Config::default()
        };
        let mut e = RttEstimator::default();
        e.sample(MS);
        assert_eq!(e.estimate(&config).rto, 2000 * MS);
    }
}
