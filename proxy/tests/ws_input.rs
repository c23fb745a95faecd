//! What a tablet can send that is wrong: every bad frame gets a named error,
//! the connection stays open (except for an oversized frame), nothing reaches
//! the device, and a resent op id is answered, not executed again.

mod support;

use futures_util::{SinkExt, StreamExt};
use proxy::coap::Config;
use shared::protocol::{Command, ServerMsg, Verdict, MAX_FRAME_BYTES};
use support::{start_coaster, until_live, Tablet};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

async fn next_error(tablet: &mut Tablet) -> (Option<String>, String) {
    loop {
        if let Some(i) = tablet
            .unclaimed
            .iter()
            .position(|m| matches!(m, ServerMsg::Error { .. }))
        {
            let ServerMsg::Error { op, code, .. } = tablet.unclaimed.remove(i) else {
                unreachable!()
            };
            return (op, code);
        }
        tablet.next_message().await;
    }
}

#[tokio::test]
async fn bad_frames_get_named_errors_and_the_connection_stays_open() {
    let coaster = start_coaster(None, Config::default()).await;
    let sim = coaster.simulator.as_ref().unwrap();
    let mut tablet = Tablet::connect(coaster.addr, "t").await;
    until_live(&mut tablet).await;
    let cases = [
        ("{not json", None, "malformed_json"),
        (r#"{"command":{"type":"get_history"}}"#, None, "bad_op_id"),
        (r#"{"op":"1"}"#, Some("1"), "missing_command"),
        (
            r#"{"op":"2","command":{"type":"format_disk"}}"#,
            Some("2"),
            "unknown_command",
        ),
        (
            r#"{"op":"3","command":{"type":"page_session","number":[1]}}"#,
            Some("3"),
            "bad_fields",
        ),
    ];
    for (frame, op, code) in cases {
        tablet.send_raw(frame).await;
        assert_eq!(
            next_error(&mut tablet).await,
            (op.map(String::from), code.to_string()),
            "{frame}"
        );
    }
    let values = [
        (Command::ClearSession { number: 4096 }, "pager_out_of_range"),
        (
            Command::CreateSession {
                number: 1,
                label: Some("a\tb".into()),
                party_size: None,
                goal: None,
            },
            "label_has_control_character",
        ),
        (
            Command::CreateSession {
                number: 1,
                label: None,
                party_size: Some(0),
                goal: None,
            },
            "party_size_out_of_range",
        ),
        (
            Command::PageSession {
                number: 1,
                page_mode: Some("Strobe".into()),
            },
            "unknown_page_mode",
        ),
    ];
    for (command, expected) in values {
        match tablet.run(command).await {
            Verdict::Invalid { code, .. } => assert_eq!(code, expected),
            other => panic!("expected {expected}, got {other:?}"),
        }
    }
    assert!(
        sim.state().active.is_empty(),
        "an invalid command reached the device"
    );
    // Still open and working.
    assert!(tablet.run(Command::GetSettings).await.is_acknowledged());
    coaster.shutdown().await;
}

#[tokio::test]
async fn binary_and_oversized_frames() {
    let coaster = start_coaster(None, Config::default()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", coaster.addr))
        .await
        .unwrap();
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let mut saw_binary_error = false;
    while !saw_binary_error {
        if let Message::Text(text) = ws.next().await.unwrap().unwrap() {
            saw_binary_error = text.contains("binary_not_supported");
        }
    }
    let huge = format!(r#"{{"op":"x","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    // The proxy may close before the client finishes writing; either is fine.
    let _ = ws.send(Message::Text(huge.into())).await;
    let mut close = None;
    let mut error_code = None;
    while let Some(Ok(frame)) = ws.next().await {
        match frame {
            Message::Text(text) if text.contains("frame_too_large") => error_code = Some(()),
            Message::Close(frame) => {
                close = frame.map(|f| f.code);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(error_code, Some(()), "no frame_too_large error");
    assert_eq!(close, Some(CloseCode::Size));
    coaster.shutdown().await;
}

#[tokio::test]
async fn a_resent_op_after_a_reconnect_pages_once() {
    let coaster = start_coaster(None, Config::default()).await;
    let sim = coaster.simulator.as_ref().unwrap();
    let mut first = Tablet::connect(coaster.addr, "t").await;
    until_live(&mut first).await;
    let create = Command::CreateSession {
        number: 5,
        label: None,
        party_size: None,
        goal: None,
    };
    assert!(first.run(create).await.is_acknowledged());
    let page = Command::PageSession {
        number: 5,
        page_mode: None,
    };
    first.resend("page-5-once", page.clone()).await;
    let verdict = first.verdict("page-5-once").await;
    assert!(verdict.is_acknowledged());
    drop(first);
    // The tablet reconnects and resends what it had pending.
    let mut again = Tablet::connect(coaster.addr, "t").await;
    again.resend("page-5-once", page.clone()).await;
    assert_eq!(again.verdict("page-5-once").await, verdict);
    // Two resends at once while the first is still running join it.
    again.resend("page-5-twice", page.clone()).await;
    again.resend("page-5-twice", page).await;
    let one = again.verdict("page-5-twice").await;
    let two = again.verdict("page-5-twice").await;
    assert_eq!(one, two);
    assert_eq!(sim.pages().len(), 2, "{:?}", sim.pages());
    coaster.shutdown().await;
}

#[tokio::test]
async fn a_tablet_that_stops_reading_does_not_hold_up_the_others() {
    let coaster = start_coaster(None, Config::default()).await;
    // Connected, then never read again.
    let (_stalled, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", coaster.addr))
        .await
        .unwrap();
    let mut busy = Tablet::connect(coaster.addr, "busy").await;
    until_live(&mut busy).await;
    for number in 1..=120 {
        let verdict = busy
            .run(Command::CreateSession {
                number,
                label: Some(format!("Party {number} with a long name")),
                party_size: Some(4),
                goal: Some(900),
            })
            .await;
        assert!(verdict.is_acknowledged(), "{verdict:?}");
    }
    assert_eq!(busy.state.parties.len(), 120);
    assert_eq!(coaster.hub.tablets(), 2);
    coaster.shutdown().await;
}
