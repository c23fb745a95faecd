//! Observers of /v1/notify (RFC 7641) and their keep-alive pings.
//!
//! An observer is a (client endpoint, token) pair. Each gets its own rising
//! 24-bit Observe number. Every `ping_interval` it is sent a ping; a ping still
//! unacknowledged when the next one is due counts as missed, and after three
//! missed in a row the observer is dropped instead of pinged a fourth time
//! (the device's "boots a client that fails to ACK three pings"). Any ACK from
//! the observer shows it is alive and resets the count.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
pub const MISSED_PINGS_BEFORE_DROP: u32 = 3;
const OBSERVE_MODULUS: u32 = 1 << 24;

#[derive(Clone, Debug)]
pub struct Observer {
    pub addr: SocketAddr,
    pub token: Vec<u8>,
    observe: u32,
    next_ping_at: Instant,
    ping_in_flight: Option<u16>,
    missed_pings: u32,
}

impl Observer {
    /// The Observe value for the next message to this observer.
    pub fn next_observe(&mut self) -> u32 {
        self.observe = (self.observe + 1) % OBSERVE_MODULUS;
        self.observe
    }
}

/// What the ping clock asks the endpoint to do.
#[derive(Debug, PartialEq, Eq)]
pub enum PingTask {
    /// Send a ping; report its Message ID back with [`Observers::ping_sent`].
    Ping { addr: SocketAddr, token: Vec<u8> },
    /// Stop retransmitting this ping: the next one replaces it.
    Abandon { addr: SocketAddr, message_id: u16 },
    /// Three pings missed: the observer is gone.
    Dropped { addr: SocketAddr, token: Vec<u8> },
}

pub struct Observers {
    list: Vec<Observer>,
    ping_interval: Duration,
}

impl Observers {
    pub fn new(ping_interval: Duration) -> Self {
        Observers {
            list: Vec::new(),
            ping_interval,
        }
    }

    /// Registers (or re-registers) and returns the Observe value for the response.
    pub fn register(&mut self, addr: SocketAddr, token: &[u8], now: Instant) -> u32 {
        self.deregister(addr, token);
        let mut observer = Observer {
            addr,
            token: token.to_vec(),
            observe: 0,
            next_ping_at: now + self.ping_interval,
            ping_in_flight: None,
            missed_pings: 0,
        };
        let observe = observer.next_observe();
        self.list.push(observer);
        observe
    }

    pub fn deregister(&mut self, addr: SocketAddr, token: &[u8]) -> bool {
        let before = self.list.len();
        self.list.retain(|o| !(o.addr == addr && o.token == token));
        self.list.len() != before
    }

    pub fn is_observing(&self, addr: SocketAddr, token: &[u8]) -> bool {
        self.list.iter().any(|o| o.addr == addr && o.token == token)
    }

    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut Observer> {
        self.list.iter_mut()
    }

    pub fn get_mut(&mut self, addr: SocketAddr, token: &[u8]) -> Option<&mut Observer> {
        self.list
            .iter_mut()
            .find(|o| o.addr == addr && o.token == token)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The observer ACKed something: it is alive.
    pub fn acknowledged(&mut self, addr: SocketAddr, token: &[u8], message_id: u16) {
        if let Some(observer) = self.get_mut(addr, token) {
            observer.missed_pings = 0;
            if observer.ping_in_flight == Some(message_id) {
                observer.ping_in_flight = None;
            }
        }
    }

    pub fn ping_sent(&mut self, addr: SocketAddr, token: &[u8], message_id: u16) {
        if let Some(observer) = self.get_mut(addr, token) {
            observer.ping_in_flight = Some(message_id);
        }
    }

    /// Everything the ping clock requires at `now`.
    pub fn ping_tasks(&mut self, now: Instant) -> Vec<PingTask> {
        let mut tasks = Vec::new();
        let interval = self.ping_interval;
        self.list.retain_mut(|observer| {
            if observer.next_ping_at > now {
                return true;
            }
            while observer.next_ping_at <= now {
                observer.next_ping_at += interval;
            }
            if let Some(message_id) = observer.ping_in_flight.take() {
                observer.missed_pings += 1;
                tasks.push(PingTask::Abandon {
                    addr: observer.addr,
                    message_id,
                });
            }
            if observer.missed_pings >= MISSED_PINGS_BEFORE_DROP {
                tasks.push(PingTask::Dropped {
                    addr: observer.addr,
                    token: observer.token.clone(),
                });
                return false;
            }
            tasks.push(PingTask::Ping {
                addr: observer.addr,
                token: observer.token.clone(),
            });
            true
        });
        tasks
    }

    pub fn next_ping_at(&self) -> Option<Instant> {
        self.list.iter().map(|o| o.next_ping_at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn observe_numbers_rise_per_observer_and_re_registration_restarts() {
        let mut observers = Observers::new(DEFAULT_PING_INTERVAL);
        let now = Instant::now();
        assert_eq!(observers.register(client(), &[1], now), 1);
        let observer = observers.get_mut(client(), &[1]).unwrap();
        assert_eq!((observer.next_observe(), observer.next_observe()), (2, 3));
        assert_eq!(observers.register(client(), &[1], now), 1);
        assert_eq!(
            observers.len(),
            1,
            "same endpoint and token is the same observer"
        );
        observers.register(client(), &[2], now);
        assert_eq!(observers.len(), 2);
        assert!(observers.deregister(client(), &[1]));
        assert!(!observers.is_observing(client(), &[1]));
    }

    #[test]
    fn three_missed_pings_in_a_row_drop_the_observer() {
        let interval = Duration::from_secs(30);
        let mut observers = Observers::new(interval);
        let t0 = Instant::now();
        observers.register(client(), &[9], t0);
        assert_eq!(observers.next_ping_at(), Some(t0 + interval));
        assert!(observers
            .ping_tasks(t0 + interval - Duration::from_millis(1))
            .is_empty());
        for (n, message_id) in (1..=3).zip([10, 11, 12]) {
            let tasks = observers.ping_tasks(t0 + interval * n);
            assert_eq!(
                tasks.last(),
                Some(&PingTask::Ping {
                    addr: client(),
                    token: vec![9]
                })
            );
            observers.ping_sent(client(), &[9], message_id);
        }
        let tasks = observers.ping_tasks(t0 + interval * 4);
        assert_eq!(
            tasks,
            [
                PingTask::Abandon {
                    addr: client(),
                    message_id: 12
                },
                PingTask::Dropped {
                    addr: client(),
                    token: vec![9]
                }
            ]
        );
        assert!(observers.is_empty());
    }

    #[test]
    fn an_ack_resets_the_missed_count() {
        let interval = Duration::from_secs(30);
        let mut observers = Observers::new(interval);
        let t0 = Instant::now();
        observers.register(client(), &[9], t0);
        for n in 1..=6u16 {
            observers.ping_tasks(t0 + interval * u32::from(n));
            observers.ping_sent(client(), &[9], n);
            if n % 2 == 0 {
                observers.acknowledged(client(), &[9], n);
            }
        }
        assert!(
            observers.is_observing(client(), &[9]),
            "never three misses in a row"
        );
    }
}
