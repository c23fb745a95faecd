//! What the stand records, decided without I/O: the runner tells it of each
//! tablet's command, each attempt, each verdict, each change to the board
//! and each read of the device's history, and it answers the facts to queue.
//!
//! - A command and its verdict are one audit line, timed from arrival.
//! - Parties' lifecycles come from the board's changes: a new party is
//!   created, a page count that rose is a page (with the mode its command
//!   asked for), a changed name, size or goal an update. How a party left
//!   (seated or removed) comes from our own command's verdict, or — when it
//!   left by the device's own keypad or while Coaster was away — from the
//!   device's history, read at start and after every resync.
//! - An event the proxy learns more than [`LATE`] after the device's clock
//!   says it happened (the board read at start, a resync after a partition,
//!   the history) is marked learned late.

use std::collections::HashMap;

use shared::device::{Action, ClearType, HistoryEntry, Session};
use shared::protocol::{
    CommandResult, Health, MirrorDelta, MirrorState, Party, ValidCommand, Verdict,
};
use shared::time::DeviceTime;

use super::record::{Actor, AuditEntry, HealthFact, PartyEvent, PartyFact, Record};

/// How far behind the device's clock an event may be seen and still count
/// as seen live: a notification lost and re-read takes seconds, not this.
pub const LATE_S: i64 = 30;
const LATE: i64 = LATE_S * 1000;

/// A command waiting for its verdict.
struct Pending {
    at_ms: i64,
    by: Actor,
    name: &'static str,
    detail: String,
    command: ValidCommand,
    attempts: u32,
}

#[derive(Default)]
pub struct Recorder {
    pending: HashMap<String, Pending>,
    /// The board as last recorded: uuid → party.
    known: HashMap<String, Party>,
    /// Per pager, the last page command and its mode, to name a page's mode and tablet.
    paging: HashMap<u32, (String, Option<String>)>,
    /// Per pager, the op and name of the last command that acted on it.
    acting: HashMap<u32, (String, &'static str)>,
    /// The device's history has been read since start: a party first seen
    /// from here on, not created by a tablet, was made on the device itself.
    primed: bool,
    /// The device's clock minus the proxy's, seconds.
    offset_s: Option<i64>,
    last_health: Option<Health>,
    /// The board was (re)read since the runner last asked: read the history too.
    history_due: bool,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tablet's command reached the core at `now_ms`.
    pub fn on_command(
        &mut self,
        op: &str,
        name: &'static str,
        detail: String,
        command: &ValidCommand,
        by: Actor,
        now_ms: i64,
    ) {
        if let Some(number) = pager(command) {
            self.acting.insert(number, (op.to_string(), name));
            if let ValidCommand::UpdateSession { body, .. } = command {
                if body.action == Some(Action::Page) {
                    let mode = body.page_mode.map(|m| m.name().to_string());
                    self.paging.insert(number, (op.to_string(), mode));
                }
            }
        }
        // A resent op keeps its first arrival.
        self.pending.entry(op.to_string()).or_insert(Pending {
            at_ms: now_ms,
            by,
            name,
            detail,
            command: command.clone(),
            attempts: 1,
        });
    }

    /// The core is sending the command again (attempt `attempt`).
    pub fn on_progress(&mut self, op: &str, attempt: u32) {
        if let Some(p) = self.pending.get_mut(op) {
            p.attempts = p.attempts.max(attempt);
        }
    }

    /// The verdict on `op`: its audit line, and how a party left if it did.
    pub fn on_verdict(&mut self, op: &str, verdict: &Verdict, now_ms: i64) -> Vec<Record> {
        let Some(p) = self.pending.remove(op) else {
            return Vec::new();
        };
        let mut records = Vec::new();
        let mut party_uuid = None;
        let (outcome, message) = match verdict {
            Verdict::Acknowledged { result } => {
                match result {
                    CommandResult::Party { party } => party_uuid = Some(party.session.uuid.clone()),
                    CommandResult::Archived { session } => {
                        party_uuid = Some(session.uuid.clone());
                        let event = match &p.command {
                            ValidCommand::UpdateSession { body, .. }
                                if body.action == Some(Action::Remove) =>
                            {
                                PartyEvent::Removed
                            }
                            _ => PartyEvent::Seated,
                        };
                        records.push(self.fact(
                            session,
                            event,
                            String::new(),
                            now_ms,
                            false,
                            Some(op),
                        ));
                    }
                    _ => {}
                }
                ("acknowledged", None)
            }
            Verdict::Rejected { message, .. } => ("rejected", Some(message.clone())),
            Verdict::Invalid { message, .. } => ("invalid", Some(message.clone())),
            Verdict::Unreachable { message } => ("unreachable", Some(message.clone())),
        };
        let pager = pager(&p.command);
        if party_uuid.is_none() {
            party_uuid = pager.and_then(|n| self.on_pager(n)).map(|s| s.uuid.clone());
        }
        records.insert(
            0,
            Record::Audit(AuditEntry {
                op: op.to_string(),
                at_ms: p.at_ms,
                by: p.by,
                command: p.name.to_string(),
                pager,
                party_uuid,
                detail: p.detail,
                outcome: outcome.to_string(),
                message,
                duration_ms: (now_ms - p.at_ms).clamp(0, i64::from(u32::MAX)) as u32,
                attempts: p.attempts,
            }),
        );
        records
    }

    /// A change to the board every tablet sees.
    pub fn on_delta(&mut self, delta: &MirrorDelta, now_ms: i64) -> Vec<Record> {
        let mut records = Vec::new();
        if let Some(health) = &delta.health {
            self.offset_s = health.device_clock_offset_s.or(self.offset_s);
            records.extend(self.health(health, now_ms));
        }
        for uuid in &delta.removed {
            self.known.remove(uuid);
        }
        for party in &delta.upserted {
            let s = &party.session;
            let before = self.known.insert(s.uuid.clone(), party.clone());
            let op = self.acting.get(&s.number).map(|(op, _)| op.clone());
            match before {
                None => {
                    let creator = match self.acting.get(&s.number) {
                        Some((op, "create_session")) => Some(op.clone()),
                        _ => None,
                    };
                    let late = creator.is_none() && (!self.primed || self.late(s.created, now_ms));
                    let at = if late {
                        self.proxy_ms(s.created, now_ms)
                    } else {
                        now_ms
                    };
                    records.push(self.fact(
                        s,
                        PartyEvent::Created,
                        String::new(),
                        at,
                        late,
                        creator.as_deref(),
                    ));
                    records.extend(self.late_page(s, now_ms));
                }
                Some(before) => {
                    if party.page_count > before.page_count
                        || (s.notified != before.session.notified && s.notified.is_some())
                    {
                        let (page_op, mode) = self.paging.get(&s.number).cloned().unzip();
                        let late = s.notified.is_some_and(|n| self.late(n, now_ms));
                        let key = format!(
                            "{}#{}",
                            s.notified.map(|n| n.to_string()).unwrap_or_default(),
                            s.session_sequence.unwrap_or(0)
                        );
                        let at = if late {
                            s.notified.map_or(now_ms, |n| self.proxy_ms(n, now_ms))
                        } else {
                            now_ms
                        };
                        records.push(self.fact(
                            s,
                            PartyEvent::Paged {
                                mode: mode.flatten(),
                            },
                            key,
                            at,
                            late,
                            page_op.as_deref(),
                        ));
                    }
                    let s0 = &before.session;
                    if (&s.label, s.party_size, s.goal_in_seconds)
                        != (&s0.label, s0.party_size, s0.goal_in_seconds)
                    {
                        let key = format!("{}", s.session_sequence.unwrap_or(0));
                        records.push(self.fact(
                            s,
                            PartyEvent::Updated,
                            key,
                            now_ms,
                            false,
                            op.as_deref(),
                        ));
                    }
                }
            }
        }
        records
    }

    /// The device's history and the board, read to catch up: every party
    /// the store may not have, as learned late (the store keeps what it has).
    pub fn on_history(
        &mut self,
        history: &[HistoryEntry],
        board: &MirrorState,
        now_ms: i64,
    ) -> Vec<Record> {
        self.offset_s = board.health.device_clock_offset_s.or(self.offset_s);
        let mut records = Vec::new();
        let sessions = history
            .iter()
            .map(|h| (&h.session, Some(h.clear_type)))
            .chain(board.parties.iter().map(|p| (&p.session, None)));
        for (s, clear_type) in sessions {
            let created = self.proxy_ms(s.created, now_ms);
            records.push(self.fact(s, PartyEvent::Created, String::new(), created, true, None));
            records.extend(self.late_page(s, now_ms));
            if let (Some(clear_type), Some(cleared)) = (clear_type, s.cleared) {
                let event = match clear_type {
                    ClearType::Stop => PartyEvent::Seated,
                    ClearType::Removed => PartyEvent::Removed,
                };
                let at = self.proxy_ms(cleared, now_ms);
                records.push(self.fact(s, event, String::new(), at, true, None));
            }
        }
        for party in &board.parties {
            self.known.insert(party.session.uuid.clone(), party.clone());
        }
        self.primed = true;
        records
    }

    fn health(&mut self, health: &Health, now_ms: i64) -> Vec<Record> {
        let previous = self.last_health.replace(health.clone());
        self.history_due |= Self::wants_history(previous.as_ref(), health);
        let before = previous.unwrap_or(Health {
            reachable: true,
            ..Health::default()
        });
        let mut facts = Vec::new();
        let mut fact = |kind: &str, detail: Option<String>| {
            facts.push(Record::Health(HealthFact {
                at_ms: now_ms,
                kind: kind.into(),
                detail,
            }))
        };
        if health.reachable != before.reachable {
            fact(
                if health.reachable {
                    "reachable"
                } else {
                    "unreachable"
                },
                None,
            );
        }
        if health.reboots > before.reboots {
            fact("reboot", None);
        }
        if health.resyncs > before.resyncs {
            fact("resync", None);
        }
        if health.not_recording != before.not_recording {
            match &health.not_recording {
                Some(reason) => fact("not_recording", Some(reason.clone())),
                None => fact("recording", None),
            }
        }
        facts
    }

    /// Whether the board was (re)read since the last call — at start, after
    /// a reboot, after a resync — so the device's history should be read.
    pub fn take_history_due(&mut self) -> bool {
        std::mem::take(&mut self.history_due)
    }

    /// Whether a health change means the board was (re)read.
    fn wants_history(before: Option<&Health>, now: &Health) -> bool {
        match before {
            None => now.synced,
            Some(b) => {
                now.synced && (!b.synced || now.reboots > b.reboots || now.resyncs > b.resyncs)
            }
        }
    }

    /// A page the device shows that the proxy did not see go out; the store
    /// takes it only if it holds no page of that party already.
    fn late_page(&self, s: &Session, now_ms: i64) -> Option<Record> {
        let at = self.proxy_ms(s.notified?, now_ms);
        let page = PartyEvent::Paged { mode: None };
        Some(self.fact(s, page, "late".into(), at, true, None))
    }

    fn on_pager(&self, number: u32) -> Option<&Session> {
        self.known
            .values()
            .map(|p| &p.session)
            .find(|s| s.number == number)
    }

    fn late(&self, at: DeviceTime, now_ms: i64) -> bool {
        now_ms - self.proxy_ms(at, now_ms) > LATE
    }

    /// A device time on the proxy's clock; `fallback` when the offset is unknown.
    fn proxy_ms(&self, at: DeviceTime, fallback: i64) -> i64 {
        match self.offset_s {
            Some(offset) => (at.seconds() - offset) * 1000,
            None => fallback,
        }
    }

    fn fact(
        &self,
        session: &Session,
        event: PartyEvent,
        key: String,
        at_ms: i64,
        learned_late: bool,
        op: Option<&str>,
    ) -> Record {
        // Only used when the party is new to the store.
        let created_ms = match event {
            PartyEvent::Created => at_ms,
            _ => self.proxy_ms(session.created, at_ms),
        };
        // Waiting when a party arrives live: the others not yet paged.
        let ahead = (event == PartyEvent::Created && !learned_late).then(|| {
            let waiting = self.known.values().filter(|p| p.session.notified.is_none());
            waiting.filter(|p| p.session.uuid != session.uuid).count() as u32
        });
        Record::Party(PartyFact {
            session: session.clone(),
            event,
            key,
            at_ms,
            created_ms,
            learned_late,
            op: op.map(str::to_string),
            ahead,
        })
    }
}

/// The pager a command acts on.
pub fn pager(command: &ValidCommand) -> Option<u32> {
    match command {
        ValidCommand::CreateSession(c) => Some(c.number),
        ValidCommand::UpdateSession { number, .. } => Some(*number),
        ValidCommand::StandalonePage(p) => Some(p.number),
        _ => None,
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
