//! Fuzz target: what any client can send the simulator's sans-IO CoAP
//! server, `Endpoint::on_datagram`: raw bytes, and CoAP messages built from
//! the device's real paths, queries, options and JSON bodies with hostile
//! values mixed in, from three clients, with repeated message ids
//! (deduplication), Observe registrations, Block2 and timers running between
//! them, under every endpoint mode. Nothing may panic, everything it sends
//! must be CoAP, and it may send only to a client that has spoken to it.
//!
//! Long run: `PROPTEST_CASES=1000000 cargo test --release -p simulator --test fuzz_endpoint`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coap_lite::{CoapOption, MessageClass, MessageType, Packet};
use proptest::prelude::*;
use shared::time::DeviceTime;
use simulator::endpoint::{Endpoint, EndpointConfig};
use simulator::model::Device;

const CLIENTS: [&str; 3] = ["127.0.0.1:40000", "127.0.0.1:40001", "[::1]:40000"];

#[derive(Clone, Debug)]
struct Message {
    client: usize,
    kind: u8,
    code: u8,
    message_id: u16,
    token: Vec<u8>,
    path: Vec<String>,
    query: Vec<String>,
    options: Vec<(u16, Vec<u8>)>,
    payload: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Step {
    Raw(usize, Vec<u8>),
    Message(Message),
    Wait(u64),
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(&["v1", "sessions", "history", "statistics", "settings", "page", "notify"][..])
            .prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0i64..5000).prop_map(|n| format!("number={n}")),
        2 => prop::sample::select(&["action=get_sessions", "number=", "number=-1", "number=99999999999", "number=x", "=", "action"][..])
            .prop_map(str::to_string),
        1 => ".{0,20}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let number = prop_oneof![
        (0i64..5000).prop_map(|n| n.to_string()),
        Just("-1".into()),
        Just("1e9".into()),
        Just("\"7\"".into()),
        Just("null".into())
    ];
    let text = prop_oneof![
        Just("\"Ana\"".to_string()),
        Just("\"a\\tb\"".into()),
        Just(format!("\"{}\"", "x".repeat(40))),
        Just("7".into()),
        Just("\"\"".into())
    ];
    let mode = prop_oneof![
        Just("\"Flash30Sec\"".to_string()),
        Just("\"Strobe\"".into()),
        Just("3".into())
    ];
    let action = prop_oneof![
        Just("\"page\"".to_string()),
        Just("\"clear\"".into()),
        Just("\"remove\"".into()),
        Just("\"explode\"".into())
    ];
    let when = prop_oneof![
        Just("\"2025-03-01T12:00:00\"".to_string()),
        Just("\"2025-02-30T25:00:00\"".into()),
        Just("\"now\"".into())
    ];
    prop_oneof![
        Just(Vec::new()),
        (number.clone(), text.clone(), number.clone(), number.clone()).prop_map(|(n, l, p, g)| {
            format!(r#"{{"number":{n},"label":{l},"partySize":{p},"goalInSeconds":{g}}}"#)
                .into_bytes()
        }),
        (action, mode.clone(), text.clone())
            .prop_map(
                |(a, m, l)| format!(r#"{{"action":{a},"pageMode":{m},"label":{l}}}"#).into_bytes()
            ),
        (number.clone(), mode, text, number.clone()).prop_map(|(n, m, t, s)| format!(
            r#"{{"number":{n},"pageMode":{m},"message":{t},"systemId":{s}}}"#
        )
        .into_bytes()),
        (when, number.clone(), number).prop_map(|(d, s, g)| format!(
            r#"{{"datetime":{d},"systemId":{s},"defaultTargetGoal":{g},"statisticsClearMark":{g}}}"#
        )
        .into_bytes()),
        prop::collection::vec(any::<u8>(), 0..80),
        "[ {}\\[\\]\":,a-z0-9\\t\\n]{0,80}".prop_map(String::into_bytes),
    ]
}

fn option() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let number = prop_oneof![
        Just(6u16), // Observe
        Just(23),   // Block2
        Just(27),   // Block1
        Just(4),    // ETag
        Just(12),   // Content-Format
        Just(17),   // Accept
        Just(3),    // Uri-Host
        any::<u16>(),
    ];
    (number, prop::collection::vec(any::<u8>(), 0..5))
}

fn message() -> impl Strategy<Value = Message> {
    let code = prop_oneof![
        6 => 1u8..=4, // GET POST PUT DELETE
        1 => Just(0u8),
        1 => any::<u8>(),
    ];
    let kind = prop_oneof![6 => 0u8..2, 1 => 2u8..4];
    (
        (
            0..CLIENTS.len(),
            kind,
            code,
            0u16..6,
            prop::collection::vec(any::<u8>(), 0..9),
        ),
        prop::collection::vec(segment(), 0..4),
        prop::collection::vec(query(), 0..3),
        prop::collection::vec(option(), 0..3),
        body(),
    )
        .prop_map(
            |((client, kind, code, message_id, token), path, query, options, payload)| Message {
                client,
                kind,
                code,
                // Few ids, so duplicates and acknowledgements of notifications happen.
                message_id,
                token,
                path,
                query,
                options,
                payload,
            },
        )
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..CLIENTS.len(), prop::collection::vec(any::<u8>(), 0..60)).prop_map(|(c, b)| Step::Raw(c, b)),
        8 => message().prop_map(Step::Message),
        2 => (0u64..40_000).prop_map(Step::Wait),
    ]
}

fn encode(message: &Message) -> Option<Vec<u8>> {
    let mut packet = Packet::new();
    packet.header.set_type(match message.kind {
        0 => MessageType::Confirmable,
        1 => MessageType::NonConfirmable,
        2 => MessageType::Acknowledgement,
        _ => MessageType::Reset,
    });
    packet.header.code = MessageClass::from(message.code);
    packet.header.message_id = message.message_id;
    packet.set_token(message.token.clone());
    for segment in &message.path {
        packet.add_option(CoapOption::UriPath, segment.clone().into_bytes());
    }
    for item in &message.query {
        packet.add_option(CoapOption::UriQuery, item.clone().into_bytes());
    }
    for (number, value) in &message.options {
        packet.add_option(CoapOption::from(*number), value.clone());
    }
    packet.payload = message.payload.clone();
    packet.to_bytes().ok()
}

fn run(config: EndpointConfig, steps: Vec<Step>) {
    let t0 = Instant::now();
    let mut now = t0;
    let clients: Vec<SocketAddr> = CLIENTS.iter().map(|c| c.parse().unwrap()).collect();
    let clock = DeviceTime::parse("2025-03-01T11:59:00").unwrap();
    let mut endpoint = Endpoint::new(Device::new(clock, t0, config.seed), config);
    let mut spoke = [false; CLIENTS.len()];
    let check = |out: Vec<simulator::endpoint::Outgoing>, spoke: &[bool]| {
        for outgoing in out {
            let to = clients.iter().position(|c| *c == outgoing.to);
            assert!(
                to.is_some_and(|i| spoke[i]),
                "sent to {} which never spoke",
                outgoing.to
            );
            Packet::from_bytes(&outgoing.bytes).expect("the simulator sends CoAP");
        }
    };
    for step in steps {
        match step {
            Step::Raw(client, bytes) => {
                spoke[client] = true;
                check(endpoint.on_datagram(&bytes, clients[client], now), &spoke);
            }
            Step::Message(message) => {
                if let Some(bytes) = encode(&message) {
                    spoke[message.client] = true;
                    check(
                        endpoint.on_datagram(&bytes, clients[message.client], now),
                        &spoke,
                    );
                }
            }
            Step::Wait(ms) => {
                now += Duration::from_millis(ms);
                // Bounded: a deadline that never passes would loop forever.
                for _ in 0..64 {
                    if endpoint.next_deadline().is_none_or(|due| due > now) {
                        break;
                    }
                    check(endpoint.on_timeout(now), &spoke);
                }
            }
        }
    }
}

fn config() -> impl Strategy<Value = EndpointConfig> {
    (any::<bool>(), prop::option::of(1u32..5), any::<u64>()).prop_map(
        |(separate_responses, reboot_after, seed)| EndpointConfig {
            ping_interval: Duration::from_secs(30),
            separate_responses,
            reboot_after,
            seed,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_datagrams_from_several_clients(
        config in config(),
        steps in prop::collection::vec(step(), 1..16),
    ) {
        run(config, steps);
    }
}
