//! The recorder on made-up boards, verdicts and histories.

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
    // The board's deltas say so, once per re-read.
    let mut r = Recorder::new();
    r.on_delta(&delta(&[], &[]), NOW);
    assert!(r.take_history_due(), "the first synced board");
    assert!(!r.take_history_due(), "asked once");
    r.on_delta(&delta(&[], &[]), NOW + 1);
    assert!(!r.take_history_due(), "the same board again");
}
