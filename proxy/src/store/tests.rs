//! The store against real SQLite files in temporary directories.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shared::device::Session;
use shared::time::DeviceTime;

use super::query::{ActivityQuery, PartyQuery};
use super::*;

const T0: i64 = 1_796_000_000_000;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coaster-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn session(uuid: &str, number: u32, label: &str) -> Session {
    let at = DeviceTime::parse("2026-12-03T19:00:00").unwrap();
    Session {
        id: number,
        session_sequence: Some(1),
        uuid: uuid.into(),
        number,
        party_size: Some(4),
        goal_in_seconds: 900,
        created: at,
        started: at,
        notified: None,
        cleared: None,
        label: Some(label.into()),
        state: None,
    }
}

fn fact(
    s: &Session,
    event: PartyEvent,
    key: &str,
    at_ms: i64,
    late: bool,
    op: Option<&str>,
) -> Record {
    Record::Party(PartyFact {
        session: s.clone(),
        event,
        key: key.into(),
        at_ms,
        created_ms: T0,
        learned_late: late,
        op: op.map(str::to_string),
        ahead: None,
    })
}

/// A party created at T0, live or learned late.
fn created(uuid: &str, number: u32, label: &str, late: bool) -> Record {
    fact(
        &session(uuid, number, label),
        PartyEvent::Created,
        "",
        T0,
        late,
        None,
    )
}

fn audit(op: &str, at_ms: i64, tablet: &str, outcome: &str) -> Record {
    Record::Audit(AuditEntry {
        op: op.into(),
        at_ms,
        by: Actor {
            token_id: Some("t1".into()),
            name: tablet.into(),
            address: "10.0.0.5".into(),
        },
        command: "page_session".into(),
        pager: Some(7),
        party_uuid: Some("u7".into()),
        detail: "{}".into(),
        outcome: outcome.into(),
        message: None,
        duration_ms: 12,
        attempts: 1,
    })
}

fn all_parties(store: &Store) -> Vec<shared::stand::StandParty> {
    store
        .parties(&PartyQuery {
            from_ms: 0,
            to_ms: i64::MAX,
            ..Default::default()
        })
        .unwrap()
}

fn open(dir: &Path) -> Store {
    Store::open(dir, "default", 730).unwrap()
}

/// Waits for the status to become `want` (the writer retries on its own clock).
fn status_becomes(store: &Store, want: impl Fn(&Option<String>) -> bool) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut status = store.status();
    loop {
        let now = status.borrow_and_update().clone();
        if want(&now) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn migrations_run_once_and_a_reopened_store_keeps_its_rows() {
    let dir = dir("migrate");
    let store = open(&dir);
    store.record(created("u1", 1, "Ann", false));
    assert!(store.flush(Duration::from_secs(5)));
    drop(store);
    let store = open(&dir);
    assert_eq!(all_parties(&store).len(), 1);
    let conn = rusqlite::Connection::open(dir.join(FILE)).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::latest());
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_lifecycle_recorded_twice_is_stored_once() {
    let dir = dir("lifecycle");
    let store = open(&dir);
    let mut s = session("u1", 1, "Ann");
    for _ in 0..2 {
        store.record(fact(&s, PartyEvent::Created, "", T0, false, Some("c1")));
        s.notified = Some(DeviceTime::parse("2026-12-03T19:05:00").unwrap());
        store.record(fact(
            &s,
            PartyEvent::Paged {
                mode: Some("Flash30Sec".into()),
            },
            "a#2",
            T0 + 300_000,
            false,
            Some("p1"),
        ));
        // The same page read back from the history later: not a second page.
        store.record(fact(
            &s,
            PartyEvent::Paged { mode: None },
            "late",
            T0 + 300_000,
            true,
            None,
        ));
        s.cleared = Some(DeviceTime::parse("2026-12-03T19:09:00").unwrap());
        store.record(fact(
            &s,
            PartyEvent::Seated,
            "",
            T0 + 540_000,
            false,
            Some("s1"),
        ));
        // A party leaves once.
        store.record(fact(&s, PartyEvent::Removed, "", T0 + 600_000, true, None));
    }
    assert!(store.flush(Duration::from_secs(5)));
    let parties = all_parties(&store);
    assert_eq!(parties.len(), 1);
    let p = &parties[0];
    assert_eq!(p.pages, 1);
    assert_eq!(p.outcome, "seated");
    assert_eq!(p.wait_to_page_s, Some(300));
    assert_eq!(p.wait_to_seat_s, Some(540));
    let kinds: Vec<&str> = p.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "paged", "seated"]);
    assert_eq!(p.events[1].mode.as_deref(), Some("Flash30Sec"));
    assert!(!p.learned_late);
}

#[test]
fn a_party_first_learned_late_says_so_and_one_seen_live_does_not() {
    let dir = dir("late");
    let store = open(&dir);
    store.record(created("live", 1, "Ann", false));
    store.record(created("live", 1, "Ann", true));
    store.record(created("away", 2, "Bo", true));
    assert!(store.flush(Duration::from_secs(5)));
    let parties = all_parties(&store);
    let late = |uuid: &str| {
        parties
            .iter()
            .find(|p| p.uuid == uuid)
            .unwrap()
            .learned_late
    };
    assert!(!late("live"));
    assert!(late("away"));
}

#[test]
fn the_audit_trail_keeps_one_line_per_op_and_names_who_did_what() {
    let dir = dir("audit");
    let store = open(&dir);
    store.record(fact(
        &session("u7", 7, "Cy"),
        PartyEvent::Created,
        "",
        T0,
        false,
        Some("op-a"),
    ));
    store.record(audit("op-a", T0, "Front door", "acknowledged"));
    store.record(audit("op-a", T0, "Front door", "acknowledged"));
    store.record(audit("op-b", T0 + 1000, "Bar", "unreachable"));
    assert!(store.flush(Duration::from_secs(5)));
    let all = ActivityQuery {
        from_ms: 0,
        to_ms: i64::MAX,
        ..Default::default()
    };
    let rows = store.activity(&all).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.op.as_str()).collect::<Vec<_>>(),
        ["op-b", "op-a"],
        "newest first, once each"
    );
    let bar = store
        .activity(&ActivityQuery {
            tablet: Some("Bar".into()),
            ..all.clone()
        })
        .unwrap();
    assert_eq!(bar.len(), 1);
    let acked = store
        .activity(&ActivityQuery {
            outcome: Some("acknowledged".into()),
            ..all.clone()
        })
        .unwrap();
    assert_eq!(acked[0].op, "op-a");
    assert_eq!(store.tablet_names().unwrap(), ["Bar", "Front door"]);
    assert_eq!(
        all_parties(&store)[0].events[0].by.as_deref(),
        Some("Front door")
    );
}

#[test]
fn parties_are_found_by_range_name_or_pager() {
    let dir = dir("query");
    let store = open(&dir);
    for (i, name) in ["Ann", "Bo", "Annika"].iter().enumerate() {
        let mut r = fact(
            &session(&format!("u{i}"), 10 + i as u32, name),
            PartyEvent::Created,
            "",
            T0,
            false,
            None,
        );
        if let Record::Party(f) = &mut r {
            f.created_ms = T0 + i as i64 * 3_600_000;
        }
        store.record(r);
    }
    assert!(store.flush(Duration::from_secs(5)));
    let q = |text: Option<&str>, from_ms, to_ms| {
        let rows = store
            .parties(&PartyQuery {
                from_ms,
                to_ms,
                text: text.map(str::to_string),
                limit: 0,
            })
            .unwrap();
        rows.iter().map(|p| p.number).collect::<Vec<_>>()
    };
    assert_eq!(q(None, 0, i64::MAX), [12, 11, 10]);
    assert_eq!(q(Some("ann"), 0, i64::MAX), [12, 10]);
    assert_eq!(q(Some("11"), 0, i64::MAX), [11]);
    assert_eq!(q(None, T0 + 1, T0 + 3_600_001), [11]);
}

#[test]
fn the_csv_quotes_what_needs_it_and_defuses_formulas() {
    let dir = dir("csv");
    let store = open(&dir);
    store.record(created("u1", 1, "=HYPERLINK(\"x\")", false));
    store.record(fact(
        &session("u2", 2, "Smith, party of 4"),
        PartyEvent::Created,
        "",
        T0 + 1,
        false,
        None,
    ));
    assert!(store.flush(Duration::from_secs(5)));
    let mut csv = Vec::new();
    store.write_parties_csv(0, i64::MAX, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(lines[0].starts_with("created_utc,pager,name,"));
    assert!(
        lines[1].contains(",\"'=HYPERLINK(\"\"x\"\")\","),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(",\"Smith, party of 4\","), "{}", lines[2]);
    assert_eq!(lines.len(), 4, "header, two rows, and the final line end");
}

#[test]
fn pruning_removes_what_is_older_than_the_cutoff() {
    let dir = dir("prune");
    let store = open(&dir);
    store.record(fact(
        &session("old", 1, "Old"),
        PartyEvent::Created,
        "",
        T0,
        false,
        Some("o"),
    ));
    store.record(audit("o", T0, "Front", "acknowledged"));
    let mut new = created("new", 2, "New", false);
    if let Record::Party(f) = &mut new {
        f.created_ms = T0 + 10 * 86_400_000;
    }
    store.record(new);
    assert!(store.flush(Duration::from_secs(5)));
    let mut conn = writer::open(&dir.join(FILE)).unwrap();
    let deleted = writer::prune(&mut conn, "default", T0 + 86_400_000).unwrap();
    assert_eq!(deleted, 3, "the old party, its event and its audit line");
    let left: Vec<String> = all_parties(&store).into_iter().map(|p| p.uuid).collect();
    assert_eq!(left, ["new"]);
}

#[test]
fn a_second_coaster_on_the_same_directory_is_refused() {
    let dir = dir("lock");
    let _first = open(&dir);
    let Err(error) = Store::open(&dir, "default", 730) else {
        panic!("a second store opened");
    };
    assert!(
        error
            .to_string()
            .contains("another Coaster is already using the data directory"),
        "{error}"
    );
}

#[test]
fn a_damaged_file_is_left_as_it_is_and_nothing_is_recorded() {
    let dir = dir("corrupt");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(dir.join(FILE), &garbage).unwrap();
    let store = open(&dir);
    let status = store.status().borrow().clone();
    assert!(
        status
            .as_deref()
            .is_some_and(|s| s.contains("damaged") && s.contains("move")),
        "{status:?}"
    );
    store.record(created("u1", 1, "Ann", false));
    assert!(store.flush(Duration::from_secs(5)));
    drop(store);
    assert_eq!(
        std::fs::read(dir.join(FILE)).unwrap(),
        garbage,
        "the file is untouched"
    );
}

#[test]
fn a_database_locked_by_another_program_holds_facts_until_it_is_free() {
    let dir = dir("busy");
    let store = open(&dir);
    let other = rusqlite::Connection::open(dir.join(FILE)).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    store.record(created("u1", 1, "Ann", false));
    let status = status_becomes(&store, |s| s.is_some());
    assert!(
        status.as_deref().is_some_and(|s| s.contains("locked")),
        "{status:?}"
    );
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(status_becomes(&store, |s| s.is_none()), None);
    assert_eq!(all_parties(&store).len(), 1, "the held fact went in");
}

/// A real small disk: a tmpfs (needs root, as CI runs).
fn small_disk(name: &str, size: &str) -> Option<PathBuf> {
    let dir = dir(name);
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: mounting a tmpfs needs root");
        return None;
    }
    Some(dir)
}

fn unmount(dir: &Path) {
    let _ = std::process::Command::new("umount").arg(dir).status();
}

#[test]
fn a_full_disk_stops_recording_loses_nothing_stored_and_catches_up_when_freed() {
    let Some(dir) = small_disk("full", "512k") else {
        return;
    };
    let store = open(&dir);
    store.record(created("first", 1, "Ann", false));
    assert!(store.flush(Duration::from_secs(5)));
    // Fill the disk beside the database.
    let filler = dir.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 1024 * 1024]);
    for i in 0..200 {
        let label = "x".repeat(60);
        store.record(fact(
            &session(&format!("u{i}"), 100 + i, &label),
            PartyEvent::Created,
            "",
            T0,
            false,
            None,
        ));
    }
    let status = status_becomes(&store, |s| s.is_some());
    assert!(
        status
            .as_deref()
            .is_some_and(|s| s.contains("disk is full")),
        "{status:?}"
    );
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(status_becomes(&store, |s| s.is_none()), None);
    let parties = all_parties(&store);
    assert_eq!(
        parties.len(),
        201,
        "the first party kept and every held one written"
    );
    drop(store);
    unmount(&dir);
}

#[test]
fn a_read_only_data_directory_is_named_and_the_store_still_opens() {
    let Some(dir) = small_disk("readonly", "1m") else {
        return;
    };
    let ok = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "remount read-only");
    let store = Store::open(&dir, "default", 730).expect("not a refusal");
    let status = store.status().borrow().clone();
    assert!(
        status
            .as_deref()
            .is_some_and(|s| s.contains("not writable") || s.contains("cannot be written")),
        "{status:?}"
    );
    drop(store);
    unmount(&dir);
}
