//! The stand's own memory as the app reads it: `GET /api/stand/parties` and
//! `/api/stand/activity` answer a [`StandPage`] of these rows.

use serde::{Deserialize, Serialize};

/// One party as the stand recorded it, with its waits and what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandParty {
    pub uuid: String,
    pub number: u32,
    pub label: Option<String>,
    pub party_size: Option<u32>,
    pub goal_s: u32,
    /// Unix ms, proxy clock.
    pub created_ms: i64,
    pub first_paged_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    /// `waiting`, `seated` or `removed`.
    pub outcome: String,
    pub pages: u32,
    pub wait_to_page_s: Option<i64>,
    pub wait_to_seat_s: Option<i64>,
    /// Learned from the device after the fact (Coaster was not running).
    pub learned_late: bool,
    pub events: Vec<StandEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandEvent {
    /// `created`, `paged`, `updated`, `seated` or `removed`.
    pub kind: String,
    pub mode: Option<String>,
    pub at_ms: i64,
    /// The tablet whose command did it, by name; none when done on the device.
    pub by: Option<String>,
    pub learned_late: bool,
}

/// One line of the audit trail: a tablet's command and its verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub at_ms: i64,
    pub tablet_id: Option<String>,
    pub tablet_name: String,
    pub address: String,
    pub op: String,
    pub command: String,
    pub pager: Option<u32>,
    /// `acknowledged`, `rejected`, `invalid` or `unreachable`.
    pub outcome: String,
    pub message: Option<String>,
    pub duration_ms: u32,
    pub attempts: u32,
}

/// Rows newest first, the tablet names seen (for the filter), and whether
/// the stand is recording right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandPage<T> {
    pub rows: Vec<T>,
    pub tablets: Vec<String>,
    pub not_recording: Option<String>,
}

pub const OUTCOMES: [&str; 4] = ["acknowledged", "rejected", "invalid", "unreachable"];
