//! Message-id deduplication of what the device sends us (RFC 7252 §4.5).
//!
//! A device retransmits a CON (a separate response, a notification) when our
//! ACK was lost. The copy must not be processed again, but it must be answered
//! again, with the same reply as the first time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// EXCHANGE_LIFETIME with the RFC 7252 defaults.
const LIFETIME: Duration = Duration::from_secs(247);
/// A bound so a flood of distinct ids cannot grow memory; the device sends a few a minute.
const CAPACITY: usize = 512;

#[derive(Debug, Default)]
pub struct Seen {
    entries: VecDeque<(u16, Instant, Option<Vec<u8>>)>,
}

impl Seen {
    /// The reply sent the first time (`Some(None)` for "no reply"), or `None` if `mid` is new.
    pub fn lookup(&mut self, mid: u16, now: Instant) -> Option<Option<Vec<u8>>> {
        while let Some((_, at, _)) = self.entries.front() {
            if now.saturating_duration_since(*at) < LIFETIME {
                break;
            }
            self.entries.pop_front();
        }
        self.entries
            .iter()
            .find(|(m, _, _)| *m == mid)
            .map(|(_, _, reply)| reply.clone())
    }

    pub fn record(&mut self, mid: u16, now: Instant, reply: Option<Vec<u8>>) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back((mid, now, reply));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_reply_until_the_exchange_lifetime_ends() {
        let t = Instant::now();
        let mut seen = Seen::default();
        assert_eq!(seen.lookup(9, t), None);
        seen.record(9, t, Some(vec![1]));
        assert_eq!(
            seen.lookup(9, t + Duration::from_secs(246)),
            Some(Some(vec![1]))
        );
        assert_eq!(seen.lookup(9, t + LIFETIME), None);
    }
}
