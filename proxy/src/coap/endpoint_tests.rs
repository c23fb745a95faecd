//! The endpoint's protocol behaviour, with injected instants and hand-made datagrams.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coap_lite::{CoapOption, MessageClass, MessageType, Packet};
use rand::{Rng, SeedableRng};

use super::block::Block;
use super::{Code, Config, Endpoint, Event, ExchangeError, ExchangeId, Probe, Request, Response};

const SEC: Duration = Duration::from_secs(1);

fn device() -> SocketAddr {
    "127.0.0.1:5683".parse().unwrap()
}

struct Harness {
    ep: Endpoint,
    t0: Instant,
}

impl Harness {
    fn new(config: Config) -> Self {
        let t0 = Instant::now();
        Harness {
            ep: Endpoint::new(config, device(), 7, t0),
            t0,
        }
    }

    fn at(&self, secs: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(secs)
    }

    fn sent(&mut self) -> Vec<Packet> {
        std::iter::from_fn(|| self.ep.poll_transmit())
            .map(|b| Packet::from_bytes(&b).unwrap())
            .collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    fn receive(&mut self, p: &Packet, now: Instant) {
        self.ep
            .handle_datagram(device(), &p.to_bytes().unwrap(), now);
    }

    /// Runs the endpoint's timers up to `end`, returning (when, datagram) for all it sent.
    fn run_until(&mut self, end: Instant) -> Vec<(Instant, Packet)> {
        let mut out = Vec::new();
        let mut now = self.t0;
        while let Some(t) = self.ep.poll_timeout(now).filter(|t| *t <= end) {
            assert!(t >= now, "a deadline that handle_timeout did not consume");
            now = t;
            self.ep.handle_timeout(now);
            out.extend(self.sent().into_iter().map(|p| (now, p)));
            assert!(out.len() < 1000, "runaway timers");
        }
        out
    }
}

fn response(kind: MessageType, mid: u16, token: &[u8], code: Code, payload: &[u8]) -> Packet {
    let mut p = Packet::new();
    p.header.set_type(kind);
    p.header.code = MessageClass::from(code.0);
    p.header.message_id = mid;
    p.set_token(token.to_vec());
    p.payload = payload.to_vec();
    p
}

fn ack_to(req: &Packet, code: Code, payload: &[u8]) -> Packet {
    response(
        MessageType::Acknowledgement,
        req.header.message_id,
        req.get_token(),
        code,
        payload,
    )
}

fn empty(kind: MessageType, mid: u16) -> Packet {
    response(kind, mid, &[], Code(0), &[])
}

fn ok(events: Vec<Event>) -> Vec<(ExchangeId, Vec<u8>)> {
    events
        .into_iter()
        .map(|e| match e {
            Event::Response { id, result: Ok(r) } => (id, r.payload),
            other => panic!("expected a successful response, got {other:?}"),
        })
        .collect()
}

fn block2(p: &Packet) -> Option<Block> {
    p.get_first_option(CoapOption::Block2)
        .map(|v| Block::decode(v).unwrap())
}

#[test]
fn retransmits_with_doubling_timeouts_then_gives_up() {
    let config = Config {
        exchange_deadline: 1000 * SEC,
        ..Config::default()
    };
    for seed in 0..20 {
        let mut h = Harness::new(config.clone());
        h.ep = Endpoint::new(config.clone(), device(), seed, h.t0);
        h.ep.submit(Request::get("/v1/sessions"), h.t0);
        let first = h.sent().remove(0);
        let sends = h.run_until(h.at(200.0));
        let requests: Vec<_> = sends
            .iter()
            .filter(|(_, p)| p.header.code != MessageClass::Empty)
            .collect();
        assert_eq!(requests.len(), 4, "MAX_RETRANSMIT retransmissions");
        for (_, p) in &requests {
            assert_eq!(
                p.to_bytes().unwrap(),
                first.to_bytes().unwrap(),
                "same MID, token, bytes"
            );
        }
        let initial = requests[0].0 - h.t0;
        assert!(
            (2.0..=3.0).contains(&initial.as_secs_f64()),
            "first timeout {initial:?}"
        );
        let mut previous = (requests[0].0, initial);
        for (at, _) in &requests[1..] {
            let gap = *at - previous.0;
            assert_eq!(gap, previous.1 * 2, "each wait doubles");
            previous = (*at, gap);
        }
        let give_up = previous.0 + previous.1 * 2;
        let events = h.events();
        assert_eq!(events.len(), 1);
        assert!(matches!(
            events[0],
            Event::Response {
                result: Err(ExchangeError::Timeout { transmissions: 5 }),
                ..
            }
        ));
        assert!(
            give_up - h.t0 <= Duration::from_secs(93),
            "MAX_TRANSMIT_WAIT"
        );
    }
}

/// A deadline shorter than the retransmission schedule (the default lets
/// the schedule run to its end).
fn eight_second_deadline() -> Config {
    Config {
        exchange_deadline: 8 * SEC,
        ..Config::default()
    }
}

#[test]
fn the_command_deadline_fails_the_request_and_the_queue_moves_on() {
    let mut h = Harness::new(eight_second_deadline());
    let a = h.ep.submit(Request::get("/v1/settings"), h.t0);
    let b = h.ep.submit(Request::get("/v1/sessions"), h.at(1.0));
    let sends = h.run_until(h.at(8.5));
    let events = h.events();
    // Sent at 0 s, 2–3 s and 6–9 s: two or three transmissions fit in the 8 s deadline.
    assert!(matches!(
        events[0],
        Event::Response { id, result: Err(ExchangeError::Timeout { transmissions: 2..=3 }) } if id == a
    ));
    // B went out the moment A was given up, at A's deadline, not earlier.
    let b_sent: Vec<_> = sends
        .iter()
        .filter(|(_, p)| p.get_first_option(CoapOption::UriPath).is_some())
        .collect();
    let paths: Vec<_> = b_sent
        .iter()
        .map(|(t, p)| {
            (
                *t - h.t0,
                p.get_option(CoapOption::UriPath).unwrap().back().cloned(),
            )
        })
        .collect();
    assert_eq!(
        paths.last().unwrap(),
        &(8 * SEC, Some(b"sessions".to_vec()))
    );
    h.run_until(h.at(9.0));
    assert_eq!(
        h.events(),
        vec![Event::Response {
            id: b,
            result: Err(ExchangeError::Timeout { transmissions: 1 })
        }]
    );
    // Cancelled for good: nothing but pings goes out afterwards.
    let later = h.run_until(h.at(120.0));
    assert!(later
        .iter()
        .all(|(_, p)| p.header.code == MessageClass::Empty));
}

#[test]
fn a_request_queued_past_its_deadline_fails_without_being_sent() {
    let mut h = Harness::new(eight_second_deadline());
    h.ep.submit(Request::get("/v1/settings"), h.t0);
    let b = h.ep.submit(Request::get("/v1/sessions"), h.t0);
    h.run_until(h.at(8.0));
    let events = h.events();
    assert!(events.contains(&Event::Response {
        id: b,
        result: Err(ExchangeError::Timeout { transmissions: 0 })
    }));
    assert_eq!(
        ExchangeError::Timeout { transmissions: 0 }.to_string(),
        "the request waited its whole deadline in the queue and was never sent"
    );
}

#[test]
fn nstart_one_sends_the_next_request_only_after_the_answer() {
    let mut h = Harness::new(Config::default());
    let a = h.ep.submit(Request::get("/v1/settings"), h.t0);
    let b = h.ep.submit(Request::get("/v1/sessions/statistics"), h.t0);
    let sent = h.sent();
    assert_eq!(sent.len(), 1, "one outstanding request");
    h.receive(&ack_to(&sent[0], Code::CONTENT, b"A"), h.at(0.1));
    let next = h.sent();
    assert_eq!(next.len(), 1);
    assert_ne!(next[0].header.message_id, sent[0].header.message_id);
    assert_ne!(next[0].get_token(), sent[0].get_token());
    assert!(next[0].get_token().len() >= 4);
    h.receive(&ack_to(&next[0], Code::CONTENT, b"B"), h.at(0.2));
    let mut events = h.events();
    events.extend(h.events());
    assert_eq!(ok(events), vec![(a, b"A".to_vec()), (b, b"B".to_vec())]);
}

#[test]
fn separate_response_stops_retransmission_and_is_acknowledged_once() {
    let mut h = Harness::new(Config::default());
    let id = h.ep.submit(Request::get("/v1/sessions"), h.t0);
    let req = h.sent().remove(0);
    h.receive(
        &empty(MessageType::Acknowledgement, req.header.message_id),
        h.at(0.1),
    );
    let retransmits: Vec<_> = h
        .run_until(h.at(5.0))
        .into_iter()
        .filter(|(_, p)| p.header.code != MessageClass::Empty)
        .collect();
    assert!(retransmits.is_empty(), "an empty ACK ends retransmission");
    let separate = response(
        MessageType::Confirmable,
        0x7000,
        req.get_token(),
        Code::CONTENT,
        b"late",
    );
    h.receive(&separate, h.at(5.5));
    let acks = h.sent();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].header.get_type(), MessageType::Acknowledgement);
    assert_eq!(acks[0].header.message_id, 0x7000);
    assert_eq!(ok(h.events()), vec![(id, b"late".to_vec())]);
    // The device did not get our ACK and sends the response again: ACK again, deliver nothing.
    h.receive(&separate, h.at(6.0));
    assert_eq!(h.sent().len(), 1);
    assert!(h.events().is_empty());
}

#[test]
fn duplicate_piggybacked_response_is_delivered_once() {
    let mut h = Harness::new(Config::default());
    h.ep.submit(Request::get("/v1/settings"), h.t0);
    let req = h.sent().remove(0);
    let answer = ack_to(&req, Code::CONTENT, b"{}");
    h.receive(&answer, h.at(0.1));
    h.receive(&answer, h.at(0.2));
    assert_eq!(h.events().len(), 1);
    assert!(h.sent().is_empty());
}

#[test]
fn block2_bodies_are_reassembled_and_restarted_when_the_etag_changes() {
    let mut h = Harness::new(Config::default());
    let id = h.ep.submit(Request::get("/v1/sessions"), h.t0);
    let req0 = h.sent().remove(0);
    let block = |req: &Packet, num, more, etag: &[u8], payload: &[u8]| {
        let mut p = ack_to(req, Code::CONTENT, payload);
        p.add_option(CoapOption::ETag, etag.to_vec());
        p.add_option(CoapOption::Block2, Block::new(num, more, 0).encode());
        p
    };
    h.receive(&block(&req0, 0, true, b"v1", &[b'a'; 16]), h.at(0.1));
    let req1 = h.sent().remove(0);
    assert_eq!(block2(&req1), Some(Block::new(1, false, 0)));
    assert_eq!(
        req1.get_option(CoapOption::UriPath),
        req0.get_option(CoapOption::UriPath)
    );
    assert!(
        h.events().is_empty(),
        "nothing is delivered before the last block"
    );
    // The list changed between blocks: a block with a new ETag means start over.
    h.receive(&block(&req1, 1, true, b"v2", &[b'x'; 16]), h.at(0.2));
    let again = h.sent().remove(0);
    assert!(block2(&again).is_none_or(|b| b.num == 0));
    h.receive(&block(&again, 0, true, b"v2", &[b'b'; 16]), h.at(0.3));
    let req1 = h.sent().remove(0);
    h.receive(&block(&req1, 1, true, b"v2", &[b'c'; 16]), h.at(0.4));
    let req2 = h.sent().remove(0);
    assert_eq!(block2(&req2), Some(Block::new(2, false, 0)));
    h.receive(&block(&req2, 2, false, b"v2", b"end"), h.at(0.5));
    let want = [&[b'b'; 16][..], &[b'c'; 16], b"end"].concat();
    assert_eq!(ok(h.events()), vec![(id, want)]);
}

#[test]
fn each_block_of_a_long_body_gets_its_own_deadline() {
    // Ten blocks, each answered 6 s after it was asked for: far past one 8 s
    // deadline in all, but never past it for any single block.
    let mut h = Harness::new(Config::default());
    let id = h.ep.submit(Request::get("/v1/sessions"), h.t0);
    let mut req = h.sent().remove(0);
    for num in 0..10u32 {
        let at = h.at(6.0 * f64::from(num + 1));
        h.ep.handle_timeout(at);
        assert!(h.events().is_empty(), "gave up at block {num}");
        // Meanwhile only retransmissions of this block's request went out.
        assert!(h
            .sent()
            .iter()
            .all(|p| p.header.message_id == req.header.message_id));
        let mut block = ack_to(&req, Code::CONTENT, &[b'a' + num as u8; 16]);
        block.add_option(CoapOption::Block2, Block::new(num, num < 9, 0).encode());
        h.receive(&block, at);
        if num < 9 {
            req = h.sent().remove(0);
            assert_eq!(block2(&req).map(|b| b.num), Some(num + 1));
        }
    }
    let (done, body) = ok(h.events()).remove(0);
    assert_eq!((done, body.len()), (id, 160));
}

#[test]
fn datagrams_from_other_addresses_are_ignored() {
    let mut h = Harness::new(Config::default());
    h.ep.submit(Request::get("/v1/settings"), h.t0);
    let req = h.sent().remove(0);
    let forged = ack_to(&req, Code::CONTENT, b"forged").to_bytes().unwrap();
    for from in ["127.0.0.1:5684", "127.0.0.2:5683", "[::1]:5683"] {
        h.ep.handle_datagram(from.parse().unwrap(), &forged, h.at(0.1));
    }
    assert!(h.events().is_empty());
    assert_eq!(h.ep.health(h.at(0.1)).last_contact, None);
    // Still waiting, so the real answer is taken.
    h.receive(&ack_to(&req, Code::CONTENT, b"real"), h.at(0.2));
    assert_eq!(ok(h.events())[0].1, b"real");
}

#[test]
fn malformed_datagrams_are_ignored_without_panicking() {
    let mut h = Harness::new(Config::default());
    h.ep.submit(Request::get("/v1/settings"), h.t0);
    let req = h.sent().remove(0);
    let valid = ack_to(&req, Code::CONTENT, b"{}").to_bytes().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    // Cut inside the header or token; a longer prefix would be a valid, shorter message.
    let header_and_token = 4 + req.get_token().len();
    let mut inputs: Vec<Vec<u8>> = (0..header_and_token).map(|n| valid[..n].to_vec()).collect();
    inputs.push(vec![0x80, 0x45, 0, 1]); // version 2
    inputs.push(vec![0x6F, 0x45, 0, 1]); // token length 15
    inputs.push(vec![0x60, 0x45, 0, 1, 0xD3, 0x07]); // an option running past the end
    for _ in 0..2000 {
        let len = rng.gen_range(0..64);
        inputs.push((0..len).map(|_| rng.gen()).collect());
    }
    for bytes in &inputs {
        h.ep.handle_datagram(device(), bytes, h.at(0.1));
    }
    // Random bytes may form a valid message (e.g. an RST); none may answer our request.
    assert!(h
        .events()
        .iter()
        .all(|e| !matches!(e, Event::Response { result: Ok(_), .. })));
    assert!(h.ep.poll_timeout(h.at(0.1)).is_some());
}

#[test]
fn a_response_with_an_unknown_token_changes_nothing_and_a_con_one_is_reset() {
    let mut h = Harness::new(Config::default());
    h.ep.submit(Request::get("/v1/settings"), h.t0);
    let req = h.sent().remove(0);
    let stranger = [9u8; 8];
    h.receive(
        &response(
            MessageType::Confirmable,
            0x1111,
            &stranger,
            Code::CONTENT,
            b"?",
        ),
        h.at(0.1),
    );
    let rst = h.sent();
    assert_eq!(rst.len(), 1);
    assert_eq!(
        (rst[0].header.get_type(), rst[0].header.message_id),
        (MessageType::Reset, 0x1111)
    );
    h.receive(
        &response(
            MessageType::NonConfirmable,
            0x1112,
            &stranger,
            Code::CONTENT,
            b"?",
        ),
        h.at(0.1),
    );
    // Right MID, wrong token: RFC 7252 §5.3.2 requires both to match.
    h.receive(
        &response(
            MessageType::Acknowledgement,
            req.header.message_id,
            &stranger,
            Code::CONTENT,
            b"?",
        ),
        h.at(0.1),
    );
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());
    let retransmits = h.run_until(h.at(3.1));
    assert_eq!(retransmits.len(), 1, "the request is still outstanding");
}

#[test]
fn a_reset_fails_the_request() {
    let mut h = Harness::new(Config::default());
    let id = h.ep.submit(Request::get("/v1/settings"), h.t0);
    let req = h.sent().remove(0);
    h.receive(&empty(MessageType::Reset, req.header.message_id), h.at(0.1));
    assert_eq!(
        h.events(),
        vec![Event::Response {
            id,
            result: Err(ExchangeError::Reset)
        }]
    );
}

fn notification(kind: MessageType, mid: u16, token: &[u8], seq: u32, payload: &[u8]) -> Packet {
    let mut p = response(kind, mid, token, Code::CONTENT, payload);
    p.set_observe_value(seq);
    p
}

fn notified(events: Vec<Event>) -> Vec<Vec<u8>> {
    events
        .into_iter()
        .map(|e| match e {
            Event::Notification { response, .. } => response.payload,
            other => panic!("expected a notification, got {other:?}"),
        })
        .collect()
}

#[test]
fn observe_delivers_fresh_notifications_once_in_order_and_rst_after_cancel() {
    let mut h = Harness::new(Config::default());
    let id = h.ep.observe(
        Request::get("/v1/notify").with_query("action=get_sessions"),
        h.t0,
    );
    let reg = h.sent().remove(0);
    assert_eq!(reg.get_observe_value(), Some(Ok(0)));
    let token = reg.get_token().to_vec();
    let mut first = ack_to(&reg, Code::CONTENT, b"snapshot");
    first.set_observe_value(5);
    h.receive(&first, h.at(0.1));
    let events = h.events();
    assert!(
        matches!(&events[..], [Event::Response { id: i, result: Ok(Response { observe: Some(5), .. }) }] if *i == id)
    );

    h.receive(
        &notification(MessageType::Confirmable, 100, &token, 7, b"seven"),
        h.at(1.0),
    );
    let ack = h.sent();
    assert_eq!(
        (ack[0].header.get_type(), ack[0].header.message_id),
        (MessageType::Acknowledgement, 100)
    );
    // Reordered: 6 arrives after 7 and is stale.
    h.receive(
        &notification(MessageType::NonConfirmable, 101, &token, 6, b"six"),
        h.at(1.1),
    );
    // Our ACK for 7 was lost; the device resends it with the same MID.
    h.receive(
        &notification(MessageType::Confirmable, 100, &token, 7, b"seven"),
        h.at(1.2),
    );
    assert_eq!(h.sent().len(), 1, "the duplicate is ACKed again");
    h.receive(
        &notification(MessageType::NonConfirmable, 102, &token, 8, b"eight"),
        h.at(1.3),
    );
    assert!(h.sent().is_empty(), "NON notifications need no ACK");
    assert_eq!(
        notified(h.events()),
        vec![b"seven".to_vec(), b"eight".to_vec()]
    );

    h.ep.cancel(id, h.at(2.0));
    h.receive(
        &notification(MessageType::Confirmable, 103, &token, 9, b"nine"),
        h.at(2.1),
    );
    let rst = h.sent();
    assert_eq!(
        (rst[0].header.get_type(), rst[0].header.message_id),
        (MessageType::Reset, 103)
    );
    assert!(h.events().is_empty());
}

#[test]
fn an_error_notification_ends_the_observation() {
    let mut h = Harness::new(Config::default());
    let id = h.ep.observe(Request::get("/v1/notify"), h.t0);
    let reg = h.sent().remove(0);
    let mut first = ack_to(&reg, Code::CONTENT, b"{}");
    first.set_observe_value(1);
    h.receive(&first, h.at(0.1));
    h.events();
    let gone = response(
        MessageType::Confirmable,
        5,
        reg.get_token(),
        Code::NOT_FOUND,
        b"",
    );
    h.receive(&gone, h.at(1.0));
    let events = h.events();
    assert_eq!(events.last(), Some(&Event::ObservationEnded { id }));
}

#[test]
fn a_registration_the_device_does_not_accept_is_reported_ended() {
    let mut h = Harness::new(Config::default());
    let id = h.ep.observe(Request::get("/v1/notify"), h.t0);
    let reg = h.sent().remove(0);
    h.receive(&ack_to(&reg, Code::CONTENT, b"{}"), h.at(0.1));
    let events = h.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1], Event::ObservationEnded { id });
}

#[test]
fn a_notification_sent_in_blocks_is_completed_before_delivery() {
    let mut h = Harness::new(Config::default());
    h.ep.observe(Request::get("/v1/notify"), h.t0);
    let reg = h.sent().remove(0);
    let mut first = ack_to(&reg, Code::CONTENT, b"{}");
    first.set_observe_value(1);
    h.receive(&first, h.at(0.1));
    h.events();
    let mut big = notification(
        MessageType::Confirmable,
        50,
        reg.get_token(),
        2,
        &[b'n'; 16],
    );
    big.add_option(CoapOption::Block2, Block::new(0, true, 0).encode());
    h.receive(&big, h.at(1.0));
    let sent = h.sent();
    assert_eq!(sent[0].header.get_type(), MessageType::Acknowledgement);
    let follow_up = &sent[1];
    assert_eq!(block2(follow_up), Some(Block::new(1, false, 0)));
    assert_eq!(
        follow_up.get_observe_value(),
        None,
        "RFC 7959 §3.4: no Observe on the follow-up"
    );
    let mut rest = ack_to(follow_up, Code::CONTENT, b"!");
    rest.add_option(CoapOption::Block2, Block::new(1, false, 0).encode());
    h.receive(&rest, h.at(1.1));
    assert_eq!(notified(h.events()), vec![[&[b'n'; 16][..], b"!"].concat()]);
}

#[test]
fn a_silent_device_is_unreachable_within_10_seconds_and_back_on_its_next_datagram() {
    let mut h = Harness::new(Config::default());
    h.ep.submit(Request::get("/v1/settings"), h.t0);
    let req = h.sent().remove(0);
    h.receive(&ack_to(&req, Code::CONTENT, b"{}"), h.at(0.01));
    let health = h.ep.health(h.at(0.01));
    assert!(health.reachable);
    assert_eq!(health.last_rtt, Some(Duration::from_millis(10)));
    h.events();
    // The device goes silent at 0.01 s. Step through every timer the endpoint asks for.
    let mut pings = Vec::new();
    let mut went_down = None;
    let mut now = h.at(0.01);
    while now < h.at(12.0) {
        let next = h.ep.poll_timeout(now).unwrap();
        assert!(next > now, "every timer is consumed");
        now = next;
        h.ep.handle_timeout(now);
        pings.extend(h.sent().into_iter().map(|p| (now - h.t0, p)));
        if went_down.is_none() && !h.ep.health(now).reachable {
            went_down = Some(now - h.at(0.01));
        }
    }
    let went_down = went_down.expect("declared unreachable");
    assert!(went_down < 10 * SEC, "declared after {went_down:?}");
    assert!(pings
        .iter()
        .all(|(_, p)| p.header.code == MessageClass::Empty
            && p.header.get_type() == MessageType::Confirmable));
    assert_eq!(
        pings[0].0,
        Duration::from_secs_f64(3.01),
        "first ping after 3 s of silence"
    );
    // The device answers the latest ping: reachable again at once, with that ping's RTT.
    let (sent_at, ping) = pings.last().unwrap();
    let back = h.t0 + *sent_at + Duration::from_millis(4);
    h.receive(&empty(MessageType::Reset, ping.header.message_id), back);
    let health = h.ep.health(back);
    assert!(health.reachable);
    assert_eq!(health.last_contact, Some(back));
    assert_eq!(health.last_rtt, Some(Duration::from_millis(4)));
}

#[test]
fn karn_no_rtt_from_a_retransmitted_request() {
    let mut h = Harness::new(Config::default());
    h.ep.submit(Request::get("/v1/settings"), h.t0);
    let req = h.sent().remove(0);
    h.run_until(h.at(3.0));
    h.receive(&ack_to(&req, Code::CONTENT, b"{}"), h.at(3.5));
    assert_eq!(h.ep.health(h.at(3.5)).last_rtt, None);
    assert!(matches!(
        &h.events()[..],
        [Event::Response { result: Ok(_), .. }]
    ));
}

#[test]
fn caller_probe_mode_asks_the_caller_instead_of_pinging() {
    let mut h = Harness::new(Config::default());
    h.ep.set_probe(Probe::Caller);
    let sent = h.run_until(h.at(3.5));
    assert!(sent.is_empty());
    assert_eq!(h.events(), vec![Event::ProbeDue]);
    // The caller's probe request counts as the attempt that must be answered.
    h.ep.submit(Request::get("/v1/sessions").with_etag(vec![1]), h.at(3.5));
    h.run_until(h.at(9.5));
    assert!(!h.ep.health(h.at(9.5)).reachable);
}

#[test]
fn only_answers_to_what_is_in_flight_count_as_contact() {
    let mut h = Harness::new(Config::default());
    h.ep.submit(Request::get("/v1/sessions"), h.t0);
    let req = h.sent().remove(0);
    let mid = req.header.message_id;
    let ack = empty(MessageType::Acknowledgement, mid);
    // The device: "a separate response will follow". Then it vanishes.
    h.receive(&ack, h.at(0.1));
    assert_eq!(h.ep.health(h.at(0.1)).last_contact, Some(h.at(0.1)));
    // A forger on the LAN replays that ACK and sends resets and a
    // notification with guessed ids from the device's address.
    let mut t = 0.5;
    while t < 12.0 {
        h.receive(&ack, h.at(t));
        h.receive(&empty(MessageType::Reset, mid.wrapping_add(7)), h.at(t));
        let forged = response(
            MessageType::Confirmable,
            0x1234,
            &[9; 8],
            Code::CONTENT,
            b"{}",
        );
        h.receive(&forged, h.at(t));
        t += 0.5;
    }
    let health = h.ep.health(h.at(12.0));
    assert_eq!(health.last_contact, Some(h.at(0.1)), "no forged contact");
    assert!(!health.reachable);
}

#[test]
fn message_ids_start_where_the_seed_says_not_at_a_fixed_value() {
    let first_mid = |seed| {
        let t0 = Instant::now();
        let mut ep = Endpoint::new(Config::default(), device(), seed, t0);
        ep.submit(Request::get("/v1/settings"), t0);
        Packet::from_bytes(&ep.poll_transmit().unwrap())
            .unwrap()
            .header
            .message_id
    };
    let mids: std::collections::HashSet<u16> = (0..8).map(first_mid).collect();
    assert_eq!(mids.len(), 8, "{mids:?}");
}
