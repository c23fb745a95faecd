//! The tablet ↔ proxy protocol: parsing, validation and mirror arithmetic.

use shared::device::*;
use shared::limits::LimitError;
use shared::protocol::*;
use shared::time::DeviceTime;

fn parse(text: &str) -> Result<ClientMsg, ProtocolError> {
    ClientMsg::parse(text)
}

#[test]
fn a_create_command_parses_and_validates() {
    let msg = parse(
        r#"{"op":"t1-7","command":{"type":"create_session","number":12,"label":" Ana ","party_size":4}}"#,
    )
    .unwrap();
    assert_eq!(msg.op, "t1-7");
    assert_eq!(msg.command.name(), "create_session");
    assert_eq!(
        msg.command.validate(),
        Ok(ValidCommand::CreateSession(CreateSession {
            number: 12,
            label: Some("Ana".into()),
            party_size: Some(4),
            goal: None,
            action: None,
        }))
    );
}

#[test]
fn page_defaults_to_flash30sec_and_maps_to_a_put() {
    let cmd = Command::PageSession {
        number: 3,
        page_mode: None,
    };
    assert_eq!(
        cmd.validate(),
        Ok(ValidCommand::UpdateSession {
            number: 3,
            body: UpdateSession {
                action: Some(Action::Page),
                page_mode: Some(PageMode::Flash30Sec),
                ..Default::default()
            }
        })
    );
}

#[test]
fn every_field_is_checked_with_a_named_error() {
    let cases: Vec<(Command, &str)> = vec![
        (
            Command::CreateSession {
                number: 0,
                label: None,
                party_size: None,
                goal: None,
            },
            "pager_out_of_range",
        ),
        (
            Command::CreateSession {
                number: 1,
                label: Some("x".repeat(33)),
                party_size: None,
                goal: None,
            },
            "label_too_long",
        ),
        (
            Command::UpdateSession {
                number: 1,
                label: None,
                party_size: Some(100),
                goal: None,
            },
            "party_size_out_of_range",
        ),
        (
            Command::UpdateSession {
                number: 1,
                label: None,
                party_size: None,
                goal: Some(-5),
            },
            "goal_out_of_range",
        ),
        (
            Command::UpdateSession {
                number: 1,
                label: None,
                party_size: None,
                goal: None,
            },
            "nothing_to_change",
        ),
        (
            Command::PageSession {
                number: 1,
                page_mode: Some("Disco".into()),
            },
            "unknown_page_mode",
        ),
        (Command::ClearSession { number: 4096 }, "pager_out_of_range"),
        (Command::RemoveSession { number: -1 }, "pager_out_of_range"),
        (
            Command::StandalonePage {
                number: 1,
                page_mode: None,
                message: Some("a\nb".into()),
                system_id: None,
            },
            "message_has_control_character",
        ),
        (
            Command::StandalonePage {
                number: 1,
                page_mode: None,
                message: Some("m".repeat(65)),
                system_id: None,
            },
            "message_too_long",
        ),
        (
            Command::StandalonePage {
                number: 1,
                page_mode: None,
                message: None,
                system_id: Some(70_000),
            },
            "system_id_out_of_range",
        ),
        (
            Command::UpdateSettings {
                system_id: None,
                default_target_goal: None,
                statistics_clear_mark: Some(25),
                datetime: None,
            },
            "clear_mark_out_of_range",
        ),
        (
            Command::UpdateSettings {
                system_id: None,
                default_target_goal: None,
                statistics_clear_mark: None,
                datetime: Some("tomorrow".into()),
            },
            "bad_datetime",
        ),
        (
            Command::UpdateSettings {
                system_id: None,
                default_target_goal: None,
                statistics_clear_mark: None,
                datetime: None,
            },
            "nothing_to_change",
        ),
    ];
    for (command, code) in cases {
        let err = command.validate().unwrap_err();
        assert_eq!(err.code(), code, "{command:?}");
        assert!(err.to_string().ends_with('.'), "{err}");
    }
}

#[test]
fn an_empty_label_on_update_clears_it() {
    let cmd = Command::UpdateSession {
        number: 2,
        label: Some("  ".into()),
        party_size: None,
        goal: None,
    };
    let Ok(ValidCommand::UpdateSession { body, .. }) = cmd.validate() else {
        panic!("update did not validate");
    };
    assert_eq!(body.label.as_deref(), Some(""));
}

#[test]
fn bad_frames_get_named_protocol_errors() {
    let cases = [
        ("not json", "malformed_json", None),
        (r#"{"command":{"type":"get_history"}}"#, "bad_op_id", None),
        (
            r#"{"op":"","command":{"type":"get_history"}}"#,
            "bad_op_id",
            None,
        ),
        (
            r#"{"op":7,"command":{"type":"get_history"}}"#,
            "bad_op_id",
            None,
        ),
        (r#"{"op":"a"}"#, "missing_command", Some("a")),
        (
            r#"{"op":"b","command":{"type":"launch_rockets"}}"#,
            "unknown_command",
            Some("b"),
        ),
        (
            r#"{"op":"c","command":{"type":"clear_session","number":"five"}}"#,
            "bad_fields",
            Some("c"),
        ),
        (
            r#"{"op":"d","command":{"type":"clear_session"}}"#,
            "bad_fields",
            Some("d"),
        ),
    ];
    for (text, code, op) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!((err.code(), err.op()), (code, op), "{text}");
    }
    let long_op = format!(
        r#"{{"op":"{}","command":{{"type":"get_history"}}}}"#,
        "x".repeat(65)
    );
    assert_eq!(parse(&long_op).unwrap_err(), ProtocolError::BadOpId);
    let huge = format!(r#"{{"op":"e","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    assert_eq!(parse(&huge).unwrap_err().code(), "frame_too_large");
}

#[test]
fn every_command_name_is_known_to_the_parser() {
    let commands = [
        Command::CreateSession {
            number: 1,
            label: None,
            party_size: None,
            goal: None,
        },
        Command::UpdateSession {
            number: 1,
            label: Some("a".into()),
            party_size: None,
            goal: None,
        },
        Command::PageSession {
            number: 1,
            page_mode: None,
        },
        Command::ClearSession { number: 1 },
        Command::RemoveSession { number: 1 },
        Command::ClearAllSessions,
        Command::GetHistory,
        Command::ClearHistory,
        Command::GetStatistics,
        Command::ClearStatistics,
        Command::StandalonePage {
            number: 1,
            page_mode: None,
            message: None,
            system_id: None,
        },
        Command::GetSettings,
        Command::UpdateSettings {
            system_id: Some(1),
            default_target_goal: None,
            statistics_clear_mark: None,
            datetime: None,
        },
    ];
    for command in commands {
        let msg = ClientMsg {
            op: "x".into(),
            command,
        };
        let text = serde_json::to_string(&msg).unwrap();
        assert!(text.contains(msg.command.name()));
        assert_eq!(parse(&text), Ok(msg));
    }
}

fn party(number: u32, uuid: &str) -> Party {
    let t = DeviceTime::parse("2026-11-29T18:00:00").unwrap();
    Party {
        session: Session {
            id: number,
            session_sequence: Some(1),
            uuid: uuid.into(),
            number,
            party_size: Some(2),
            goal_in_seconds: 300,
            created: t,
            started: t,
            notified: None,
            cleared: None,
            label: None,
            state: Some(SessionState::Started),
        },
        page_count: 0,
    }
}

#[test]
fn deltas_keep_parties_ordered_and_replace_by_number() {
    let mut state = MirrorState::default();
    state.apply(&MirrorDelta {
        upserted: vec![party(9, "a"), party(2, "b"), party(5, "c")],
        global_sequence: Some(3),
        ..Default::default()
    });
    let numbers = |s: &MirrorState| {
        s.parties
            .iter()
            .map(|p| p.session.number)
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers(&state), [2, 5, 9]);
    assert_eq!(state.lowest_free_number(), Some(1));
    // Pager 5 is seated and handed straight to a new party in one delta.
    state.apply(&MirrorDelta {
        removed: vec!["c".into()],
        upserted: vec![party(5, "d")],
        ..Default::default()
    });
    assert_eq!(numbers(&state), [2, 5, 9]);
    assert_eq!(state.party(5).unwrap().session.uuid, "d");
    assert_eq!(state.global_sequence, Some(3));
    state.apply(&MirrorDelta {
        removed: vec!["b".into()],
        ..Default::default()
    });
    assert_eq!(numbers(&state), [5, 9]);
    assert!(MirrorDelta::default().is_empty());
}

#[test]
fn server_messages_round_trip() {
    let msgs = [
        ServerMsg::Hello {
            protocol: PROTOCOL_VERSION,
            simulated: true,
            proxy_time_ms: 1,
        },
        ServerMsg::Heartbeat {
            proxy_time_ms: 1_700_000_000_000,
        },
        ServerMsg::Reply {
            op: "o".into(),
            verdict: Verdict::Acknowledged {
                result: CommandResult::Party {
                    party: party(4, "u"),
                },
            },
        },
        ServerMsg::Reply {
            op: "o".into(),
            verdict: Verdict::invalid(&InvalidCommand::Limit(LimitError::PagerOutOfRange {
                value: 0,
            })),
        },
        ServerMsg::Reply {
            op: "o".into(),
            verdict: Verdict::Rejected {
                device_code: "4.04".into(),
                message: "no active session 4".into(),
            },
        },
        ProtocolError::BadOpId.to_server_msg(),
    ];
    for msg in msgs {
        let text = serde_json::to_string(&msg).unwrap();
        assert_eq!(serde_json::from_str::<ServerMsg>(&text).unwrap(), msg);
    }
}
