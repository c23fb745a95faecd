//! The reads behind the History and Activity views and the CSV export. Each
//! opens its own read-only connection: in WAL mode readers never wait for
//! the writer, and a read can never change the file.

use std::io::Write;

use rusqlite::{params, Connection, OpenFlags, Row};
use shared::stand::{ActivityEntry, StandEvent, StandParty};

use super::Store;

/// The most rows one answer carries.
pub const MAX_ROWS: u32 = 2000;

#[derive(Clone, Debug, Default)]
pub struct PartyQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    /// A name (part of the label) or a pager number.
    pub text: Option<String>,
    pub limit: u32,
}

#[derive(Clone, Debug, Default)]
pub struct ActivityQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    /// A tablet's name.
    pub tablet: Option<String>,
    pub outcome: Option<String>,
    pub limit: u32,
}

impl Store {
    pub(super) fn reader(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            self.path(),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_millis(500))?;
        Ok(conn)
    }

    /// Parties created in the range, newest first, with their events.
    pub fn parties(&self, q: &PartyQuery) -> rusqlite::Result<Vec<StandParty>> {
        let conn = self.reader()?;
        let text = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let number = text.and_then(|t| t.parse::<u32>().ok());
        let like = text.map(|t| format!("%{}%", t.replace(['%', '_'], "")));
        let mut statement = conn.prepare_cached(
            "SELECT uuid, number, label, party_size, goal_s, created_ms, first_paged_ms,
                    ended_ms, outcome, pages, learned_late
             FROM parties
             WHERE venue = ?1 AND created_ms >= ?2 AND created_ms < ?3
               AND (?4 IS NULL OR label LIKE ?4 OR number = ?5)
             ORDER BY created_ms DESC LIMIT ?6",
        )?;
        let mut parties: Vec<StandParty> = statement
            .query_map(
                params![
                    self.venue(),
                    q.from_ms,
                    q.to_ms,
                    like,
                    number,
                    limit(q.limit)
                ],
                party,
            )?
            .collect::<rusqlite::Result<_>>()?;
        let mut events = conn.prepare_cached(
            "SELECT e.kind, e.mode, e.at_ms, a.tablet_name, e.learned_late
             FROM party_events e LEFT JOIN audit a ON a.venue = e.venue AND a.op = e.op
             WHERE e.venue = ?1 AND e.uuid = ?2 ORDER BY e.at_ms, e.id",
        )?;
        for p in &mut parties {
            p.events = events
                .query_map(params![self.venue(), p.uuid], |row| {
                    Ok(StandEvent {
                        kind: row.get(0)?,
                        mode: row.get(1)?,
                        at_ms: row.get(2)?,
                        by: row.get(3)?,
                        learned_late: row.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
        }
        Ok(parties)
    }

    /// The audit trail in the range, newest first.
    pub fn activity(&self, q: &ActivityQuery) -> rusqlite::Result<Vec<ActivityEntry>> {
        let conn = self.reader()?;
        let mut statement = conn.prepare_cached(
            "SELECT at_ms, tablet_id, tablet_name, address, op, command, pager, outcome,
                    message, duration_ms, attempts
             FROM audit
             WHERE venue = ?1 AND at_ms >= ?2 AND at_ms < ?3
               AND (?4 IS NULL OR tablet_name = ?4) AND (?5 IS NULL OR outcome = ?5)
             ORDER BY at_ms DESC, id DESC LIMIT ?6",
        )?;
        let rows = statement
            .query_map(
                params![
                    self.venue(),
                    q.from_ms,
                    q.to_ms,
                    q.tablet,
                    q.outcome,
                    limit(q.limit)
                ],
                |row| {
                    Ok(ActivityEntry {
                        at_ms: row.get(0)?,
                        tablet_id: row.get(1)?,
                        tablet_name: row.get(2)?,
                        address: row.get(3)?,
                        op: row.get(4)?,
                        command: row.get(5)?,
                        pager: row.get(6)?,
                        outcome: row.get(7)?,
                        message: row.get(8)?,
                        duration_ms: row.get(9)?,
                        attempts: row.get(10)?,
                    })
                },
            )?
            .collect();
        rows
    }

    /// Pager numbers paged since `since_ms`, newest first, each once: what
    /// the lobby screen calls. Numbers only, never names.
    pub fn calls(&self, since_ms: i64) -> rusqlite::Result<Vec<(u32, i64)>> {
        let conn = self.reader()?;
        let mut statement = conn.prepare_cached(
            "SELECT p.number, MAX(e.at_ms) AS at FROM party_events e
             JOIN parties p ON p.venue = e.venue AND p.uuid = e.uuid
             WHERE e.venue = ?1 AND e.kind = 'paged' AND e.at_ms >= ?2
             GROUP BY p.number ORDER BY at DESC LIMIT 12",
        )?;
        let calls = statement
            .query_map(params![self.venue(), since_ms], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect();
        calls
    }

    /// The names of the tablets in the audit trail, for the filter.
    pub fn tablet_names(&self) -> rusqlite::Result<Vec<String>> {
        let conn = self.reader()?;
        let mut statement = conn.prepare_cached(
            "SELECT DISTINCT tablet_name FROM audit WHERE venue = ?1 ORDER BY tablet_name",
        )?;
        let names = statement
            .query_map(params![self.venue()], |row| row.get(0))?
            .collect();
        names
    }

    /// The parties of the range as CSV (RFC 4180), oldest first.
    pub fn write_parties_csv(
        &self,
        from_ms: i64,
        to_ms: i64,
        out: &mut impl Write,
    ) -> Result<(), ExportError> {
        let query = PartyQuery {
            from_ms,
            to_ms,
            text: None,
            limit: u32::MAX,
        };
        let mut parties = self.parties(&query)?;
        parties.reverse();
        writeln!(out, "created_utc,pager,name,party_size,goal_min,outcome,pages,wait_to_page_s,wait_to_seat_s,paged_by,ended_by,learned_late,uuid\r")?;
        for p in &parties {
            let by = |kinds: &[&str]| {
                let names: Vec<&str> = p
                    .events
                    .iter()
                    .filter(|e| kinds.contains(&e.kind.as_str()))
                    .filter_map(|e| e.by.as_deref())
                    .collect();
                names.join(" ")
            };
            let fields = [
                utc(p.created_ms),
                p.number.to_string(),
                p.label.clone().unwrap_or_default(),
                p.party_size.map(|n| n.to_string()).unwrap_or_default(),
                (p.goal_s / 60).to_string(),
                p.outcome.clone(),
                p.pages.to_string(),
                p.wait_to_page_s.map(|s| s.to_string()).unwrap_or_default(),
                p.wait_to_seat_s.map(|s| s.to_string()).unwrap_or_default(),
                by(&["paged"]),
                by(&["seated", "removed"]),
                p.learned_late.to_string(),
                p.uuid.clone(),
            ];
            csv_line(out, &fields)?;
        }
        Ok(())
    }

    /// The audit trail of the range as CSV, oldest first.
    pub fn write_activity_csv(
        &self,
        from_ms: i64,
        to_ms: i64,
        out: &mut impl Write,
    ) -> Result<(), ExportError> {
        let query = ActivityQuery {
            from_ms,
            to_ms,
            limit: u32::MAX,
            ..Default::default()
        };
        let mut rows = self.activity(&query)?;
        rows.reverse();
        writeln!(out, "at_utc,tablet,tablet_id,address,command,pager,outcome,message,duration_ms,attempts,op\r")?;
        for a in &rows {
            let fields = [
                utc(a.at_ms),
                a.tablet_name.clone(),
                a.tablet_id.clone().unwrap_or_default(),
                a.address.clone(),
                a.command.clone(),
                a.pager.map(|n| n.to_string()).unwrap_or_default(),
                a.outcome.clone(),
                a.message.clone().unwrap_or_default(),
                a.duration_ms.to_string(),
                a.attempts.to_string(),
                a.op.clone(),
            ];
            csv_line(out, &fields)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum ExportError {
    Store(rusqlite::Error),
    Write(std::io::Error),
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
        ExportError::Store(e)
    }
}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        ExportError::Write(e)
    }
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Store(e) => write!(f, "cannot read the store: {e}"),
            ExportError::Write(e) => write!(f, "cannot write the export: {e}"),
        }
    }
}

fn limit(asked: u32) -> i64 {
    match asked {
        0 => i64::from(MAX_ROWS),
        n => i64::from(n),
    }
}

fn party(row: &Row) -> rusqlite::Result<StandParty> {
    let created_ms: i64 = row.get(5)?;
    let first_paged_ms: Option<i64> = row.get(6)?;
    let ended_ms: Option<i64> = row.get(7)?;
    let outcome: String = row.get(8)?;
    let seconds = |at: Option<i64>| at.map(|at| (at - created_ms).max(0) / 1000);
    Ok(StandParty {
        uuid: row.get(0)?,
        number: row.get(1)?,
        label: row.get(2)?,
        party_size: row.get(3)?,
        goal_s: row.get(4)?,
        created_ms,
        first_paged_ms,
        ended_ms,
        wait_to_page_s: seconds(first_paged_ms),
        wait_to_seat_s: seconds(ended_ms.filter(|_| outcome == "seated")),
        outcome,
        pages: row.get(9)?,
        learned_late: row.get(10)?,
        events: Vec::new(),
    })
}

/// One CSV line: every field quoted when it needs to be, and a text that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) prefixed
/// with `'` — a party's name is typed by anyone at the door.
pub fn csv_line(out: &mut impl Write, fields: &[String]) -> std::io::Result<()> {
    let cells: Vec<String> = fields.iter().map(|f| csv_cell(f)).collect();
    writeln!(out, "{}\r", cells.join(","))
}

fn csv_cell(field: &str) -> String {
    let guarded = match field.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if field.parse::<f64>().is_err() => {
            format!("'{field}")
        }
        _ => field.to_string(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// `2026-12-03`, the UTC day of `ms`.
pub fn utc_day(ms: i64) -> String {
    utc(ms)[..10].to_string()
}

/// `2026-12-03T19:05:00Z`.
fn utc(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
