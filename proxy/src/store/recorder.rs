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
        let before = self.last_health.replace(health.clone()).unwrap_or(Health {
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

    /// Whether the device should be asked for its history now: the board
    /// was (re)read — at start, after a reboot, after a resync.
    pub fn wants_history(before: Option<&Health>, now: &Health) -> bool {
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
mod tests {
    use super::*;
    use shared::device::{CreateSession, PageMode, UpdateSession};

    const NOW: i64 = 1_796_324_400_000;

    fn actor() -> Actor {
        Actor {
            token_id: None,
            name: "Front door".into(),
            address: "10.0.0.5".into(),
        }
    }

    /// A session created at device time `at` (the device's clock runs with
    /// the proxy's: offset 0).
    fn session(uuid: &str, number: u32, at_s: i64) -> Session {
        let at = DeviceTime::from_seconds(at_s);
        Session {
            id: number,
            session_sequence: Some(1),
            uuid: uuid.into(),
            number,
            party_size: Some(2),
            goal_in_seconds: 600,
            created: at,
            started: at,
            notified: None,
            cleared: None,
            label: Some("Ann".into()),
            state: None,
        }
    }

    fn delta(parties: &[Party], removed: &[&str]) -> MirrorDelta {
        MirrorDelta {
            upserted: parties.to_vec(),
            removed: removed.iter().map(|s| s.to_string()).collect(),
            health: Some(Health {
                reachable: true,
                synced: true,
                device_clock_offset_s: Some(0),
                ..Health::default()
            }),
            ..MirrorDelta::default()
        }
    }

    fn primed() -> Recorder {
        let mut r = Recorder::new();
        r.on_history(&[], &MirrorState::default(), NOW);
        r.on_delta(&delta(&[], &[]), NOW);
        r
    }

    fn parties(records: &[Record]) -> Vec<(&'static str, bool, Option<String>, Option<String>)> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::Party(f) => Some((
                    f.event.kind(),
                    f.learned_late,
                    f.op.clone(),
                    match &f.event {
                        PartyEvent::Paged { mode } => mode.clone(),
                        _ => None,
                    },
                )),
                _ => None,
            })
            .collect()
    }

    fn page(number: u32) -> ValidCommand {
        ValidCommand::UpdateSession {
            number,
            body: UpdateSession {
                action: Some(Action::Page),
                page_mode: Some(PageMode::Flash30Sec),
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_tablets_create_page_and_seat_are_recorded_live_with_their_audit_lines() {
        let mut r = primed();
        let now_s = NOW / 1000;
        let create = ValidCommand::CreateSession(CreateSession {
            number: 7,
            ..Default::default()
        });
        r.on_command("c1", "create_session", "{}".into(), &create, actor(), NOW);
        let mut s = session("u7", 7, now_s);
        let party = Party {
            session: s.clone(),
            page_count: 0,
        };
        let created = r.on_delta(&delta(std::slice::from_ref(&party), &[]), NOW + 20);
        assert_eq!(
            parties(&created),
            [("created", false, Some("c1".into()), None)]
        );
        let verdict = Verdict::Acknowledged {
            result: CommandResult::Party {
                party: party.clone(),
            },
        };
        let audit = r.on_verdict("c1", &verdict, NOW + 25);
        let Record::Audit(line) = &audit[0] else {
            panic!("an audit line")
        };
        assert_eq!(
            (
                line.outcome.as_str(),
                line.duration_ms,
                line.party_uuid.as_deref()
            ),
            ("acknowledged", 25, Some("u7"))
        );

        r.on_command(
            "p1",
            "page_session",
            "{}".into(),
            &page(7),
            actor(),
            NOW + 1000,
        );
        r.on_progress("p1", 2);
        s.notified = Some(DeviceTime::from_seconds(now_s + 1));
        s.session_sequence = Some(2);
        let paged = r.on_delta(
            &delta(
                &[Party {
                    session: s.clone(),
                    page_count: 1,
                }],
                &[],
            ),
            NOW + 1500,
        );
        assert_eq!(
            parties(&paged),
            [("paged", false, Some("p1".into()), Some("Flash30Sec".into()))]
        );
        let audit = r.on_verdict(
            "p1",
            &Verdict::Acknowledged {
                result: CommandResult::Party {
                    party: party.clone(),
                },
            },
            NOW + 1600,
        );
        let Record::Audit(line) = &audit[0] else {
            panic!("an audit line")
        };
        assert_eq!(line.attempts, 2, "carried: sent twice");

        let clear = ValidCommand::UpdateSession {
            number: 7,
            body: UpdateSession {
                action: Some(Action::Clear),
                ..Default::default()
            },
        };
        r.on_command(
            "s1",
            "clear_session",
            "{}".into(),
            &clear,
            actor(),
            NOW + 2000,
        );
        assert!(r
            .on_delta(&delta(&[], &["u7"]), NOW + 2010)
            .iter()
            .all(|r| !matches!(r, Record::Party(_))));
        s.cleared = Some(DeviceTime::from_seconds(now_s + 2));
        let seated = r.on_verdict(
            "s1",
            &Verdict::Acknowledged {
                result: CommandResult::Archived { session: s },
            },
            NOW + 2020,
        );
        assert_eq!(
            parties(&seated),
            [("seated", false, Some("s1".into()), None)]
        );
    }

    #[test]
    fn parties_the_proxy_did_not_see_happen_are_learned_late() {
        let mut r = Recorder::new();
        let now_s = NOW / 1000;
        // The board at start: made while Coaster was away, even a moment ago.
        let at_start = Party {
            session: session("a", 1, now_s - 5),
            page_count: 0,
        };
        let facts = r.on_delta(&delta(&[at_start], &[]), NOW);
        assert_eq!(parties(&facts), [("created", true, None, None)]);
        r.on_history(&[], &MirrorState::default(), NOW);
        // Seen live, made on the device's own keypad: not late.
        let keypad = Party {
            session: session("b", 2, now_s),
            page_count: 0,
        };
        assert_eq!(
            parties(&r.on_delta(&delta(&[keypad], &[]), NOW + 500)),
            [("created", false, None, None)]
        );
        // Learned only at a resync a minute after it was made: late.
        let missed = Party {
            session: session("c", 3, now_s - 60),
            page_count: 0,
        };
        assert_eq!(
            parties(&r.on_delta(&delta(&[missed], &[]), NOW + 600)),
            [("created", true, None, None)]
        );
    }

    #[test]
    fn the_history_says_how_parties_left_while_coaster_was_away() {
        let mut r = Recorder::new();
        let now_s = NOW / 1000;
        let mut seated = session("s", 1, now_s - 600);
        seated.notified = Some(DeviceTime::from_seconds(now_s - 300));
        seated.cleared = Some(DeviceTime::from_seconds(now_s - 200));
        let mut removed = session("r", 2, now_s - 500);
        removed.cleared = Some(DeviceTime::from_seconds(now_s - 400));
        let history = [
            HistoryEntry {
                session: seated,
                clear_type: ClearType::Stop,
            },
            HistoryEntry {
                session: removed,
                clear_type: ClearType::Removed,
            },
        ];
        let board = MirrorState {
            parties: vec![Party {
                session: session("w", 3, now_s - 100),
                page_count: 0,
            }],
            health: Health {
                device_clock_offset_s: Some(0),
                ..Health::default()
            },
            ..MirrorState::default()
        };
        let facts = r.on_history(&history, &board, NOW);
        assert_eq!(
            parties(&facts)
                .iter()
                .map(|(kind, late, ..)| (*kind, *late))
                .collect::<Vec<_>>(),
            [
                ("created", true),
                ("paged", true),
                ("seated", true),
                ("created", true),
                ("removed", true),
                ("created", true)
            ]
        );
        let Record::Party(seated_at) = &facts[2] else {
            panic!()
        };
        assert_eq!(
            seated_at.at_ms,
            NOW - 200_000,
            "on the proxy's clock, from the device's"
        );
    }

    #[test]
    fn the_history_is_read_when_the_board_is_read_again() {
        let synced = Health {
            synced: true,
            ..Health::default()
        };
        assert!(Recorder::wants_history(None, &synced));
        assert!(!Recorder::wants_history(Some(&synced), &synced));
        let rebooted = Health {
            reboots: 1,
            ..synced.clone()
        };
        assert!(Recorder::wants_history(Some(&synced), &rebooted));
        let resynced = Health {
            resyncs: 1,
            ..synced.clone()
        };
        assert!(Recorder::wants_history(Some(&synced), &resynced));
        assert!(
            !Recorder::wants_history(None, &Health::default()),
            "not before the board is in"
        );
    }
}
