//! Every JSON example in the T7470 docs (t7470-api-research.md), byte for byte,
//! must parse; so must each variation the device contract says to tolerate.

use shared::device::*;
use shared::time::DeviceTime;

fn t(text: &str) -> DeviceTime {
    DeviceTime::parse(text).unwrap()
}

/// The seed page's example response (GET /v1/sessions?number=11).
const GET_ONE: &str = r#"{
  "responseTypes": [
    "sessions"
  ],
  "globalSessionSequence": 116,
  "timestamp": "2018-03-15T11:50:27",
  "deviceName": "T7470",
  "firmwareVersion": "8.4.100.43",
  "sessions": [
    {
      "id": 18,
      "sessionSequence": 65535,
      "uuid": "b4366f13-193f-4c93-bd6b-8f4d05a6ce37",
      "number": 11,
      "partySize": 1,
      "goalInSeconds": 300,
      "created": "2018-03-15T08:44:39",
      "started": "2018-03-15T08:44:39",
      "notified": "2018-03-15T08:49:39",
      "label": null,
      "state": "paged"
    }
  ]
}"#;

const RESPONSE_FORMAT_SETTINGS: &str = r#"{"responseTypes":["settings"],"globalSessionSequence":121,"timestamp":"2018-03-15T15:46:51","deviceName":"T7470","firmwareVersion":"8.4.100.43","settings":{"datetime":"2018-03-15T15:46:51","systemId":0,"defaultTargetGoal":300,"statisticsClearMark":24}}"#;

const GET_ALL: &str = r#"{"responseTypes":["sessions","statistics"],"globalSessionSequence":121,"timestamp":"2018-03-15T15:46:51","deviceName":"T7470","firmwareVersion":"8.4.100.43","sessions":[{"id":18,"sessionSequence":65535,"uuid":"b4366f13-193f-4c93-bd6b-8f4d05a6ce37","number":11,"partySize":1,"goalInSeconds":300,"created":"2018-03-15T08:44:39","started":"2018-03-15T08:44:39","notified":"2018-03-15T08:49:39","label":null,"state":"paged"},{"id":49,"sessionSequence":121,"uuid":"3d8b1201-1ba9-454b-94a1-912df95f2d0b","number":83,"partySize":1,"goalInSeconds":300,"created":"2018-03-15T15:42:37","started":"2018-03-15T15:42:37","label":null,"state":"started"}],"statistics":{"guestsServed":41,"percentLate":0,"percentOnTime":100,"averageTimeServed":280,"numSessions":42}}"#;

const CREATE_RESPONSE: &str = r#"{"responseTypes":["sessions","statistics"],"globalSessionSequence":122,"timestamp":"2018-03-15T15:50:00","deviceName":"T7470","firmwareVersion":"8.4.100.43","statistics":{"guestsServed":41,"percentLate":0,"percentOnTime":100,"averageTimeServed":280,"numSessions":43},"sessions":[{"id":50,"sessionSequence":122,"uuid":"<uuid-v4>","number":66,"partySize":4,"goalInSeconds":60,"created":"2018-03-15T15:50:00","started":"2018-03-15T15:50:00","label":"Sarah","state":"started"}]}"#;

const PAGE_RESPONSE: &str = r#"{"responseTypes":["sessions","statistics"],"globalSessionSequence":123,"timestamp":"2018-03-15T15:54:10","deviceName":"T7470","firmwareVersion":"8.4.100.43","statistics":{"guestsServed":42,"percentLate":2,"percentOnTime":98,"averageTimeServed":279,"numSessions":43},"sessions":[{"id":50,"sessionSequence":123,"uuid":"<uuid-v4>","number":66,"partySize":4,"goalInSeconds":60,"created":"2018-03-15T15:50:00","started":"2018-03-15T15:50:00","notified":"2018-03-15T15:54:10","label":"Sarah","state":"paged"}]}"#;

/// The history example up to where the stored page was cut (the second entry is lost).
const HISTORY: &str = r#"{"responseTypes":["session_history"],"globalSessionSequence":116,"timestamp":"2018-03-15T11:45:29","deviceName":"T7470","firmwareVersion":"8.4.100.43","session_history":[{"id":11,"uuid":"15e958b7-bc83-4dd1-b4ae-d2bc27f39b3e","number":4,"goalInSeconds":300,"created":"2018-03-15T08:44:13","started":"2018-03-15T08:44:13","notified":"2018-03-15T08:49:13","cleared":"2018-03-15T11:45:18","label":null,"clearType":"STOP"}]}"#;

const GET_SETTINGS: &str = r#"{"responseTypes":["settings"],"globalSessionSequence":120,"timestamp":"2018-03-15T14:02:15","deviceName":"T7470","firmwareVersion":"8.4.100.43","settings":{"datetime":"2018-03-15T14:02:15","systemId":0,"defaultTargetGoal":300,"statisticsClearMark":24}}"#;

const NOTIFY_SETTINGS: &str = r#"{"responseTypes":["settings"],"globalSessionSequence":120,"timestamp":"2018-03-15T15:38:57","deviceName":"T7470","firmwareVersion":"8.4.100.43","settings":{"datetime":"2018-03-15T15:38:57","systemId":0,"defaultTargetGoal":300,"statisticsClearMark":24}}"#;

/// The notify page's session notification: no timestamp, deviceName or firmwareVersion.
const NOTIFY_SESSIONS: &str = r#"{"responseTypes":["sessions","statistics"],"globalSessionSequence":121,"statistics":{"guestsServed":41,"percentLate":0,"percentOnTime":100,"averageTimeServed":280,"numSessions":42},"sessions":[{"id":49,"sessionSequence":121,"uuid":"3d8b1201-1ba9-454b-94a1-912df95f2d0b","number":83,"partySize":1,"goalInSeconds":300,"created":"2018-03-15T15:42:37","started":"2018-03-15T15:42:37","label":null,"state":"started"}]}"#;

const PING: &str = r#"{"responseTypes":["ping"],"globalSessionSequence":121,"timestamp":"2018-03-15T15:47:21","deviceName":"T7470","firmwareVersion":"8.4.100.43"}"#;

#[test]
fn the_seed_example_parses_to_its_values() {
    let e = Envelope::parse(GET_ONE.as_bytes()).unwrap();
    assert_eq!(e.response_types, ["sessions"]);
    assert_eq!(e.global_session_sequence, Some(116));
    assert_eq!(e.timestamp, Some(t("2018-03-15T11:50:27")));
    assert_eq!(e.device_name.as_deref(), Some("T7470"));
    assert_eq!(e.firmware_version.as_deref(), Some("8.4.100.43"));
    assert_eq!(e.statistics, None);
    let s = &e.sessions.unwrap()[0];
    assert_eq!(
        s,
        &Session {
            id: 18,
            session_sequence: Some(65535),
            uuid: "b4366f13-193f-4c93-bd6b-8f4d05a6ce37".into(),
            number: 11,
            party_size: Some(1),
            goal_in_seconds: 300,
            created: t("2018-03-15T08:44:39"),
            started: t("2018-03-15T08:44:39"),
            notified: Some(t("2018-03-15T08:49:39")),
            cleared: None,
            label: None,
            state: Some(SessionState::Paged),
        }
    );
    assert_eq!(s.time_to_page(), Some(300));
}

#[test]
fn get_all_carries_sessions_and_statistics() {
    let e = Envelope::parse(GET_ALL.as_bytes()).unwrap();
    let sessions = e.sessions.unwrap();
    assert_eq!(
        sessions.iter().map(|s| s.number).collect::<Vec<_>>(),
        [11, 83]
    );
    assert_eq!(sessions[1].notified, None);
    assert_eq!(sessions[1].effective_state(), SessionState::Started);
    assert_eq!(
        e.statistics,
        Some(Statistics {
            guests_served: 41,
            percent_late: 0,
            percent_on_time: 100,
            average_time_served: 280,
            num_sessions: 42
        })
    );
}

#[test]
fn create_and_page_responses_parse() {
    let created = Envelope::parse(CREATE_RESPONSE.as_bytes()).unwrap();
    let s = &created.sessions.unwrap()[0];
    assert_eq!(
        (s.label.as_deref(), s.party_size, s.goal_in_seconds),
        (Some("Sarah"), Some(4), 60)
    );
    let paged = Envelope::parse(PAGE_RESPONSE.as_bytes()).unwrap();
    assert_eq!(paged.sessions.unwrap()[0].time_to_page(), Some(250));
    assert_eq!(paged.statistics.unwrap().percent_late, 2);
}

#[test]
fn history_entries_without_party_size_state_or_sequence() {
    let e = Envelope::parse(HISTORY.as_bytes()).unwrap();
    assert!(e.has("session_history"));
    let entry = &e.session_history.unwrap()[0];
    assert_eq!(entry.clear_type, ClearType::Stop);
    assert_eq!(entry.session.party_size, None);
    assert_eq!(entry.session.session_sequence, None);
    assert_eq!(entry.session.state, None);
    assert_eq!(entry.session.effective_state(), SessionState::Cleared);
    assert_eq!(entry.session.cleared, Some(t("2018-03-15T11:45:18")));
}

#[test]
fn settings_examples_parse() {
    for json in [GET_SETTINGS, NOTIFY_SETTINGS, RESPONSE_FORMAT_SETTINGS] {
        let e = Envelope::parse(json.as_bytes()).unwrap();
        let s = e.settings.unwrap();
        assert_eq!(
            (s.system_id, s.default_target_goal, s.statistics_clear_mark),
            (0, 300, 24)
        );
    }
}

#[test]
fn notification_without_envelope_metadata_parses() {
    let e = Envelope::parse(NOTIFY_SESSIONS.as_bytes()).unwrap();
    assert_eq!(
        (e.timestamp, e.device_name, e.firmware_version),
        (None, None, None)
    );
    assert_eq!(e.global_session_sequence, Some(121));
    assert_eq!(e.sessions.unwrap()[0].number, 83);
}

#[test]
fn pings_with_and_without_a_ping_part() {
    assert!(Envelope::parse(PING.as_bytes()).unwrap().is_ping());
    let with_part = r#"{"responseTypes":["ping"],"globalSessionSequence":3,"ping":{"anything":1}}"#;
    assert!(Envelope::parse(with_part.as_bytes()).unwrap().is_ping());
}

#[test]
fn tolerated_variations() {
    // uuid as a number, unknown fields everywhere, an unknown response type.
    let json = r#"{"responseTypes":["sessions","diagnostics"],"diagnostics":{"x":1},"globalSessionSequence":7,"battery":"ok","sessions":[{"id":1,"uuid":12345,"number":5,"goalInSeconds":0,"created":"2020-01-01T00:00:00","started":"2020-01-01T00:00:00","label":"A","colour":"red","state":"started"}]}"#;
    let e = Envelope::parse(json.as_bytes()).unwrap();
    let s = &e.sessions.unwrap()[0];
    assert_eq!(s.uuid, "12345");
    assert_eq!(s.party_size, None);
    // An empty object is still an envelope, with nothing in it.
    assert_eq!(Envelope::parse(b"{}").unwrap(), Envelope::default());
}

#[test]
fn bad_json_is_a_named_error_not_a_panic() {
    for body in [
        &b""[..],
        b"null",
        b"[]",
        b"{\"responseTypes\":5}",
        b"{\"sessions\":[{\"id\":1}]}",
        b"{\"timestamp\":\"yesterday\"}",
        b"\xff\xfe",
    ] {
        let err = Envelope::parse(body).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("the transmitter sent JSON Coaster cannot read"));
    }
}

#[test]
fn request_bodies_are_single_line_and_leave_out_absent_fields() {
    let create = CreateSession {
        number: 66,
        goal: Some(60),
        label: Some("Sarah".into()),
        party_size: Some(4),
        action: None,
    };
    assert_eq!(
        create.to_body(),
        br#"{"number":66,"goal":60,"label":"Sarah","partySize":4}"#
    );
    let page = UpdateSession {
        action: Some(Action::Page),
        page_mode: Some(PageMode::Flash30Sec),
        ..Default::default()
    };
    assert_eq!(
        page.to_body(),
        br#"{"action":"page","pageMode":"Flash30Sec"}"#
    );
    let standalone = StandalonePage {
        number: 66,
        system_id: Some(3),
        ..Default::default()
    };
    assert_eq!(standalone.to_body(), br#"{"number":66,"systemId":3}"#);
    let settings = SettingsUpdate {
        datetime: Some(t("2018-03-15T12:35:33")),
        system_id: Some(5),
        ..Default::default()
    };
    assert_eq!(
        settings.to_body(),
        br#"{"datetime":"2018-03-15T12:35:33","systemId":5}"#
    );
    // A label with a newline is escaped, so the body itself never holds one.
    let tricky = CreateSession {
        number: 1,
        label: Some("a\nb\tc".into()),
        ..Default::default()
    };
    assert!(!tricky
        .to_body()
        .iter()
        .any(|b| matches!(b, b'\n' | b'\r' | b'\t')));
}

#[test]
fn wire_strings_of_the_enums() {
    assert_eq!(serde_json::to_string(&ClearType::Stop).unwrap(), "\"STOP\"");
    assert_eq!(
        serde_json::to_string(&ClearType::Removed).unwrap(),
        "\"REMOVED\""
    );
    assert_eq!(
        serde_json::to_string(&SessionState::Started).unwrap(),
        "\"started\""
    );
    assert_eq!(
        serde_json::to_string(&Action::Remove).unwrap(),
        "\"remove\""
    );
    for mode in PageMode::ALL {
        assert_eq!(
            serde_json::to_string(mode).unwrap(),
            format!("\"{}\"", mode.name())
        );
        assert_eq!(PageMode::from_name(mode.name()), Some(*mode));
    }
    assert_eq!(PageMode::ALL.len(), 14);
    let documented: Vec<_> = PageMode::ALL
        .iter()
        .filter(|m| m.is_documented())
        .map(|m| m.name())
        .collect();
    assert_eq!(documented, ["Flash30Sec", "Vibe1"]);
}

#[test]
fn envelopes_round_trip() {
    for json in [
        GET_ONE,
        GET_ALL,
        HISTORY,
        GET_SETTINGS,
        NOTIFY_SESSIONS,
        PING,
    ] {
        let e = Envelope::parse(json.as_bytes()).unwrap();
        assert_eq!(Envelope::parse(&e.to_body()).unwrap(), e);
    }
}
