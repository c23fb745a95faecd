//! The endpoint's timing, with RFC 7252 defaults; tests on loopback shrink it.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// ACK_TIMEOUT: the first wait for an ACK before retransmitting until the
    /// round trip has been measured (always, with `adaptive` off).
    pub ack_timeout: Duration,
    /// Learn the first timeout from measured round trips ([`super::rtt`]);
    /// off, every exchange uses RFC 7252's fixed timers (`--coap-ack-timeout`).
    pub adaptive: bool,
    /// ACK_RANDOM_FACTOR: the first wait is random in [ack_timeout, ack_timeout × this].
    pub ack_random_factor: f64,
    /// MAX_RETRANSMIT.
    pub max_retransmit: u32,
    /// A request unanswered this long after it was submitted fails with
    /// [`super::ExchangeError::Timeout`], even mid-schedule. By default
    /// RFC 7252's MAX_TRANSMIT_SPAN, so the retransmission schedule runs to
    /// its end: cutting it short loses the cheapest safe retry there is (the
    /// same message id, which the device deduplicates). The proxy's core
    /// bounds a host's wait with the command's own deadline instead.
    pub exchange_deadline: Duration,
    /// With nothing in flight, probe after hearing nothing from the device this long.
    pub probe_idle: Duration,
    /// Then probe again this often while unanswered: 4 s keeps a 4-byte ping at
    /// RFC 7252's PROBING_RATE of 1 byte per second.
    pub probe_repeat: Duration,
    /// Silence (with a probe or request waiting) after which the device is unreachable.
    pub unreachable_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ack_timeout: Duration::from_secs(2),
            adaptive: true,
            ack_random_factor: 1.5,
            max_retransmit: 4,
            exchange_deadline: Duration::from_secs(45),
            probe_idle: Duration::from_secs(3),
            probe_repeat: Duration::from_secs(4),
            unreachable_after: Duration::from_secs(9),
        }
    }
}
