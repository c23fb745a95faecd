//! The stand on a LAN: HTTPS with Coaster's own CA, the venue PIN, tokens,
//! the wrong-PIN lockout and the WebSocket's Origin check — over real TLS.

mod stand;

use futures_util::{SinkExt, StreamExt};
use proxy::app::{Options, Running, Tls};
use stand::{status_and_body, tls_connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const PIN: &str = "246813";

async fn start(data_dir: &std::path::Path) -> Running {
    proxy::app::start(Options {
        tls: Tls::LocalAuthority,
        pin: Some(PIN.into()),
        data_dir: data_dir.to_path_buf(),
        ..Options::local(None, std::env::temp_dir().join("coaster-tests-no-dist"))
    })
    .await
    .expect("coaster starts with TLS")
}

/// One HTTP/1.1 exchange; returns (status, body).
async fn http(
    running: &Running,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let mut tls = tls_connect(running.addr, running.ca_pem.as_ref().unwrap().as_bytes())
        .await
        .expect("the certificate is trusted through Coaster's CA");
    let port = running.addr.port();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: https://localhost:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    status_and_body(&response)
}

/// The first answer to a WebSocket whose first frame carries `token`: a
/// message, or the HTTP status or close code that refused it.
async fn websocket(running: &Running, token: Option<&str>, origin: &str) -> Result<Message, u16> {
    let tls = tls_connect(running.addr, running.ca_pem.as_ref().unwrap().as_bytes())
        .await
        .expect("the certificate is trusted through Coaster's CA");
    let path = format!("wss://localhost:{}/ws", running.addr.port());
    let mut request = path.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    match tokio_tungstenite::client_async(request, tls).await {
        Ok((mut ws, _)) => {
            let auth = serde_json::json!({ "type": "auth", "token": token.unwrap_or_default() });
            ws.send(Message::Text(auth.to_string().into()))
                .await
                .unwrap();
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => Err(frame.code.into()),
                Some(Ok(message)) => Ok(message),
                other => panic!("unexpected WebSocket answer: {other:?}"),
            }
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("unexpected WebSocket failure: {other}"),
    }
}

fn token_of(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_pin_buys_a_token_that_opens_the_websocket_over_tls() {
    let dir = std::env::temp_dir().join(format!("coaster-access-{}", proxy::auth::new_token()));
    let running = start(&dir).await;
    assert_eq!(running.scheme, "https");
    let origin = format!("https://localhost:{}", running.addr.port());

    assert_eq!(http(&running, "GET", "/api/session", "", "").await.0, 401);
    let (status, body) = http(&running, "POST", "/api/login", "", r#"{"pin":"1111"}"#).await;
    assert_eq!(status, 401);
    assert!(body.contains(r#""tries_left":4"#), "{body}");
    let (status, body) = http(
        &running,
        "POST",
        "/api/login",
        "",
        &format!(r#"{{"pin":"{PIN}"}}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = token_of(&body);
    let bearer = format!("Authorization: Bearer {token}\r\n");
    assert_eq!(
        http(&running, "GET", "/api/session", &bearer, "").await.0,
        200
    );

    // The WebSocket: no token, a wrong one, a foreign page, then the tablet itself.
    assert_eq!(websocket(&running, None, &origin).await, Err(1008));
    assert_eq!(
        websocket(&running, Some(&"0".repeat(32)), &origin).await,
        Err(1008)
    );
    assert_eq!(
        websocket(&running, Some(&token), "https://evil.example").await,
        Err(403)
    );
    let hello = websocket(&running, Some(&token), &origin).await.unwrap();
    assert!(hello.to_text().unwrap().contains(r#""type":"hello""#));

    // The CA is offered for download, with a page saying how to install it.
    let (status, pem) = http(&running, "GET", "/ca.crt", "", "").await;
    assert_eq!(
        (status, pem.trim()),
        (200, running.ca_pem.as_deref().unwrap().trim())
    );
    let (_, page) = http(&running, "GET", "/ca", "", "").await;
    assert!(page.contains("iPad") && page.contains("Android"));
    // iPadOS's own words for each step (docs/webkit.md says where they come from).
    for step in [
        "Profile Downloaded",
        "VPN &amp; Device Management",
        "General → About → <b>Certificate Trust Settings</b>",
        "Enable full trust for root certificates",
        "Add to Home Screen",
    ] {
        assert!(page.contains(step), "the /ca page lacks {step:?}");
    }
    // With the fingerprint staff compare on the tablet.
    let ca_der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    assert!(page.contains(&proxy::tls::fingerprint(&ca_der)), "{page}");
    running.shutdown().await;

    // A restarted Coaster keeps its CA and still knows the tablet.
    let again = start(&dir).await;
    assert_eq!(again.ca_pem.as_deref().map(str::trim), Some(pem.trim()));
    assert_eq!(
        http(&again, "GET", "/api/session", &bearer, "").await.0,
        200
    );
    again.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn wrong_pins_lock_the_address_out() {
    let dir = std::env::temp_dir().join(format!("coaster-access-{}", proxy::auth::new_token()));
    let running = start(&dir).await;
    for _ in 0..proxy::auth::WRONG_PINS_ALLOWED {
        assert_eq!(
            http(&running, "POST", "/api/login", "", r#"{"pin":"0000"}"#)
                .await
                .0,
            401
        );
    }
    let (status, body) = http(
        &running,
        "POST",
        "/api/login",
        "",
        &format!(r#"{{"pin":"{PIN}"}}"#),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("locked_out"));
    assert_eq!(
        http(&running, "POST", "/api/login", "", "not json").await.0,
        400
    );
    running.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let error = proxy::app::start(Options {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..Options::local(None, std::env::temp_dir())
    })
    .await
    .err()
    .expect("plain HTTP on every interface is refused");
    assert!(error.to_string().contains("only for loopback"), "{error}");
}
