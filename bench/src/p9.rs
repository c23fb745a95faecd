//! P9: what the stand's memory costs a verdict. The core's task only queues
//! facts (`Store::record`); the writer thread commits them. Measured on a
//! real SQLite file in a fresh directory, paced far above a Friday night.

use std::time::{Duration, Instant};

use proxy::store::{Actor, AuditEntry, PartyEvent, PartyFact, Record, Store};
use shared::device::Session;
use shared::time::DeviceTime;

use crate::report::{self, Figure, Row};

const VERDICTS: usize = 20_000;
const PER_SECOND: u32 = 2_000;

pub fn measure() -> Result<Row, String> {
    let dir = std::env::temp_dir().join(format!("coaster-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir, "bench", 730).map_err(|e| e.to_string())?;
    let at = DeviceTime::parse("2026-12-03T19:00:00").map_err(|e| e.to_string())?;
    let mut samples = Vec::with_capacity(VERDICTS);
    let started = Instant::now();
    for i in 0..VERDICTS {
        let due = started + Duration::from_secs_f64(i as f64 / f64::from(PER_SECOND));
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let (audit, party) = verdict(i, at);
        let start = Instant::now();
        store.record(audit);
        store.record(party);
        samples.push(start.elapsed());
    }
    let last = Instant::now();
    if !store.flush(Duration::from_secs(60)) {
        return Err("the store did not finish writing within 60 s".into());
    }
    let written_in = last.elapsed();
    let lost = store.status().borrow().clone();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report::p9(
        Figure::of(&mut samples),
        VERDICTS,
        PER_SECOND,
        lost,
        written_in,
    ))
}

/// The facts one page's verdict makes.
fn verdict(i: usize, at: DeviceTime) -> (Record, Record) {
    let op = format!("bench-{i}");
    let number = (i % 999) as u32 + 1;
    let session = Session {
        id: i as u32,
        session_sequence: Some(i as u32),
        uuid: format!("uuid-{i}"),
        number,
        party_size: Some(4),
        goal_in_seconds: 900,
        created: at,
        started: at,
        notified: Some(at),
        cleared: None,
        label: Some("Party".into()),
        state: None,
    };
    let audit = Record::Audit(AuditEntry {
        op: op.clone(),
        at_ms: i as i64,
        by: Actor {
            token_id: None,
            name: "Front door".into(),
            address: "10.0.0.5".into(),
        },
        command: "page_session".into(),
        pager: Some(number),
        party_uuid: Some(session.uuid.clone()),
        detail: "{}".into(),
        outcome: "acknowledged".into(),
        message: None,
        duration_ms: 3,
        attempts: 1,
    });
    let party = Record::Party(PartyFact {
        session,
        event: PartyEvent::Paged { mode: None },
        key: "1".into(),
        at_ms: i as i64,
        created_ms: i as i64,
        learned_late: false,
        op: Some(op),
        ahead: Some(3),
    });
    (audit, party)
}
