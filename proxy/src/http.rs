//! The one port tablets talk to: the built app (dist/) over HTTP/1.1 and the
//! WebSocket at `/ws`. A listener task accepts connections and spawns one
//! handler task each; shutdown arrives on a watch channel.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::ws::{self, Tablets};

const MAX_HEAD_BYTES: usize = 16 * 1024;
/// An idle keep-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Site {
    pub dist: PathBuf,
    pub tablets: Arc<Tablets>,
}

pub async fn run(listener: TcpListener, site: Arc<Site>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let site = site.clone();
                    tokio::spawn(async move {
                        if let Err(error) = handle(stream, site).await {
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

struct Request {
    method: String,
    path: String,
    websocket_key: Option<String>,
    close: bool,
}

async fn handle<S>(mut stream: S, site: Arc<Site>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let request =
            match tokio::time::timeout(IDLE_TIMEOUT, read_head(&mut stream, &mut buffer)).await {
                Ok(Ok(Some(request))) => request,
                Ok(Ok(None)) | Err(_) => return Ok(()),
                Ok(Err(error)) => {
                    respond(
                        &mut stream,
                        "400 Bad Request",
                        "text/plain",
                        b"bad request",
                        &[],
                        false,
                    )
                    .await?;
                    return Err(error);
                }
            };
        if request.path == "/ws" {
            let Some(key) = request.websocket_key else {
                respond(
                    &mut stream,
                    "426 Upgrade Required",
                    "text/plain",
                    b"WebSocket only",
                    &[],
                    false,
                )
                .await?;
                return Ok(());
            };
            let accept = derive_accept_key(key.as_bytes());
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            let ws =
                WebSocketStream::from_raw_socket(stream, Role::Server, Some(ws::config())).await;
            ws::serve(ws, site.tablets.clone()).await;
            return Ok(());
        }
        serve_file(&mut stream, &site.dist, &request).await?;
        if request.close {
            return Ok(());
        }
    }
}

/// Reads one request head; `None` when the peer closed cleanly between requests.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<Request>> {
    buffer.clear();
    let mut chunk = [0u8; 2048];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buffer) {
            Ok(httparse::Status::Complete(_)) => {
                let header = |name: &str| {
                    parsed
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                        .map(str::trim)
                };
                let upgrade =
                    header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
                return Ok(Some(Request {
                    method: parsed.method.unwrap_or("").to_string(),
                    path: parsed.path.unwrap_or("/").to_string(),
                    websocket_key: header("sec-websocket-key")
                        .filter(|_| upgrade)
                        .map(str::to_string),
                    close: header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close")),
                }));
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD_BYTES => {}
            Ok(httparse::Status::Partial) => return Err(invalid("request head too large")),
            Err(error) => return Err(invalid(&error.to_string())),
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

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

async fn serve_file<S: AsyncWrite + Unpin>(
    stream: &mut S,
    dist: &Path,
    request: &Request,
) -> std::io::Result<()> {
    let head_only = request.method == "HEAD";
    if request.method != "GET" && !head_only {
        return respond(
            stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only",
            &[],
            head_only,
        )
        .await;
    }
    let Some(relative) = file_path(&request.path) else {
        return respond(
            stream,
            "404 Not Found",
            "text/plain",
            b"not found",
            &[],
            head_only,
        )
        .await;
    };
    match tokio::fs::read(dist.join(&relative)).await {
        Ok(body) => {
            let cache = cache_control(&relative);
            respond(
                stream,
                "200 OK",
                content_type(&relative),
                &body,
                &[("Cache-Control", cache)],
                head_only,
            )
            .await
        }
        Err(_) if relative == Path::new("index.html") => {
            let page = format!(
                "<!doctype html><title>Coaster</title><h1>The dashboard is not built</h1><p>No {} found. Build it with <code>trunk build --release</code> at the repository root, or start Coaster with the README's run command, which builds it.</p>",
                dist.join("index.html").display()
            );
            respond(
                stream,
                "503 Service Unavailable",
                "text/html; charset=utf-8",
                page.as_bytes(),
                &[],
                head_only,
            )
            .await
        }
        Err(_) => {
            respond(
                stream,
                "404 Not Found",
                "text/plain",
                b"not found",
                &[],
                head_only,
            )
            .await
        }
    }
}

/// Maps a URL path to a file under dist/, refusing anything that could leave it.
fn file_path(url_path: &str) -> Option<PathBuf> {
    let path = url_path.split(['?', '#']).next().unwrap_or("/");
    let path = if path == "/" { "/index.html" } else { path };
    let relative = Path::new(path.strip_prefix('/')?);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| relative.to_path_buf())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") | Some("webmanifest") => "application/manifest+json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The page and the service worker must always be fresh; trunk's hashed assets never change.
fn cache_control(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let hashed = name.rsplit_once('-').is_some_and(|(_, tail)| {
        tail.split(['.', '_'])
            .next()
            .is_some_and(|h| h.len() >= 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
    });
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    body: &[u8],
    extra: &[(&str, &str)],
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nX-Content-Type-Options: nosniff\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body).await?;
    }
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_dist() {
        assert_eq!(file_path("/"), Some(PathBuf::from("index.html")));
        assert_eq!(file_path("/app-1.js?v=2"), Some(PathBuf::from("app-1.js")));
        assert_eq!(
            file_path("/icons/a.png"),
            Some(PathBuf::from("icons/a.png"))
        );
        for bad in [
            "/../etc/passwd",
            "/a/../../b",
            "//etc/passwd",
            "/./x",
            "relative",
        ] {
            assert_eq!(file_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn hashed_assets_cache_forever_the_page_never() {
        assert_eq!(cache_control(Path::new("index.html")), "no-cache");
        assert_eq!(cache_control(Path::new("sw.js")), "no-cache");
        assert_eq!(
            cache_control(Path::new("frontend-3f2a9c01d4e5b6a7_bg.wasm")),
            "public, max-age=31536000, immutable",
            "the _bg suffix follows the hash"
        );
        assert_eq!(cache_control(Path::new("style-ab.css")), "no-cache");
        assert_eq!(
            cache_control(Path::new("frontend-3f2a9c01d4e5b6a7.js")),
            "public, max-age=31536000, immutable"
        );
    }
}
