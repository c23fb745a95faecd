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

/// A median and 90th percentile, in seconds, and how many values they rest on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spread {
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub n: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourFigures {
    /// 0–23, on the tablet's clock.
    pub hour: u8,
    pub arrivals: u32,
    pub served: u32,
    pub wait_to_page: Spread,
    pub wait_to_seat: Spread,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    /// `YYYY-MM-DD`, on the tablet's clock.
    pub day: String,
    pub arrivals: u32,
    pub served: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeFigures {
    /// `1–2`, `3–4`, `5–6` or `7+`.
    pub sizes: String,
    pub arrivals: u32,
    pub wait_to_page: Spread,
    pub wait_to_seat: Spread,
}

/// A period's headline figures, for comparing with the one before it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub arrivals: u32,
    pub served: u32,
    pub wait_to_page: Spread,
    pub wait_to_seat: Spread,
    /// Paged within their goal, paged after it, removed never paged.
    pub within_goal: u32,
    pub late: u32,
    pub walk_aways: u32,
}

/// `GET /api/stand/analytics`: what the owner learns from a range of days.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analytics {
    pub from_ms: i64,
    pub to_ms: i64,
    pub summary: Summary,
    /// The period of the same length just before.
    pub previous: Summary,
    pub by_hour: Vec<HourFigures>,
    pub by_day: Vec<DayFigures>,
    pub by_size: Vec<SizeFigures>,
    /// The hours with the most arrivals, busiest first (up to three).
    pub busiest_hours: Vec<u8>,
}

/// `GET /api/stand/quote`: a wait to quote a party arriving now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Minutes; none when the history is too thin to say.
    pub minutes: Option<u32>,
    /// The past parties it rests on.
    pub based_on: u32,
    /// How it was worked out, in words for the host.
    pub how: String,
}

/// The size buckets the owner's figures use.
pub fn size_bucket(size: Option<u32>) -> usize {
    match size.unwrap_or(2) {
        0..=2 => 0,
        3..=4 => 1,
        5..=6 => 2,
        _ => 3,
    }
}

pub const SIZE_BUCKETS: [&str; 4] = ["1–2", "3–4", "5–6", "7+"];
