//! SIGTERM to the real `coaster` binary while a tablet's command is on its
//! way to a slow transmitter: the command is answered with its real verdict,
//! a command sent after the signal is answered `shutting_down`, the tablet
//! is closed with "going away", the process exits cleanly in bounded time,
//! and the port is free again.

mod stand;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use stand::{send, tablet, until_type, Stand};
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// Each datagram takes this long each way: a command is ~2 s in flight.
const DEVICE_DELAY: Duration = Duration::from_millis(1000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_commands_in_flight_then_frees_the_port() {
    let device = simulator::server::Simulator::start(simulator::server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let link = SlowLink::start(device.local_addr()).await;
    let mut stand = Stand::start(&["--device", &link.addr.to_string()]);
    let mut ws = tablet(&stand, IpAddr::from([127, 0, 0, 1])).await;
    until_type(&mut ws, "snapshot").await;
    // Only now slow the device down, so the start-up exchanges are done.
    link.slow.store(true, Ordering::Relaxed);

    send(
        &mut ws,
        json!({"op": "in-flight", "command": {"type": "create_session", "number": 12}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    stand.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(
        &mut ws,
        json!({"op": "too-late", "command": {"type": "create_session", "number": 13}}),
    )
    .await;

    let mut verdicts = Vec::new();
    let close = loop {
        let frame = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("the stand answers or closes in time");
        match frame {
            Some(Ok(Message::Text(text))) => {
                let msg: serde_json::Value = serde_json::from_str(&text).unwrap();
                match msg["type"].as_str() {
                    Some("reply") => {
                        verdicts.push((msg["op"].clone(), msg["verdict"]["outcome"].clone()))
                    }
                    Some("error") => verdicts.push((msg["op"].clone(), msg["code"].clone())),
                    _ => {}
                }
            }
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("the tablet was dropped without a close: {other:?}"),
        }
    };
    assert_eq!(
        verdicts,
        [
            (json!("too-late"), json!("shutting_down")),
            (json!("in-flight"), json!("acknowledged")),
        ]
    );
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Away));
    let status = stand
        .exited(Duration::from_secs(12))
        .await
        .expect("coaster exits within its shutdown limit");
    assert!(status.success(), "{status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(12));
    // The port is free for the next start.
    std::net::TcpListener::bind(stand.addr).expect("the port is released");
    assert!(device.state().active.iter().any(|s| s.number == 12));
    assert!(!device.state().active.iter().any(|s| s.number == 13));
    let log = stand.log();
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );
    device.shutdown().await;
}

/// A UDP relay between the stand and the device that, once `slow` is set,
/// holds every datagram for [`DEVICE_DELAY`].
struct SlowLink {
    addr: SocketAddr,
    slow: Arc<AtomicBool>,
}

impl SlowLink {
    async fn start(device: SocketAddr) -> SlowLink {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        let slow = Arc::new(AtomicBool::new(false));
        let stand: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let (relay, slowed) = (socket.clone(), slow.clone());
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 2048];
            while let Ok((n, from)) = relay.recv_from(&mut buffer).await {
                let to = if from == device {
                    match *stand.lock().unwrap() {
                        Some(stand) => stand,
                        None => continue,
                    }
                } else {
                    *stand.lock().unwrap() = Some(from);
                    device
                };
                let (socket, bytes) = (relay.clone(), buffer[..n].to_vec());
                let delay = slowed.load(Ordering::Relaxed);
                tokio::spawn(async move {
                    if delay {
                        tokio::time::sleep(DEVICE_DELAY).await;
                    }
                    let _ = socket.send_to(&bytes, to).await;
                });
            }
        });
        SlowLink { addr, slow }
    }
}
