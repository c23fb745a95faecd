//! Whatever tablets send, the proxy talks CoAP to the configured device and
//! to no one else, and the device hears only well-formed requests.
//!
//! Structurally this holds because the CoAP driver's UDP socket is connected
//! to the device (the OS sends nowhere else) and no command carries an
//! address. This test checks it from outside: hostile frames name a
//! "sniffer" address every way they can, while a wiretap between proxy and
//! simulator records every datagram the proxy sends.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coap_lite::{CoapOption, MessageClass, MessageType, Packet};
use proxy::coap::Config;
use shared::protocol::Command;
use support::{start_coaster, start_simulator, until_live, Tablet};
use tokio::net::UdpSocket;

/// Datagrams the proxy sent, with the address they came from.
type Tapped = Arc<Mutex<Vec<(SocketAddr, Vec<u8>)>>>;

/// Relays between the proxy and the simulator on one socket, recording
/// everything that is not from the simulator.
async fn wiretap(device: SocketAddr) -> (SocketAddr, Tapped) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let tapped = Tapped::default();
    let record = tapped.clone();
    tokio::spawn(async move {
        let mut buf = vec![0; 4096];
        let mut proxy = None;
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if from == device {
                if let Some(proxy) = proxy {
                    let _ = socket.send_to(&buf[..n], proxy).await;
                }
            } else {
                proxy = Some(from);
                record.lock().unwrap().push((from, buf[..n].to_vec()));
                let _ = socket.send_to(&buf[..n], device).await;
            }
        }
    });
    (addr, tapped)
}

fn hostile_frames(sniffer: SocketAddr) -> Vec<String> {
    let ip = sniffer.ip();
    let port = sniffer.port();
    vec![
        format!(
            r#"{{"op":"a","device":"{sniffer}","command":{{"type":"get_settings","host":"{ip}","port":{port}}}}}"#
        ),
        format!(
            r#"{{"op":"b","command":{{"type":"create_session","number":7,"label":"{sniffer}"}}}}"#
        ),
        format!(
            r#"{{"op":"c","command":{{"type":"standalone_page","number":1,"message":"coap://{sniffer}/v1/page"}}}}"#
        ),
        format!(r#"{{"op":"d","command":{{"type":"update_settings","datetime":"{sniffer}"}}}}"#),
        format!(r#"{{"op":"e","command":{{"type":"send_to","address":"{sniffer}"}}}}"#),
        format!(
            r#"{{"op":"f","command":{{"type":"update_session","number":7,"label":"../../{port}?number=1"}}}}"#
        ),
        format!(r#"{{"op":"g","command":{{"type":"page_session","number":{port}}}}}"#),
        format!(
            r#"{{"op":"h","command":{{"type":"update_settings","system_id":{port},"default_target_goal":{port}}}}}"#
        ),
        format!(
            r#"{{"op":"i","command":{{"type":"create_session","number":8,"label":"a\u0000b\r\nHost: {ip}"}}}}"#
        ),
        format!(r#"{{"op":"j","command":"{sniffer}"}}"#),
        format!("coap://{sniffer}/v1/sessions"),
    ]
}

/// What the device may hear: CoAP requests on its own paths with one-line
/// JSON bodies, and empty ACK/RST/ping messages.
fn assert_well_formed(bytes: &[u8]) {
    let packet = Packet::from_bytes(bytes).expect("the proxy sent CoAP");
    match packet.header.code {
        MessageClass::Empty => {}
        MessageClass::Request(_) => {
            assert!(
                matches!(
                    packet.header.get_type(),
                    MessageType::Confirmable | MessageType::NonConfirmable
                ),
                "a request as {:?}",
                packet.header.get_type()
            );
            let path: Vec<String> = packet
                .get_option(CoapOption::UriPath)
                .into_iter()
                .flatten()
                .map(|s| String::from_utf8(s.clone()).expect("a UTF-8 path"))
                .collect();
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            assert!(
                matches!(
                    path.as_slice(),
                    ["v1", "sessions"]
                        | ["v1", "sessions", "history" | "statistics"]
                        | ["v1", "page" | "settings" | "notify"]
                ),
                "a request for {path:?}"
            );
            for query in packet
                .get_option(CoapOption::UriQuery)
                .into_iter()
                .flatten()
            {
                let query = String::from_utf8(query.clone()).expect("a UTF-8 query");
                let ok = query == "action=get_sessions"
                    || query
                        .strip_prefix("number=")
                        .and_then(|n| n.parse::<u32>().ok())
                        .is_some_and(|n| (1..=4095).contains(&n));
                assert!(ok, "a query {query:?}");
            }
            if !packet.payload.is_empty() {
                assert!(
                    !packet.payload.iter().any(u8::is_ascii_control),
                    "a control byte in a body"
                );
                serde_json::from_slice::<serde_json::Value>(&packet.payload).expect("a JSON body");
            }
        }
        other => panic!("the proxy sent {other:?}"),
    }
}

#[tokio::test]
async fn hostile_frames_reach_no_one_but_the_device() {
    let sniffer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sim = start_simulator(|_| {}).await;
    let (tap, tapped) = wiretap(sim.local_addr()).await;
    let coaster = start_coaster(Some(tap), Config::default()).await;
    let frames = hostile_frames(sniffer.local_addr().unwrap());
    let mut tablets = Vec::new();
    for name in ["t1", "t2", "t3"] {
        let mut tablet = Tablet::connect(coaster.addr, name).await;
        until_live(&mut tablet).await;
        tablets.push(tablet);
    }
    for tablet in &mut tablets {
        for frame in &frames {
            tablet.send_raw(frame).await;
        }
    }
    // Frames are handled in order: once this is answered, all were.
    for tablet in &mut tablets {
        assert!(tablet.run(Command::GetSettings).await.is_acknowledged());
    }
    let mut buf = [0; 2048];
    let heard = tokio::time::timeout(Duration::from_millis(500), sniffer.recv_from(&mut buf)).await;
    assert!(heard.is_err(), "the sniffer received {heard:?}");
    let tapped = tapped.lock().unwrap().clone();
    assert!(tapped.len() > 10, "the wiretap saw only {}", tapped.len());
    for (from, bytes) in &tapped {
        assert_eq!(*from, coaster.coap_addr);
        assert_well_formed(bytes);
    }
    coaster.shutdown().await;
}
