//! The JSON on the wire, pinned: one file in `golden/protocol/` for every
//! message a tablet or the proxy sends — every `ServerMsg`, every verdict and
//! result, every command, every tablet message. Each file must be exactly
//! what serde writes (compared as JSON) and read back to the same value, so a
//! renamed field fails here even though serde would round-trip it happily.
//! The app's own reader (`frontend/src/wire.rs`) reads the same files in its
//! tests (all but `server_tablets`, which index.html reads; wire.rs pins the
//! prefix it goes by).
//!
//! Adding a variant: the `match`es below stop compiling until it has a file
//! name; the test then fails until it has a sample and its file. To write a
//! new file, run once with `COASTER_BLESS_GOLDEN=1` and review the diff.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::device::{ClearType, HistoryEntry, Session, SessionState, Settings, Statistics};
use shared::protocol::*;
use shared::time::DeviceTime;

fn server_file(msg: &ServerMsg) -> String {
    let name = match msg {
        ServerMsg::Hello { .. } => "hello",
        ServerMsg::Snapshot { .. } => "snapshot",
        ServerMsg::Delta { .. } => "delta",
        ServerMsg::Heartbeat { .. } => "heartbeat",
        ServerMsg::Progress { .. } => "progress",
        ServerMsg::Tablets { .. } => "tablets",
        ServerMsg::Error { .. } => "error",
        ServerMsg::Reply { verdict, .. } => match verdict {
            Verdict::Acknowledged { result } => match result {
                CommandResult::Party { .. } => "reply_acknowledged_party",
                CommandResult::Archived { .. } => "reply_acknowledged_archived",
                CommandResult::History { .. } => "reply_acknowledged_history",
                CommandResult::Statistics { .. } => "reply_acknowledged_statistics",
                CommandResult::Settings { .. } => "reply_acknowledged_settings",
                CommandResult::Done => "reply_acknowledged_done",
            },
            Verdict::Rejected { .. } => "reply_rejected",
            Verdict::Invalid { .. } => "reply_invalid",
            Verdict::Unreachable { .. } => "reply_unreachable",
        },
    };
    format!("server_{name}")
}

fn client_file(msg: &ClientMsg) -> String {
    format!("client_{}", msg.command.name())
}

fn tablet_file(msg: &TabletMsg) -> String {
    let name = match msg {
        TabletMsg::Auth { .. } => "auth",
        TabletMsg::ListTablets => "list_tablets",
        TabletMsg::SignOut { .. } => "sign_out",
        TabletMsg::SetName { .. } => "set_name",
    };
    format!("tablet_{name}")
}

fn t(text: &str) -> DeviceTime {
    DeviceTime::parse(text).unwrap()
}

fn session(number: u32) -> Session {
    Session {
        id: number,
        session_sequence: Some(40 + number),
        uuid: format!("0b7c2a4e-0000-4000-8000-{number:012}"),
        number,
        party_size: Some(4),
        goal_in_seconds: 900,
        created: t("2026-11-27T19:00:00"),
        started: t("2026-11-27T19:00:00"),
        notified: Some(t("2026-11-27T19:12:30")),
        cleared: None,
        label: Some("Okafor".into()),
        state: Some(SessionState::Paged),
    }
}

fn server_samples() -> Vec<ServerMsg> {
    let party = Party {
        session: session(12),
        page_count: 1,
    };
    let statistics = Statistics {
        guests_served: 41,
        percent_late: 5,
        percent_on_time: 95,
        average_time_served: 780,
        num_sessions: 20,
    };
    let settings = Settings {
        datetime: t("2026-11-27T19:30:00"),
        system_id: 3,
        default_target_goal: 900,
        statistics_clear_mark: 4,
    };
    let health = Health {
        reachable: true,
        observing: true,
        synced: true,
        last_contact_ms: Some(1_795_806_000_000),
        last_rtt_ms: Some(4),
        device_clock_offset_s: Some(-18_000),
        rtt_ms: Some(5),
        rto_ms: Some(250),
        loss_percent: Some(3),
        last_notification_ms: Some(1_795_805_990_000),
        last_ping_ms: Some(1_795_805_980_000),
        reboots: 1,
        resyncs: 2,
        command_deadline_s: Some(30),
        not_recording: None,
    };
    let device = DeviceInfo {
        address: "10.0.1.32:5683".into(),
        simulated: false,
        device_name: Some("T7470".into()),
        firmware_version: Some("8.4.100.43".into()),
    };
    let reply = |verdict| ServerMsg::Reply {
        op: "k3f9-17".into(),
        verdict,
    };
    let ack = |result| reply(Verdict::Acknowledged { result });
    let cleared = Session {
        cleared: Some(t("2026-11-27T19:20:00")),
        state: Some(SessionState::Cleared),
        ..session(7)
    };
    vec![
        ServerMsg::Hello {
            protocol: PROTOCOL_VERSION,
            simulated: false,
            proxy_time_ms: 1_795_806_000_123,
        },
        ServerMsg::Snapshot {
            state: MirrorState {
                parties: vec![party.clone()],
                statistics,
                settings: Some(settings.clone()),
                global_sequence: Some(121),
                device: device.clone(),
                health: health.clone(),
            },
            proxy_time_ms: 1_795_806_000_456,
        },
        ServerMsg::Delta {
            delta: MirrorDelta {
                upserted: vec![party.clone()],
                removed: vec!["0b7c2a4e-0000-4000-8000-000000000007".into()],
                statistics: Some(statistics),
                settings: Some(settings.clone()),
                global_sequence: Some(122),
                device: Some(device),
                health: Some(health),
            },
        },
        ServerMsg::Progress {
            op: "k3f9-18".into(),
            attempt: 2,
        },
        ServerMsg::Heartbeat {
            proxy_time_ms: 1_795_806_005_456,
        },
        ServerMsg::Tablets {
            pin_required: true,
            tablets: vec![SignedInTablet {
                id: "9f2c41d0".into(),
                name: "iPad".into(),
                created_ms: 1_795_000_000_000,
                last_seen_ms: 1_795_806_000_000,
                this_tablet: true,
            }],
        },
        ServerMsg::Error {
            op: Some("k3f9-18".into()),
            code: "unknown_command".into(),
            message: "\"dance\" is not a command this proxy knows.".into(),
        },
        ack(CommandResult::Party { party }),
        ack(CommandResult::Archived {
            session: cleared.clone(),
        }),
        ack(CommandResult::History {
            entries: vec![HistoryEntry {
                session: cleared,
                clear_type: ClearType::Stop,
            }],
        }),
        ack(CommandResult::Statistics { statistics }),
        ack(CommandResult::Settings { settings }),
        ack(CommandResult::Done),
        reply(Verdict::Rejected {
            device_code: "4.04".into(),
            message: "No session for pager 12.".into(),
        }),
        reply(Verdict::Invalid {
            code: "number_in_use".into(),
            message: "Pager 12 is already in use.".into(),
        }),
        reply(Verdict::Unreachable {
            message: "The transmitter did not answer.".into(),
        }),
    ]
}

fn client_samples() -> Vec<ClientMsg> {
    let some = |s: &str| Some(s.to_string());
    [
        Command::CreateSession {
            number: 12,
            label: some("Okafor"),
            party_size: Some(4),
            goal: Some(900),
        },
        Command::UpdateSession {
            number: 12,
            label: some(""),
            party_size: Some(5),
            goal: None,
        },
        Command::PageSession {
            number: 12,
            page_mode: some("Flash30Sec"),
        },
        Command::ClearSession { number: 12 },
        Command::RemoveSession { number: 12 },
        Command::ClearAllSessions,
        Command::GetHistory,
        Command::ClearHistory,
        Command::GetStatistics,
        Command::ClearStatistics,
        Command::StandalonePage {
            number: 99,
            page_mode: some("Beep3x"),
            message: some("Table ready"),
            system_id: Some(3),
        },
        Command::GetSettings,
        Command::UpdateSettings {
            system_id: Some(3),
            default_target_goal: Some(600),
            statistics_clear_mark: Some(4),
            datetime: some("2026-11-27T19:30:00"),
        },
    ]
    .into_iter()
    .enumerate()
    .map(|(i, command)| ClientMsg {
        op: format!("k3f9-{i}"),
        command,
    })
    .collect()
}

fn tablet_samples() -> Vec<TabletMsg> {
    vec![
        TabletMsg::Auth {
            token: "5d41402abc4b2a76b9719d911017c592".into(),
            name: Some("Front door".into()),
        },
        TabletMsg::ListTablets,
        TabletMsg::SignOut {
            id: "9f2c41d0".into(),
        },
        TabletMsg::SetName { name: "Bar".into() },
    ]
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/protocol")
}

/// Checks `value` against its file both ways; returns the file's name.
fn check<T>(name: String, value: &T) -> String
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let path = golden_dir().join(format!("{name}.json"));
    let written = serde_json::to_value(value).unwrap();
    if std::env::var_os("COASTER_BLESS_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        let text = serde_json::to_string_pretty(&written).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (a new message needs its golden file)",
            path.display()
        )
    });
    let golden: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(written, golden, "serde no longer writes {name}.json");
    let read: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&read, value, "serde reads {name}.json as something else");
    name
}

/// The variant names serde knows for a tagged enum, from its own error for
/// an unknown one: the list cannot go stale.
fn wire_tags<T: DeserializeOwned + std::fmt::Debug>(tag: &str) -> BTreeSet<String> {
    let probe = serde_json::json!({ tag: "no-such-variant" });
    let error = serde_json::from_value::<T>(probe).unwrap_err().to_string();
    let (_, expected) = error.split_once("expected one of ").expect(&error);
    expected
        .split(", ")
        .map(|t| {
            t.trim_matches(|c: char| c == '`' || c.is_whitespace())
                .to_string()
        })
        .collect()
}

fn tags_of<T: Serialize>(samples: &[T], tag: &str) -> BTreeSet<String> {
    samples
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .filter_map(|v| v.pointer(tag).and_then(|t| t.as_str()).map(str::to_string))
        .collect()
}

#[test]
fn every_message_matches_its_golden_file_both_ways() {
    let servers = server_samples();
    let clients = client_samples();
    let tablets = tablet_samples();
    let mut names: Vec<String> = servers.iter().map(|m| check(server_file(m), m)).collect();
    names.extend(clients.iter().map(|m| check(client_file(m), m)));
    names.extend(tablets.iter().map(|m| check(tablet_file(m), m)));

    // The proxy reads client frames with ClientMsg::parse, not bare serde.
    for msg in &clients {
        let text = std::fs::read_to_string(golden_dir().join(format!("{}.json", client_file(msg))))
            .unwrap();
        assert_eq!(ClientMsg::parse(&text).as_ref(), Ok(msg));
    }

    let unique: BTreeSet<_> = names.iter().cloned().collect();
    assert_eq!(unique.len(), names.len(), "two samples share a golden file");
    let files: BTreeSet<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_string()
        })
        .collect();
    assert_eq!(
        files, unique,
        "golden files without a sample, or samples without a file"
    );

    // Every variant serde knows has a sample.
    assert_eq!(tags_of(&servers, "/type"), wire_tags::<ServerMsg>("type"));
    assert_eq!(tags_of(&tablets, "/type"), wire_tags::<TabletMsg>("type"));
    assert_eq!(
        tags_of(&clients, "/command/type"),
        wire_tags::<Command>("type")
    );
    assert_eq!(
        tags_of(&servers, "/verdict/outcome"),
        wire_tags::<Verdict>("outcome")
    );
    assert_eq!(
        tags_of(&servers, "/verdict/result/kind"),
        wire_tags::<CommandResult>("kind")
    );
    let commands: BTreeSet<String> = COMMAND_NAMES.iter().map(|c| c.to_string()).collect();
    assert_eq!(commands, wire_tags::<Command>("type"));
}
