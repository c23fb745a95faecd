//! End-to-end smoke tests of the transmitter misbehaving: separate
//! responses, a reboot, going silent and coming back, and datagrams that are
//! not its answers. Real UDP between the proxy and the simulator, real
//! WebSockets to the tablets. The rules themselves are tested on made-up
//! instants (`proxy/src/core/tests.rs`) and, under every mix of faults, by
//! the seeded simulation (`proxy/tests/simulation`); these only show the
//! real parts are wired to them.

mod support;

use std::time::Duration;

use proxy::coap::Config;
use shared::protocol::Command;
use support::{board, device_board, start_coaster, start_simulator, until_live, Tablet};
use tokio::net::UdpSocket;
use tokio::time::Instant;

fn create(number: i64) -> Command {
    Command::CreateSession {
        number,
        label: Some(format!("Party {number}")),
        party_size: Some(2),
        goal: None,
    }
}

fn page(number: i64) -> Command {
    Command::PageSession {
        number,
        page_mode: None,
    }
}

#[tokio::test]
async fn separate_responses_are_acknowledged() {
    let sim = start_simulator(|c| c.separate_responses = true).await;
    let coaster = start_coaster(Some(sim.local_addr()), Config::default()).await;
    let mut tablet = Tablet::connect(coaster.addr, "t").await;
    until_live(&mut tablet).await;
    for command in [create(3), page(3), Command::ClearSession { number: 3 }] {
        let verdict = tablet.run(command).await;
        assert!(verdict.is_acknowledged(), "{verdict:?}");
    }
    assert_eq!(sim.pages().len(), 1);
    assert_eq!(sim.state().history.len(), 1);
    coaster.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_reboot_is_noticed_and_the_board_resynced_within_five_seconds() {
    let sim = start_simulator(|c| c.reboot_after = Some(8)).await;
    let coaster = start_coaster(Some(sim.local_addr()), Config::default()).await;
    let mut tablet = Tablet::connect(coaster.addr, "t").await;
    until_live(&mut tablet).await;
    // Seat parties until the device's count falls behind: it rebooted.
    let mut rebooted_at = None;
    for number in 1..=8 {
        tablet.run(create(number)).await;
        if sim.state().active.len() < number as usize {
            rebooted_at = Some(Instant::now());
            break;
        }
    }
    let rebooted_at = rebooted_at.expect("the simulator rebooted");
    assert!(!tablet.state.parties.is_empty(), "the board had parties");
    tablet
        .wait_until(Duration::from_secs(5), |s| {
            s.health.observing && s.health.synced && board(s) == device_board(&sim.state())
        })
        .await;
    let took = rebooted_at.elapsed();
    println!("reboot resynced after {took:?}");
    assert!(took <= Duration::from_secs(5));
    // And the new registration delivers changes again.
    assert!(tablet.run(create(40)).await.is_acknowledged());
    assert_eq!(board(&tablet.state), device_board(&sim.state()));
    coaster.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_command_sent_into_silence_is_carried_until_the_transmitter_returns() {
    let sim = start_simulator(|_| {}).await;
    let sim_addr = sim.local_addr();
    let coaster = start_coaster(Some(sim_addr), Config::default()).await;
    let mut tablet = Tablet::connect(coaster.addr, "t").await;
    until_live(&mut tablet).await;
    assert!(tablet.run(create(9)).await.is_acknowledged());

    let mut watcher = Tablet::connect(coaster.addr, "watcher").await;
    sim.shutdown().await;
    let silent_at = Instant::now();
    watcher
        .wait_until(Duration::from_secs(12), |s| !s.health.reachable)
        .await;
    println!("unreachable declared after {:?}", silent_at.elapsed());
    // The last known board stays: the watcher still sees pager 9.
    assert!(watcher.state.party(9).is_some());
    // A create sent into the silence is not failed: it waits (up to its
    // 30 s deadline) and goes out when the transmitter is back.
    let op = tablet.send(create(10)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sim = start_simulator(|c| c.listen = sim_addr).await;
    let verdict = tablet.verdict(&op).await;
    assert!(verdict.is_acknowledged(), "{verdict:?}");
    println!(
        "acknowledged {:?} after the silence began",
        silent_at.elapsed()
    );
    tablet
        .wait_until(Duration::from_secs(10), |s| {
            s.health.reachable && s.health.synced && board(s) == device_board(&sim.state())
        })
        .await;
    assert_eq!(
        sim.state().active.len(),
        1,
        "the fresh device has the new party only"
    );
    coaster.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn foreign_and_malformed_datagrams_change_nothing() {
    let coaster = start_coaster(None, Config::default()).await;
    let sim = coaster.simulator.as_ref().unwrap();
    let mut tablet = Tablet::connect(coaster.addr, "t").await;
    until_live(&mut tablet).await;
    assert!(tablet.run(create(21)).await.is_acknowledged());
    let before = tablet.state.clone();

    let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A well-formed notification (CON 2.05, Observe, a session for pager 22)
    // from the wrong port; then garbage; then an ACK with an unknown token.
    let body = br#"{"responseTypes":["sessions"],"globalSessionSequence":99,"sessions":[{"id":9,"uuid":"x","number":22,"goalInSeconds":1,"created":"2026-01-01T00:00:00","started":"2026-01-01T00:00:00","label":"Intruder","state":"started"}]}"#;
    let mut notification = vec![
        0x48, 0x45, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 0x61, 0x07, 0xff,
    ];
    notification.extend_from_slice(body);
    let garbage = [0xde, 0xad, 0xbe, 0xef, 0x00, 0xff];
    let unknown_token_ack = [0x64, 0x45, 0x00, 0x01, 9, 9, 9, 9];
    for datagram in [&notification[..], &garbage, &unknown_token_ack] {
        stranger.send_to(datagram, coaster.coap_addr).await.unwrap();
    }
    // The board still follows the device, and only the device.
    assert!(tablet.run(create(23)).await.is_acknowledged());
    assert!(tablet.state.party(22).is_none());
    assert_eq!(board(&tablet.state), device_board(&sim.state()));
    assert_eq!(tablet.state.parties.len(), before.parties.len() + 1);
    coaster.shutdown().await;
}
