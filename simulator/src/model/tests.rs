//! One test (or more) per row of the contract's resource table, then the
//! sequence, statistics and clock rules. Time moves by passing later Instants.

use std::time::{Duration, Instant};

use coap_lite::ResponseType;
use shared::device::{ClearType, Envelope, SessionState, Statistics};
use shared::time::DeviceTime;

use super::*;

const START: &str = "2018-03-15T15:42:37";

struct Bench {
    device: Device,
    now: Instant,
}

impl Bench {
    fn new() -> Self {
        let now = Instant::now();
        Bench {
            device: Device::new(DeviceTime::parse(START).unwrap(), now, 7),
            now,
        }
    }

    fn advance(&mut self, seconds: u64) {
        self.now += Duration::from_secs(seconds);
    }

    fn send(&mut self, request: Request) -> Handled {
        self.device.handle(&request, self.now)
    }

    fn call(&mut self, method: Method, path: &str, body: &str) -> Handled {
        self.send(Request::new(method, path).with_body(body))
    }

    fn create(&mut self, number: u32) -> Handled {
        let handled = self.call(
            Method::Post,
            "/v1/sessions",
            &format!(r#"{{"number":{number}}}"#),
        );
        assert_eq!(handled.reply.code, ResponseType::Created);
        handled
    }

    fn act(&mut self, number: u32, action: &str) -> Handled {
        let handled = self.call(
            Method::Put,
            &format!("/v1/sessions?number={number}"),
            &format!(r#"{{"action":"{action}"}}"#),
        );
        assert_eq!(
            handled.reply.code,
            ResponseType::Changed,
            "{:?}",
            handled.reply
        );
        handled
    }

    fn statistics(&mut self) -> Statistics {
        self.device.state(self.now).statistics
    }
}

fn envelope(handled: &Handled) -> &Envelope {
    handled.reply.envelope().expect("the reply has an envelope")
}

fn only_session(envelope: &Envelope) -> &shared::device::Session {
    match envelope.sessions.as_deref() {
        Some([session]) => session,
        other => panic!("expected exactly one session, got {other:?}"),
    }
}

#[test]
fn post_creates_a_session_with_defaults_and_full_envelope() {
    let mut bench = Bench::new();
    let handled = bench.create(83);
    let envelope = envelope(&handled);
    assert_eq!(envelope.response_types, ["sessions", "statistics"]);
    assert_eq!(envelope.global_session_sequence, Some(1));
    assert_eq!(envelope.timestamp.unwrap().to_string(), START);
    assert_eq!(envelope.device_name.as_deref(), Some("T7470"));
    assert_eq!(envelope.firmware_version.as_deref(), Some("8.4.100.43"));
    let session = only_session(envelope);
    assert_eq!(
        (session.id, session.number, session.session_sequence),
        (1, 83, Some(1))
    );
    assert_eq!(
        (session.party_size, session.goal_in_seconds),
        (Some(1), 300)
    );
    assert_eq!(
        (session.created, session.started),
        (envelope.timestamp.unwrap(), envelope.timestamp.unwrap())
    );
    assert_eq!(
        (session.notified, session.cleared, session.label.clone()),
        (None, None, None)
    );
    assert_eq!(session.state, Some(SessionState::Started));
    assert_eq!(session.uuid.len(), 36);
    assert_eq!(&session.uuid[14..15], "4", "a version 4 UUID");
    assert_eq!(envelope.statistics.unwrap().num_sessions, 1);
    assert_eq!(handled.notifications.len(), 1);
    assert_eq!(only_session(&handled.notifications[0]), session);
}

#[test]
fn post_on_an_active_number_updates_it_with_2_04() {
    let mut bench = Bench::new();
    bench.create(66);
    let handled = bench.call(
        Method::Post,
        "/v1/sessions",
        r#"{ "number": 66, "goal": 60, "label": "Sarah", "partySize": 4 }"#,
    );
    assert_eq!(handled.reply.code, ResponseType::Changed);
    let session = only_session(envelope(&handled));
    assert_eq!(
        (session.id, session.goal_in_seconds, session.party_size),
        (1, 60, Some(4))
    );
    assert_eq!(session.label.as_deref(), Some("Sarah"));
    let state = bench.device.state(bench.now);
    assert_eq!(
        (
            state.active.len(),
            state.statistics.num_sessions,
            state.global_sequence
        ),
        (1, 1, 2)
    );
}

#[test]
fn post_with_a_bad_body_is_4_00_with_a_json_error() {
    let mut bench = Bench::new();
    for body in [
        "{}",
        r#"{"number":0}"#,
        r#"{"number":4096}"#,
        "{\"number\":\t5}",
        "nope",
        r#"{"number":5,"goal":86401}"#,
    ] {
        let handled = bench.call(Method::Post, "/v1/sessions", body);
        assert_eq!(handled.reply.code, ResponseType::BadRequest, "{body}");
        assert!(!handled.reply.error().unwrap().is_empty());
        let parsed: serde_json::Value = serde_json::from_slice(&handled.reply.payload()).unwrap();
        assert!(parsed["error"].is_string());
    }
    assert_eq!(
        bench
            .call(Method::Post, "/v1/sessions", r#"{"number":4096}"#)
            .reply
            .error(),
        Some("Pager 4096 does not exist: pager numbers run from 1 to 4095.")
    );
    assert_eq!(bench.device.state(bench.now).global_sequence, 0);
}

#[test]
fn put_updates_pages_and_answers_4_04_or_4_00() {
    let mut bench = Bench::new();
    bench.create(7);
    bench.advance(42);
    let handled = bench.call(
        Method::Put,
        "/v1/sessions?number=7",
        r#"{ "action": "page", "pageMode": "Flash30Sec" }"#,
    );
    assert_eq!(handled.reply.code, ResponseType::Changed);
    let session = only_session(envelope(&handled));
    assert_eq!(session.state, Some(SessionState::Paged));
    assert_eq!(session.notified, Some(session.started.plus_seconds(42)));
    assert_eq!(handled.pages.len(), 1);
    assert_eq!(handled.pages[0].source, PageSource::Session { id: 1 });

    let missing = bench.call(Method::Put, "/v1/sessions?number=8", r#"{"action":"page"}"#);
    assert_eq!(missing.reply.code, ResponseType::NotFound);
    assert!(missing.pages.is_empty());
    for body in [
        r#"{"action":"seat"}"#,
        r#"{"pageMode":"Blink"}"#,
        r#"{"partySize":0}"#,
        "{\"goal\":\n5}",
    ] {
        let handled = bench.call(Method::Put, "/v1/sessions?number=7", body);
        assert_eq!(handled.reply.code, ResponseType::BadRequest, "{body}");
    }
    assert_eq!(
        bench.call(Method::Put, "/v1/sessions", "{}").reply.code,
        ResponseType::BadRequest
    );
}

#[test]
fn put_label_empty_clears_it() {
    let mut bench = Bench::new();
    bench.call(
        Method::Post,
        "/v1/sessions",
        r#"{"number":9,"label":"Ann"}"#,
    );
    let handled = bench.call(Method::Put, "/v1/sessions?number=9", r#"{"label":""}"#);
    assert_eq!(only_session(envelope(&handled)).label, None);
}

#[test]
fn delete_one_archives_as_removed_with_no_body() {
    let mut bench = Bench::new();
    bench.create(5);
    bench.advance(10);
    let handled = bench.call(Method::Delete, "/v1/sessions?number=5", "");
    assert_eq!(
        (handled.reply.code, handled.reply.body.clone()),
        (ResponseType::Deleted, Body::Empty)
    );
    let notified = only_session(&handled.notifications[0]);
    assert_eq!(notified.state, Some(SessionState::Cleared));
    assert_eq!(notified.cleared, Some(notified.started.plus_seconds(10)));
    let state = bench.device.state(bench.now);
    assert!(state.active.is_empty());
    assert_eq!(state.history[0].clear_type, ClearType::Removed);
    assert_eq!(
        bench
            .call(Method::Delete, "/v1/sessions?number=5", "")
            .reply
            .code,
        ResponseType::NotFound
    );
}

#[test]
fn get_all_has_an_etag_and_answers_2_03_while_nothing_changed() {
    let mut bench = Bench::new();
    bench.create(1);
    bench.create(2);
    let first = bench.call(Method::Get, "/v1/sessions", "");
    assert_eq!(first.reply.code, ResponseType::Content);
    let envelope = envelope(&first);
    assert_eq!(envelope.response_types, ["sessions", "statistics"]);
    let numbers: Vec<u32> = envelope
        .sessions
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.number)
        .collect();
    assert_eq!(numbers, [1, 2]);
    let etag = first
        .reply
        .etag
        .clone()
        .expect("GET /v1/sessions carries an ETag");

    bench.advance(5); // the timestamp ticks, the data does not
    let again = bench.send(Request::new(Method::Get, "/v1/sessions").with_etag(etag.clone()));
    assert_eq!(
        (again.reply.code, again.reply.payload()),
        (ResponseType::Valid, Vec::new())
    );
    assert_eq!(again.reply.etag.as_ref(), Some(&etag));

    bench.act(2, "page");
    let changed = bench.send(Request::new(Method::Get, "/v1/sessions").with_etag(etag.clone()));
    assert_eq!(changed.reply.code, ResponseType::Content);
    assert_ne!(changed.reply.etag, Some(etag.clone()));

    // Statistics are part of the representation: a reset changes the tag too.
    let before_reset = changed.reply.etag.clone().unwrap();
    bench.call(Method::Delete, "/v1/sessions/statistics", "");
    let after = bench.send(Request::new(Method::Get, "/v1/sessions").with_etag(before_reset));
    assert_eq!(after.reply.code, ResponseType::Content);
}

#[test]
fn get_one_has_sessions_only_or_4_04() {
    let mut bench = Bench::new();
    bench.create(11);
    let handled = bench.call(Method::Get, "/v1/sessions?number=11", "");
    assert_eq!(handled.reply.code, ResponseType::Content);
    let envelope = envelope(&handled);
    assert_eq!(envelope.response_types, ["sessions"]);
    assert_eq!(envelope.statistics, None);
    assert_eq!(only_session(envelope).number, 11);
    assert_eq!(
        bench
            .call(Method::Get, "/v1/sessions?number=12", "")
            .reply
            .code,
        ResponseType::NotFound
    );
    assert_eq!(
        bench
            .call(Method::Get, "/v1/sessions?number=abc", "")
            .reply
            .code,
        ResponseType::BadRequest
    );
}

#[test]
fn delete_all_archives_every_session_as_stop_one_step_each() {
    let mut bench = Bench::new();
    for number in [3, 1, 2] {
        bench.create(number);
    }
    let handled = bench.call(Method::Delete, "/v1/sessions", "");
    assert_eq!(
        (handled.reply.code, handled.reply.payload()),
        (ResponseType::Deleted, Vec::new())
    );
    let sequences: Vec<(u32, Option<u32>)> = handled
        .notifications
        .iter()
        .map(|n| (only_session(n).number, n.global_session_sequence))
        .collect();
    assert_eq!(sequences, [(3, Some(4)), (1, Some(5)), (2, Some(6))]);
    let state = bench.device.state(bench.now);
    assert!(state.active.is_empty());
    assert!(state
        .history
        .iter()
        .all(|entry| entry.clear_type == ClearType::Stop));
    assert_eq!(state.global_sequence, 6);
}

#[test]
fn history_entries_carry_clear_type_and_cleared_like_the_docs_example() {
    let mut bench = Bench::new();
    bench.create(4);
    bench.advance(300);
    bench.act(4, "page");
    bench.advance(60);
    let cleared = bench.act(4, "clear");
    assert_eq!(
        only_session(envelope(&cleared)).state,
        Some(SessionState::Cleared)
    );
    bench.create(5);
    bench.act(5, "remove");

    let handled = bench.call(Method::Get, "/v1/sessions/history", "");
    assert_eq!(handled.reply.code, ResponseType::Content);
    let envelope = envelope(&handled);
    assert_eq!(envelope.response_types, ["session_history"]);
    let history = envelope.session_history.as_ref().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].session.number, history[0].clear_type),
        (4, ClearType::Stop)
    );
    assert_eq!(
        (history[1].session.number, history[1].clear_type),
        (5, ClearType::Removed)
    );
    let first = &history[0].session;
    assert_eq!(first.cleared, Some(first.started.plus_seconds(360)));
    assert_eq!(first.notified, Some(first.started.plus_seconds(300)));
    assert_eq!(
        (first.party_size, first.state, first.session_sequence),
        (None, None, None)
    );
    let wire = String::from_utf8(handled.reply.payload()).unwrap();
    assert!(wire.contains(r#""clearType":"STOP""#) && wire.contains(r#""clearType":"REMOVED""#));
}

#[test]
fn delete_history_empties_it() {
    let mut bench = Bench::new();
    bench.create(4);
    bench.act(4, "clear");
    let handled = bench.call(Method::Delete, "/v1/sessions/history", "");
    assert_eq!(
        (handled.reply.code, handled.reply.payload()),
        (ResponseType::Deleted, Vec::new())
    );
    assert!(bench.device.state(bench.now).history.is_empty());
}

#[test]
fn statistics_get_and_delete() {
    let mut bench = Bench::new();
    bench.create(4);
    bench.act(4, "page");
    let handled = bench.call(Method::Get, "/v1/sessions/statistics", "");
    assert_eq!(handled.reply.code, ResponseType::Content);
    let envelope = envelope(&handled);
    assert_eq!(envelope.response_types, ["statistics"]);
    assert_eq!(envelope.statistics.unwrap().guests_served, 1);

    let reset = bench.call(Method::Delete, "/v1/sessions/statistics", "");
    assert_eq!(
        (reset.reply.code, reset.reply.payload()),
        (ResponseType::Deleted, Vec::new())
    );
    assert!(reset.notifications.is_empty());
    assert_eq!(bench.statistics(), Statistics::default());
    assert_eq!(
        bench.device.state(bench.now).global_sequence,
        2,
        "a reset is not a session change"
    );
}

#[test]
fn standalone_page_records_a_page_and_answers_an_empty_envelope() {
    let mut bench = Bench::new();
    let handled = bench.call(Method::Post, "/v1/page", r#"{"number":66,"systemId":3}"#);
    assert_eq!(handled.reply.code, ResponseType::Changed);
    let envelope = envelope(&handled);
    assert!(envelope.response_types.is_empty());
    assert_eq!(envelope.global_session_sequence, Some(0));
    assert_eq!(
        handled.pages,
        [PageRecord {
            number: 66,
            mode: PageMode::Flash30Sec,
            at: DeviceTime::parse(START).unwrap(),
            source: PageSource::Standalone,
            message: None,
            system_id: 3,
        }]
    );
    assert!(handled.notifications.is_empty());

    bench.call(Method::Post, "/v1/settings", r#"{"systemId":5}"#);
    let with_defaults = bench.call(
        Method::Post,
        "/v1/page",
        r#"{"number":2,"pageMode":"Vibe1","message":"Hi"}"#,
    );
    let page = &with_defaults.pages[0];
    assert_eq!(
        (page.system_id, page.mode, page.message.as_deref()),
        (5, PageMode::Vibe1, Some("Hi"))
    );
    for body in [
        r#"{"number":0}"#,
        r#"{"pageMode":"Vibe1"}"#,
        r#"{"number":1,"message":"x\u0007"}"#,
    ] {
        let handled = bench.call(Method::Post, "/v1/page", body);
        assert_eq!(handled.reply.code, ResponseType::BadRequest, "{body}");
        assert!(handled.pages.is_empty());
    }
}

#[test]
fn settings_get_and_partial_post() {
    let mut bench = Bench::new();
    let handled = bench.call(Method::Get, "/v1/settings", "");
    assert_eq!(handled.reply.code, ResponseType::Content);
    let settings = envelope(&handled).settings.clone().unwrap();
    assert_eq!(settings.datetime.to_string(), START);
    assert_eq!(
        (
            settings.system_id,
            settings.default_target_goal,
            settings.statistics_clear_mark
        ),
        (0, 300, 24)
    );

    let handled = bench.call(
        Method::Post,
        "/v1/settings",
        r#"{ "datetime": "2018-03-15T12:35:33", "systemId": 5 }"#,
    );
    assert_eq!(handled.reply.code, ResponseType::Changed);
    let changed = envelope(&handled);
    assert_eq!(
        changed.timestamp.unwrap().to_string(),
        "2018-03-15T12:35:33"
    );
    let settings = changed.settings.clone().unwrap();
    assert_eq!((settings.system_id, settings.default_target_goal), (5, 300));
    assert_eq!(handled.notifications, std::slice::from_ref(changed));

    let rejected = bench.call(
        Method::Post,
        "/v1/settings",
        r#"{"systemId":6,"statisticsClearMark":25}"#,
    );
    assert_eq!(rejected.reply.code, ResponseType::BadRequest);
    assert_eq!(
        rejected.reply.error(),
        Some("Hour 25 is not a statistics clear hour: use 0 to 24.")
    );
    assert_eq!(
        bench.device.state(bench.now).settings.system_id,
        5,
        "nothing applied from a rejected body"
    );

    bench.call(Method::Post, "/v1/settings", r#"{"defaultTargetGoal":90}"#);
    assert_eq!(only_session(envelope(&bench.create(1))).goal_in_seconds, 90);
    assert_eq!(
        bench.device.state(bench.now).global_sequence,
        1,
        "settings never move the sequence"
    );
}

#[test]
fn notify_snapshot_with_and_without_get_sessions() {
    let mut bench = Bench::new();
    bench.create(1);
    let with = bench.call(Method::Get, "/v1/notify?action=get_sessions", "");
    assert_eq!(with.reply.code, ResponseType::Content);
    assert_eq!(envelope(&with).response_types, ["sessions", "statistics"]);
    assert_eq!(envelope(&with).sessions.as_ref().unwrap().len(), 1);
    let without = bench.call(Method::Get, "/v1/notify", "");
    assert!(envelope(&without).response_types.is_empty());
    assert_eq!(envelope(&without).sessions, None);
    assert_eq!(
        bench
            .call(Method::Get, "/v1/notify?action=dance", "")
            .reply
            .code,
        ResponseType::BadRequest
    );
}

#[test]
fn unknown_paths_are_4_04_and_wrong_methods_4_05() {
    let mut bench = Bench::new();
    for path in [
        "/",
        "/v2/sessions",
        "/v1/session",
        "/v1/sessions/history/1",
        "/.well-known/core",
    ] {
        let handled = bench.call(Method::Get, path, "");
        assert_eq!(handled.reply.code, ResponseType::NotFound, "{path}");
        assert!(handled.reply.error().is_some());
    }
    for (method, path) in [
        (Method::Put, "/v1/settings"),
        (Method::Delete, "/v1/settings"),
        (Method::Get, "/v1/page"),
        (Method::Post, "/v1/notify"),
        (Method::Post, "/v1/sessions/history"),
        (Method::Put, "/v1/sessions/statistics"),
        (Method::Other, "/v1/sessions"),
    ] {
        assert_eq!(
            bench.call(method, path, "").reply.code,
            ResponseType::MethodNotAllowed,
            "{method:?} {path}"
        );
    }
}

#[test]
fn every_change_steps_the_sequence_and_stamps_the_session() {
    let mut bench = Bench::new();
    bench.create(1); // 1
    bench.create(2); // 2
    bench.call(Method::Put, "/v1/sessions?number=1", r#"{"goal":10}"#); // 3
    bench.act(1, "page"); // 4
    bench.call(Method::Post, "/v1/settings", r#"{"systemId":2}"#); // no step
    bench.call(Method::Post, "/v1/page", r#"{"number":9}"#); // no step
    let state = bench.device.state(bench.now);
    assert_eq!(state.global_sequence, 4);
    let stamps: Vec<Option<u32>> = state.active.iter().map(|s| s.session_sequence).collect();
    assert_eq!(stamps, [Some(4), Some(2)]);
    let handled = bench.act(2, "clear");
    assert_eq!(envelope(&handled).global_session_sequence, Some(5));
    assert_eq!(only_session(envelope(&handled)).session_sequence, Some(5));
}

#[test]
fn create_with_an_action_is_one_change() {
    let mut bench = Bench::new();
    let handled = bench.call(
        Method::Post,
        "/v1/sessions",
        r#"{"number":3,"action":"page"}"#,
    );
    assert_eq!(handled.reply.code, ResponseType::Created);
    assert_eq!(
        only_session(envelope(&handled)).state,
        Some(SessionState::Paged)
    );
    assert_eq!((handled.pages.len(), handled.notifications.len()), (1, 1));
    assert_eq!(envelope(&handled).global_session_sequence, Some(1));
    assert_eq!(bench.statistics().guests_served, 1);
}

#[test]
fn re_paging_moves_notified_but_statistics_count_the_first_page() {
    let mut bench = Bench::new();
    bench.call(Method::Post, "/v1/sessions", r#"{"number":1,"goal":60}"#);
    bench.advance(30);
    bench.act(1, "page");
    bench.advance(100);
    let again = bench.act(1, "page");
    let session = only_session(envelope(&again));
    assert_eq!(session.notified, Some(session.started.plus_seconds(130)));
    assert_eq!(again.pages.len(), 1, "a re-page is transmitted");
    assert_eq!(
        bench.statistics(),
        Statistics {
            guests_served: 1,
            percent_late: 0,
            percent_on_time: 100,
            average_time_served: 30,
            num_sessions: 1
        }
    );
}

#[test]
fn statistics_on_time_exactly_at_goal_late_one_second_after_and_averaged() {
    let mut bench = Bench::new();
    bench.call(Method::Post, "/v1/sessions", r#"{"number":1,"goal":60}"#);
    bench.call(Method::Post, "/v1/sessions", r#"{"number":2,"goal":60}"#);
    bench.call(Method::Post, "/v1/sessions", r#"{"number":3,"goal":60}"#);
    bench.create(4); // never paged: counted as created only
    bench.advance(60);
    bench.act(1, "page"); // exactly at the goal: on time
    bench.advance(1);
    bench.act(2, "page"); // 61 s: late
    bench.act(3, "clear"); // cleared without a page: not served
    assert_eq!(
        bench.statistics(),
        Statistics {
            guests_served: 2,
            percent_late: 50,
            percent_on_time: 50,
            average_time_served: 61,
            num_sessions: 4
        }
    );
}

#[test]
fn nothing_served_means_zero_percentages() {
    let mut bench = Bench::new();
    bench.create(1);
    assert_eq!(
        bench.statistics(),
        Statistics {
            num_sessions: 1,
            ..Statistics::default()
        }
    );
}

#[test]
fn statistics_clear_daily_at_the_mark_and_24_means_midnight() {
    let mut bench = Bench::new(); // 15:42:37, mark 24
    bench.create(1);
    bench.act(1, "page");
    let to_midnight = 86_400
        - DeviceTime::parse(START)
            .unwrap()
            .seconds()
            .rem_euclid(86_400) as u64;
    bench.advance(to_midnight - 1);
    assert_eq!(
        bench.statistics().num_sessions,
        1,
        "one second before midnight"
    );
    bench.advance(1);
    assert_eq!(
        bench.statistics(),
        Statistics::default(),
        "cleared at midnight"
    );
    assert_eq!(
        bench.device.state(bench.now).active.len(),
        1,
        "sessions survive the clear"
    );

    bench.call(Method::Post, "/v1/settings", r#"{"statisticsClearMark":3}"#);
    bench.create(2);
    bench.advance(3 * 3600 - 1);
    assert_eq!(bench.statistics().num_sessions, 1);
    bench.advance(1);
    assert_eq!(bench.statistics().num_sessions, 0, "cleared at 03:00");
}

#[test]
fn setting_the_clock_moves_every_later_timestamp() {
    let mut bench = Bench::new();
    bench.call(
        Method::Post,
        "/v1/settings",
        r#"{"datetime":"2020-01-01T08:00:00"}"#,
    );
    bench.advance(15);
    let created = bench.create(1);
    assert_eq!(
        only_session(envelope(&created)).created.to_string(),
        "2020-01-01T08:00:15"
    );
}

#[test]
fn a_reboot_forgets_sessions_and_sequence_but_keeps_settings() {
    let mut bench = Bench::new();
    bench.call(Method::Post, "/v1/settings", r#"{"systemId":9}"#);
    bench.create(1);
    bench.act(1, "clear");
    bench.create(2);
    bench.device.reboot();
    let state = bench.device.state(bench.now);
    assert_eq!(
        (
            state.active.len(),
            state.history.len(),
            state.global_sequence
        ),
        (0, 0, 0)
    );
    assert_eq!(state.statistics, Statistics::default());
    assert_eq!(state.settings.system_id, 9);
    assert_eq!(only_session(envelope(&bench.create(2))).id, 1);
}

#[test]
fn uuids_are_distinct_and_repeat_with_the_seed() {
    let mut a = Bench::new();
    let mut b = Bench::new();
    let first = only_session(envelope(&a.create(1))).uuid.clone();
    let second = only_session(envelope(&a.create(2))).uuid.clone();
    assert_ne!(first, second);
    assert_eq!(only_session(envelope(&b.create(1))).uuid, first);
}

#[test]
fn pings_are_the_full_envelope_with_an_empty_ping_part() {
    let mut bench = Bench::new();
    let ping = bench.device.ping(bench.now);
    assert!(ping.is_ping());
    let wire = String::from_utf8(ping.to_body()).unwrap();
    assert!(
        wire.starts_with(r#"{"responseTypes":["ping"],"globalSessionSequence":0,"timestamp":"#),
        "{wire}"
    );
    assert!(wire.ends_with(r#","ping":{}}"#), "{wire}");
}
