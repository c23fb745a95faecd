//! The `t7470-sim` program: it announces its address on the first stdout
//! line, serves, refuses bad flags clearly, and exits cleanly on SIGTERM.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coap_lite::{MessageClass, RequestType, ResponseType};
use support::RetryingClient;

const BINARY: &str = env!("CARGO_BIN_EXE_t7470-sim");

#[tokio::test]
async fn serves_on_the_announced_port_and_exits_on_sigterm() {
    let mut child = Command::new(BINARY)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "4",
            "--ping-interval",
            "5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let addr: SocketAddr = first_line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
        .parse()
        .unwrap();
    assert_ne!(addr.port(), 0);

    let mut client = RetryingClient::new(addr).await;
    let response = client.request(RequestType::Get, "/v1/settings", "").await;
    assert_eq!(
        response.header.code,
        MessageClass::Response(ResponseType::Content)
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "no exit within 10 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn bad_flag_values_are_refused_with_a_clear_message() {
    for (flag, value, expected) in [
        ("--loss", "1.5", "not a probability"),
        ("--loss", "lots", "not a number"),
        ("--reboot-after", "0", "--reboot-after"),
        ("--ping-interval", "0", "--ping-interval"),
        ("--listen", "localhost", "--listen"),
    ] {
        let output = Command::new(BINARY).args([flag, value]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{flag} {value}: {stderr}");
    }
}
