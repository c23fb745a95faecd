//! Fuzz target: what a device (or anyone spoofing it) can send the proxy's
//! sans-IO CoAP client, `Endpoint::handle_datagram`, in every state that
//! matters: idle, a request in flight, an observation live (and both).
//! Datagrams are raw bytes or CoAP messages built to hit the endpoint's
//! matching: its own message ids and tokens, Observe, Block2, ETag, every
//! type and code. Timers run in between. Nothing may panic, everything the
//! endpoint sends must be CoAP, and no datagram may make it send more than
//! a reply and the next request (no amplification).
//!
//! Long run: `PROPTEST_CASES=1000000 cargo test --release -p proxy --test fuzz_coap_endpoint`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coap_lite::{CoapOption, MessageClass, MessageType, Packet};
use proptest::prelude::*;
use proxy::coap::{Config, Endpoint, Request};

fn device() -> SocketAddr {
    "127.0.0.1:5683".parse().unwrap()
}

/// What the endpoint last put on the wire: the ids a forged answer would need.
#[derive(Default)]
struct Known {
    message_ids: Vec<u16>,
    tokens: Vec<Vec<u8>>,
}

impl Known {
    fn take_transmits(&mut self, endpoint: &mut Endpoint) -> usize {
        let mut count = 0;
        while let Some(bytes) = endpoint.poll_transmit() {
            let packet = Packet::from_bytes(&bytes).expect("the endpoint sends CoAP");
            self.message_ids.push(packet.header.message_id);
            if !packet.get_token().is_empty() {
                self.tokens.push(packet.get_token().to_vec());
            }
            count += 1;
        }
        count
    }
}

#[derive(Clone, Debug)]
enum Start {
    Idle,
    Requesting,
    Observing,
    ObservingAndRequesting,
}

#[derive(Clone, Debug)]
struct Forged {
    kind: u8,
    code: u8,
    /// Index into the ids the endpoint used, or a random id.
    message_id: Result<usize, u16>,
    token: Result<usize, Vec<u8>>,
    options: Vec<(u16, Vec<u8>)>,
    payload: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Step {
    Raw(Vec<u8>),
    Forged(Forged),
    FromElsewhere(Vec<u8>),
    Wait(u64),
}

fn option() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let number = prop_oneof![
        Just(6u16), // Observe
        Just(23),   // Block2
        Just(4),    // ETag
        Just(12),   // Content-Format
        Just(60),   // Size1
        Just(28),   // Size2
        Just(11),   // Uri-Path (odd in a response)
        any::<u16>(),
    ];
    let value = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    (number, value)
}

fn forged() -> impl Strategy<Value = Forged> {
    let code = prop_oneof![
        Just(0x00u8), // empty
        Just(0x45),   // 2.05
        Just(0x43),   // 2.03
        Just(0x44),   // 2.04
        Just(0x41),   // 2.01
        Just(0x84),   // 4.04
        Just(0xa0),   // 5.00
        Just(0x01),   // a request code
        any::<u8>(),
    ];
    let message_id = prop_oneof![3 => (0usize..8).prop_map(Ok), 1 => any::<u16>().prop_map(Err)];
    let token = prop_oneof![
        3 => (0usize..8).prop_map(Ok),
        1 => prop::collection::vec(any::<u8>(), 0..9).prop_map(Err),
    ];
    let payload = prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..64),
        Just(br#"{"responseTypes":["sessions"],"globalSessionSequence":3,"sessions":[]}"#.to_vec()),
        prop::collection::vec(any::<u8>(), 1000..1100),
    ];
    (
        0u8..4,
        code,
        message_id,
        token,
        prop::collection::vec(option(), 0..4),
        payload,
    )
        .prop_map(|(kind, code, message_id, token, options, payload)| Forged {
            kind,
            code,
            message_id,
            token,
            options,
            payload,
        })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..80).prop_map(Step::Raw),
        8 => forged().prop_map(Step::Forged),
        1 => prop::collection::vec(any::<u8>(), 4..40).prop_map(Step::FromElsewhere),
        2 => (0u64..20_000).prop_map(Step::Wait),
    ]
}

fn encode(forged: &Forged, known: &Known) -> Option<Vec<u8>> {
    let pick = |i: usize, from: &[u16]| from.get(i % from.len().max(1)).copied();
    let mut packet = Packet::new();
    packet.header.set_type(match forged.kind {
        0 => MessageType::Confirmable,
        1 => MessageType::NonConfirmable,
        2 => MessageType::Acknowledgement,
        _ => MessageType::Reset,
    });
    packet.header.code = MessageClass::from(forged.code);
    packet.header.message_id = match forged.message_id {
        Ok(i) => pick(i, &known.message_ids).unwrap_or(0),
        Err(id) => id,
    };
    packet.set_token(match &forged.token {
        Ok(i) if !known.tokens.is_empty() => known.tokens[i % known.tokens.len()].clone(),
        Ok(_) => Vec::new(),
        Err(token) => token.clone(),
    });
    for (number, value) in &forged.options {
        packet.add_option(CoapOption::from(*number), value.clone());
    }
    packet.payload = forged.payload.clone();
    packet.to_bytes().ok()
}

/// Answers the registration the endpoint just sent, so an observation is live.
fn establish(endpoint: &mut Endpoint, known: &mut Known, now: Instant) {
    let mut ack = Packet::new();
    ack.header.set_type(MessageType::Acknowledgement);
    ack.header.code = MessageClass::from(0x45);
    ack.header.message_id = *known.message_ids.last().expect("the registration went out");
    ack.set_token(known.tokens.last().expect("with a token").clone());
    ack.set_observe_value(1);
    ack.payload =
        br#"{"responseTypes":["sessions"],"globalSessionSequence":1,"sessions":[]}"#.to_vec();
    endpoint.handle_datagram(device(), &ack.to_bytes().unwrap(), now);
    known.take_transmits(endpoint);
}

fn run(start: Start, seed: u64, steps: Vec<Step>) {
    let t0 = Instant::now();
    let mut now = t0;
    let mut endpoint = Endpoint::new(Config::default(), device(), seed, t0);
    let mut known = Known::default();
    if matches!(start, Start::Observing | Start::ObservingAndRequesting) {
        endpoint.observe(
            Request::get("/v1/notify").with_query("action=get_sessions"),
            now,
        );
        known.take_transmits(&mut endpoint);
        establish(&mut endpoint, &mut known, now);
    }
    if matches!(start, Start::Requesting | Start::ObservingAndRequesting) {
        endpoint.submit(Request::get("/v1/sessions"), now);
        endpoint.submit(Request::get("/v1/settings"), now);
        known.take_transmits(&mut endpoint);
    }
    while endpoint.poll_event().is_some() {}
    for step in steps {
        let sent = match step {
            Step::Raw(bytes) => {
                endpoint.handle_datagram(device(), &bytes, now);
                known.take_transmits(&mut endpoint)
            }
            Step::Forged(forged) => match encode(&forged, &known) {
                Some(bytes) => {
                    endpoint.handle_datagram(device(), &bytes, now);
                    known.take_transmits(&mut endpoint)
                }
                None => 0,
            },
            Step::FromElsewhere(bytes) => {
                endpoint.handle_datagram("127.0.0.1:9".parse().unwrap(), &bytes, now);
                let sent = known.take_transmits(&mut endpoint);
                assert_eq!(sent, 0, "answered a datagram from a stranger");
                sent
            }
            Step::Wait(ms) => {
                now += Duration::from_millis(ms);
                // Bounded: a deadline that never passes would loop forever.
                for _ in 0..64 {
                    if endpoint.poll_timeout(now).is_none_or(|due| due > now) {
                        break;
                    }
                    endpoint.handle_timeout(now);
                    known.take_transmits(&mut endpoint);
                }
                0
            }
        };
        // One reply (ACK or RST) and the next request of a block transfer or the queue.
        assert!(sent <= 2, "one datagram made the endpoint send {sent}");
        while endpoint.poll_event().is_some() {}
    }
}

fn start() -> impl Strategy<Value = Start> {
    prop_oneof![
        Just(Start::Idle),
        Just(Start::Requesting),
        Just(Start::Observing),
        Just(Start::ObservingAndRequesting),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_datagrams_in_every_state(
        start in start(),
        seed in any::<u64>(),
        steps in prop::collection::vec(step(), 1..12),
    ) {
        run(start, seed, steps);
    }
}
