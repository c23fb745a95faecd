//! How much of the stand one client may take: connections overall and per
//! address, tablets, request heads and bodies, and how long a request head
//! may take to arrive. A client over a limit is refused with a status and a
//! log line; everyone else keeps being served.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections, tablets included, from everyone.
    pub connections: usize,
    /// Open connections from one address (one IPv6 /64). A tablet's browser
    /// uses a handful; a thousand idle ones must not reach the open-file limit.
    pub connections_per_address: usize,
    /// Tablets connected at once.
    pub tablets: usize,
    /// A request head must arrive within this (slowloris); an idle
    /// keep-alive connection is closed after it too.
    pub header_read: Duration,
    /// A TLS handshake must finish within this.
    pub handshake: Duration,
    /// The request line and headers together (hyper's minimum is 8 KiB).
    pub head_bytes: usize,
    pub headers: usize,
    /// The PIN login's JSON body; every other route takes none.
    pub login_body_bytes: usize,
    /// How long shutdown waits for connections and tablets to finish.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 900,
            connections_per_address: 64,
            tablets: 256,
            header_read: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            head_bytes: 16 * 1024,
            headers: 48,
            login_body_bytes: 256,
            drain: Duration::from_secs(5),
        }
    }
}

/// File descriptors kept back from connections: the UDP socket, the data
/// directory's files, logging, and tablets' sockets being accepted.
const FDS_RESERVED: u64 = 64;

impl Limits {
    /// Lowers the connection caps so that they fit in `open_files`
    /// descriptors: refusing a connection is better than `accept` failing
    /// with "Too many open files" for everyone.
    pub fn fit_to(mut self, open_files: u64) -> Self {
        let room = open_files.saturating_sub(FDS_RESERVED).max(1) as usize;
        if self.connections > room {
            tracing::warn!(
                open_files,
                connections = room,
                "the open-file limit caps connections; raise it (LimitNOFILE=, ulimit -n) for more"
            );
            self.connections = room;
        }
        self.connections_per_address = self.connections_per_address.min(self.connections);
        self.tablets = self.tablets.min(self.connections);
        self
    }
}

/// Raises the soft open-file limit to the hard one and returns the limit now
/// in effect (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = raised;
            }
        }
        Some(limit.current.unwrap_or(u64::MAX))
    }
    #[cfg(not(unix))]
    None
}

/// Why a connection was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The stand has as many connections as it allows.
    Full,
    /// This address has as many connections as one address may.
    AddressFull,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Full => "the stand has too many connections; try again in a moment",
            Refusal::AddressFull => "too many connections from your address",
        }
    }
}

/// Counts open connections; a [`Pass`] is one of them until it is dropped.
#[derive(Clone)]
pub struct Gate {
    counts: Arc<Mutex<Counts>>,
    connections: usize,
    per_address: usize,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Gate {
    pub fn new(limits: &Limits) -> Self {
        Gate {
            counts: Arc::default(),
            connections: limits.connections,
            per_address: limits.connections_per_address,
        }
    }

    pub fn admit(&self, peer: IpAddr) -> Result<Pass, Refusal> {
        let address = network_of(peer);
        let mut counts = self.counts.lock().expect("gate lock");
        if counts.total >= self.connections {
            return Err(Refusal::Full);
        }
        let from_address = counts.by_address.entry(address).or_default();
        if *from_address >= self.per_address {
            return Err(Refusal::AddressFull);
        }
        *from_address += 1;
        counts.total += 1;
        Ok(Pass {
            counts: self.counts.clone(),
            address,
        })
    }

    pub fn open(&self) -> usize {
        self.counts.lock().expect("gate lock").total
    }
}

/// One admitted connection; dropping it frees its place.
pub struct Pass {
    counts: Arc<Mutex<Counts>>,
    address: IpAddr,
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().expect("gate lock");
        counts.total -= 1;
        if let Some(n) = counts.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

/// An IPv4 address, or an IPv6 address's /64: one host holds a whole /64.
fn network_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(connections: usize, per_address: usize) -> Gate {
        Gate::new(&Limits {
            connections,
            connections_per_address: per_address,
            ..Limits::default()
        })
    }

    #[test]
    fn one_address_fills_its_share_and_no_more() {
        let gate = gate(10, 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| gate.admit(a).unwrap()).collect();
        assert_eq!(gate.admit(a).err(), Some(Refusal::AddressFull));
        assert!(gate.admit(b).is_ok(), "another address is still served");
        drop(held);
        assert_eq!(gate.open(), 0);
        assert!(gate.admit(a).is_ok(), "closing frees the address's places");
    }

    #[test]
    fn the_stand_stops_at_its_total() {
        let gate = gate(2, 2);
        let _a = gate.admit("192.0.2.1".parse().unwrap()).unwrap();
        let _b = gate.admit("192.0.2.2".parse().unwrap()).unwrap();
        assert_eq!(
            gate.admit("192.0.2.3".parse().unwrap()).err(),
            Some(Refusal::Full)
        );
    }

    #[test]
    fn an_ipv6_64_counts_as_one_address() {
        let gate = gate(10, 2);
        let _a = gate.admit("2001:db8::1".parse().unwrap()).unwrap();
        let _b = gate.admit("2001:db8::ffff:2".parse().unwrap()).unwrap();
        assert_eq!(
            gate.admit("2001:db8::abcd:3".parse().unwrap()).err(),
            Some(Refusal::AddressFull)
        );
        assert!(gate.admit("2001:db8:0:1::1".parse().unwrap()).is_ok());
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(network_of(mapped), "192.0.2.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn caps_fit_inside_the_open_file_limit() {
        let limits = Limits::default().fit_to(1024);
        assert_eq!(limits.connections, 960.min(Limits::default().connections));
        let tight = Limits::default().fit_to(128);
        assert_eq!(tight.connections, 64);
        assert_eq!(tight.connections_per_address, 64);
        assert_eq!(tight.tablets, 64);
    }
}
