//! Block2 (RFC 7959): responses larger than one block go out in pieces.
//!
//! The whole representation is cached per (client, URI) when block 0 goes out,
//! and later blocks are cut from that copy, so a client reassembles one
//! consistent body even if the device changed meanwhile; every block carries
//! the representation's ETag so a client that restarts can tell.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use coap_lite::block_handler::BlockValue;
use coap_lite::ResponseType;

use crate::dedupe::EXCHANGE_LIFETIME;

/// The contract: responses over 1024 bytes use Block2 with blocks of 1024.
pub const MAX_BLOCK_SIZE: usize = 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct Representation {
    pub code: ResponseType,
    pub payload: Vec<u8>,
    pub etag: Vec<u8>,
}

/// The block size to use: 1024, or the client's smaller preference.
pub fn block_size(requested: Option<&BlockValue>) -> usize {
    requested.map_or(MAX_BLOCK_SIZE, |block| block.size().min(MAX_BLOCK_SIZE))
}

/// Block `num` of `payload` in blocks of `size`, or `None` past the end.
pub fn cut(payload: &[u8], num: u16, size: usize) -> Option<(BlockValue, &[u8])> {
    let start = usize::from(num) * size;
    if start >= payload.len() {
        return None;
    }
    let end = (start + size).min(payload.len());
    let value = BlockValue::new(usize::from(num), end < payload.len(), size)
        .expect("block sizes are powers of two from 16 to 1024");
    Some((value, &payload[start..end]))
}

type Key = (SocketAddr, String);

#[derive(Default)]
pub struct BlockCache {
    entries: HashMap<Key, (Instant, Representation)>,
}

impl BlockCache {
    pub fn store(
        &mut self,
        from: SocketAddr,
        uri: &str,
        representation: Representation,
        now: Instant,
    ) {
        self.entries.retain(|_, (expires, _)| *expires > now);
        self.entries.insert(
            (from, uri.to_string()),
            (now + EXCHANGE_LIFETIME, representation),
        );
    }

    pub fn get(&self, from: SocketAddr, uri: &str, now: Instant) -> Option<&Representation> {
        self.entries
            .get(&(from, uri.to_string()))
            .filter(|(expires, _)| *expires > now)
            .map(|(_, representation)| representation)
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_tile_the_payload_and_flag_more_until_the_last() {
        let payload: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        let (first, data) = cut(&payload, 0, 1024).unwrap();
        assert_eq!(
            (first.num, first.more, first.size(), data.len()),
            (0, true, 1024, 1024)
        );
        let (last, data) = cut(&payload, 2, 1024).unwrap();
        assert_eq!((last.more, data), (false, &payload[2048..]));
        assert!(cut(&payload, 3, 1024).is_none());
        let (small, data) = cut(&payload, 5, 256).unwrap();
        assert_eq!((small.size_exponent, data), (4, &payload[1280..1536]));
    }

    #[test]
    fn the_client_may_ask_for_smaller_blocks_never_larger() {
        assert_eq!(block_size(None), 1024);
        assert_eq!(
            block_size(Some(&BlockValue::new(0, false, 64).unwrap())),
            64
        );
        // SZX 7 is reserved; BlockValue reports it as 2048: still capped.
        let reserved = BlockValue {
            num: 0,
            more: false,
            size_exponent: 7,
        };
        assert_eq!(block_size(Some(&reserved)), 1024);
    }

    #[test]
    fn cached_representations_expire_with_the_exchange() {
        let mut cache = BlockCache::default();
        let client: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let t0 = Instant::now();
        let rep = Representation {
            code: ResponseType::Content,
            payload: vec![1],
            etag: vec![2],
        };
        cache.store(client, "v1/sessions", rep.clone(), t0);
        assert_eq!(cache.get(client, "v1/sessions", t0), Some(&rep));
        assert_eq!(cache.get(client, "v1/sessions/history", t0), None);
        assert_eq!(
            cache.get(client, "v1/sessions", t0 + EXCHANGE_LIFETIME),
            None
        );
    }
}
