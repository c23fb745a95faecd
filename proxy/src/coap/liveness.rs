//! Is the device there? Decided from traffic alone, without polling per tablet.
//!
//! The device counts as unreachable when it has been silent for
//! `unreachable_after` *and* something we sent has waited at least one
//! ACK_TIMEOUT for an answer: silence alone is normal between notifications.
//! When the link is idle the endpoint probes (a CoAP ping, or the caller's
//! own request), so a dead device is noticed even when nobody sends commands.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::Config;

/// What the proxy shows about the link to the transmitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkHealth {
    pub reachable: bool,
    /// When the last datagram from the device arrived.
    pub last_contact: Option<Instant>,
    /// First transmission to answer, for the last message answered without a
    /// retransmission (Karn's rule: a retransmitted one's answer is ambiguous).
    pub last_rtt: Option<Duration>,
    /// Of the Confirmable messages sent in the last [`LOSS_WINDOW`], the
    /// percentage that were retransmissions: what the link lost, seen from here.
    pub loss_percent: Option<u8>,
}

/// How far back [`LinkHealth::loss_percent`] looks.
pub const LOSS_WINDOW: Duration = Duration::from_secs(60);
/// A bound on the transmissions remembered for it, whatever the rate.
const LOSS_SAMPLES: usize = 4096;

#[derive(Debug)]
pub struct Liveness {
    created: Instant,
    last_rx: Option<Instant>,
    /// The first Confirmable message sent since the device was last heard from.
    waiting_since: Option<Instant>,
    last_probe: Option<Instant>,
    last_rtt: Option<Duration>,
    /// Recent Confirmable transmissions: when, and whether a retransmission.
    sent: VecDeque<(Instant, bool)>,
}

impl Liveness {
    pub fn new(now: Instant) -> Self {
        Liveness {
            created: now,
            last_rx: None,
            waiting_since: None,
            last_probe: None,
            last_rtt: None,
            sent: VecDeque::new(),
        }
    }

    /// When the last datagram from the device arrived.
    pub fn last_contact(&self) -> Option<Instant> {
        self.last_rx
    }

    pub fn received(&mut self, now: Instant) {
        self.last_rx = Some(now);
        self.waiting_since = None;
    }

    pub fn sent_confirmable(&mut self, now: Instant) {
        self.awaiting(now);
        self.record(now, false);
    }

    /// Something from the device is due (a separate response).
    pub fn awaiting(&mut self, now: Instant) {
        self.waiting_since.get_or_insert(now);
    }

    pub fn retransmitted(&mut self, now: Instant) {
        // Awaited too: a datagram heard since the first copy (a notification,
        // a ping) says nothing about whether this one will be answered.
        self.awaiting(now);
        self.record(now, true);
    }

    fn record(&mut self, now: Instant, retransmission: bool) {
        while self.sent.len() >= LOSS_SAMPLES
            || self
                .sent
                .front()
                .is_some_and(|(at, _)| now.saturating_duration_since(*at) > LOSS_WINDOW)
        {
            self.sent.pop_front();
        }
        self.sent.push_back((now, retransmission));
    }

    fn loss_percent(&self, now: Instant) -> Option<u8> {
        let recent = self
            .sent
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= LOSS_WINDOW);
        let (total, lost) =
            recent.fold((0usize, 0usize), |(t, l), (_, r)| (t + 1, l + *r as usize));
        (total > 0).then(|| (lost * 100 / total) as u8)
    }

    pub fn answered_first_try(&mut self, rtt: Duration) {
        self.last_rtt = Some(rtt);
    }

    fn silent_since(&self) -> Instant {
        self.last_rx.unwrap_or(self.created)
    }

    /// When `reachable` turns false if nothing arrives, so a driver can wake to publish it.
    pub fn unreachable_at(&self, config: &Config) -> Option<Instant> {
        let waiting = self.waiting_since?;
        Some((self.silent_since() + config.unreachable_after).max(waiting + config.ack_timeout))
    }

    pub fn health(&self, config: &Config, now: Instant) -> LinkHealth {
        LinkHealth {
            reachable: self.unreachable_at(config).is_none_or(|at| now < at),
            last_contact: self.last_rx,
            last_rtt: self.last_rtt,
            loss_percent: self.loss_percent(now),
        }
    }

    /// When the next probe is due, given that nothing is in flight: `probe_idle`
    /// after the last contact, then every `probe_repeat` while unanswered.
    pub fn probe_at(&self, config: &Config) -> Instant {
        let heard = self.silent_since() + config.probe_idle;
        match self.last_probe {
            Some(p) if p >= self.silent_since() => heard.max(p + config.probe_repeat),
            _ => heard,
        }
    }

    pub fn probed(&mut self, now: Instant) {
        self.last_probe = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_retransmission_unanswered_is_silence_even_after_other_traffic() {
        let config = Config::default();
        let t0 = Instant::now();
        let mut link = Liveness::new(t0);
        link.sent_confirmable(t0);
        // A notification arrives; the request itself is still unanswered.
        link.received(t0 + S);
        link.retransmitted(t0 + 3 * S);
        assert!(link.health(&config, t0 + 9 * S).reachable);
        assert!(
            !link.health(&config, t0 + 11 * S).reachable,
            "silent 10 s with a request out"
        );
    }

    #[test]
    fn silence_with_nothing_asked_is_not_unreachable() {
        let config = Config::default();
        let t0 = Instant::now();
        let mut link = Liveness::new(t0);
        link.received(t0);
        assert!(link.health(&config, t0 + 60 * S).reachable);
    }
}
