//! The stand under abuse, as the real `coaster` binary: pipelined and
//! malformed requests, oversized heads and bodies, path traversal in every
//! spelling, a wrong WebSocket version, DNS-rebinding Host and Origin, slow
//! and idle connection floods. Each is answered as specified, nothing
//! crashes, and a tablet keeps its board throughout.

mod stand;

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;
use stand::{exchange, request, tablet, until_type, Stand, APP_JS, INDEX_HTML, SECRET};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TABLET: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
const FLOODER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let mut stand = Stand::start(&[]);
    let host = stand.host();
    let raw = format!(
        "GET /index.html HTTP/1.1\r\nHost: {host}\r\n\r\nHEAD /app.js HTTP/1.1\r\nHost: {host}\r\n\r\nGET /nothing-here HTTP/1.1\r\nHost: {host}\r\n\r\nGET /app.js HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    let responses = exchange(stand.addr, raw.as_bytes(), &[false, true, false, false]).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 404, 200]);
    assert_eq!(responses[0].text(), INDEX_HTML);
    // HEAD: the GET's headers, no body.
    assert_eq!(
        responses[1].header("content-length"),
        Some(APP_JS.len().to_string().as_str())
    );
    assert!(responses[1].body.is_empty());
    assert_eq!(responses[3].text(), APP_JS);
    assert!(stand.alive());
}

#[tokio::test]
async fn oversized_heads_get_431_and_bodies_413_and_wrong_methods_405() {
    let mut stand = Stand::start(&[]);
    let host = stand.host();
    let long = "x".repeat(20 * 1024);
    let response = request(
        stand.addr,
        &format!("GET / HTTP/1.1\r\nHost: {host}\r\nX-Long: {long}"),
    )
    .await;
    assert_eq!(response.status, 431);
    let many: String = (0..100).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let response = request(
        stand.addr,
        &format!("GET / HTTP/1.1\r\nHost: {host}\r\n{}", many.trim_end()),
    )
    .await;
    assert_eq!(response.status, 431);

    let origin = stand.origin();
    let response = request(
        stand.addr,
        &format!("POST /api/login HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Length: 100000"),
    )
    .await;
    assert_eq!(response.status, 413);
    // Chunked, so the size is only known while reading.
    let chunk = "a".repeat(4000);
    let raw = format!(
        "POST /api/login HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    assert_eq!(
        exchange(stand.addr, raw.as_bytes(), &[false]).await[0].status,
        413
    );
    let response = request(
        stand.addr,
        &format!("GET / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 10"),
    )
    .await;
    assert_eq!(response.status, 413);
    let response = request(
        stand.addr,
        &format!("DELETE /index.html HTTP/1.1\r\nHost: {host}"),
    )
    .await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    let response = request(
        stand.addr,
        &format!("GET /api/login HTTP/1.1\r\nHost: {host}"),
    )
    .await;
    assert_eq!(response.status, 405);
    // Garbage is a 400, not a crash.
    let garbage = exchange(stand.addr, b"\x00\x01\x02 nonsense\r\n\r\n", &[false]).await;
    assert_eq!(garbage[0].status, 400);
    assert!(stand.log().contains("(413)"));
    assert!(stand.alive());
}

#[tokio::test]
async fn path_traversal_in_every_spelling_reaches_nothing() {
    let mut stand = Stand::start(&[]);
    let host = stand.host();
    let port = stand.addr.port();
    let absolute = format!("http://{host}/../secret.txt");
    let absolute_encoded = format!("http://127.0.0.1:{port}/%2e%2e/secret.txt");
    let paths = [
        "/../secret.txt",
        "/./../secret.txt",
        "/app.js/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/%252e%252e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/..%c0%afsecret.txt",
        "//secret.txt",
        "/secret.txt",
        "/index.html%00/../../secret.txt",
        "..%2fsecret.txt",
        &absolute,
        &absolute_encoded,
    ];
    for path in paths {
        let response = request(stand.addr, &format!("GET {path} HTTP/1.1\r\nHost: {host}")).await;
        assert!(
            matches!(response.status, 400 | 404),
            "{path}: {}",
            response.status
        );
        assert!(!response.text().contains(SECRET), "{path} leaked the file");
    }
    assert!(stand.alive());
}

#[tokio::test]
async fn websocket_upgrades_must_be_version_13_and_complete() {
    let mut stand = Stand::start(&[]);
    let (host, origin) = (stand.host(), stand.origin());
    let upgrade = |version: &str| {
        format!("GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}")
    };
    let response = request(stand.addr, &upgrade("8")).await;
    assert_eq!(response.status, 426);
    assert_eq!(response.header("sec-websocket-version"), Some("13"));
    let plain = request(
        stand.addr,
        &format!("GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}"),
    )
    .await;
    assert_eq!(plain.status, 426);
    let response = request(
        stand.addr,
        &upgrade("13").replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
    )
    .await;
    assert_eq!(response.status, 400);
    let response = request(stand.addr, &upgrade("13")).await;
    assert_eq!(response.status, 101);
    assert_eq!(
        response.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert!(stand.alive());
}

#[tokio::test]
async fn rebinding_hosts_and_origins_are_refused() {
    let mut stand = Stand::start(&[]);
    let (host, origin) = (stand.host(), stand.origin());
    let port = stand.addr.port();
    // A page on evil.example whose name now points at 127.0.0.1.
    for evil_host in [
        format!("evil.example:{port}"),
        "evil.example".into(),
        format!("127.0.0.1.evil.example:{port}"),
    ] {
        let response = request(stand.addr, &format!("GET / HTTP/1.1\r\nHost: {evil_host}")).await;
        assert_eq!(response.status, 421, "{evil_host}");
    }
    assert_eq!(request(stand.addr, "GET / HTTP/1.0").await.status, 400);
    let ws = |host: &str, origin: Option<&str>| {
        let origin = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        format!("GET /ws HTTP/1.1\r\nHost: {host}\r\n{origin}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13")
    };
    let evil_origin = format!("http://evil.example:{port}");
    let evil_host = format!("evil.example:{port}");
    assert_eq!(
        request(stand.addr, &ws(&evil_host, Some(&evil_origin)))
            .await
            .status,
        421
    );
    assert_eq!(
        request(stand.addr, &ws(&host, Some(&evil_origin)))
            .await
            .status,
        403
    );
    assert_eq!(request(stand.addr, &ws(&host, None)).await.status, 403);
    assert_eq!(
        request(stand.addr, &ws(&host, Some("null"))).await.status,
        403
    );
    assert_eq!(
        request(stand.addr, &ws(&host, Some(&origin))).await.status,
        101
    );

    let login = |origin: Option<&str>| {
        let origin = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        format!("POST /api/login HTTP/1.1\r\nHost: {host}\r\n{origin}Content-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{{\"pin\":\"1234\"}}")
    };
    for (origin, status) in [
        (Some(evil_origin.as_str()), 403),
        (None, 403),
        (Some(origin.as_str()), 200),
    ] {
        let response = exchange(stand.addr, login(origin).as_bytes(), &[false]).await;
        assert_eq!(response[0].status, status, "{origin:?}");
    }
    let log = stand.log();
    assert!(log.contains("(421)") && log.contains("(403)"), "{log}");
    assert!(stand.alive());
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let stand = Stand::start(&[]);
    let host = stand.host();
    let page = request(stand.addr, &format!("GET / HTTP/1.1\r\nHost: {host}")).await;
    let csp = page.header("content-security-policy").expect("a CSP");
    // sha256 of "window.ok = 1;", the page's one inline script.
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{host}")),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let ca = request(stand.addr, &format!("GET /ca HTTP/1.1\r\nHost: {host}")).await;
    assert!(ca
        .header("content-security-policy")
        .unwrap()
        .contains("style-src 'sha256-"));
    let missing = request(stand.addr, &format!("GET /nope HTTP/1.1\r\nHost: {host}")).await;
    assert_eq!(missing.header("x-content-type-options"), Some("nosniff"));
}

/// ~1,000 connections from one address, idle or sending their head a byte
/// at a time, while a tablet on another address keeps its board, pages, and
/// a page still loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_from_one_address_leaves_a_tablet_its_board() {
    // This test process needs its own ~1,000 descriptors.
    proxy::limits::raise_open_file_limit();
    let mut stand = Stand::start(&[]);
    let mut ws = tablet(&stand, TABLET).await;
    until_type(&mut ws, "snapshot").await;

    let mut flood = Vec::new();
    for i in 0..1000 {
        let Ok(mut socket) = stand::connect_from(FLOODER, stand.addr).await else {
            continue;
        };
        if i % 2 == 0 {
            // Slowloris: a head that never ends.
            let _ = socket
                .write_all(format!("GET / HTTP/1.1\r\nHost: {}\r\n", stand.host()).as_bytes())
                .await;
        }
        flood.push(socket);
    }
    // The stand turns the excess away at once, with a status where it can.
    let mut refused = 0;
    let mut answer = [0u8; 64];
    for socket in flood.iter_mut().skip(100) {
        match tokio::time::timeout(Duration::from_millis(20), socket.read(&mut answer)).await {
            // A status, or closed (reset when its head was left unread).
            Ok(Ok(n)) if n == 0 || answer.starts_with(b"HTTP/1.1 503") => refused += 1,
            Ok(Err(_)) => refused += 1,
            _ => {}
        }
    }
    assert!(
        refused >= 800,
        "only {refused} of the flood's excess were refused"
    );

    // Meanwhile the tablet works: a command, its verdict and the new row.
    stand::send(
        &mut ws,
        json!({"op": "t-1", "command": {"type": "create_session", "number": 7}}),
    )
    .await;
    let reply = until_type(&mut ws, "reply").await;
    assert_eq!(reply["verdict"]["outcome"], "acknowledged", "{reply}");
    // And a page loads from a third address.
    let mut page = stand::connect_from("127.0.0.3".parse().unwrap(), stand.addr)
        .await
        .unwrap();
    page.write_all(
        format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            stand.host()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut text = String::new();
    page.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");

    // The slow heads and the idle admitted ones are closed by the head timeout.
    let mut slow: Vec<_> = flood.into_iter().take(40).collect();
    for socket in &mut slow {
        let closed = tokio::time::timeout(Duration::from_secs(15), socket.read(&mut answer)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "a connection outlived the head timeout"
        );
    }
    // The tablet was kept all along and still works.
    stand::send(
        &mut ws,
        json!({"op": "t-2", "command": {"type": "page_session", "number": 7}}),
    )
    .await;
    let reply = until_type(&mut ws, "reply").await;
    assert_eq!(reply["verdict"]["outcome"], "acknowledged", "{reply}");
    let log = stand.log();
    assert!(
        log.contains("refused a connection: too many connections from your address"),
        "{log}"
    );
    assert!(
        log.contains("no request head within the time allowed"),
        "{log}"
    );
    assert!(stand.alive());
}

#[tokio::test]
async fn tablets_beyond_the_cap_are_refused_and_the_others_kept() {
    let mut stand = Stand::start(&["--max-tablets", "2"]);
    let mut first = tablet(&stand, TABLET).await;
    let _second = tablet(&stand, TABLET).await;
    let (host, origin) = (stand.host(), stand.origin());
    let third = request(stand.addr, &format!("GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13")).await;
    assert_eq!(third.status, 503);
    assert!(stand.log().contains("refused a tablet"));
    until_type(&mut first, "snapshot").await;
    stand::send(
        &mut first,
        json!({"op": "t-1", "command": {"type": "create_session", "number": 3}}),
    )
    .await;
    assert_eq!(
        until_type(&mut first, "reply").await["verdict"]["outcome"],
        "acknowledged"
    );
    assert!(stand.alive());
}
