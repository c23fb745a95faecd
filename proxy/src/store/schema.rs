//! The store's tables, as an ordered list of migrations applied at start.
//!
//! `PRAGMA user_version` counts the migrations applied; each runs in its own
//! transaction, so a database is always at one version or the next, never
//! between. Append new migrations; never edit one that has shipped.

use rusqlite::Connection;

/// Every table carries the venue it belongs to from the start, so a chain can
/// later merge its stands' files without rewriting rows.
const MIGRATIONS: &[&str] = &[
    // 1: parties and their events, the audit trail, health changes.
    "CREATE TABLE parties (
        venue TEXT NOT NULL,
        uuid TEXT NOT NULL,
        device_id INTEGER NOT NULL,
        number INTEGER NOT NULL,
        label TEXT,
        party_size INTEGER,
        goal_s INTEGER NOT NULL,
        created_device TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        first_paged_ms INTEGER,
        pages INTEGER NOT NULL DEFAULT 0,
        ended_ms INTEGER,
        outcome TEXT NOT NULL DEFAULT 'waiting',
        learned_late INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (venue, uuid)
    );
    CREATE INDEX parties_by_time ON parties (venue, created_ms);
    CREATE TABLE party_events (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        uuid TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        mode TEXT,
        device_time TEXT,
        at_ms INTEGER NOT NULL,
        op TEXT,
        learned_late INTEGER NOT NULL DEFAULT 0,
        UNIQUE (venue, uuid, kind, key)
    );
    CREATE INDEX party_events_by_party ON party_events (venue, uuid);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        op TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        tablet_id TEXT,
        tablet_name TEXT NOT NULL,
        address TEXT NOT NULL,
        command TEXT NOT NULL,
        pager INTEGER,
        party_uuid TEXT,
        detail TEXT NOT NULL,
        outcome TEXT NOT NULL,
        message TEXT,
        duration_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        UNIQUE (venue, op)
    );
    CREATE INDEX audit_by_time ON audit (venue, at_ms);
    CREATE TABLE health_events (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX health_by_time ON health_events (venue, at_ms);",
    // 2: how many parties were waiting when each arrived (the quote learns
    // from it), and an index that answers the owner's figures from the index alone.
    "ALTER TABLE parties ADD COLUMN ahead INTEGER;
    CREATE INDEX parties_figures ON parties
        (venue, created_ms, first_paged_ms, ended_ms, outcome, pages, party_size, goal_s, ahead);",
];

/// Brings `conn` to the latest version. A file from a newer Coaster (a
/// version beyond what this one knows) is refused rather than guessed at.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let known = MIGRATIONS.len() as i64;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > known {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "the database is from a newer Coaster (schema {version}, this one knows {known})"
            )),
        ));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The settings every connection gets: WAL, so the writer never blocks the
/// readers; `synchronous = NORMAL`, which in WAL mode survives a killed
/// process (only a power cut can cost the last commits); a busy wait so a
/// reader's checkpoint does not fail a write.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(500))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")
}

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
