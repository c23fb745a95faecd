//! The typed device client end to end against the real simulator on loopback UDP.

use std::time::Duration;

use proxy::coap::{Config, Driver};
use proxy::device::{Device, DeviceError, Sessions};
use shared::device::{CreateSession, PageMode, SettingsUpdate, UpdateSession};
use simulator::server::{Config as SimConfig, Simulator, SimulatorHandle};

async fn start(sim: SimConfig, coap: Config) -> (SimulatorHandle, Driver, Device) {
    let sim = Simulator::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..sim
    })
    .await
    .unwrap();
    let driver = Driver::start(sim.local_addr(), coap).await.unwrap();
    let device = Device::new(driver.handle());
    (sim, driver, device)
}

fn fast() -> Config {
    Config {
        ack_timeout: Duration::from_millis(50),
        exchange_deadline: Duration::from_secs(5),
        ..Config::default()
    }
}

fn create(number: u32, label: &str) -> CreateSession {
    CreateSession {
        number,
        label: Some(label.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn session_lifecycle_with_etag_and_device_errors() {
    let (sim, driver, device) = start(SimConfig::default(), fast()).await;
    let created = device
        .create_session(create(11, "Ng"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.sessions.unwrap()[0].number, 11);

    let Sessions::Changed { envelope, etag } = device.get_sessions(None).await.unwrap() else {
        panic!("first read")
    };
    assert_eq!(envelope.sessions.unwrap().len(), 1);
    let etag = etag.expect("the device tags the session list");
    assert_eq!(
        device.get_sessions(Some(etag.clone())).await.unwrap(),
        Sessions::Unchanged
    );

    device.page_session(11, PageMode::Vibe1).await.unwrap();
    assert!(matches!(
        device.get_sessions(Some(etag)).await.unwrap(),
        Sessions::Changed { .. }
    ));
    assert_eq!(sim.pages().len(), 1);
    assert!(device.get_session(11).await.unwrap().sessions.unwrap()[0]
        .notified
        .is_some());

    let missing = device
        .update_session(
            12,
            UpdateSession {
                party_size: Some(2),
                ..Default::default()
            },
        )
        .await;
    match missing {
        Err(DeviceError::Rejected { code, message }) => {
            assert_eq!(code, "4.04");
            assert!(!message.is_empty());
        }
        other => panic!("expected 4.04, got {other:?}"),
    }
    let bad = device
        .update_settings(SettingsUpdate {
            statistics_clear_mark: Some(25),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(bad, Err(DeviceError::Rejected { ref code, .. }) if code == "4.00"),
        "{bad:?}"
    );

    device.clear_session(11).await.unwrap();
    let history = device.get_history().await.unwrap().session_history.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        device.clear_history().await.unwrap(),
        None,
        "2.02 has no body"
    );
    assert_eq!(
        device
            .get_statistics()
            .await
            .unwrap()
            .statistics
            .unwrap()
            .guests_served,
        1
    );
    device.clear_statistics().await.unwrap();
    device.get_settings().await.unwrap().settings.unwrap();
    sim.shutdown().await;
    driver.shutdown().await;
}

#[tokio::test]
async fn a_long_session_list_arrives_whole_through_block2() {
    let (sim, driver, device) = start(SimConfig::default(), fast()).await;
    for number in 1..=30 {
        device
            .create_session(create(number, "a label of thirty-two characters"))
            .await
            .unwrap();
    }
    let Sessions::Changed { envelope, .. } = device.get_sessions(None).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        envelope.sessions.unwrap().len(),
        30,
        "more than 1024 bytes, reassembled"
    );
    sim.shutdown().await;
    driver.shutdown().await;
}

#[tokio::test]
async fn notify_streams_the_snapshot_then_each_change() {
    let (sim, driver, device) = start(SimConfig::default(), fast()).await;
    device.create_session(create(5, "first")).await.unwrap();
    let mut notify = device.observe_notify().await.unwrap();
    assert_eq!(notify.first.sessions.as_ref().unwrap().len(), 1);
    assert_eq!(sim.observer_count(), 1);
    device.create_session(create(6, "second")).await.unwrap();
    let change = tokio::time::timeout(Duration::from_secs(5), notify.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(change.sessions.unwrap()[0].number, 6);
    notify.cancel();
    sim.shutdown().await;
    driver.shutdown().await;
}

#[tokio::test]
async fn separate_responses_from_the_simulator_are_handled() {
    let sim = SimConfig {
        separate_responses: true,
        ..SimConfig::default()
    };
    let (sim, driver, device) = start(sim, fast()).await;
    device.create_session(create(9, "late")).await.unwrap();
    assert_eq!(
        device.get_session(9).await.unwrap().sessions.unwrap()[0].number,
        9
    );
    sim.shutdown().await;
    driver.shutdown().await;
}

#[tokio::test]
async fn under_30_percent_loss_pages_happen_at_most_once_and_failures_are_named() {
    let sim = SimConfig {
        loss: 0.3,
        seed: 42,
        ..SimConfig::default()
    };
    // Two more retransmissions than the RFC default keep a give-up (p ≈ 0.5^7 per
    // request) rare enough that the assertions below do not flake.
    let coap = Config {
        max_retransmit: 6,
        exchange_deadline: Duration::from_secs(15),
        ..fast()
    };
    let (sim, driver, device) = start(sim, coap).await;
    let (mut paged_ok, mut failures) = (Vec::new(), Vec::new());
    for number in 1..=15 {
        let result = match device.create_session(create(number, "x")).await {
            Ok(_) => device.page_session(number, PageMode::Flash30Sec).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => paged_ok.push(number),
            Err(e) => failures.push((number, e)),
        }
    }
    let traffic = sim.traffic();
    println!(
        "30% loss: {} of 15 create+page pairs failed; {traffic:?}",
        failures.len()
    );
    assert!(
        traffic.dropped_inbound + traffic.dropped_outbound > 0,
        "the loss was real"
    );
    // A few may still fail; most must not.
    assert!(
        paged_ok.len() >= 12,
        "retransmission recovers most requests: {failures:?}"
    );
    for (_, e) in &failures {
        // 4.04 is possible too: a create whose every answer was lost, so the page found no session.
        assert!(
            matches!(
                e,
                DeviceError::Unreachable(_) | DeviceError::Rejected { .. }
            ),
            "{e:?}"
        );
    }
    let pages: Vec<u32> = sim.pages().iter().map(|p| p.number).collect();
    for number in 1..=15 {
        let count = pages.iter().filter(|n| **n == number).count();
        let want = if paged_ok.contains(&number) {
            1..=1
        } else {
            0..=1
        };
        assert!(
            want.contains(&count),
            "pager {number} paged {count} times; a retransmission must never page twice"
        );
    }
    sim.shutdown().await;
    driver.shutdown().await;
}

#[tokio::test]
async fn a_stopped_device_is_unreachable() {
    let (sim, driver, device) = start(
        SimConfig::default(),
        Config {
            exchange_deadline: Duration::from_millis(500),
            ..fast()
        },
    )
    .await;
    device.get_settings().await.unwrap();
    sim.shutdown().await;
    let err = device.get_settings().await.unwrap_err();
    assert!(matches!(err, DeviceError::Unreachable(_)), "{err:?}");
    driver.shutdown().await;
}
