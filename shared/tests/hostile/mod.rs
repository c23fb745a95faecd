//! Strategies for hostile JSON, shared by the fuzz targets: values a parser
//! can trip on (extreme numbers, control characters, deep nesting, huge
//! strings) mixed with the names the real messages use, so generated inputs
//! get past the first check as often as they fail it.
//!
//! Cases default to proptest's 256 (seconds per target, for CI); the long run
//! is `PROPTEST_CASES=1000000 cargo test --release -p shared --test fuzz_…`.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Config for every target: the case count from `PROPTEST_CASES` (proptest's
/// default reads it), no `.proptest-regressions` files — a crash found
/// becomes a named regression test instead.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

pub fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from(0)),
        Just(Value::from(1)),
        Just(Value::from(-1)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(i64::MAX)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(u32::MAX as i64 + 1)),
        Just(Value::from(4095)),
        Just(Value::from(4096)),
        Just(Value::from(65535)),
        Just(Value::from(65536)),
        Just(Value::from(86400)),
        Just(Value::from(86401)),
        any::<i64>().prop_map(Value::from),
        (-5000i64..5000).prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| Number::from_f64(f)
            .map(Value::Number)),
        Just(Value::from(1.5)),
        Just(Value::from(1e300)),
    ]
}

pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Rare: the allocation would dominate every case's time.
        1 => Just("x".repeat(70_000)),
        20 => Just(String::new()),
        20 => "[a-zA-Z0-9 ]{0,40}",
        20 => "\\PC{0,70}",
        20 => ".{0,70}",
        20 => "[\\t\\n\\r\\u{0}\\u{1f}\\u{7f}\\u{2028}a]{1,8}",
        20 => Just("x".repeat(33)),
        20 => Just("é".repeat(32)),
        20 => Just("m".repeat(65)),
        20 => Just("2024-02-29T23:59:59".to_string()),
        20 => Just("2023-02-29T12:00:00".to_string()),
        20 => Just("9999-12-31T23:59:59".to_string()),
        20 => Just("0000-01-01T00:00:00".to_string()),
        20 => "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}T[0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}",
        20 => Just("Flash30Sec".to_string()),
        20 => Just("Strobe".to_string()),
    ]
}

pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ]
}

/// Any JSON value, nested a few levels, with keys from `keys` half the time.
pub fn value(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(keys), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

pub fn key(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(keys).prop_map(str::to_string),
        1 => "[a-z_]{0,12}",
    ]
}

/// An object whose fields are mostly the given names, each holding a leaf
/// (the plausible case) or any nested value.
pub fn object(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let field = prop_oneof![3 => leaf(), 1 => value(keys)];
    prop::collection::vec((key(keys), field), 0..8)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()))
}
