//! What a tablet can send that is wrong: every bad frame gets a named error,
//! the connection stays open (except for an oversized frame), nothing reaches
//! the device, and a resent op id is answered, not executed again.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use proxy::coap::Config;
use proxy::ws::{RATE_LIMIT, WRITE_TIMEOUT};
use shared::protocol::{Command, ServerMsg, Verdict, MAX_FRAME_BYTES};
use support::{open_socket, start_coaster, until_live, Tablet};
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
    let mut ws = open_socket(coaster.addr).await;
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

/// The answers a tablet got, by op id: `Ok` for a verdict, `Err(code)` for an error.
async fn answers(tablet: &mut Tablet, count: usize) -> HashMap<String, Result<Verdict, String>> {
    let mut answers = HashMap::new();
    while answers.len() < count {
        for msg in std::mem::take(&mut tablet.unclaimed) {
            let (op, answer) = match msg {
                ServerMsg::Reply { op, verdict } => (op, Ok(verdict)),
                ServerMsg::Error {
                    op: Some(op), code, ..
                } => (op, Err(code)),
                other => panic!("an answer without an op: {other:?}"),
            };
            assert!(answers.insert(op, answer).is_none(), "an op answered twice");
        }
        if answers.len() < count {
            tablet.next_message().await;
        }
    }
    answers
}

#[tokio::test]
async fn a_flood_is_answered_rate_limited_and_not_run() {
    let coaster = start_coaster(None, Config::default()).await;
    let sim = coaster.simulator.as_ref().unwrap();
    let mut tablet = Tablet::connect(coaster.addr, "flood").await;
    until_live(&mut tablet).await;
    // Far more than the burst, all at once, without waiting for answers.
    const FLOOD: i64 = 200;
    for number in 1..=FLOOD {
        tablet
            .send(Command::CreateSession {
                number,
                label: None,
                party_size: None,
                goal: None,
            })
            .await;
    }
    let answers = answers(&mut tablet, FLOOD as usize).await;
    let ran = answers.values().filter(|a| a.is_ok()).count();
    for answer in answers.values() {
        match answer {
            Ok(verdict) => assert!(verdict.is_acknowledged(), "{verdict:?}"),
            Err(code) => assert_eq!(code, "rate_limited"),
        }
    }
    // The burst always passes: the bucket starts full and only refills.
    assert!(ran >= RATE_LIMIT.burst as usize, "only {ran} ran");
    assert!(ran < FLOOD as usize, "nothing was rate limited");
    assert_eq!(
        sim.state().active.len(),
        ran,
        "a rate-limited command reached the device"
    );
    // Still open: once tokens come back, commands run again.
    loop {
        let op = tablet.send(Command::GetSettings).await;
        match answers_for(&mut tablet, &op).await {
            Ok(verdict) => {
                assert!(verdict.is_acknowledged(), "{verdict:?}");
                break;
            }
            Err(code) => assert_eq!(code, "rate_limited"),
        }
    }
    coaster.shutdown().await;
}

async fn answers_for(tablet: &mut Tablet, op: &str) -> Result<Verdict, String> {
    let mut all = answers(tablet, 1).await;
    all.remove(op).expect("the answer is for this op")
}

#[tokio::test]
async fn a_tablet_that_stops_reading_is_dropped_and_holds_up_no_one() {
    let coaster = start_coaster(None, Config::default()).await;
    let mut busy = Tablet::connect(coaster.addr, "busy").await;
    until_live(&mut busy).await;
    // A tablet that sends and never reads: the proxy's answers fill the
    // socket buffers until its writes block.
    let stalled = open_socket(coaster.addr).await;
    let (mut stalled_sink, _never_read) = stalled.split();
    let flood = tokio::spawn(async move {
        let frame = format!(
            r#"{{"op":"{}","command":{{"type":"get_settings"}}}}"#,
            "x".repeat(64)
        );
        // Ends when the proxy drops the connection.
        while stalled_sink
            .send(Message::Text(frame.clone().into()))
            .await
            .is_ok()
        {}
    });
    assert_eq!(coaster.hub.tablets(), 2);
    // Until the stalled tablet is dropped (after WRITE_TIMEOUT of blocked
    // writes), the busy one keeps being served; each change is also
    // broadcast towards the stalled one.
    let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT * 2;
    let mut created = 0;
    while coaster.hub.tablets() > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled tablet was not dropped"
        );
        created += 1;
        let verdict = busy
            .run(Command::CreateSession {
                number: created,
                label: Some(format!("Party {created}")),
                party_size: Some(4),
                goal: Some(900),
            })
            .await;
        assert!(verdict.is_acknowledged(), "{verdict:?}");
        // Well inside the busy tablet's own rate limit.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(busy.state.parties.len(), created as usize);
    flood.await.unwrap();
    assert!(busy.run(Command::GetSettings).await.is_acknowledged());
    coaster.shutdown().await;
}
