//! Message-id deduplication of what the device sends us (RFC 7252 §4.5).
//!
//! A device retransmits a CON (a separate response, a notification) when our
//! ACK was lost. The copy must not be processed again, but it must be answered
//! again, with the same reply as the first time.
//!
//! A copy is the same message id *and* token: a message id alone is 16 bits
//! that a forger can guess (and a restarted device may count from where it
//! began), and taking a new response for an old copy would lose it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// EXCHANGE_LIFETIME with the RFC 7252 defaults.
const LIFETIME: Duration = Duration::from_secs(247);
/// A bound so a flood of distinct ids cannot grow memory; the device sends a few a minute.
const CAPACITY: usize = 512;

/// A message taken, and the reply it got (`None`: no reply).
#[derive(Debug)]
struct Taken {
    mid: u16,
    token: Vec<u8>,
    at: Instant,
    reply: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Seen {
    entries: VecDeque<Taken>,
}

impl Seen {
    /// The reply sent the first time (`Some(None)` for "no reply"), or `None`
    /// if (`mid`, `token`) is new.
    pub fn lookup(&mut self, mid: u16, token: &[u8], now: Instant) -> Option<Option<Vec<u8>>> {
        while let Some(taken) = self.entries.front() {
            if now.saturating_duration_since(taken.at) < LIFETIME {
                break;
            }
            self.entries.pop_front();
        }
        self.entries
            .iter()
            .find(|taken| taken.mid == mid && taken.token == token)
            .map(|taken| taken.reply.clone())
    }

    pub fn record(&mut self, mid: u16, token: &[u8], now: Instant, reply: Option<Vec<u8>>) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Taken {
            mid,
            token: token.to_vec(),
            at: now,
            reply,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_reply_until_the_exchange_lifetime_ends() {
        let t = Instant::now();
        let mut seen = Seen::default();
        assert_eq!(seen.lookup(9, b"tk", t), None);
        seen.record(9, b"tk", t, Some(vec![1]));
        assert_eq!(
            seen.lookup(9, b"tk", t + Duration::from_secs(246)),
            Some(Some(vec![1]))
        );
        assert_eq!(seen.lookup(9, b"tk", t + LIFETIME), None);
    }

    #[test]
    fn the_same_message_id_with_another_token_is_a_new_message() {
        let t = Instant::now();
        let mut seen = Seen::default();
        seen.record(9, b"old", t, Some(vec![1]));
        assert_eq!(seen.lookup(9, b"new", t), None);
    }
}
