//! What the health panel shows: the link as the endpoint sees it, the
//! registration, the round-trip estimate, and what happened since start.

use std::time::Instant;

use shared::protocol::Health;

use super::sync::Registration;
use super::{Core, Effect};

#[derive(Debug, Default)]
pub(super) struct Tally {
    pub reboots: u32,
    pub resyncs: u32,
    pub last_notification: Option<Instant>,
    pub last_ping: Option<Instant>,
    /// When the device last went unreachable.
    pub went_silent: Option<Instant>,
}

/// A duration in whole milliseconds, for the wire.
fn ms(d: std::time::Duration) -> u32 {
    d.as_millis().min(u32::MAX as u128) as u32
}

impl<T: Clone> Core<T> {
    /// Publishes the health block when it changed. Times are whole seconds so
    /// that a busy link changes it at most once a second.
    pub(super) fn publish_health(&mut self, now: Instant) {
        let link = self.endpoint.health(now);
        let rtt = self.endpoint.rtt();
        let second = |at: Instant| {
            let ms = self.unix_ms(at);
            ms - ms.rem_euclid(1000)
        };
        let health = Health {
            reachable: self.reachable,
            observing: matches!(self.sync.registration, Registration::Live { .. }),
            synced: self.sync.loaded && !self.sync.resyncing,
            last_contact_ms: link.last_contact.map(second),
            last_rtt_ms: link.last_rtt.map(ms),
            device_clock_offset_s: self.mirror.state().health.device_clock_offset_s,
            rtt_ms: rtt.srtt.map(ms),
            rto_ms: Some(ms(rtt.rto)),
            loss_percent: link.loss_percent,
            last_notification_ms: self.tally.last_notification.map(second),
            last_ping_ms: self.tally.last_ping.map(second),
            reboots: self.tally.reboots,
            resyncs: self.tally.resyncs,
            command_deadline_s: Some(self.config.command_deadline.as_secs() as u32),
            not_recording: self.not_recording.clone(),
        };
        let delta = self.mirror.set_health(health);
        if !delta.is_empty() {
            self.effects.push_back(Effect::Delta(delta));
        }
    }
}
