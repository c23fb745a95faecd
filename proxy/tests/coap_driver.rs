//! The tokio driver on real UDP (127.0.0.1, port 0) against tiny coap-lite
//! responders written in each test.

use std::net::SocketAddr;
use std::time::Duration;

use coap_lite::{MessageClass, MessageType, Packet, ResponseType};
use proxy::coap::{Code, Config, Driver, ExchangeError, Request};
use tokio::net::UdpSocket;
use tokio::time::Instant;

async fn fake_device() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

async fn recv(socket: &UdpSocket) -> (Packet, SocketAddr) {
    let mut buf = [0; 2048];
    let (n, from) = socket.recv_from(&mut buf).await.unwrap();
    (Packet::from_bytes(&buf[..n]).unwrap(), from)
}

/// The next request, skipping pings (empty CON probes).
async fn recv_request(socket: &UdpSocket) -> (Packet, SocketAddr) {
    loop {
        let (p, from) = recv(socket).await;
        if p.header.code != MessageClass::Empty {
            return (p, from);
        }
    }
}

fn reply(kind: MessageType, mid: u16, token: &[u8], code: ResponseType, payload: &[u8]) -> Vec<u8> {
    let mut p = Packet::new();
    p.header.set_type(kind);
    p.header.code = MessageClass::Response(code);
    p.header.message_id = mid;
    p.set_token(token.to_vec());
    p.payload = payload.to_vec();
    p.to_bytes().unwrap()
}

fn fast() -> Config {
    Config {
        ack_timeout: Duration::from_millis(100),
        exchange_deadline: Duration::from_secs(2),
        ..Config::default()
    }
}

#[tokio::test]
async fn a_request_is_answered_and_health_records_contact_and_rtt() {
    let (device, addr) = fake_device().await;
    let driver = Driver::start(addr, fast()).await.unwrap();
    let handle = driver.handle();
    let local = driver.local_addr();
    let responder = tokio::spawn(async move {
        let (req, from) = recv_request(&device).await;
        assert_eq!(from, local, "bound to loopback for a loopback device");
        let bytes = reply(
            MessageType::Acknowledgement,
            req.header.message_id,
            req.get_token(),
            ResponseType::Content,
            b"{}",
        );
        device.send_to(&bytes, from).await.unwrap();
    });
    let response = handle.request(Request::get("/v1/settings")).await.unwrap();
    assert_eq!(
        (response.code, response.payload),
        (Code::CONTENT, b"{}".to_vec())
    );
    responder.await.unwrap();
    let health = *handle.health().borrow();
    assert!(health.reachable);
    assert!(health.last_contact.is_some());
    let rtt = health.last_rtt.expect("answered on the first try");
    println!("loopback round trip through the driver: {rtt:?}");
    assert!(rtt < Duration::from_millis(100));
    driver.shutdown().await;
}

#[tokio::test]
async fn a_separate_response_is_acknowledged_and_delivered() {
    let (device, addr) = fake_device().await;
    let driver = Driver::start(addr, fast()).await.unwrap();
    let handle = driver.handle();
    let responder = tokio::spawn(async move {
        let (req, from) = recv_request(&device).await;
        let empty_ack = [
            0x60,
            0,
            (req.header.message_id >> 8) as u8,
            req.header.message_id as u8,
        ];
        device.send_to(&empty_ack, from).await.unwrap();
        // Longer than several retransmission timeouts: none may come after the empty ACK.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let late = reply(
            MessageType::Confirmable,
            0x4242,
            req.get_token(),
            ResponseType::Content,
            b"late",
        );
        device.send_to(&late, from).await.unwrap();
        let (ack, _) = recv(&device).await;
        assert_eq!(
            (ack.header.get_type(), ack.header.message_id),
            (MessageType::Acknowledgement, 0x4242)
        );
    });
    let response = handle.request(Request::get("/v1/sessions")).await.unwrap();
    assert_eq!(response.payload, b"late");
    responder.await.unwrap();
    driver.shutdown().await;
}

#[tokio::test]
async fn answers_from_another_address_are_ignored() {
    let (device, addr) = fake_device().await;
    let (impostor, _) = fake_device().await;
    let driver = Driver::start(addr, fast()).await.unwrap();
    let handle = driver.handle();
    let request = tokio::spawn(async move { handle.request(Request::get("/v1/settings")).await });
    let (req, from) = recv_request(&device).await;
    assert_eq!(from.port(), driver.local_addr().port());
    let forged = reply(
        MessageType::Acknowledgement,
        req.header.message_id,
        req.get_token(),
        ResponseType::Content,
        b"forged",
    );
    impostor.send_to(&forged, from).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let real = reply(
        MessageType::Acknowledgement,
        req.header.message_id,
        req.get_token(),
        ResponseType::Content,
        b"real",
    );
    device.send_to(&real, from).await.unwrap();
    assert_eq!(request.await.unwrap().unwrap().payload, b"real");
    driver.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_silent_device_fails_the_request_after_five_copies_and_is_unreachable_within_10_s() {
    let (_device, addr) = fake_device().await;
    let start = Instant::now();
    let driver = Driver::start(addr, Config::default()).await.unwrap();
    let handle = driver.handle();
    let mut health = handle.health();
    let watcher = tokio::spawn(async move {
        health.wait_for(|h| !h.reachable).await.unwrap();
        start.elapsed()
    });
    let result = handle.request(Request::get("/v1/settings")).await;
    // The whole RFC 7252 schedule (no round trip learnt: 2–3 s doubling),
    // five copies, cut at MAX_TRANSMIT_SPAN (45 s) at the latest.
    assert!(
        matches!(result, Err(ExchangeError::Timeout { transmissions: 5 })),
        "{result:?}"
    );
    assert!(
        start.elapsed() <= Duration::from_secs(45),
        "{:?}",
        start.elapsed()
    );
    let down_after = watcher.await.unwrap();
    println!("silent device declared unreachable after {down_after:?}");
    assert!(down_after < Duration::from_secs(10));
    driver.shutdown().await;
}

#[tokio::test]
async fn observe_delivers_notifications_and_a_dropped_observer_resets_the_next_one() {
    let (device, addr) = fake_device().await;
    let driver = Driver::start(addr, fast()).await.unwrap();
    let handle = driver.handle();
    let registration = tokio::spawn({
        let handle = handle.clone();
        async move {
            handle
                .observe(Request::get("/v1/notify").with_query("action=get_sessions"))
                .await
        }
    });
    let (reg, from) = recv_request(&device).await;
    assert_eq!(reg.get_observe_value(), Some(Ok(0)));
    let token = reg.get_token().to_vec();
    let mut first = Packet::from_bytes(&reply(
        MessageType::Acknowledgement,
        reg.header.message_id,
        &token,
        ResponseType::Content,
        b"snapshot",
    ))
    .unwrap();
    first.set_observe_value(1);
    device
        .send_to(&first.to_bytes().unwrap(), from)
        .await
        .unwrap();
    let mut observation = registration.await.unwrap().unwrap();
    assert_eq!(observation.first.payload, b"snapshot");

    for (mid, seq) in [(10u16, 2u32), (11, 3)] {
        let mut n = Packet::from_bytes(&reply(
            MessageType::Confirmable,
            mid,
            &token,
            ResponseType::Content,
            &[b'0' + seq as u8],
        ))
        .unwrap();
        n.set_observe_value(seq);
        device.send_to(&n.to_bytes().unwrap(), from).await.unwrap();
        let (ack, _) = recv(&device).await;
        assert_eq!(
            (ack.header.get_type(), ack.header.message_id),
            (MessageType::Acknowledgement, mid)
        );
    }
    assert_eq!(
        observation.notifications.recv().await.unwrap().payload,
        b"2"
    );
    assert_eq!(
        observation.notifications.recv().await.unwrap().payload,
        b"3"
    );

    drop(observation);
    let mut n = Packet::from_bytes(&reply(
        MessageType::Confirmable,
        12,
        &token,
        ResponseType::Content,
        b"4",
    ))
    .unwrap();
    n.set_observe_value(4);
    device.send_to(&n.to_bytes().unwrap(), from).await.unwrap();
    let (rst, _) = recv(&device).await;
    assert_eq!(
        (rst.header.get_type(), rst.header.message_id),
        (MessageType::Reset, 12)
    );
    driver.shutdown().await;
}

#[tokio::test]
async fn shutdown_fails_waiting_requests_with_closed() {
    let (_device, addr) = fake_device().await;
    let driver = Driver::start(addr, fast()).await.unwrap();
    let handle = driver.handle();
    let waiting = tokio::spawn({
        let handle = handle.clone();
        async move { handle.request(Request::get("/v1/settings")).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    driver.shutdown().await;
    assert_eq!(waiting.await.unwrap(), Err(ExchangeError::Closed));
    assert_eq!(
        handle.request(Request::get("/v1/settings")).await,
        Err(ExchangeError::Closed)
    );
}
