//! Message deduplication (RFC 7252 §4.5): a request whose (Message ID, source
//! endpoint) was seen within EXCHANGE_LIFETIME is a retransmission of the same
//! request, so it is answered with the bytes sent the first time and never
//! reaches the device again. A retransmitted page therefore pages once.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RFC 7252 §4.8.2 with the default transmission parameters.
pub const EXCHANGE_LIFETIME: Duration = Duration::from_secs(247);

type Key = (SocketAddr, u16);

#[derive(Default)]
pub struct DedupeCache {
    replies: HashMap<Key, Vec<u8>>,
    /// Insertion order, which is also expiry order (one lifetime for all).
    expiries: VecDeque<(Instant, Key)>,
}

impl DedupeCache {
    /// The answer sent to this message, if it is a duplicate still in its lifetime.
    pub fn recall(&mut self, from: SocketAddr, message_id: u16, now: Instant) -> Option<&[u8]> {
        self.forget_expired(now);
        self.replies.get(&(from, message_id)).map(Vec::as_slice)
    }

    pub fn remember(&mut self, from: SocketAddr, message_id: u16, sent: Vec<u8>, now: Instant) {
        let key = (from, message_id);
        self.replies.insert(key, sent);
        self.expiries.push_back((now + EXCHANGE_LIFETIME, key));
    }

    pub fn clear(&mut self) {
        self.replies.clear();
        self.expiries.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }

    fn forget_expired(&mut self, now: Instant) {
        while let Some(&(expires, key)) = self.expiries.front() {
            if expires > now {
                break;
            }
            self.expiries.pop_front();
            self.replies.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_is_recalled_until_the_exchange_lifetime_ends() {
        let mut cache = DedupeCache::default();
        let client: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let other: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        let t0 = Instant::now();
        cache.remember(client, 7, vec![1, 2, 3], t0);
        let almost = t0 + EXCHANGE_LIFETIME - Duration::from_millis(1);
        assert_eq!(cache.recall(client, 7, almost), Some(&[1, 2, 3][..]));
        assert_eq!(
            cache.recall(other, 7, almost),
            None,
            "the endpoint is part of the key"
        );
        assert_eq!(cache.recall(client, 8, almost), None);
        assert_eq!(cache.recall(client, 7, t0 + EXCHANGE_LIFETIME), None);
        assert!(cache.is_empty(), "expired entries are dropped, not kept");
    }
}
