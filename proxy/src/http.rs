//! The one port tablets talk to: the built app, the venue-PIN login, the
//! local CA for download, and the WebSocket at `/ws` — over TLS except on
//! loopback. A listener task accepts connections and spawns one handler task
//! each; shutdown arrives on a watch channel.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::assets::{Assets, Encoding};
use crate::auth::{new_token, Access, Login};
use crate::ws::{self, Tablets};

const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_BODY_BYTES: usize = 1024;
/// An idle keep-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A TLS handshake that takes longer than this is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Site {
    pub assets: Assets,
    pub tablets: Arc<Tablets>,
    pub access: Mutex<Access>,
    /// Where granted tokens are kept across restarts, if anywhere.
    pub token_file: Option<std::path::PathBuf>,
    /// The local CA's certificate, offered at `/ca.crt` when Coaster made it.
    pub ca_pem: Option<String>,
    pub tls: Option<TlsAcceptor>,
}

pub async fn run(listener: TcpListener, site: Arc<Site>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let site = site.clone();
                    tokio::spawn(async move {
                        let result = match &site.tls {
                            Some(acceptor) => {
                                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                    Ok(Ok(tls)) => handle(tls, peer, site.clone()).await,
                                    Ok(Err(error)) => Err(error),
                                    Err(_) => Ok(()),
                                }
                            }
                            None => handle(stream, peer, site.clone()).await,
                        };
                        if let Err(error) = result {
                            tracing::debug!(%peer, %error, "connection ended");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off, don't spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

#[derive(Default)]
struct Request {
    method: String,
    path: String,
    upgrade_websocket: bool,
    websocket_key: Option<String>,
    close: bool,
    origin: Option<String>,
    host: Option<String>,
    accept_encoding: Option<String>,
    authorization: Option<String>,
    content_length: usize,
    /// Bytes after the head that belong to the body.
    body: Vec<u8>,
}

impl Request {
    fn query(&self, name: &str) -> Option<&str> {
        let (_, query) = self.path.split_once('?')?;
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    }

    fn route(&self) -> &str {
        self.path.split(['?', '#']).next().unwrap_or("/")
    }

    fn token(&self) -> Option<&str> {
        self.authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .or_else(|| self.query("token"))
    }
}

struct Reply {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn new(status: &'static str, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status,
            content_type,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    fn json(status: &'static str, value: serde_json::Value) -> Self {
        let mut reply = Reply::new(status, "application/json", value.to_string());
        reply.headers.push(("Cache-Control", "no-store".into()));
        reply
    }
}

async fn handle<S>(mut stream: S, peer: SocketAddr, site: Arc<Site>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let request = match tokio::time::timeout(
            IDLE_TIMEOUT,
            read_request(&mut stream, &mut buffer),
        )
        .await
        {
            Ok(Ok(Some(request))) => request,
            Ok(Ok(None)) | Err(_) => return Ok(()),
            Ok(Err(error)) => {
                let reply = Reply::new("400 Bad Request", "text/plain", "bad request");
                write_reply(&mut stream, reply, false).await?;
                return Err(error);
            }
        };
        if request.route() == "/ws" {
            if let Some(refusal) = refuse_websocket(&request, &site) {
                return write_reply(&mut stream, refusal, false).await;
            }
            let key = request.websocket_key.as_deref().unwrap_or_default();
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                derive_accept_key(key.as_bytes())
            );
            stream.write_all(head.as_bytes()).await?;
            let ws =
                WebSocketStream::from_raw_socket(stream, Role::Server, Some(ws::config())).await;
            let identity = ws::identity(request.token(), peer);
            ws::serve(ws, site.tablets.clone(), identity).await;
            return Ok(());
        }
        let head_only = request.method == "HEAD";
        let reply = respond(&request, peer.ip(), &site);
        write_reply(&mut stream, reply, head_only).await?;
        if request.close {
            return Ok(());
        }
    }
}

/// Why a WebSocket upgrade is refused, if it is.
fn refuse_websocket(request: &Request, site: &Site) -> Option<Reply> {
    if !request.upgrade_websocket || request.websocket_key.is_none() {
        return Some(Reply::new(
            "426 Upgrade Required",
            "text/plain",
            "WebSocket only",
        ));
    }
    // A browser always names the page's origin; a page from anywhere else
    // must not drive this stand's pagers with a tablet's token.
    if let (Some(origin), Some(host)) = (&request.origin, &request.host) {
        if !origin_allowed(origin, host, site.tls.is_some()) {
            tracing::warn!(%origin, "refused a WebSocket from a foreign origin");
            return Some(Reply::new("403 Forbidden", "text/plain", "foreign origin"));
        }
    }
    if !site
        .access
        .lock()
        .expect("access lock")
        .admits(request.token())
    {
        return Some(Reply::new(
            "401 Unauthorized",
            "text/plain",
            "venue PIN required",
        ));
    }
    None
}

/// The page's own origin; and, on plain-HTTP loopback (development only),
/// any loopback page, so `trunk serve` on its own port can forward `/ws` here.
fn origin_allowed(origin: &str, host: &str, tls: bool) -> bool {
    let scheme = if tls { "https" } else { "http" };
    if origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")) {
        return true;
    }
    let Some(rest) = origin.strip_prefix("http://").filter(|_| !tls) else {
        return false;
    };
    let origin_host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
    matches!(origin_host, "localhost" | "127.0.0.1" | "[::1]")
}

fn respond(request: &Request, from: IpAddr, site: &Site) -> Reply {
    match (request.method.as_str(), request.route()) {
        ("POST", "/api/login") => login(request, from, site),
        ("GET" | "HEAD", "/api/session") => {
            let access = site.access.lock().expect("access lock");
            let pin_required = access.pin_required();
            if access.admits(request.token()) {
                Reply::json(
                    "200 OK",
                    serde_json::json!({ "pin_required": pin_required }),
                )
            } else {
                Reply::json(
                    "401 Unauthorized",
                    serde_json::json!({ "pin_required": true }),
                )
            }
        }
        ("GET" | "HEAD", "/ca.crt") => match &site.ca_pem {
            Some(pem) => {
                let mut reply = Reply::new("200 OK", "application/x-x509-ca-cert", pem.clone());
                reply.headers.push((
                    "Content-Disposition",
                    "attachment; filename=\"coaster-ca.crt\"".into(),
                ));
                reply
            }
            None => Reply::new(
                "404 Not Found",
                "text/plain",
                "this Coaster uses the venue's own certificate",
            ),
        },
        ("GET" | "HEAD", "/ca") => Reply::new(
            "200 OK",
            "text/html; charset=utf-8",
            ca_page(site.ca_pem.is_some()),
        ),
        ("GET" | "HEAD", _) => static_file(request, site),
        _ => Reply::new("405 Method Not Allowed", "text/plain", "method not allowed"),
    }
}

#[derive(Deserialize)]
struct LoginBody {
    pin: String,
}

fn login(request: &Request, from: IpAddr, site: &Site) -> Reply {
    let Ok(body) = serde_json::from_slice::<LoginBody>(&request.body) else {
        return Reply::json(
            "400 Bad Request",
            serde_json::json!({ "error": "bad_request", "message": "Send {\"pin\": \"…\"}." }),
        );
    };
    let outcome = site.access.lock().expect("access lock").login(
        from,
        &body.pin,
        new_token(),
        std::time::Instant::now(),
    );
    match outcome {
        Login::Granted { token } => {
            if let Some(file) = &site.token_file {
                if let Err(error) = append_line(file, &token) {
                    tracing::warn!(%error, "could not keep the tablet's token across restarts");
                }
            }
            Reply::json("200 OK", serde_json::json!({ "token": token }))
        }
        Login::WrongPin { tries_left } => {
            tracing::warn!(%from, tries_left, "wrong venue PIN");
            Reply::json(
                "401 Unauthorized",
                serde_json::json!({ "error": "wrong_pin", "message": "That PIN is not right.", "tries_left": tries_left }),
            )
        }
        Login::LockedOut { retry_after } => {
            let seconds = retry_after.as_secs().max(1);
            let mut reply = Reply::json(
                "429 Too Many Requests",
                serde_json::json!({ "error": "locked_out", "message": format!("Too many wrong PINs. Try again in {seconds} s."), "retry_after_s": seconds }),
            );
            reply.headers.push(("Retry-After", seconds.to_string()));
            reply
        }
    }
}

fn append_line(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(file, "{line}")
}

fn static_file(request: &Request, site: &Site) -> Reply {
    if let Some(asset) = site.assets.get(&request.path) {
        let (body, encoding) =
            asset.encoded(Encoding::preferred(request.accept_encoding.as_deref()));
        let mut reply = Reply::new("200 OK", asset.content_type, body.to_vec());
        reply
            .headers
            .push(("Cache-Control", asset.cache_control.into()));
        reply.headers.push(("Vary", "Accept-Encoding".into()));
        if let Some(encoding) = encoding {
            reply.headers.push(("Content-Encoding", encoding.into()));
        }
        return reply;
    }
    if site.assets.is_empty() && request.route() == "/" {
        let page = format!(
            "<!doctype html><title>Coaster</title><h1>The dashboard is not built</h1><p>Nothing was found in {}. Start Coaster with <code>scripts/run.sh</code>, which builds it, or build it with <code>trunk build --release</code>.</p>",
            site.assets.dir.display()
        );
        return Reply::new("503 Service Unavailable", "text/html; charset=utf-8", page);
    }
    Reply::new("404 Not Found", "text/plain", "not found")
}

fn ca_page(have_ca: bool) -> String {
    let body = if have_ca {
        r#"<p>Coaster made its own certificate authority so tablets can reach it over HTTPS on this network. Install it once on each tablet:</p>
<h2>iPad / iPhone</h2><ol><li>Open this page in <b>Safari</b> and tap <a href="/ca.crt">Download the Coaster certificate</a>; allow the download.</li><li>Settings → <b>Profile Downloaded</b> → Install (enter the device passcode).</li><li>Settings → General → About → <b>Certificate Trust Settings</b> → turn on full trust for “Coaster local certificate authority”.</li><li>Open Coaster again and add it to the Home Screen (Share → Add to Home Screen).</li></ol>
<h2>Android</h2><ol><li>Tap <a href="/ca.crt">Download the Coaster certificate</a>.</li><li>Settings → Security → Encryption &amp; credentials → <b>Install a certificate</b> → CA certificate → choose coaster-ca.crt.</li><li>Open Coaster in Chrome and choose <b>Install app</b> from the menu.</li></ol>"#
    } else {
        "<p>This Coaster uses the venue's own certificate; there is nothing to install.</p>"
    };
    format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Coaster — trust this stand</title><style>body{{font:18px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}}a{{font-weight:bold}}</style><h1>Trust this Coaster</h1>{body}<p><a href=\"/\">Back to the board</a></p></html>"
    )
}

/// Reads one request head (and a small body); `None` when the peer closed
/// cleanly between requests.
async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<Request>> {
    buffer.clear();
    let mut chunk = [0u8; 2048];
    loop {
        if let Some((mut request, head_len)) = parse_head(buffer)? {
            if request.content_length > MAX_BODY_BYTES {
                return Err(invalid("request body too large"));
            }
            let mut body = buffer[head_len..].to_vec();
            while body.len() < request.content_length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(invalid("connection closed mid-body"));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(request.content_length);
            request.body = body;
            return Ok(Some(request));
        }
        if buffer.len() >= MAX_HEAD_BYTES {
            return Err(invalid("request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err(invalid("connection closed mid-request"))
            };
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn parse_head(buffer: &[u8]) -> std::io::Result<Option<(Request, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(buffer) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(invalid(&error.to_string())),
    };
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(|v| v.trim().to_string())
    };
    let request = Request {
        method: parsed.method.unwrap_or("").to_string(),
        path: parsed.path.unwrap_or("/").to_string(),
        upgrade_websocket: header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")),
        websocket_key: header("sec-websocket-key"),
        close: header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close")),
        origin: header("origin"),
        host: header("host"),
        accept_encoding: header("accept-encoding"),
        authorization: header("authorization"),
        content_length: match header("content-length") {
            Some(n) => n.parse().map_err(|_| invalid("bad content-length"))?,
            None => 0,
        },
        body: Vec::new(),
    };
    Ok(Some((request, head_len)))
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

async fn write_reply<S: AsyncWrite + Unpin>(
    stream: &mut S,
    reply: Reply,
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nX-Content-Type-Options: nosniff\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(&reply.body).await?;
    }
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_with_their_body_and_query() {
        let raw = b"POST /api/login?x=1&token=abc HTTP/1.1\r\nHost: a\r\nContent-Length: 14\r\nOrigin: https://a\r\n\r\n{\"pin\":\"1234\"}";
        let (request, head_len) = parse_head(raw).unwrap().unwrap();
        assert_eq!(request.route(), "/api/login");
        assert_eq!(request.query("token"), Some("abc"));
        assert_eq!(request.content_length, 14);
        assert_eq!(&raw[head_len..], b"{\"pin\":\"1234\"}");
        assert_eq!(request.origin.as_deref(), Some("https://a"));
        assert!(parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n")
            .unwrap()
            .is_none());
        assert!(parse_head(b"\x00\x01 nonsense\r\n\r\n").is_err());
    }

    #[test]
    fn only_the_pages_own_origin_may_open_the_websocket() {
        assert!(origin_allowed(
            "https://stand.local:8443",
            "stand.local:8443",
            true
        ));
        assert!(!origin_allowed(
            "https://evil.example",
            "stand.local:8443",
            true
        ));
        assert!(!origin_allowed(
            "http://stand.local:8443",
            "stand.local:8443",
            true
        ));
        // Over TLS even a loopback page from another port is foreign.
        assert!(!origin_allowed(
            "http://127.0.0.1:8081",
            "127.0.0.1:8080",
            true
        ));
        // Development: trunk serve's page on another loopback port.
        assert!(origin_allowed(
            "http://127.0.0.1:8081",
            "127.0.0.1:8080",
            false
        ));
        assert!(origin_allowed(
            "http://localhost:8081",
            "127.0.0.1:8080",
            false
        ));
        assert!(!origin_allowed(
            "http://127.0.0.1.evil.example",
            "127.0.0.1:8080",
            false
        ));
        assert!(!origin_allowed(
            "http://evil.example:80",
            "127.0.0.1:8080",
            false
        ));
    }

    #[test]
    fn bearer_tokens_win_over_query_tokens() {
        let (request, _) =
            parse_head(b"GET /api/session?token=q HTTP/1.1\r\nAuthorization: Bearer h\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(request.token(), Some("h"));
    }
}
