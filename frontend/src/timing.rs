//! Wait timers and their colours, computed from device timestamps.
//!
//! The tablet's own clock is never trusted on its own: "now" is the tablet's
//! UTC clock corrected by the proxy's clock skew and the device's clock offset,
//! so a tablet set five minutes fast cannot make a party look late.

use shared::device::Session;
use shared::time::DeviceTime;

/// The proxy sends something (a heartbeat at least) every 5 s; this long with
/// nothing heard means the connection is half-open, however open it looks.
pub const SILENCE_LIMIT_MS: i64 = 15_000;

/// Whether a connection last heard from (or opened) at `last_heard_ms` should
/// be given up and replaced.
pub fn silent_too_long(last_heard_ms: i64, now_ms: i64) -> bool {
    now_ms - last_heard_ms >= SILENCE_LIMIT_MS
}

/// The proxy's clock minus the tablet's, measured when a Hello or Snapshot arrives.
pub fn proxy_skew_ms(proxy_time_ms: i64, tablet_now_ms: i64) -> i64 {
    proxy_time_ms - tablet_now_ms
}

/// What the device's clock says now, in its zone-less local time.
///
/// Until the proxy has measured the device's clock offset, the device is
/// assumed to keep the tablet's local zone (`tablet_utc_offset_s`, east positive):
/// both sit on the same restaurant wall.
pub fn device_now(
    tablet_now_ms: i64,
    skew_ms: i64,
    device_clock_offset_s: Option<i64>,
    tablet_utc_offset_s: i64,
) -> DeviceTime {
    let utc_s = (tablet_now_ms + skew_ms).div_euclid(1000);
    DeviceTime::from_seconds(utc_s + device_clock_offset_s.unwrap_or(tablet_utc_offset_s))
}

/// How a wait compares with the party's goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Goal 0: the host set no goal, so there is nothing to be late for.
    NoGoal,
    Within,
    /// In the last 20 % of the goal.
    Nearing,
    Over,
}

impl Tier {
    pub fn of(wait_s: i64, goal_s: u32) -> Tier {
        let goal = i64::from(goal_s);
        if goal == 0 {
            Tier::NoGoal
        } else if wait_s > goal {
            // The device counts a page exactly at the goal as on time.
            Tier::Over
        } else if wait_s * 5 >= goal * 4 {
            Tier::Nearing
        } else {
            Tier::Within
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Tier::NoGoal => "tier-none",
            Tier::Within => "tier-within",
            Tier::Nearing => "tier-nearing",
            Tier::Over => "tier-over",
        }
    }
}

/// Everything time-dependent a board row shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyTiming {
    /// Start to first page once paged (the wait is over then), else start to now.
    pub wait_s: i64,
    pub tier: Tier,
    pub over_by_s: Option<i64>,
    pub since_page_s: Option<i64>,
    /// Paged longer ago than the host's threshold and still not seated.
    pub pager_out_long: bool,
}

pub fn party_timing(session: &Session, now: DeviceTime, out_long_after_s: i64) -> PartyTiming {
    let end = session.notified.unwrap_or(now);
    // A device clock set back mid-wait would give a negative wait; show zero.
    let wait_s = end.seconds_since(session.started).max(0);
    let tier = Tier::of(wait_s, session.goal_in_seconds);
    let since_page_s = session.notified.map(|n| now.seconds_since(n).max(0));
    PartyTiming {
        wait_s,
        tier,
        over_by_s: (tier == Tier::Over).then(|| wait_s - i64::from(session.goal_in_seconds)),
        since_page_s,
        pager_out_long: since_page_s.is_some_and(|s| s >= out_long_after_s),
    }
}

impl PartyTiming {
    /// The row element's whole class: its tier, paged and out long.
    pub fn row_class(&self) -> String {
        let mut class = format!("row {}", self.tier.class());
        if self.since_page_s.is_some() {
            class.push_str(" paged");
        }
        if self.pager_out_long {
            class.push_str(" out-long");
        }
        class
    }

    pub fn wait(&self) -> String {
        duration(self.wait_s)
    }

    /// "+2:05 over", "waiting" or "waited".
    pub fn note(&self) -> String {
        match (self.over_by_s, self.since_page_s) {
            (Some(over), _) => format!("+{} over", duration(over)),
            (None, Some(_)) => "waited".into(),
            (None, None) => "waiting".into(),
        }
    }

    /// "1:05 ago" on a paged row; empty on a waiting one.
    pub fn since(&self) -> String {
        self.since_page_s
            .map(|s| format!("{} ago", duration(s)))
            .unwrap_or_default()
    }
}

/// What a tick writes to a row that shows `old` so that it shows `new`:
/// `None` wherever the row already says the right thing. Most seconds
/// change one number, so most rows get one text and no formatting else.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RowWrites {
    pub class: Option<String>,
    pub wait: Option<String>,
    pub note: Option<String>,
    pub since: Option<String>,
    pub pager_out_long: Option<bool>,
}

impl RowWrites {
    pub fn between(old: &PartyTiming, new: &PartyTiming) -> RowWrites {
        let changed = |f: fn(&PartyTiming) -> String, same: bool| (!same).then(|| f(new));
        let flags = |t: &PartyTiming| (t.tier, t.since_page_s.is_some(), t.pager_out_long);
        RowWrites {
            class: changed(PartyTiming::row_class, flags(old) == flags(new)),
            wait: changed(PartyTiming::wait, old.wait_s == new.wait_s),
            note: changed(
                PartyTiming::note,
                (old.over_by_s, old.since_page_s.is_some())
                    == (new.over_by_s, new.since_page_s.is_some()),
            ),
            since: changed(PartyTiming::since, old.since_page_s == new.since_page_s),
            pager_out_long: (old.pager_out_long != new.pager_out_long)
                .then_some(new.pager_out_long),
        }
    }
}

/// `m:ss` below an hour, `h:mm:ss` above.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A goal for people: "15 min", "1 h 30 min", "no goal".
pub fn goal(seconds: u32) -> String {
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, 0) => "no goal".into(),
        (0, m, 0) => format!("{m} min"),
        (h, 0, 0) => format!("{h} h"),
        (h, m, 0) => format!("{h} h {m} min"),
        _ => duration(i64::from(seconds)),
    }
}

/// The device's wall clock as `HH:MM:SS`.
pub fn clock(t: DeviceTime) -> String {
    // Arithmetic, not a slice of the full timestamp: string slicing brings
    // its panic formatting into the wasm (1.5 KB gzip).
    let s = t.seconds().rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// "just now", "42 s ago", "3 min ago", "2 h ago".
pub fn ago(seconds: i64) -> String {
    match seconds.max(0) {
        0..=1 => "just now".into(),
        s @ 2..=119 => format!("{s} s ago"),
        s @ 120..=7199 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_connection_is_dead_after_fifteen_silent_seconds() {
        // Three missed heartbeats, not one: a busy proxy or a slow Wi-Fi
        // moment must not tear down a good connection.
        assert!(!silent_too_long(1_000, 1_000));
        assert!(!silent_too_long(1_000, 15_999));
        assert!(silent_too_long(1_000, 16_000));
        assert!(silent_too_long(1_000, 100_000));
        // A tablet clock stepping backwards never counts as silence.
        assert!(!silent_too_long(1_000, -50_000));
    }

    use super::*;

    fn t(s: &str) -> DeviceTime {
        DeviceTime::parse(s).unwrap()
    }

    fn session(started: &str, notified: Option<&str>, goal: u32) -> Session {
        Session {
            id: 1,
            session_sequence: Some(1),
            uuid: "u1".into(),
            number: 7,
            party_size: Some(2),
            goal_in_seconds: goal,
            created: t(started),
            started: t(started),
            notified: notified.map(t),
            cleared: None,
            label: Some("Sarah".into()),
            state: None,
        }
    }

    #[test]
    fn device_now_uses_skew_and_device_offset_not_the_tablet_clock() {
        // Tablet 5 minutes fast: proxy says 12:00:00 UTC while the tablet says 12:05:00.
        let proxy_ms = 1_700_000_000_000;
        let tablet_ms = proxy_ms + 300_000;
        let skew = proxy_skew_ms(proxy_ms, tablet_ms);
        assert_eq!(skew, -300_000);
        // Device is on UTC+1 wall time.
        let now = device_now(tablet_ms + 1_500, skew, Some(3600), -7200);
        assert_eq!(now.seconds(), 1_700_000_000 + 1 + 3600);
    }

    #[test]
    fn device_now_falls_back_to_the_tablet_zone_without_an_offset() {
        let now = device_now(1_000_999, 0, None, 7200);
        assert_eq!(now.seconds(), 1000 + 7200);
        // Negative times round down, not towards zero.
        assert_eq!(device_now(-1, 0, Some(0), 0).seconds(), -1);
    }

    #[test]
    fn tiers_at_their_edges() {
        assert_eq!(Tier::of(0, 600), Tier::Within);
        assert_eq!(Tier::of(479, 600), Tier::Within);
        assert_eq!(Tier::of(480, 600), Tier::Nearing);
        assert_eq!(Tier::of(600, 600), Tier::Nearing);
        assert_eq!(Tier::of(601, 600), Tier::Over);
        assert_eq!(Tier::of(99_999, 0), Tier::NoGoal);
    }

    #[test]
    fn waiting_party_ticks_and_counts_up_over_goal() {
        let s = session("2026-11-27T19:00:00", None, 600);
        let at = |now| party_timing(&s, t(now), 300);
        assert_eq!(at("2026-11-27T19:04:00").tier, Tier::Within);
        assert_eq!(at("2026-11-27T19:08:30").tier, Tier::Nearing);
        let over = at("2026-11-27T19:12:05");
        assert_eq!((over.tier, over.over_by_s), (Tier::Over, Some(125)));
        assert_eq!(over.since_page_s, None);
        assert!(!over.pager_out_long);
    }

    #[test]
    fn paged_party_freezes_the_wait_and_counts_time_since_page() {
        let s = session("2026-11-27T19:00:00", Some("2026-11-27T19:09:00"), 600);
        let soon = party_timing(&s, t("2026-11-27T19:10:00"), 300);
        assert_eq!(soon.wait_s, 540);
        assert_eq!(soon.tier, Tier::Nearing);
        assert_eq!(soon.since_page_s, Some(60));
        assert!(!soon.pager_out_long);
        let late = party_timing(&s, t("2026-11-27T19:14:00"), 300);
        assert_eq!(late.wait_s, 540);
        assert!(late.pager_out_long);
    }

    #[test]
    fn a_row_says_its_timing_in_words() {
        let waiting = session("2026-11-27T19:00:00", None, 600);
        let late = party_timing(&waiting, t("2026-11-27T19:12:05"), 300);
        assert_eq!(late.row_class(), "row tier-over");
        assert_eq!(
            (late.wait(), late.note(), late.since()),
            ("12:05".into(), "+2:05 over".into(), String::new())
        );
        let fresh = party_timing(&waiting, t("2026-11-27T19:00:09"), 300);
        assert_eq!(
            (fresh.row_class(), fresh.note()),
            ("row tier-within".into(), "waiting".into())
        );
        let paged = session("2026-11-27T19:00:00", Some("2026-11-27T19:03:00"), 600);
        let out = party_timing(&paged, t("2026-11-27T19:09:30"), 300);
        assert_eq!(out.row_class(), "row tier-within paged out-long");
        assert_eq!(
            (out.wait(), out.note(), out.since()),
            ("3:00".into(), "waited".into(), "6:30 ago".into())
        );
    }

    #[test]
    fn a_tick_writes_only_what_changed() {
        let waiting = session("2026-11-27T19:00:00", None, 600);
        let at = |now| party_timing(&waiting, t(now), 300);
        // An ordinary second: the wait's text and nothing else.
        assert_eq!(
            RowWrites::between(&at("2026-11-27T19:03:00"), &at("2026-11-27T19:03:01")),
            RowWrites {
                wait: Some("3:01".into()),
                ..Default::default()
            }
        );
        // Into the last 20 %: the colour too.
        assert_eq!(
            RowWrites::between(&at("2026-11-27T19:07:59"), &at("2026-11-27T19:08:00")),
            RowWrites {
                class: Some("row tier-nearing".into()),
                wait: Some("8:00".into()),
                ..Default::default()
            }
        );
        // Over the goal: the note counts up with the wait.
        let over = RowWrites::between(&at("2026-11-27T19:10:00"), &at("2026-11-27T19:10:01"));
        assert_eq!(over.class.as_deref(), Some("row tier-over"));
        assert_eq!(over.note.as_deref(), Some("+0:01 over"));
        // The same second twice writes nothing.
        assert_eq!(
            RowWrites::between(&at("2026-11-27T19:10:01"), &at("2026-11-27T19:10:01")),
            RowWrites::default()
        );
        // A paged row: its wait is frozen; the time since the page runs, and
        // past the threshold the pager is out long.
        let paged = session("2026-11-27T19:00:00", Some("2026-11-27T19:03:00"), 600);
        let at = |now| party_timing(&paged, t(now), 300);
        assert_eq!(
            RowWrites::between(&at("2026-11-27T19:07:59"), &at("2026-11-27T19:08:00")),
            RowWrites {
                class: Some("row tier-within paged out-long".into()),
                since: Some("5:00 ago".into()),
                pager_out_long: Some(true),
                ..Default::default()
            }
        );
    }

    #[test]
    fn device_clock_set_back_never_shows_a_negative_wait() {
        let s = session("2026-11-27T19:00:00", None, 600);
        assert_eq!(party_timing(&s, t("2026-11-27T18:59:00"), 300).wait_s, 0);
    }

    #[test]
    fn formatting() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(65), "1:05");
        assert_eq!(duration(3725), "1:02:05");
        assert_eq!(duration(-5), "0:00");
        assert_eq!(goal(900), "15 min");
        assert_eq!(goal(5400), "1 h 30 min");
        assert_eq!(goal(3600), "1 h");
        assert_eq!(goal(0), "no goal");
        assert_eq!(goal(90), "1:30");
        assert_eq!(clock(t("2026-11-27T19:04:09")), "19:04:09");
        assert_eq!(ago(0), "just now");
        assert_eq!(ago(42), "42 s ago");
        assert_eq!(ago(600), "10 min ago");
        assert_eq!(ago(7200), "2 h ago");
    }
}
