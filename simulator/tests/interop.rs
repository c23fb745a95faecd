//! Real third-party CoAP clients against an in-process simulator: the LRS
//! docs' own node-coap example, and libcoap's coap-client. Neither is skipped
//! when missing: the test fails and says how to install it.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use coap_lite::RequestType;
use shared::device::{Envelope, Session};
use simulator::server::{Config, Simulator, SimulatorHandle};
use support::RetryingClient;
use tokio::sync::mpsc;

async fn start() -> SimulatorHandle {
    Simulator::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    })
    .await
    .unwrap()
}

/// Runs a blocking command off the runtime so the simulator keeps serving.
async fn run(mut command: Command) -> Output {
    let description = format!("{command:?}");
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .unwrap_or_else(|_| panic!("{description} did not finish within 60 s"))
    .unwrap();
    output.unwrap_or_else(|error| panic!("could not run {description}: {error}"))
}

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e")
}

fn e2e_with_node_coap() -> PathBuf {
    let e2e = e2e_dir();
    assert!(
        e2e.join("node_modules/coap").is_dir(),
        "e2e/node_modules is missing: run `npm ci` in e2e/ (cd e2e && npm ci) to install node-coap"
    );
    e2e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_node_coap_client_creates_a_session_and_reads_it_back() {
    let e2e = e2e_with_node_coap();
    let simulator = start().await;
    let mut command = Command::new("node");
    command
        .arg(e2e.join("interop/create-and-get.mjs"))
        .arg(simulator.local_addr().port().to_string())
        .args(["66", "Sarah"]);
    let output = run(command).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut lines = stdout.lines();
    let post = lines.next().expect("a POST line");
    assert!(post.starts_with("POST 2.01 {"), "{post}");
    let get = lines.next().expect("a GET line");
    let session: Session =
        serde_json::from_str(get.strip_prefix("GET 2.05 ").expect("GET answered 2.05")).unwrap();
    assert_eq!(
        (session.number, session.party_size, session.goal_in_seconds),
        (66, Some(4), 60)
    );
    assert_eq!(session.label.as_deref(), Some("Sarah"));
    assert_eq!(simulator.state().active, [session]);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_coap_observes_notify_and_receives_session_settings_and_ping_notifications() {
    let e2e = e2e_with_node_coap();
    let simulator = Simulator::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ping_interval: Duration::from_secs(1),
        ..Config::default()
    })
    .await
    .unwrap();
    let port = simulator.local_addr().port();
    let mut child = Command::new("node")
        .arg(e2e.join("interop/observe.mjs"))
        .args([port.to_string(), "3".to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run node");
    let (lines_tx, mut lines) = mpsc::unbounded_channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(10), lines.recv())
            .await
            .expect("node printed nothing for 10 s")
            .expect("node exited early")
    };

    let snapshot = next_line().await;
    let snapshot = Envelope::parse(
        snapshot
            .strip_prefix("SNAPSHOT 2.05 ")
            .expect("registered with 2.05")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(snapshot.response_types, ["sessions", "statistics"]);
    assert_eq!(simulator.observer_count(), 1);

    let mut client = RetryingClient::new(simulator.local_addr()).await;
    client
        .request(RequestType::Post, "/v1/sessions", r#"{"number":8}"#)
        .await;
    client
        .request(RequestType::Post, "/v1/settings", r#"{"systemId":3}"#)
        .await;
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let line = next_line().await;
        let envelope = Envelope::parse(
            line.strip_prefix("NOTIFY ")
                .expect("a notification")
                .as_bytes(),
        )
        .unwrap();
        kinds.push(envelope.response_types.join("+"));
    }
    assert_eq!(kinds, ["sessions+statistics", "settings", "ping"]);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    simulator.shutdown().await;
}

const COAP_CLIENT: &str = "coap-client-notls";

/// `coap-client-notls -v 6` prints every message, e.g.
/// `v:1 t:ACK c:2.05 i:8a35 {01} [ ETag:0xb8d05a9fc124aeb1, … ]`; returns
/// the response code and ETag of the (last) ACK.
async fn libcoap_get(port: u16, etag: Option<&str>) -> (String, Option<String>) {
    let mut command = Command::new(COAP_CLIENT);
    command.args(["-v", "6", "-m", "get"]);
    if let Some(etag) = etag {
        command.args(["-O", &format!("4,0x{etag}")]);
    }
    command.arg(format!("coap://127.0.0.1:{port}/v1/sessions"));
    let output = run(command).await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let ack = text
        .lines()
        .rfind(|line| line.contains("t:ACK"))
        .unwrap_or_else(|| panic!("no ACK in coap-client output:\n{text}"));
    let code = ack
        .split_whitespace()
        .find_map(|w| w.strip_prefix("c:"))
        .unwrap()
        .to_string();
    let etag = ack
        .split(['[', ',', ' ', ']'])
        .find_map(|w| w.strip_prefix("ETag:0x"))
        .map(str::to_string);
    (code, etag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libcoap_revalidates_get_sessions_with_its_etag() {
    assert!(
        Command::new(COAP_CLIENT).arg("-h").output().is_ok(),
        "{COAP_CLIENT} is missing: install Debian's libcoap3-bin (apt-get install libcoap3-bin)"
    );
    let simulator = start().await;
    let port = simulator.local_addr().port();

    let (code, etag) = libcoap_get(port, None).await;
    assert_eq!(code, "2.05");
    let etag = etag.expect("GET /v1/sessions carries an ETag");

    let (code, echoed) = libcoap_get(port, Some(&etag)).await;
    assert_eq!(code, "2.03", "nothing changed");
    assert_eq!(echoed.as_deref(), Some(etag.as_str()));

    let mut create = Command::new(COAP_CLIENT);
    create.args([
        "-m",
        "post",
        "-e",
        r#"{"number":6}"#,
        &format!("coap://127.0.0.1:{port}/v1/sessions"),
    ]);
    run(create).await;
    assert_eq!(simulator.state().active.len(), 1);

    let (code, changed) = libcoap_get(port, Some(&etag)).await;
    assert_eq!(code, "2.05", "a session was created");
    assert_ne!(changed.expect("a new ETag"), etag);
    simulator.shutdown().await;
}
