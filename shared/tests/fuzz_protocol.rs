//! Fuzz target: a tablet's frame through `ClientMsg::parse` and
//! `Command::validate`, as raw text and as structured hostile JSON. Nothing
//! may panic, every refusal must carry a code documented in the invalid-input
//! table of `docs/protocol.md`, and whatever passes must be within limits.
//!
//! Long run: `PROPTEST_CASES=1000000 cargo test --release -p shared --test fuzz_protocol`.

mod hostile;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Value};
use shared::device::RequestBody;
use shared::limits;
use shared::protocol::{ClientMsg, ValidCommand, COMMAND_NAMES};

/// Every command the proxy knows, and one it does not.
fn command_names() -> Vec<&'static str> {
    let mut names = COMMAND_NAMES.to_vec();
    names.push("format_disk");
    names
}

const FIELDS: &[&str] = &[
    "type",
    "number",
    "label",
    "party_size",
    "goal",
    "page_mode",
    "message",
    "system_id",
    "default_target_goal",
    "statistics_clear_mark",
    "datetime",
    "op",
    "command",
];

/// The codes in the "Invalid input" table of docs/protocol.md.
fn documented_codes() -> &'static BTreeSet<String> {
    static CODES: OnceLock<BTreeSet<String>> = OnceLock::new();
    CODES.get_or_init(|| {
        let doc = include_str!("../../docs/protocol.md");
        let table = doc
            .split("## Invalid input")
            .nth(1)
            .expect("docs/protocol.md has an invalid-input section");
        table
            .lines()
            // | input | reply | code | test |: the third cell.
            .filter_map(|line| line.strip_prefix('|')?.split('|').nth(2))
            .flat_map(|cell| cell.split('`').skip(1).step_by(2))
            .map(str::to_string)
            .collect()
    })
}

fn check_frame(text: &str) {
    let msg = match ClientMsg::parse(text) {
        Ok(msg) => msg,
        Err(error) => {
            assert!(
                documented_codes().contains(error.code()),
                "undocumented code {}",
                error.code()
            );
            serde_json::to_string(&error.to_server_msg()).expect("an error serializes");
            return;
        }
    };
    // What the proxy parsed, it can write back and read again unchanged.
    let again = serde_json::to_string(&msg).expect("a message serializes");
    assert_eq!(ClientMsg::parse(&again).as_ref(), Ok(&msg), "{again}");
    match msg.command.validate() {
        Ok(valid) => check_within_limits(&valid),
        Err(invalid) => assert!(
            documented_codes().contains(invalid.code()),
            "undocumented code {}",
            invalid.code()
        ),
    }
}

/// A validated command's fields are in range and its body is one line of JSON.
fn check_within_limits(valid: &ValidCommand) {
    let pager = limits::PAGER_MIN..=limits::PAGER_MAX;
    let body = match valid {
        ValidCommand::CreateSession(body) => {
            assert!(pager.contains(&body.number));
            body.to_body()
        }
        ValidCommand::UpdateSession { number, body } => {
            assert!(pager.contains(number));
            body.to_body()
        }
        ValidCommand::StandalonePage(body) => {
            assert!(pager.contains(&body.number));
            body.to_body()
        }
        ValidCommand::UpdateSettings(body) => body.to_body(),
        _ => return,
    };
    assert!(
        !body.iter().any(|b| b.is_ascii_control()),
        "a control byte in the body the device gets: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice::<Value>(&body).expect("the body is JSON");
}

fn int() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (-2i64..5000).prop_map(Value::from),
        2 => hostile::number(),
        1 => hostile::leaf(),
    ]
}

fn string() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => hostile::text().prop_map(Value::from),
        1 => hostile::leaf(),
    ]
}

/// A command of a known (or unknown) type whose fields have the right names
/// and mostly the right types: it gets past parsing to `validate`.
fn command() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        8 => prop::sample::select(command_names()).prop_map(Value::from),
        1 => hostile::leaf(),
    ];
    let ints = prop::collection::vec(prop::option::weighted(0.5, int()), 5);
    let strings = prop::collection::vec(prop::option::weighted(0.5, string()), 4);
    let extra = prop_oneof![
        6 => Just(Value::Object(Default::default())),
        1 => hostile::object(FIELDS),
    ];
    (
        kind,
        prop::option::weighted(0.9, int()),
        ints,
        strings,
        extra,
    )
        .prop_map(|(kind, number, ints, strings, extra)| {
            let mut fields = extra;
            let object = fields.as_object_mut().expect("an object");
            object.insert("type".into(), kind);
            let names = [
                "party_size",
                "goal",
                "system_id",
                "default_target_goal",
                "statistics_clear_mark",
            ]
            .into_iter()
            .zip(ints)
            .chain(
                ["label", "page_mode", "message", "datetime"]
                    .into_iter()
                    .zip(strings),
            )
            .chain([("number", number)]);
            for (name, value) in names {
                if let Some(value) = value {
                    object.insert(name.into(), value);
                }
            }
            fields
        })
}

fn frame() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        12 => "[a-z0-9-]{1,64}".prop_map(Value::from),
        1 => hostile::leaf(),
    ];
    let command = prop_oneof![12 => command(), 1 => hostile::value(FIELDS)];
    (op, command, any::<u8>()).prop_map(|(op, command, shape)| match shape % 16 {
        0 => json!({ "command": command }),
        1 => json!({ "op": op }),
        _ => json!({ "op": op, "command": command }),
    })
}

proptest! {
    #![proptest_config(hostile::config())]

    #[test]
    fn structured_frames(frame in frame()) {
        check_frame(&frame.to_string());
    }

    #[test]
    fn raw_text(text in prop_oneof![".{0,200}", "[{}\\[\\]\":,a-z0-9 ]{0,200}"]) {
        check_frame(&text);
    }

    #[test]
    fn raw_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        // A WebSocket text frame is UTF-8; tungstenite refuses anything else.
        check_frame(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn the_documented_codes_are_read_from_the_table() {
    let codes = documented_codes();
    for code in ["malformed_json", "pager_out_of_range", "frame_too_large"] {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }
    assert!(
        !codes.contains("bad_frames_get_named_protocol_errors"),
        "read the test column: {codes:?}"
    );
}
