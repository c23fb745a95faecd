//! An in-memory datagram network with seeded loss, delay (and so
//! reordering), duplication and partitions. No sockets: a datagram is bytes,
//! a destination and the virtual instant it arrives.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::Rng;

/// (from, to).
pub type Route = (SocketAddr, SocketAddr);

#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Chance each datagram is lost, each way.
    pub loss: f64,
    /// Chance a delivered datagram arrives twice.
    pub duplicate: f64,
    /// Each copy is delayed uniformly up to this; different delays reorder.
    pub max_delay: Duration,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Flight {
    arrives: Instant,
    /// Send order, to break ties deterministically.
    seq: u64,
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

pub struct Net {
    pub faults: Faults,
    /// While set, everything to or from the device is lost.
    pub partitioned: bool,
    air: BinaryHeap<Reverse<Flight>>,
    seq: u64,
    pub sent: u64,
    pub lost: u64,
}

impl Net {
    pub fn new(faults: Faults) -> Self {
        Net {
            faults,
            partitioned: false,
            air: BinaryHeap::new(),
            seq: 0,
            sent: 0,
            lost: 0,
        }
    }

    pub fn send(&mut self, rng: &mut StdRng, now: Instant, route: Route, bytes: Vec<u8>) {
        let (from, to) = route;
        self.sent += 1;
        if self.partitioned || rng.gen_bool(self.faults.loss) {
            self.lost += 1;
            return;
        }
        let copies = if rng.gen_bool(self.faults.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.faults.max_delay.mul_f64(rng.gen_range(0.01..=1.0));
            self.seq += 1;
            self.air.push(Reverse(Flight {
                arrives: now + delay,
                seq: self.seq,
                from,
                to,
                bytes: bytes.clone(),
            }));
        }
    }

    pub fn next_arrival(&self) -> Option<Instant> {
        self.air.peek().map(|Reverse(f)| f.arrives)
    }

    /// The next datagram due at `now`, if any: (from, to), bytes.
    pub fn deliver(&mut self, now: Instant) -> Option<(Route, Vec<u8>)> {
        if self.next_arrival()? > now {
            return None;
        }
        let Reverse(flight) = self.air.pop()?;
        Some(((flight.from, flight.to), flight.bytes))
    }
}
