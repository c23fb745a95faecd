//! The simulator over real UDP on 127.0.0.1: deduplication of a repeated
//! Message ID, and an exact end state through 30 % seeded loss.

mod support;

use std::time::{Duration, Instant};

use coap_lite::{MessageClass, RequestType, ResponseType};
use shared::device::{ClearType, SessionState};
use shared::time::DeviceTime;
use simulator::model::PageSource;
use simulator::server::{Config, Simulator};
use support::{request_packet, RetryingClient};

fn config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        clock: Some(DeviceTime::parse("2018-03-15T15:42:37").unwrap()),
        ..Config::default()
    }
}

fn code(packet: &coap_lite::Packet) -> ResponseType {
    match packet.header.code {
        MessageClass::Response(code) => code,
        other => panic!("not a response: {other:?}"),
    }
}

#[tokio::test]
async fn a_page_sent_twice_with_the_same_message_id_pages_once() {
    let simulator = Simulator::start(config()).await.unwrap();
    let mut client = RetryingClient::new(simulator.local_addr()).await;
    let created = client
        .request(RequestType::Post, "/v1/sessions", r#"{"number":12}"#)
        .await;
    assert_eq!(code(&created), ResponseType::Created);

    let page = request_packet(
        0x0777,
        &[9],
        RequestType::Put,
        "/v1/sessions?number=12",
        r#"{"action":"page"}"#,
    )
    .to_bytes()
    .unwrap();
    client.send(&page).await;
    client.send(&page).await;
    let first = client.receive().await;
    let second = client.receive().await;
    assert_eq!(
        first, second,
        "the duplicate is answered with the cached response"
    );
    assert_eq!(code(&first), ResponseType::Changed);

    let pages = simulator.pages();
    assert_eq!(pages.len(), 1);
    assert_eq!(
        (pages[0].number, pages[0].source),
        (12, PageSource::Session { id: 1 })
    );
    assert_eq!(simulator.state().global_sequence, 2);
    simulator.shutdown().await;
}

#[tokio::test]
async fn two_hundred_operations_through_30_percent_loss_leave_the_exact_state() {
    let simulator = Simulator::start(Config {
        loss: 0.3,
        seed: 7,
        ..config()
    })
    .await
    .unwrap();
    let mut client = RetryingClient::new(simulator.local_addr()).await;
    let started = Instant::now();
    let mut operations = 0;
    for number in 1..=80u32 {
        let created = client
            .request(
                RequestType::Post,
                "/v1/sessions",
                &format!(r#"{{"number":{number}}}"#),
            )
            .await;
        assert_eq!(code(&created), ResponseType::Created, "create {number}");
        let uri = format!("/v1/sessions?number={number}");
        let paged = client
            .request(RequestType::Put, &uri, r#"{"action":"page"}"#)
            .await;
        assert_eq!(code(&paged), ResponseType::Changed, "page {number}");
        operations += 2;
        if number <= 40 {
            let cleared = client
                .request(RequestType::Put, &uri, r#"{"action":"clear"}"#)
                .await;
            assert_eq!(code(&cleared), ResponseType::Changed, "clear {number}");
            operations += 1;
        }
    }
    assert_eq!(operations, 200);

    let state = simulator.state();
    let active: Vec<u32> = state.active.iter().map(|s| s.number).collect();
    assert_eq!(active, (41..=80).collect::<Vec<_>>());
    assert!(state
        .active
        .iter()
        .all(|s| s.state == Some(SessionState::Paged)));
    let archived: Vec<u32> = state.history.iter().map(|h| h.session.number).collect();
    assert_eq!(archived, (1..=40).collect::<Vec<_>>());
    assert!(state
        .history
        .iter()
        .all(|h| h.clear_type == ClearType::Stop));
    assert_eq!(state.global_sequence, 200);
    assert_eq!(
        (
            state.statistics.num_sessions,
            state.statistics.guests_served
        ),
        (80, 80)
    );
    let paged: Vec<u32> = simulator.pages().iter().map(|p| p.number).collect();
    assert_eq!(
        paged,
        (1..=80).collect::<Vec<_>>(),
        "every pager paged exactly once"
    );

    let traffic = simulator.traffic();
    assert!(
        client.retransmissions > 0 && traffic.dropped_inbound > 0 && traffic.dropped_outbound > 0
    );
    println!(
        "200 operations in {:?}: {} retransmissions; {:?}",
        started.elapsed(),
        client.retransmissions,
        traffic
    );
    simulator.shutdown().await;
}

/// Lossless on purpose: a lost separate response waits for the simulator's
/// RFC retransmission (2–3 s, doubling), which is real time; the lossy
/// separate-response paths are covered sans-IO in the endpoint's tests.
#[tokio::test]
async fn separate_responses_over_udp_complete_each_exchange_once() {
    let simulator = Simulator::start(Config {
        separate_responses: true,
        ..config()
    })
    .await
    .unwrap();
    let mut client = RetryingClient::new(simulator.local_addr()).await;
    for number in 1..=20u32 {
        let created = client
            .request(
                RequestType::Post,
                "/v1/sessions",
                &format!(r#"{{"number":{number},"action":"page"}}"#),
            )
            .await;
        assert_eq!(code(&created), ResponseType::Created);
    }
    assert_eq!(simulator.pages().len(), 20);
    assert_eq!(simulator.state().global_sequence, 20);
    simulator.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_the_port() {
    let simulator = Simulator::start(config()).await.unwrap();
    let addr = simulator.local_addr();
    tokio::time::timeout(Duration::from_secs(5), simulator.shutdown())
        .await
        .expect("shutdown is prompt");
    std::net::UdpSocket::bind(addr).expect("the port is free again");
}
