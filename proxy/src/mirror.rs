//! The proxy's copy of the transmitter's state. Sans-IO: device envelopes in,
//! [`MirrorDelta`]s for the tablets out, plus whether the copy still needs a
//! fresh snapshot.
//!
//! The device numbers every session change with `globalSessionSequence` and
//! stamps each session with the number of its last change. Over a lossy link
//! notifications arrive late, twice or not at all, and a retransmitted
//! request can be answered from the device's cache with an older state. So:
//! - each session is only ever replaced by a newer version of itself, and a
//!   session that left the board never comes back (tombstones);
//! - sequence numbers skipped are remembered as missing; a late notification
//!   fills its hole, and only holes that stay open call for a snapshot;
//! - a snapshot is the whole truth, and one whose sequence went backwards
//!   means the device restarted (and forgot its observers).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use shared::device::{Envelope, Session};
use shared::protocol::{DeviceInfo, Health, MirrorDelta, MirrorState, Party};

/// The docs show 65535 on an old session: "sequence unknown".
const UNKNOWN_SEQUENCE: u32 = 65_535;
/// Uuids of sessions that left the board, remembered to refuse stale copies.
const TOMBSTONES: usize = 4096;
/// A hole wider than this is not waited for: a snapshot is cheaper.
const MAX_MISSING: u32 = 256;

/// Where an envelope came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// All active sessions (GET /v1/sessions or the Observe registration).
    Snapshot,
    /// A notification or a ping.
    Notification,
    /// The answer to a command; `paged` when the command was a page, which
    /// counts even when `notified` did not move (two pages in one second).
    Response { paged: bool },
}

/// Why the mirror wants a fresh snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resync {
    /// Sequence numbers were skipped; wait a moment for late notifications,
    /// then take a snapshot if [`Mirror::has_gap`] still holds.
    Gap { expected: u32, got: u32 },
    /// The sequence went backwards. After a snapshot this means the device
    /// restarted and forgot its observers; after a response, that the answer
    /// may have been an old one and a snapshot should tell.
    Backwards { last: u32, got: u32 },
}

#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    pub delta: MirrorDelta,
    pub resync: Option<Resync>,
}

pub struct Mirror {
    state: MirrorState,
    /// Per session uuid, the `sessionSequence` of the last page counted, so
    /// the response and the notification of one page count it once.
    counted_page: HashMap<String, Option<u32>>,
    missing: BTreeSet<u32>,
    tombstones: HashSet<String>,
    tombstone_order: VecDeque<String>,
}

impl Mirror {
    pub fn new(device: DeviceInfo) -> Self {
        Mirror {
            state: MirrorState {
                device,
                ..MirrorState::default()
            },
            counted_page: HashMap::new(),
            missing: BTreeSet::new(),
            tombstones: HashSet::new(),
            tombstone_order: VecDeque::new(),
        }
    }

    pub fn state(&self) -> &MirrorState {
        &self.state
    }

    /// Some change the device numbered has not been seen yet.
    pub fn has_gap(&self) -> bool {
        !self.missing.is_empty()
    }

    /// Folds one envelope into the mirror. `utc_now_s` is the proxy's clock,
    /// for the device clock offset.
    pub fn apply(&mut self, envelope: &Envelope, source: Source, utc_now_s: i64) -> Applied {
        let mut delta = MirrorDelta::default();
        let mut resync = None;
        let last = self.state.global_sequence;
        let got = envelope.global_session_sequence;
        // Whether this envelope is at least as new as everything seen so far.
        let mut current = true;
        match (source, last, got) {
            (Source::Snapshot, Some(last), Some(got)) if got < last => {
                resync = Some(Resync::Backwards { last, got });
            }
            (_, Some(last), Some(got)) if got < last => {
                current = false;
                self.missing.remove(&got);
                if matches!(source, Source::Response { .. }) {
                    resync = Some(Resync::Backwards { last, got });
                }
            }
            (Source::Snapshot, _, _) => {}
            (_, Some(last), Some(got)) if got > last.saturating_add(1) => {
                let opened = self.missing.is_empty();
                self.missing.extend(last + 1..got);
                if got - last > MAX_MISSING || opened {
                    resync = Some(Resync::Gap {
                        expected: last + 1,
                        got,
                    });
                }
            }
            _ => {}
        }
        if source == Source::Snapshot {
            self.missing.clear();
        }
        if current && got.is_some() && got != last {
            delta.global_sequence = got;
        }
        if let Some(sessions) = &envelope.sessions {
            match source {
                Source::Snapshot => self.replace_all(sessions, &mut delta),
                Source::Notification => sessions
                    .iter()
                    .for_each(|s| self.change(s, false, &mut delta)),
                Source::Response { paged } => sessions
                    .iter()
                    .for_each(|s| self.change(s, paged, &mut delta)),
            }
        }
        if let Some(statistics) = envelope.statistics {
            if current && statistics != self.state.statistics {
                delta.statistics = Some(statistics);
            }
        }
        if let Some(settings) = &envelope.settings {
            if self.state.settings.as_ref() != Some(settings) {
                delta.settings = Some(settings.clone());
            }
        }
        self.note_identity(envelope, &mut delta);
        if let Some(timestamp) = envelope.timestamp {
            let offset = timestamp.seconds() - utc_now_s;
            // A second of jitter between two envelopes is transit, not a clock change.
            let old = self.state.health.device_clock_offset_s;
            if old.is_none_or(|old| (old - offset).abs() > 1) {
                let mut health = self.state.health.clone();
                health.device_clock_offset_s = Some(offset);
                delta.health = Some(health);
            }
        }
        for uuid in &delta.removed {
            self.bury(uuid);
        }
        self.state.apply(&delta);
        Applied { delta, resync }
    }

    /// Replaces the health block; returns the delta, empty when nothing changed.
    pub fn set_health(&mut self, health: Health) -> MirrorDelta {
        let mut delta = MirrorDelta::default();
        if health != self.state.health {
            delta.health = Some(health);
            self.state.apply(&delta);
        }
        delta
    }

    fn bury(&mut self, uuid: &str) {
        self.counted_page.remove(uuid);
        if self.tombstones.insert(uuid.to_string()) {
            self.tombstone_order.push_back(uuid.to_string());
            if self.tombstone_order.len() > TOMBSTONES {
                if let Some(oldest) = self.tombstone_order.pop_front() {
                    self.tombstones.remove(&oldest);
                }
            }
        }
    }

    /// The party for a session, counting a page when this is a new one: the
    /// device keeps no count, so every move of `notified` is a page, and so is
    /// a page response at a sequence not yet counted.
    fn party_for(&mut self, session: &Session, paged: bool) -> Party {
        let previous = self
            .state
            .parties
            .iter()
            .find(|p| p.session.uuid == session.uuid);
        let counted = self.counted_page.get(&session.uuid).copied();
        let fresh_sequence = counted.is_none_or(|seq| seq != session.session_sequence)
            || session.session_sequence.is_none();
        let page_count = match previous {
            Some(p) => {
                let moved = p.session.notified != session.notified && session.notified.is_some();
                let new_page = (moved || paged) && fresh_sequence;
                p.page_count + u32::from(new_page)
            }
            None => u32::from(session.notified.is_some()),
        };
        if page_count > previous.map_or(0, |p| p.page_count) {
            self.counted_page
                .insert(session.uuid.clone(), session.session_sequence);
        }
        Party {
            session: session.clone(),
            page_count,
        }
    }

    /// Whether `session` is older than the copy the mirror holds.
    fn is_older(&self, session: &Session) -> bool {
        let known = |seq: Option<u32>| seq.filter(|s| *s != UNKNOWN_SEQUENCE);
        let held = self
            .state
            .parties
            .iter()
            .find(|p| p.session.uuid == session.uuid)
            .and_then(|p| known(p.session.session_sequence));
        matches!((known(session.session_sequence), held), (Some(new), Some(old)) if new < old)
    }

    fn change(&mut self, session: &Session, paged: bool, delta: &mut MirrorDelta) {
        if self.tombstones.contains(&session.uuid) || self.is_older(session) {
            return;
        }
        if !session.is_active() {
            if self
                .state
                .parties
                .iter()
                .any(|p| p.session.uuid == session.uuid)
            {
                delta.removed.push(session.uuid.clone());
            } else {
                self.bury(&session.uuid);
            }
            return;
        }
        if let Some(other) = self.state.party(session.number) {
            if other.session.uuid != session.uuid {
                delta.removed.push(other.session.uuid.clone());
            }
        }
        let party = self.party_for(session, paged);
        if self.state.party(session.number) != Some(&party) {
            delta.upserted.push(party);
        }
    }

    fn replace_all(&mut self, sessions: &[Session], delta: &mut MirrorDelta) {
        let active: Vec<&Session> = sessions.iter().filter(|s| s.is_active()).collect();
        for old in &self.state.parties {
            if !active.iter().any(|s| s.uuid == old.session.uuid) {
                delta.removed.push(old.session.uuid.clone());
            }
        }
        for session in active {
            let party = self.party_for(session, false);
            if self.state.party(session.number) != Some(&party) {
                delta.upserted.push(party);
            }
        }
    }

    fn note_identity(&self, envelope: &Envelope, delta: &mut MirrorDelta) {
        let mut device = self.state.device.clone();
        if envelope.device_name.is_some() {
            device.device_name = envelope.device_name.clone();
        }
        if envelope.firmware_version.is_some() {
            device.firmware_version = envelope.firmware_version.clone();
        }
        if device != self.state.device {
            delta.device = Some(device);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::device::SessionState;
    use shared::time::DeviceTime;

    fn t(s: i64) -> DeviceTime {
        DeviceTime::parse("2026-11-29T19:00:00")
            .unwrap()
            .plus_seconds(s)
    }

    fn session(number: u32, uuid: &str, notified: Option<i64>) -> Session {
        Session {
            id: number,
            session_sequence: None,
            uuid: uuid.into(),
            number,
            party_size: Some(2),
            goal_in_seconds: 300,
            created: t(0),
            started: t(0),
            notified: notified.map(t),
            cleared: None,
            label: None,
            state: Some(if notified.is_some() {
                SessionState::Paged
            } else {
                SessionState::Started
            }),
        }
    }

    fn change(seq: u32, sessions: Vec<Session>) -> Envelope {
        Envelope {
            response_types: vec!["sessions".into()],
            global_session_sequence: Some(seq),
            sessions: Some(sessions),
            ..Default::default()
        }
    }

    fn mirror() -> Mirror {
        Mirror::new(DeviceInfo::default())
    }

    fn numbers(m: &Mirror) -> Vec<u32> {
        m.state().parties.iter().map(|p| p.session.number).collect()
    }

    #[test]
    fn consecutive_changes_apply_without_resync() {
        let mut m = mirror();
        m.apply(
            &change(1, vec![session(7, "a", None)]),
            Source::Notification,
            0,
        );
        let applied = m.apply(
            &change(2, vec![session(3, "b", None)]),
            Source::Notification,
            0,
        );
        assert_eq!(applied.resync, None);
        assert_eq!(applied.delta.global_sequence, Some(2));
        assert_eq!(numbers(&m), [3, 7]);
    }

    #[test]
    fn a_gap_applies_and_asks_for_a_snapshot() {
        let mut m = mirror();
        m.apply(
            &change(1, vec![session(7, "a", None)]),
            Source::Notification,
            0,
        );
        let applied = m.apply(
            &change(4, vec![session(3, "b", None)]),
            Source::Notification,
            0,
        );
        assert_eq!(
            applied.resync,
            Some(Resync::Gap {
                expected: 2,
                got: 4
            })
        );
        assert_eq!(numbers(&m), [3, 7]);
    }

    #[test]
    fn a_stale_change_cannot_bring_back_a_seated_party() {
        let mut m = mirror();
        let mut seated = session(7, "a", None);
        seated.state = Some(SessionState::Cleared);
        m.apply(
            &change(5, vec![session(7, "a", None)]),
            Source::Notification,
            0,
        );
        m.apply(&change(6, vec![seated]), Source::Notification, 0);
        assert!(numbers(&m).is_empty());
        let applied = m.apply(
            &change(5, vec![session(7, "a", None)]),
            Source::Notification,
            0,
        );
        assert_eq!(applied.resync, None);
        assert!(applied.delta.upserted.is_empty());
        assert!(numbers(&m).is_empty());
    }

    #[test]
    fn a_snapshot_replaces_everything_even_after_a_reboot() {
        let mut m = mirror();
        m.apply(
            &change(40, vec![session(1, "a", None), session(2, "b", None)]),
            Source::Notification,
            0,
        );
        let applied = m.apply(&change(3, vec![session(2, "c", None)]), Source::Snapshot, 0);
        assert_eq!(applied.resync, Some(Resync::Backwards { last: 40, got: 3 }));
        assert_eq!(applied.delta.removed, ["a", "b"]);
        assert_eq!(m.state().global_sequence, Some(3));
        assert_eq!(m.state().party(2).unwrap().session.uuid, "c");
    }

    #[test]
    fn every_move_of_notified_counts_one_page() {
        let mut m = mirror();
        m.apply(
            &change(1, vec![session(4, "a", None)]),
            Source::Notification,
            0,
        );
        m.apply(
            &change(2, vec![session(4, "a", Some(60))]),
            Source::Notification,
            0,
        );
        // The same page seen twice (response, then notification) counts once.
        m.apply(
            &change(2, vec![session(4, "a", Some(60))]),
            Source::Notification,
            0,
        );
        m.apply(
            &change(3, vec![session(4, "a", Some(90))]),
            Source::Notification,
            0,
        );
        assert_eq!(m.state().party(4).unwrap().page_count, 2);
        // A party first seen already paged has been paged at least once.
        m.apply(
            &change(4, vec![session(5, "b", Some(10))]),
            Source::Notification,
            0,
        );
        assert_eq!(m.state().party(5).unwrap().page_count, 1);
    }

    #[test]
    fn a_second_page_in_the_same_second_counts_once_however_often_it_is_seen() {
        let mut m = mirror();
        let with_seq = |seq: u32, notified: Option<i64>| {
            let mut s = session(4, "a", notified);
            s.session_sequence = Some(seq);
            change(seq, vec![s])
        };
        m.apply(&with_seq(1, None), Source::Notification, 0);
        // First page: the notification arrives before the response.
        m.apply(&with_seq(2, Some(60)), Source::Notification, 0);
        m.apply(&with_seq(2, Some(60)), Source::Response { paged: true }, 0);
        assert_eq!(m.state().party(4).unwrap().page_count, 1);
        // Second page within the same second: `notified` does not move.
        m.apply(&with_seq(3, Some(60)), Source::Response { paged: true }, 0);
        m.apply(&with_seq(3, Some(60)), Source::Notification, 0);
        assert_eq!(m.state().party(4).unwrap().page_count, 2);
        // A label change on a paged party is no page.
        m.apply(&with_seq(4, Some(60)), Source::Notification, 0);
        assert_eq!(m.state().party(4).unwrap().page_count, 2);
    }

    #[test]
    fn a_new_party_on_a_reused_pager_replaces_the_old_one() {
        let mut m = mirror();
        m.apply(
            &change(1, vec![session(4, "a", None)]),
            Source::Notification,
            0,
        );
        let applied = m.apply(
            &change(2, vec![session(4, "b", None)]),
            Source::Notification,
            0,
        );
        assert_eq!(applied.delta.removed, ["a"]);
        assert_eq!(m.state().parties.len(), 1);
    }

    #[test]
    fn clock_offset_and_identity_change_only_when_they_move() {
        let mut m = mirror();
        let mut env = change(1, vec![]);
        env.timestamp = Some(t(0));
        env.firmware_version = Some("8.4.100.43".into());
        let first = m.apply(&env, Source::Notification, t(0).seconds() - 3600);
        assert_eq!(
            first.delta.health.unwrap().device_clock_offset_s,
            Some(3600)
        );
        assert_eq!(
            first.delta.device.unwrap().firmware_version.as_deref(),
            Some("8.4.100.43")
        );
        let again = m.apply(&env, Source::Notification, t(0).seconds() - 3601);
        assert!(again.delta.is_empty(), "{:?}", again.delta);
    }

    #[test]
    fn an_unchanged_snapshot_is_an_empty_delta() {
        let mut m = mirror();
        let snapshot = change(9, vec![session(1, "a", Some(5)), session(2, "b", None)]);
        m.apply(&snapshot, Source::Snapshot, 0);
        assert!(m.apply(&snapshot, Source::Snapshot, 0).delta.is_empty());
    }
}
