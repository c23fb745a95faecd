#![cfg(not(target_arch = "wasm32"))]
//! The app's hand-written reader (`wire.rs`) fed random and hostile JSON:
//! whatever arrives, it returns a value or an error that says what was
//! wrong, and never panics (a panic in the wasm would stop the board).

use frontend::wire::decode;
use proptest::prelude::*;

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/tests/golden/protocol"
);

fn golden_server_frames() -> Vec<String> {
    let mut frames: Vec<String> = std::fs::read_dir(GOLDEN)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("server_")
        })
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    frames.sort();
    assert!(frames.len() >= 15, "golden files missing");
    frames
}

/// An error is named: it says where or what, never nothing.
fn named(text: &str) {
    if let Err(error) = decode(text) {
        assert!(
            error.len() > 5 && error.chars().any(char::is_alphabetic),
            "{error:?} for {text:?}"
        );
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let words = |known: &[&'static str], other: &'static str| {
        prop_oneof![
            3 => prop::sample::select(known.to_vec()).prop_map(String::from),
            1 => other,
        ]
    };
    let tags = words(
        &[
            "hello",
            "snapshot",
            "delta",
            "reply",
            "heartbeat",
            "tablets",
            "error",
            "acknowledged",
            "party",
            "history",
            "2026-11-27T19:00:00",
            "paged",
            "STOP",
        ],
        ".{0,8}",
    );
    let keys = words(
        &[
            "type",
            "state",
            "verdict",
            "outcome",
            "result",
            "kind",
            "session",
            "parties",
            "number",
            "uuid",
            "created",
            "tablets",
            "id",
            "proxy_time_ms",
        ],
        "[a-z_]{1,6}",
    );
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        tags.prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..8)
                .prop_map(|fields| { Value::Object(fields.into_iter().collect(),) }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        named(&text);
    }

    #[test]
    fn json_shaped_text_never_panics(text in r#"[\[\]{}",:0-9a-z\\ .eE+-]{0,200}"#) {
        named(&text);
    }

    #[test]
    fn random_json_never_panics(value in json_value()) {
        named(&value.to_string());
    }

    /// A real frame, cut short, with a byte changed or a character put in.
    #[test]
    fn damaged_real_frames_never_panic(
        which in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        insert in any::<char>(),
    ) {
        let frames = golden_server_frames();
        let frame = which.get(&frames);
        let mut chars: Vec<char> = frame.chars().collect();
        chars.insert(at.index(chars.len() + 1), insert);
        let damaged: String = chars.iter().collect();
        named(&damaged);
        let cut = cut.index(frame.len() + 1);
        if frame.is_char_boundary(cut) {
            named(&frame[..cut]);
            prop_assert!(cut == frame.len() || decode(&frame[..cut]).is_err() || frame[cut..].trim().is_empty());
        }
    }
}

#[test]
fn hostile_frames_get_named_errors() {
    let deep = "[".repeat(100_000);
    let deep_objects = r#"{"a":"#.repeat(10_000);
    for text in [
        deep.as_str(),
        deep_objects.as_str(),
        r#"{"type":"hello","protocol":99999999999999999999999,"simulated":true,"proxy_time_ms":1}"#,
        r#"{"type":"hello","protocol":1,"simulated":true,"proxy_time_ms":-}"#,
        r#"{"type":"error","code":"\ud800","message":"\udc00\ud800\u"}"#,
        r#"{"type":"error","code":"x","message":"\"#,
        r#"{"type":"error","code":"x","message":"\uZZZZ"}"#,
        r#"{"type":"snapshot","state":{"parties":[{"session":{"created":"2026-02-30T25:61:61"}}]},"proxy_time_ms":1}"#,
        r#"{"type":"tablets","pin_required":true,"tablets":[{"id":1}]}"#,
        r#"{"type":"reply","op":"x","verdict":{"outcome":"acknowledged","result":{"kind":"history","entries":{}}}}"#,
        "\u{feff}{}",
        "nul\u{0}l",
        "{\"type\":\"heartbeat\",\"proxy_time_ms\":1}\u{0}",
        "t",
        "-",
        "\"",
        "{\"",
    ] {
        assert!(decode(text).is_err(), "{text:.80}");
        named(text);
    }
}
