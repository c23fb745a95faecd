//! Retransmission of the simulator's own Confirmable messages (notifications,
//! pings, separate responses) on the RFC 7252 §4.2 schedule: a first timeout
//! drawn from [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR], doubled after
//! each try, at most MAX_RETRANSMIT retries. The same bytes (same Message ID)
//! are resent; an ACK or RST from the peer ends the exchange.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::Rng;

pub const ACK_TIMEOUT: Duration = Duration::from_secs(2);
pub const ACK_RANDOM_FACTOR: f64 = 1.5;
pub const MAX_RETRANSMIT: u32 = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A notification (or ping) to the observer holding this token.
    Notification {
        token: Vec<u8>,
    },
    SeparateResponse,
}

struct Pending {
    to: SocketAddr,
    message_id: u16,
    bytes: Vec<u8>,
    purpose: Purpose,
    retries: u32,
    timeout: Duration,
    resend_at: Instant,
}

pub struct Retransmitter {
    pending: Vec<Pending>,
    jitter: StdRng,
}

impl Retransmitter {
    pub fn new(jitter: StdRng) -> Self {
        Retransmitter {
            pending: Vec::new(),
            jitter,
        }
    }

    /// Tracks a message the caller is sending now for the first time.
    pub fn track(
        &mut self,
        to: SocketAddr,
        message_id: u16,
        bytes: Vec<u8>,
        purpose: Purpose,
        now: Instant,
    ) {
        let timeout = ACK_TIMEOUT.mul_f64(self.jitter.gen_range(1.0..=ACK_RANDOM_FACTOR));
        self.pending.push(Pending {
            to,
            message_id,
            bytes,
            purpose,
            retries: 0,
            timeout,
            resend_at: now + timeout,
        });
    }

    /// The peer answered (ACK or RST): stop, and say what the message was.
    pub fn settle(&mut self, from: SocketAddr, message_id: u16) -> Option<Purpose> {
        let index = self
            .pending
            .iter()
            .position(|p| p.to == from && p.message_id == message_id)?;
        Some(self.pending.swap_remove(index).purpose)
    }

    /// Stops retransmitting whatever matches, unanswered.
    pub fn abandon(&mut self, mut matches: impl FnMut(SocketAddr, u16, &Purpose) -> bool) {
        self.pending
            .retain(|p| !matches(p.to, p.message_id, &p.purpose));
    }

    /// Messages whose timeout passed: resent, or given up after MAX_RETRANSMIT.
    pub fn due(&mut self, now: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut resend = Vec::new();
        self.pending.retain_mut(|p| {
            if p.resend_at > now {
                return true;
            }
            if p.retries == MAX_RETRANSMIT {
                tracing::debug!(to = %p.to, mid = p.message_id, "gave up: never acknowledged");
                return false;
            }
            p.retries += 1;
            p.timeout *= 2;
            p.resend_at = now + p.timeout;
            resend.push((p.to, p.bytes.clone()));
            true
        });
        resend
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.resend_at).min()
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn resends_the_same_bytes_on_a_doubling_schedule_then_gives_up() {
        let mut retransmitter = Retransmitter::new(StdRng::seed_from_u64(1));
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let t0 = Instant::now();
        retransmitter.track(peer, 42, vec![0xAB], Purpose::SeparateResponse, t0);
        let first = retransmitter.next_deadline().unwrap() - t0;
        assert!(
            first >= ACK_TIMEOUT && first <= ACK_TIMEOUT.mul_f64(ACK_RANDOM_FACTOR),
            "{first:?}"
        );

        let mut now = t0;
        let mut gaps = Vec::new();
        while let Some(deadline) = retransmitter.next_deadline() {
            gaps.push(deadline - now);
            now = deadline;
            for (to, bytes) in retransmitter.due(now) {
                assert_eq!((to, bytes), (peer, vec![0xAB]));
            }
        }
        // four retransmissions, then one last timeout before giving up
        assert_eq!(gaps, [first, first * 2, first * 4, first * 8, first * 16]);
    }

    #[test]
    fn an_answer_stops_it_and_names_the_purpose() {
        let mut retransmitter = Retransmitter::new(StdRng::seed_from_u64(1));
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let t0 = Instant::now();
        let purpose = Purpose::Notification { token: vec![1] };
        retransmitter.track(peer, 1, vec![], purpose.clone(), t0);
        assert_eq!(
            retransmitter.settle("127.0.0.1:8".parse().unwrap(), 1),
            None
        );
        assert_eq!(retransmitter.settle(peer, 1), Some(purpose));
        assert_eq!(retransmitter.next_deadline(), None);
    }
}
