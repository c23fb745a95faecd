//! Fuzz target: the T7470's JSON through `Envelope::parse`, as raw bytes and
//! as structured hostile envelopes. Nothing may panic, and whatever parses
//! must write back to a body that parses to the same envelope (the proxy
//! re-serializes what it read; the simulator serves what it wrote).
//!
//! Long run: `PROPTEST_CASES=1000000 cargo test --release -p shared --test fuzz_device_json`.

mod hostile;

use proptest::prelude::*;
use serde_json::Value;
use shared::device::Envelope;

const ENVELOPE: &[&str] = &[
    "responseTypes",
    "globalSessionSequence",
    "timestamp",
    "deviceName",
    "firmwareVersion",
    "sessions",
    "statistics",
    "session_history",
    "settings",
    "ping",
];

const PARTS: &[&str] = &[
    "id",
    "sessionSequence",
    "uuid",
    "number",
    "partySize",
    "goalInSeconds",
    "created",
    "started",
    "notified",
    "cleared",
    "label",
    "state",
    "clearType",
    "guestsServed",
    "percentLate",
    "percentOnTime",
    "averageTimeServed",
    "numSessions",
    "datetime",
    "systemId",
    "defaultTargetGoal",
    "statisticsClearMark",
];

fn check_body(body: &[u8]) {
    if let Ok(envelope) = Envelope::parse(body) {
        let written = envelope.to_body();
        assert_eq!(
            Envelope::parse(&written).as_ref(),
            Ok(&envelope),
            "{}",
            String::from_utf8_lossy(&written)
        );
    }
}

fn datetime() -> impl Strategy<Value = Value> {
    prop_oneof![
        12 => "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
            .prop_map(Value::from),
        1 => hostile::leaf(),
    ]
}

fn small() -> impl Strategy<Value = Value> {
    prop_oneof![12 => (0u32..5000).prop_map(Value::from), 1 => hostile::number()]
}

/// Mostly nothing; sometimes a few fields overwritten with hostile values.
fn mutations(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, Value)>> {
    prop_oneof![
        8 => Just(Vec::new()),
        1 => prop::collection::vec((hostile::key(keys), hostile::leaf()), 1..3),
        1 => prop::collection::vec((hostile::key(keys), hostile::value(keys)), 1..2),
    ]
}

fn with(mut object: Value, mutations: Vec<(String, Value)>) -> Value {
    object.as_object_mut().expect("an object").extend(mutations);
    object
}

/// A session (or history entry) with every field plausible, then perhaps a
/// few overwritten: it gets deep into the parser and fails late.
fn session() -> impl Strategy<Value = Value> {
    let required = (
        small(),
        small(),
        small(),
        datetime(),
        datetime(),
        datetime(),
    );
    let uuid = prop_oneof![
        4 => "[0-9a-f-]{36}".prop_map(Value::from),
        4 => small(),
        1 => hostile::leaf()
    ];
    (required, uuid, mutations(PARTS)).prop_map(
        |((id, number, goal, created, started, notified), uuid, mutations)| {
            let session = serde_json::json!({
                "id": id, "uuid": uuid, "number": number, "goalInSeconds": goal,
                "created": created, "started": started, "notified": notified,
                "label": "Ana", "partySize": 4, "sessionSequence": 9,
                "clearType": "STOP", "state": "paged",
            });
            with(session, mutations)
        },
    )
}

fn statistics() -> impl Strategy<Value = Value> {
    (small(), small(), mutations(PARTS)).prop_map(|(served, percent, mutations)| {
        let statistics = serde_json::json!({
            "guestsServed": served, "percentLate": percent, "percentOnTime": percent,
            "averageTimeServed": served, "numSessions": served,
        });
        with(statistics, mutations)
    })
}

fn settings() -> impl Strategy<Value = Value> {
    (datetime(), small(), mutations(PARTS)).prop_map(|(datetime, number, mutations)| {
        let settings = serde_json::json!({
            "datetime": datetime, "systemId": number, "defaultTargetGoal": number,
            "statisticsClearMark": 24,
        });
        with(settings, mutations)
    })
}

/// A ping carries nothing the proxy reads; anything in it must be ignored.
fn ping() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(serde_json::json!({})),
        1 => hostile::object(PARTS),
    ]
}

/// A plausible envelope, perhaps with a few hostile parts.
fn envelope() -> impl Strategy<Value = Value> {
    let types = prop::collection::vec(
        prop::sample::select(
            &[
                "sessions",
                "statistics",
                "session_history",
                "settings",
                "ping",
                "x",
            ][..],
        )
        .prop_map(Value::from),
        0..4,
    )
    .prop_map(Value::Array);
    let sessions = || prop::collection::vec(session(), 0..4).prop_map(Value::Array);
    (
        (types, small(), datetime()),
        (sessions(), sessions(), statistics(), settings(), ping()),
        any::<u8>(),
        mutations(ENVELOPE),
    )
        .prop_map(
            |(
                (types, sequence, timestamp),
                (sessions, history, statistics, settings, ping),
                shape,
                mutations,
            )| {
                let mut envelope = serde_json::json!({
                    "responseTypes": types, "globalSessionSequence": sequence,
                    "timestamp": timestamp, "deviceName": "T7470", "firmwareVersion": "1.0",
                });
                let fields = envelope.as_object_mut().expect("an object");
                for (bit, (name, part)) in [
                    ("sessions", sessions),
                    ("session_history", history),
                    ("statistics", statistics),
                    ("settings", settings),
                    ("ping", ping),
                ]
                .into_iter()
                .enumerate()
                {
                    if shape & (1 << bit) != 0 {
                        fields.insert(name.into(), part);
                    }
                }
                with(envelope, mutations)
            },
        )
}

proptest! {
    #![proptest_config(hostile::config())]

    #[test]
    fn structured_envelopes(envelope in envelope()) {
        check_body(envelope.to_string().as_bytes());
    }

    #[test]
    fn raw_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_body(&bytes);
    }

    #[test]
    fn raw_json_like_text(text in "[ {}\\[\\]\":,a-zA-Z0-9.\\-]{0,300}") {
        check_body(text.as_bytes());
    }
}
