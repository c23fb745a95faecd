//! Issue 14's PIN and token findings, each reproduced against the real
//! `coaster` binary: guessing from rotating addresses, the PIN recoverable
//! from the data directory, an empty token let in, a cross-site login, the
//! token in the URL, a lost tablet that could not be signed out, a stand
//! listening off loopback with no PIN.

mod stand;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256, Sha512};
use stand::{coaster, refused_start, status_and_body, temp_dir, Stand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const PIN: &str = "739164";

fn start(data_dir: &std::path::Path) -> Stand {
    Stand::launch(coaster(data_dir, &[], Some(PIN)))
}

/// One HTTP/1.1 exchange from the source address `from`; (status, body).
/// From the stand's own page (its Origin) unless `head` names another.
async fn http_from(from: IpAddr, to: SocketAddr, head: &str, body: &str) -> (u16, String) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut tcp = socket.connect(to).await.unwrap();
    let origin = if head.contains("\r\nOrigin:") {
        String::new()
    } else {
        format!("\r\nOrigin: http://{to}")
    };
    let request = format!(
        "{head}{origin}\r\nHost: {to}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.unwrap();
    status_and_body(&response)
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn login(stand: &Stand, from: IpAddr, pin: &str) -> (u16, String) {
    let body = format!(r#"{{"pin":"{pin}","name":"Test tablet"}}"#);
    http_from(
        from,
        stand.addr,
        "POST /api/login HTTP/1.1\r\nContent-Type: application/json",
        &body,
    )
    .await
}

async fn token(stand: &Stand, name: &str) -> String {
    let body = format!(r#"{{"pin":"{PIN}","name":"{name}"}}"#);
    let (status, body) = http_from(
        LOOPBACK,
        stand.addr,
        "POST /api/login HTTP/1.1\r\nContent-Type: application/json",
        &body,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    value["token"].as_str().unwrap().to_string()
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// A WebSocket whose first frame is `first`.
async fn websocket(stand: &Stand, path: &str, first: Option<String>) -> Ws {
    let mut request = format!("ws://{}{path}", stand.addr)
        .into_client_request()
        .unwrap();
    let origin = format!("http://{}", stand.addr).parse().unwrap();
    request.headers_mut().insert("Origin", origin);
    let tcp = TcpStream::connect(stand.addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    if let Some(first) = first {
        ws.send(Message::Text(first.into())).await.unwrap();
    }
    ws
}

fn auth(token: &str) -> Option<String> {
    Some(serde_json::json!({ "type": "auth", "token": token }).to_string())
}

/// The next text frame's `type`, or `None` when the stand closed the socket.
async fn next_type(ws: &mut Ws) -> Option<String> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an answer within 10 s");
        match frame {
            Some(Ok(Message::Text(text))) => {
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                return Some(value["type"].as_str().unwrap().to_string());
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// The finding: rotating source addresses walked a 4-digit PIN in 3.7 s.
#[tokio::test]
async fn guessing_from_rotating_addresses_gets_a_handful_of_tries() {
    let dir = temp_dir("rotate");
    let stand = start(&dir);
    let started = Instant::now();
    let mut evaluated = 0;
    for i in 0..60u8 {
        let from = IpAddr::V4(Ipv4Addr::new(127, 20, i / 16, 1 + i % 16));
        let (status, body) = login(&stand, from, &format!("{:06}", i)).await;
        match status {
            401 => evaluated += 1,
            429 => assert!(body.contains("locked_out"), "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    // Even the right PIN, from yet another address, waits its turn now.
    let (status, body) = login(&stand, IpAddr::V4(Ipv4Addr::new(127, 21, 0, 1)), PIN).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 429, "{body}");
    // Six free, then waits of 1, 2, 4, 8 s …
    let allowed = 6 + (elapsed.as_secs_f64() + 1.0).log2().ceil() as u32 + 1;
    assert!(evaluated <= allowed, "{evaluated} guesses in {elapsed:?}");
    assert!(evaluated <= 11, "{evaluated} guesses in {elapsed:?}");
    eprintln!("{evaluated} of 60 guesses from 60 addresses were checked in {elapsed:?}");
    assert!(stand.log().contains("every login waits"), "{}", stand.log());
    drop(stand);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The finding: the token file was named with an unsalted hash of the PIN.
#[tokio::test]
async fn nothing_in_the_data_directory_gives_the_pin_away() {
    let dir = temp_dir("pin-at-rest");
    std::fs::create_dir_all(&dir).unwrap();
    // What an older Coaster left behind: plain tokens under the PIN's hash.
    std::fs::write(
        dir.join("tokens-0123456789abcdef"),
        "0123456789abcdef0123456789abcdef\n",
    )
    .unwrap();
    let stand = start(&dir);
    let token = token(&stand, "Bar").await;
    let mut ws = websocket(&stand, "/ws", auth(&token)).await;
    assert_eq!(next_type(&mut ws).await.as_deref(), Some("hello"));
    drop(ws);
    drop(stand);

    let mut forbidden: Vec<Vec<u8>> = vec![PIN.into(), token.clone().into()];
    for digest in [Sha256::digest(PIN).to_vec(), Sha512::digest(PIN).to_vec()] {
        forbidden.push(digest.clone());
        forbidden.push(proxy::tokens::hex(&digest).into_bytes());
        forbidden.push(proxy::tokens::hex(&digest).to_uppercase().into_bytes());
    }
    for hasher_input in [PIN.to_string(), format!("{PIN}\n")] {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        hasher_input.hash(&mut hasher);
        forbidden.push(format!("{:016x}", hasher.finish()).into_bytes());
    }
    let mut files = 0;
    for path in walk(&dir) {
        files += 1;
        let mut bytes = path.to_string_lossy().as_bytes().to_vec();
        bytes.extend(std::fs::read(&path).unwrap());
        for needle in &forbidden {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{} holds {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    assert!(files >= 1);
    assert!(
        !dir.join("tokens-0123456789abcdef").exists(),
        "the old token file was kept"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("tablets")), 0o700);
        assert_eq!(mode(&dir.join("tablets/tokens.jsonl")), 0o600);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The finding: a blank line in the token file made an empty token valid.
#[tokio::test]
async fn an_empty_token_is_refused() {
    let dir = temp_dir("empty-token");
    std::fs::create_dir_all(dir.join("tablets")).unwrap();
    let empty = proxy::tokens::hex(&Sha256::digest(b""));
    let bound = proxy::tokens::hex(&Sha256::digest(format!("\0{PIN}")));
    std::fs::write(
        dir.join("tablets/tokens.jsonl"),
        format!("\n\n   \n{{}}\n{{\"id\":\"e\",\"hash\":\"{empty}\",\"pin_binding\":\"{bound}\",\"name\":\"\",\"created_ms\":9999999999999,\"last_seen_ms\":9999999999999}}\n"),
    )
    .unwrap();
    let stand = start(&dir);
    for header in [
        "",
        "Authorization: Bearer \r\n",
        "Authorization: Bearer\r\n",
        "Authorization: \r\n",
    ] {
        let head = format!("GET /api/session HTTP/1.1\r\n{header}");
        let (status, _) = http_from(LOOPBACK, stand.addr, head.trim_end(), "").await;
        assert_eq!(status, 401, "{header:?}");
    }
    let mut ws = websocket(&stand, "/ws", auth("")).await;
    assert_eq!(
        next_type(&mut ws).await,
        None,
        "an empty token opened the board"
    );
    let mut ws = websocket(&stand, "/ws", Some(r#"{"type":"auth"}"#.into())).await;
    assert_eq!(next_type(&mut ws).await, None);
    drop(stand);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The findings: `?token=` in the URL (which `?ws=` could send anywhere),
/// and a board served before the tablet said who it is.
#[tokio::test]
async fn the_token_counts_only_in_the_first_frame() {
    let dir = temp_dir("first-frame");
    let stand = start(&dir);
    let token = token(&stand, "Bar").await;
    let mut in_url = websocket(&stand, &format!("/ws?token={token}"), None).await;
    in_url
        .send(Message::Text(
            r#"{"op":"a","command":{"type":"get_settings"}}"#.into(),
        ))
        .await
        .unwrap();
    assert_eq!(
        next_type(&mut in_url).await,
        None,
        "a command before the token was taken"
    );
    let head = format!("GET /api/session?token={token} HTTP/1.1");
    assert_eq!(http_from(LOOPBACK, stand.addr, &head, "").await.0, 401);
    let mut ws = websocket(&stand, "/ws", auth(&token)).await;
    assert_eq!(next_type(&mut ws).await.as_deref(), Some("hello"));
    drop(stand);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The finding: `/api/login` took a cross-site `text/plain` POST.
#[tokio::test]
async fn login_refuses_what_a_cross_site_form_can_send() {
    let dir = temp_dir("form");
    let stand = start(&dir);
    let body = format!(r#"{{"pin":"{PIN}"}}"#);
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        // Even from the stand's own page, only JSON is a login.
        let head = format!("POST /api/login HTTP/1.1\r\nContent-Type: {content_type}");
        let (status, answer) = http_from(LOOPBACK, stand.addr, &head, &body).await;
        assert_eq!(status, 415, "{content_type}: {answer}");
        // And from another site's page, nothing is.
        let head = format!("POST /api/login HTTP/1.1\r\nContent-Type: {content_type}\r\nOrigin: https://evil.example");
        let (status, answer) = http_from(LOOPBACK, stand.addr, &head, &body).await;
        assert_eq!(status, 403, "{content_type}: {answer}");
    }
    drop(stand);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The finding: a lost tablet could only be signed out by changing the PIN
/// for everyone. Now any tablet signs it out, and its open board closes.
#[tokio::test]
async fn a_lost_tablet_is_signed_out_from_another() {
    let dir = temp_dir("sign-out");
    let stand = start(&dir);
    let (bar, lost) = (token(&stand, "Bar").await, token(&stand, "Lost iPad").await);
    let mut lost_ws = websocket(&stand, "/ws", auth(&lost)).await;
    assert_eq!(next_type(&mut lost_ws).await.as_deref(), Some("hello"));
    let mut ws = websocket(&stand, "/ws", auth(&bar)).await;
    ws.send(Message::Text(r#"{"type":"list_tablets"}"#.into()))
        .await
        .unwrap();
    let tablets = loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!()
        };
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        if value["type"] == "tablets" {
            break value["tablets"].as_array().unwrap().clone();
        }
    };
    assert_eq!(tablets.len(), 2, "{tablets:?}");
    let lost_id = tablets.iter().find(|t| t["name"] == "Lost iPad").unwrap()["id"].clone();
    let sign_out = serde_json::json!({ "type": "sign_out", "id": lost_id });
    ws.send(Message::Text(sign_out.to_string().into()))
        .await
        .unwrap();
    // Its open board closes; its token opens nothing any more.
    while next_type(&mut lost_ws).await.is_some() {}
    let mut again = websocket(&stand, "/ws", auth(&lost)).await;
    assert_eq!(next_type(&mut again).await, None);
    let mut still = websocket(&stand, "/ws", auth(&bar)).await;
    assert_eq!(next_type(&mut still).await.as_deref(), Some("hello"));
    drop(stand);

    // And after a restart, with --token-days keeping it.
    let stand = Stand::launch(coaster(&dir, &["--token-days", "30"], Some(PIN)));
    let mut ws = websocket(&stand, "/ws", auth(&bar)).await;
    assert_eq!(next_type(&mut ws).await.as_deref(), Some("hello"));
    drop(stand);

    // A new PIN signs every tablet out.
    let stand = Stand::launch(coaster(&dir, &[], Some("864209")));
    let mut ws = websocket(&stand, "/ws", auth(&bar)).await;
    assert_eq!(next_type(&mut ws).await, None);
    drop(stand);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The findings: a stand could listen off loopback with no PIN (only a
/// warning), a 4-digit PIN was enough, and `--pin` showed in `ps`.
#[test]
fn the_pin_is_required_off_loopback_long_and_never_on_the_command_line() {
    let dir = temp_dir("no-pin");
    // 192.0.2.1 is not this machine's: were the PIN check missing, the
    // bind would fail with a different message.
    let off_loopback = ["--listen", "192.0.2.1:8443"];
    let (code, stderr) = refused_start(coaster(&dir, &off_loopback, None));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("COASTER_PIN") && stderr.contains("--pin-file"),
        "{stderr}"
    );

    let (code, stderr) = refused_start(coaster(&dir, &[], Some("2468")));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("6 to 12 digits"), "{stderr}");

    let (code, stderr) = refused_start(coaster(&dir, &["--pin", PIN], None));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("--pin"), "{stderr}");

    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pin");
    std::fs::write(&file, format!("{PIN}\n")).unwrap();
    let pin_file = file.to_str().unwrap();
    let stand = Stand::launch(coaster(&dir, &["--pin-file", pin_file], None));
    drop(stand);
    let (code, stderr) = refused_start(coaster(&dir, &["--pin-file", pin_file], Some(PIN)));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not both"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}
