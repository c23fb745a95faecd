//! The CoAP endpoint without sockets or sleeps: datagrams in, datagrams out,
//! time passed as Instants.

use std::time::{Duration, Instant};

use coap_lite::block_handler::BlockValue;
use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType, ResponseType};
use rand::{Rng, SeedableRng};
use shared::device::Envelope;
use shared::time::DeviceTime;

use super::*;
use crate::dedupe::EXCHANGE_LIFETIME;
use crate::retransmit::MAX_RETRANSMIT;

fn client() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

struct Bench {
    endpoint: Endpoint,
    now: Instant,
    next_mid: u16,
}

impl Bench {
    fn new() -> Self {
        Self::with(EndpointConfig::default())
    }

    fn with(config: EndpointConfig) -> Self {
        let now = Instant::now();
        let device = Device::new(DeviceTime::parse("2018-03-15T15:42:37").unwrap(), now, 1);
        Bench {
            endpoint: Endpoint::new(device, config),
            now,
            next_mid: 100,
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    fn feed(&mut self, bytes: &[u8]) -> Vec<Outgoing> {
        self.endpoint.on_datagram(bytes, client(), self.now)
    }

    fn tick(&mut self) -> Vec<Outgoing> {
        self.endpoint.on_timeout(self.now)
    }

    /// A CON request with a fresh MID; everything sent back.
    fn exchange(&mut self, method: RequestType, uri: &str, body: &str) -> Vec<Outgoing> {
        let bytes = self.request(method, uri, body, |_| {});
        self.feed(&bytes)
    }

    /// A CON request with a fresh MID; returns the one response packet.
    fn call(&mut self, method: RequestType, uri: &str, body: &str) -> Packet {
        let bytes = self.request(method, uri, body, |_| {});
        let out = self.feed(&bytes);
        decode(&out[0])
    }

    fn request(
        &mut self,
        method: RequestType,
        uri: &str,
        body: &str,
        customize: impl FnOnce(&mut Packet),
    ) -> Vec<u8> {
        self.next_mid += 1;
        request_bytes(self.next_mid, &[0xA1], method, uri, body, customize)
    }
}

fn request_bytes(
    mid: u16,
    token: &[u8],
    method: RequestType,
    uri: &str,
    body: &str,
    customize: impl FnOnce(&mut Packet),
) -> Vec<u8> {
    let mut packet = Packet::new();
    packet.header.set_type(MessageType::Confirmable);
    packet.header.code = MessageClass::Request(method);
    packet.header.message_id = mid;
    packet.set_token(token.to_vec());
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        packet.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
    }
    for item in query.split('&').filter(|s| !s.is_empty()) {
        packet.add_option(CoapOption::UriQuery, item.as_bytes().to_vec());
    }
    packet.payload = body.as_bytes().to_vec();
    customize(&mut packet);
    packet.to_bytes().unwrap()
}

fn decode(outgoing: &Outgoing) -> Packet {
    assert_eq!(outgoing.to, client());
    Packet::from_bytes(&outgoing.bytes).unwrap()
}

fn envelope(packet: &Packet) -> Envelope {
    Envelope::parse(&packet.payload).unwrap()
}

fn block2(packet: &Packet) -> Option<BlockValue> {
    packet
        .get_first_option_as::<BlockValue>(CoapOption::Block2)
        .map(Result::unwrap)
}

fn ack(mid: u16) -> Vec<u8> {
    empty(MessageType::Acknowledgement, mid).to_bytes().unwrap()
}

fn mid_of(packet: &Packet) -> u16 {
    packet.header.message_id
}

#[test]
fn golden_not_found_ack() {
    let mut bench = Bench::new();
    // CON GET, TKL 1, MID 0x1234, token 0x7A, Uri-Path "v1" "sessions", Uri-Query "number=5"
    let request = [
        0x41, 0x01, 0x12, 0x34, 0x7A, //
        0xB2, b'v', b'1', 0x08, b's', b'e', b's', b's', b'i', b'o', b'n', b's', //
        0x48, b'n', b'u', b'm', b'b', b'e', b'r', b'=', b'5',
    ];
    let out = bench.feed(&request);
    let body = br#"{"error":"No active session uses pager 5."}"#;
    // ACK 4.04, same MID and token, Content-Format 50 (delta 12, length 1), payload
    let mut expected = vec![0x61, 0x84, 0x12, 0x34, 0x7A, 0xC1, 50, 0xFF];
    expected.extend_from_slice(body);
    assert_eq!(
        out,
        [Outgoing {
            bytes: expected,
            to: client()
        }]
    );
}

#[test]
fn golden_reset_for_coap_ping_and_undecodable_con() {
    let mut bench = Bench::new();
    // Empty CON (a "CoAP ping") → RST with the same MID.
    assert_eq!(
        bench.feed(&[0x40, 0x00, 0xBE, 0xEF])[0].bytes,
        [0x70, 0x00, 0xBE, 0xEF]
    );
    // CON with token length 9 (a format error) → RST.
    assert_eq!(
        bench.feed(&[0x49, 0x01, 0x00, 0x07, 1, 2])[0].bytes,
        [0x70, 0x00, 0x00, 0x07]
    );
    // The same as NON, a truncated header, or CoAP version 2: ignored.
    assert!(bench.feed(&[0x59, 0x01, 0x00, 0x07, 1, 2]).is_empty());
    assert!(bench.feed(&[0x40, 0x01]).is_empty());
    assert!(bench.feed(&[0x80, 0x01, 0x00, 0x01]).is_empty());
}

#[test]
fn random_datagrams_never_panic() {
    let mut bench = Bench::new();
    let mut rng = StdRng::seed_from_u64(99);
    for _ in 0..20_000 {
        let len = rng.gen_range(0..64);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if let Some(first) = bytes.first_mut() {
            *first = (*first & 0x3F) | 0x40; // mostly version 1, to get past the first check
        }
        bench.feed(&bytes);
    }
    bench.advance(Duration::from_secs(1000));
    bench.tick();
}

#[test]
fn unknown_critical_options_are_refused_with_4_02() {
    let mut bench = Bench::new();
    let bytes = bench.request(RequestType::Get, "/v1/settings", "", |p| {
        p.add_option(CoapOption::IfMatch, vec![1]);
    });
    let response = decode(&bench.feed(&bytes)[0]);
    assert_eq!(
        response.header.code,
        MessageClass::Response(ResponseType::BadOption)
    );
    let bytes = bench.request(RequestType::Get, "/v1/settings", "", |p| {
        p.add_option(CoapOption::Size2, vec![0]); // elective: ignored
    });
    assert_eq!(
        decode(&bench.feed(&bytes)[0]).header.code,
        MessageClass::Response(ResponseType::Content)
    );
}

#[test]
fn a_duplicated_page_pages_once_and_gets_the_same_answer() {
    let mut bench = Bench::new();
    bench.call(RequestType::Post, "/v1/sessions", r#"{"number":7}"#);
    let page = bench.request(
        RequestType::Put,
        "/v1/sessions?number=7",
        r#"{"action":"page"}"#,
        |_| {},
    );
    let first = bench.feed(&page);
    bench.advance(Duration::from_secs(5));
    let second = bench.feed(&page);
    assert_eq!(first, second);
    assert_eq!(bench.endpoint.pages().len(), 1);
    assert_eq!(bench.endpoint.device_state(bench.now).global_sequence, 2);

    // The same MID from another port is another request.
    let other: SocketAddr = "127.0.0.1:40001".parse().unwrap();
    bench.endpoint.on_datagram(&page, other, bench.now);
    assert_eq!(bench.endpoint.pages().len(), 2);
}

#[test]
fn dedupe_ends_after_exchange_lifetime() {
    let mut bench = Bench::new();
    bench.call(RequestType::Post, "/v1/sessions", r#"{"number":7}"#);
    let t0 = bench.now;
    let page = bench.request(
        RequestType::Put,
        "/v1/sessions?number=7",
        r#"{"action":"page"}"#,
        |_| {},
    );
    bench.feed(&page);
    bench.now = t0 + EXCHANGE_LIFETIME - Duration::from_millis(1);
    bench.feed(&page);
    assert_eq!(bench.endpoint.pages().len(), 1);
    bench.now = t0 + EXCHANGE_LIFETIME;
    bench.feed(&page);
    assert_eq!(
        bench.endpoint.pages().len(),
        2,
        "after the lifetime the MID is new again"
    );
}

#[test]
fn non_requests_get_non_responses_with_the_token() {
    let mut bench = Bench::new();
    let bytes = bench.request(RequestType::Get, "/v1/settings", "", |p| {
        p.header.set_type(MessageType::NonConfirmable);
    });
    let response = decode(&bench.feed(&bytes)[0]);
    assert_eq!(response.header.get_type(), MessageType::NonConfirmable);
    assert_eq!(response.get_token(), [0xA1]);
    assert_ne!(mid_of(&response), bench.next_mid);
}

fn fill_with_sessions(bench: &mut Bench, count: u32) {
    for number in 1..=count {
        let body = format!(r#"{{"number":{number},"label":"Guest number {number:04}"}}"#);
        bench.call(RequestType::Post, "/v1/sessions", &body);
    }
}

/// Fetches every block of `uri` the way a client would, returning the body.
fn fetch_blockwise(bench: &mut Bench, uri: &str, size: usize) -> (Vec<u8>, Vec<Packet>) {
    let mut body = Vec::new();
    let mut packets = Vec::new();
    for num in 0.. {
        let bytes = bench.request(RequestType::Get, uri, "", |p| {
            p.add_option_as(
                CoapOption::Block2,
                BlockValue::new(num, false, size).unwrap(),
            );
        });
        let packet = decode(&bench.feed(&bytes)[0]);
        let block = block2(&packet).expect("every block carries Block2");
        assert_eq!((usize::from(block.num), block.size()), (num, size));
        body.extend_from_slice(&packet.payload);
        let more = block.more;
        packets.push(packet);
        if !more {
            break;
        }
    }
    (body, packets)
}

#[test]
fn large_responses_go_out_in_1024_byte_blocks_with_etag_and_size2() {
    let mut bench = Bench::new();
    fill_with_sessions(&mut bench, 12);
    let first = bench.call(RequestType::Get, "/v1/sessions", "");
    let block = block2(&first).expect("over 1024 bytes: Block2");
    assert_eq!((block.num, block.more, block.size()), (0, true, 1024));
    assert_eq!(first.payload.len(), 1024);
    let total = first
        .get_first_option_as::<OptionValueU32>(CoapOption::Size2)
        .unwrap()
        .unwrap()
        .0;
    assert!(total > 1024);
    let etag = first
        .get_first_option(CoapOption::ETag)
        .cloned()
        .expect("blocks carry the ETag");

    // The device changes between blocks; the client still gets one consistent copy.
    bench.call(RequestType::Post, "/v1/sessions", r#"{"number":99}"#);
    let mut body = first.payload.clone();
    for num in 1.. {
        let bytes = bench.request(RequestType::Get, "/v1/sessions", "", |p| {
            p.add_option_as(
                CoapOption::Block2,
                BlockValue::new(num, false, 1024).unwrap(),
            );
        });
        let packet = decode(&bench.feed(&bytes)[0]);
        assert_eq!(packet.get_first_option(CoapOption::ETag), Some(&etag));
        assert_eq!(usize::from(block2(&packet).unwrap().num), num);
        body.extend_from_slice(&packet.payload);
        if !block2(&packet).unwrap().more {
            break;
        }
    }
    assert_eq!(body.len(), total as usize);
    let envelope = Envelope::parse(&body).unwrap();
    assert_eq!(
        envelope.sessions.unwrap().len(),
        12,
        "the copy from block 0, not the 13 now"
    );

    // A new block 0 sees the change and a new ETag.
    let fresh = bench.call(RequestType::Get, "/v1/sessions", "");
    assert_ne!(fresh.get_first_option(CoapOption::ETag), Some(&etag));
}

#[test]
fn the_client_may_ask_for_smaller_blocks() {
    let mut bench = Bench::new();
    fill_with_sessions(&mut bench, 2);
    bench.exchange(RequestType::Delete, "/v1/sessions", "");
    let (body, packets) = fetch_blockwise(&mut bench, "/v1/sessions/history", 64);
    assert!(packets.len() > 2);
    assert!(packets.iter().all(|p| p.payload.len() <= 64));
    assert_eq!(
        Envelope::parse(&body)
            .unwrap()
            .session_history
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_block_past_the_end_is_4_02() {
    let mut bench = Bench::new();
    fill_with_sessions(&mut bench, 12);
    bench.call(RequestType::Get, "/v1/sessions", "");
    let bytes = bench.request(RequestType::Get, "/v1/sessions", "", |p| {
        p.add_option_as(
            CoapOption::Block2,
            BlockValue::new(40, false, 1024).unwrap(),
        );
    });
    let response = decode(&bench.feed(&bytes)[0]);
    assert_eq!(
        response.header.code,
        MessageClass::Response(ResponseType::BadOption)
    );
}

#[test]
fn conditional_get_answers_2_03_with_the_etag() {
    let mut bench = Bench::new();
    bench.call(RequestType::Post, "/v1/sessions", r#"{"number":1}"#);
    let first = bench.call(RequestType::Get, "/v1/sessions", "");
    let etag = first.get_first_option(CoapOption::ETag).unwrap().clone();
    let bytes = bench.request(RequestType::Get, "/v1/sessions", "", |p| {
        p.add_option(CoapOption::ETag, etag.clone())
    });
    let valid = decode(&bench.feed(&bytes)[0]);
    assert_eq!(
        valid.header.code,
        MessageClass::Response(ResponseType::Valid)
    );
    assert!(valid.payload.is_empty());
    assert_eq!(valid.get_first_option(CoapOption::ETag), Some(&etag));
}

fn register(bench: &mut Bench, uri: &str, token: &[u8]) -> Packet {
    bench.next_mid += 1;
    let bytes = request_bytes(bench.next_mid, token, RequestType::Get, uri, "", |p| {
        p.set_observe_value(0)
    });
    decode(&bench.feed(&bytes)[0])
}

#[test]
fn observe_registration_with_and_without_get_sessions() {
    let mut bench = Bench::new();
    bench.call(RequestType::Post, "/v1/sessions", r#"{"number":3}"#);
    let with = register(&mut bench, "/v1/notify?action=get_sessions", &[1]);
    assert_eq!(
        with.header.code,
        MessageClass::Response(ResponseType::Content)
    );
    assert_eq!(with.get_observe_value(), Some(Ok(1)));
    let snapshot = envelope(&with);
    assert_eq!(snapshot.response_types, ["sessions", "statistics"]);
    assert_eq!(snapshot.sessions.unwrap()[0].number, 3);

    let without = register(&mut bench, "/v1/notify", &[2]);
    assert_eq!(without.get_observe_value(), Some(Ok(1)));
    assert!(envelope(&without).response_types.is_empty());
    assert_eq!(bench.endpoint.observer_count(), 2);
}

#[test]
fn session_and_settings_changes_notify_every_observer_with_rising_observe() {
    let mut bench = Bench::new();
    register(&mut bench, "/v1/notify", &[1]);
    let out = bench.exchange(RequestType::Post, "/v1/sessions", r#"{"number":3}"#);
    assert_eq!(out.len(), 2, "the response, then one notification");
    let notification = decode(&out[1]);
    assert_eq!(notification.header.get_type(), MessageType::Confirmable);
    assert_eq!(notification.get_token(), [1]);
    assert_eq!(notification.get_observe_value(), Some(Ok(2)));
    let body = envelope(&notification);
    assert_eq!(body.response_types, ["sessions", "statistics"]);
    assert_eq!(body.sessions.unwrap()[0].number, 3);
    bench.feed(&ack(mid_of(&notification)));

    let out = bench.exchange(RequestType::Post, "/v1/settings", r#"{"systemId":4}"#);
    let notification = decode(&out[1]);
    assert_eq!(notification.get_observe_value(), Some(Ok(3)));
    assert_eq!(envelope(&notification).settings.unwrap().system_id, 4);

    let out = bench.exchange(RequestType::Post, "/v1/page", r#"{"number":3}"#);
    assert_eq!(out.len(), 1, "a standalone page changes no session");
}

#[test]
fn reset_observe_1_or_a_plain_get_deregister() {
    let mut bench = Bench::new();
    register(&mut bench, "/v1/notify", &[1]);
    let out = bench.exchange(RequestType::Post, "/v1/sessions", r#"{"number":3}"#);
    let notification = decode(&out[1]);
    bench.feed(
        &empty(MessageType::Reset, mid_of(&notification))
            .to_bytes()
            .unwrap(),
    );
    assert_eq!(bench.endpoint.observer_count(), 0, "RST to a notification");
    assert_eq!(
        bench.endpoint.next_deadline(),
        None,
        "and its retransmission stopped"
    );

    register(&mut bench, "/v1/notify", &[2]);
    bench.next_mid += 1;
    let bytes = request_bytes(
        bench.next_mid,
        &[2],
        RequestType::Get,
        "/v1/notify",
        "",
        |p| p.set_observe_value(1),
    );
    let response = decode(&bench.feed(&bytes)[0]);
    assert_eq!(response.get_observe_value(), None);
    assert_eq!(bench.endpoint.observer_count(), 0, "Observe=1");

    register(&mut bench, "/v1/notify", &[3]);
    bench.next_mid += 1;
    let other_token = request_bytes(
        bench.next_mid,
        &[4],
        RequestType::Get,
        "/v1/notify",
        "",
        |_| {},
    );
    bench.feed(&other_token);
    assert_eq!(
        bench.endpoint.observer_count(),
        1,
        "another token is another exchange"
    );
    bench.next_mid += 1;
    let same_token = request_bytes(
        bench.next_mid,
        &[3],
        RequestType::Get,
        "/v1/notify",
        "",
        |_| {},
    );
    bench.feed(&same_token);
    assert_eq!(
        bench.endpoint.observer_count(),
        0,
        "a GET without Observe, same token"
    );
}

#[test]
fn a_large_registration_snapshot_uses_block2_and_later_blocks_keep_the_observation() {
    let mut bench = Bench::new();
    fill_with_sessions(&mut bench, 12);
    let first = register(&mut bench, "/v1/notify?action=get_sessions", &[5]);
    assert_eq!(first.get_observe_value(), Some(Ok(1)));
    assert!(block2(&first).unwrap().more);
    let mut body = first.payload.clone();
    for num in 1.. {
        bench.next_mid += 1;
        let bytes = request_bytes(
            bench.next_mid,
            &[5],
            RequestType::Get,
            "/v1/notify?action=get_sessions",
            "",
            |p| {
                p.add_option_as(
                    CoapOption::Block2,
                    BlockValue::new(num, false, 1024).unwrap(),
                );
            },
        );
        let block = decode(&bench.feed(&bytes)[0]);
        body.extend_from_slice(&block.payload);
        if !block2(&block).unwrap().more {
            break;
        }
    }
    assert_eq!(Envelope::parse(&body).unwrap().sessions.unwrap().len(), 12);
    assert_eq!(bench.endpoint.observer_count(), 1);
}

#[test]
fn notifications_are_retransmitted_on_the_rfc_schedule_until_acknowledged() {
    let mut bench = Bench::new();
    register(&mut bench, "/v1/notify", &[1]);
    let t0 = bench.now;
    let out = bench.exchange(RequestType::Post, "/v1/sessions", r#"{"number":3}"#);
    let original = out[1].bytes.clone();
    let mut resends = 0;
    let mut last_gap = Duration::ZERO;
    let mut previous = t0;
    while let Some(deadline) = bench.endpoint.next_deadline() {
        // Pings (every 30 s) interleave; stop once only pings are left.
        if deadline - t0 > Duration::from_secs(100) {
            break;
        }
        bench.now = deadline;
        for outgoing in bench.tick() {
            let packet = decode(&outgoing);
            if envelope(&packet).is_ping() {
                bench.feed(&ack(mid_of(&packet)));
            } else {
                assert_eq!(
                    outgoing.bytes, original,
                    "a retransmission is the same message"
                );
                resends += 1;
                let gap = deadline - previous;
                assert!(gap > last_gap, "the timeout doubles");
                (last_gap, previous) = (gap, deadline);
            }
        }
    }
    assert_eq!(resends, MAX_RETRANSMIT);
    assert!(
        last_gap >= Duration::from_secs(16) && last_gap <= Duration::from_secs(24),
        "{last_gap:?}"
    );
    assert_eq!(
        bench.endpoint.observer_count(),
        1,
        "only missed pings drop an observer"
    );
}

#[test]
fn an_ack_stops_retransmission() {
    let mut bench = Bench::new();
    register(&mut bench, "/v1/notify", &[1]);
    let out = bench.exchange(RequestType::Post, "/v1/sessions", r#"{"number":3}"#);
    bench.feed(&ack(mid_of(&decode(&out[1]))));
    bench.advance(Duration::from_secs(29));
    assert!(bench.tick().is_empty());
}

#[test]
fn pings_every_interval_and_the_observer_is_dropped_after_three_unanswered() {
    let interval = Duration::from_secs(30);
    let mut bench = Bench::new();
    register(&mut bench, "/v1/notify", &[1]);
    let t0 = bench.now;
    assert_eq!(bench.endpoint.next_deadline(), Some(t0 + interval));

    // Answered pings keep the observer forever.
    for n in 1..=5 {
        bench.now = t0 + interval * n;
        let out = bench.tick();
        assert_eq!(out.len(), 1);
        let ping = decode(&out[0]);
        assert_eq!(ping.header.get_type(), MessageType::Confirmable);
        assert_eq!(ping.get_observe_value(), Some(Ok(1 + n)));
        let body = String::from_utf8(ping.payload.clone()).unwrap();
        assert!(
            body.starts_with(r#"{"responseTypes":["ping"]"#) && body.ends_with(r#""ping":{}}"#),
            "{body}"
        );
        bench.feed(&ack(mid_of(&ping)));
    }

    // Then silence: three pings go unanswered (with their retransmissions) …
    let mut pings = Vec::new();
    let silence_from = bench.now;
    while let Some(deadline) = bench.endpoint.next_deadline() {
        bench.now = deadline;
        for outgoing in bench.tick() {
            pings.push(decode(&outgoing).get_observe_value().unwrap().unwrap());
        }
    }
    // … and when the fourth is due the observer is gone instead.
    assert_eq!(bench.endpoint.observer_count(), 0);
    assert_eq!(bench.now, silence_from + interval * 4);
    let distinct: std::collections::BTreeSet<_> = pings.iter().collect();
    assert_eq!(
        distinct.len(),
        3,
        "three pings, each possibly retransmitted: {pings:?}"
    );
}

#[test]
fn the_ping_interval_is_configurable() {
    let mut bench = Bench::with(EndpointConfig {
        ping_interval: Duration::from_secs(1),
        ..EndpointConfig::default()
    });
    register(&mut bench, "/v1/notify", &[1]);
    assert_eq!(
        bench.endpoint.next_deadline(),
        Some(bench.now + Duration::from_secs(1))
    );
}

#[test]
fn separate_responses_send_an_empty_ack_then_a_retransmitted_con() {
    let mut bench = Bench::with(EndpointConfig {
        separate_responses: true,
        ..EndpointConfig::default()
    });
    let bytes = bench.request(RequestType::Post, "/v1/sessions", r#"{"number":5}"#, |_| {});
    let out = bench.feed(&bytes);
    assert_eq!(out.len(), 2);
    let ack_packet = decode(&out[0]);
    assert_eq!(ack_packet.header.get_type(), MessageType::Acknowledgement);
    assert_eq!(ack_packet.header.code, MessageClass::Empty);
    assert_eq!(mid_of(&ack_packet), bench.next_mid);
    let response = decode(&out[1]);
    assert_eq!(response.header.get_type(), MessageType::Confirmable);
    assert_eq!(
        response.header.code,
        MessageClass::Response(ResponseType::Created)
    );
    assert_eq!(response.get_token(), [0xA1]);

    // The request retransmitted (its ACK was lost): the empty ACK again, nothing re-done.
    let again = bench.feed(&bytes);
    assert_eq!(again, [out[0].clone()]);
    assert_eq!(bench.endpoint.device_state(bench.now).global_sequence, 1);

    // The response is retransmitted until the client ACKs it.
    let deadline = bench.endpoint.next_deadline().unwrap();
    bench.now = deadline;
    assert_eq!(bench.tick(), [out[1].clone()]);
    bench.feed(&ack(mid_of(&response)));
    assert_eq!(bench.endpoint.next_deadline(), None);
}

#[test]
fn reboot_after_n_requests_forgets_sessions_sequence_and_observers() {
    let mut bench = Bench::with(EndpointConfig {
        reboot_after: Some(3),
        ..EndpointConfig::default()
    });
    register(&mut bench, "/v1/notify", &[1]); // 1
    bench.call(RequestType::Post, "/v1/sessions", r#"{"number":5}"#); // 2
    let third = bench.call(RequestType::Get, "/v1/sessions", ""); // 3: answered, then reboot
    assert_eq!(envelope(&third).sessions.unwrap().len(), 1);
    let state = bench.endpoint.device_state(bench.now);
    assert_eq!((state.active.len(), state.global_sequence), (0, 0));
    assert_eq!(bench.endpoint.observer_count(), 0);
    assert_eq!(bench.endpoint.next_deadline(), None);
}
