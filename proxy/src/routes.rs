//! What the stand answers: the built dashboard, the PIN login, the session
//! check, the local CA and its instructions, and the `/ws` upgrade. Every
//! request must name this stand (421 otherwise); the login and the WebSocket
//! must come from a page of this stand (403); every response carries the
//! security headers.

use std::net::IpAddr;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::assets::Encoding;
use crate::auth;
use crate::http::{Connection, Site};
use crate::security::Page;
use crate::ws;

pub(crate) type Reply = Response<Full<Bytes>>;

pub async fn respond(request: Request<Incoming>, connection: &Connection) -> Reply {
    let site = &*connection.site;
    let tls = site.tls.is_some();
    // An absolute request URI names the host itself; otherwise the Host header.
    let host = match request.uri().authority() {
        Some(authority) => Some(authority.to_string()),
        None => header_text(&request, header::HOST).map(str::to_string),
    };
    let Some(host) = host else {
        return text(StatusCode::BAD_REQUEST, "a Host header is required");
    };
    if !site.names.host_allowed(&host) {
        tracing::warn!(peer = %connection.peer, %host, "refused a request for another host (421)");
        return text(
            StatusCode::MISDIRECTED_REQUEST,
            "this stand does not answer to that name",
        );
    }
    let (mut reply, page) = route(request, connection).await;
    site.policy.apply(reply.headers_mut(), page, &host, tls);
    reply
}

async fn route(request: Request<Incoming>, connection: &Connection) -> (Reply, Page) {
    let site = &*connection.site;
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let takes_body = path == "/api/login";
    let body_limit = if takes_body {
        site.limits.login_body_bytes
    } else {
        0
    };
    if request.body().size_hint().lower() > body_limit as u64 {
        tracing::warn!(peer = %connection.peer, %path, "refused a request body too large (413)");
        return (
            text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
            Page::App,
        );
    }
    let get = method == Method::GET || method == Method::HEAD;
    let reply = match path.as_str() {
        "/ws" if method == Method::GET => upgrade(request, connection),
        "/ws" => not_allowed("GET"),
        "/api/login" if method == Method::POST => match refuse_foreign(&request, connection) {
            Some(refusal) => refusal,
            None => login(request, connection.peer.ip(), site).await,
        },
        "/api/login" => not_allowed("POST"),
        "/api/session" if get => session(&request, site),
        "/lobby" if get => asset(&request, "/lobby/index.html", site),
        p if p.starts_with("/api/lobby/") => crate::stand_api::lobby(&request, connection).await,
        p if p.starts_with("/api/stand/") && get => crate::stand_api::answer(&request, site).await,
        p if p.starts_with("/api/stand/") => not_allowed("GET, HEAD"),
        "/ca.crt" if get => ca_certificate(site),
        "/ca" if get => {
            let mut page = text(StatusCode::OK, crate::tls::ca_page(site.ca_pem.as_deref()));
            set(&mut page, header::CONTENT_TYPE, "text/html; charset=utf-8");
            return (page, Page::CaInstructions);
        }
        _ if get => static_file(&request, site),
        _ => not_allowed("GET, HEAD"),
    };
    (reply, Page::App)
}

/// A WebSocket handshake checked in full, then the tablet's task.
fn upgrade(mut request: Request<Incoming>, connection: &Connection) -> Reply {
    let site = &connection.site;
    let has = |name, value: &str| {
        request
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case(value))
    };
    if !has(header::UPGRADE, "websocket") || !has(header::CONNECTION, "upgrade") {
        let mut reply = text(StatusCode::UPGRADE_REQUIRED, "WebSocket only");
        set(&mut reply, header::UPGRADE, "websocket");
        return reply;
    }
    if header_text(&request, header::SEC_WEBSOCKET_VERSION) != Some("13") {
        let mut reply = text(
            StatusCode::UPGRADE_REQUIRED,
            "only WebSocket version 13 is spoken here",
        );
        set(&mut reply, header::SEC_WEBSOCKET_VERSION, "13");
        return reply;
    }
    let Some(key) = header_text(&request, header::SEC_WEBSOCKET_KEY).map(str::to_string) else {
        return text(StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing");
    };
    if let Some(refusal) = refuse_foreign(&request, connection) {
        return refusal;
    }
    // The token comes in the first frame (ws::serve), never in the URL.
    let Ok(slot) = site.tablet_slots.clone().try_acquire_owned() else {
        tracing::warn!(peer = %connection.peer, tablets = site.limits.tablets, "refused a tablet: the stand has as many as it allows");
        let mut reply = text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the stand has as many tablets as it allows",
        );
        set(&mut reply, header::RETRY_AFTER, "10");
        return reply;
    };
    let upgraded = hyper::upgrade::on(&mut request);
    let tablets = site.tablets.clone();
    let (pass, running, peer) = (
        connection.pass.clone(),
        connection.running.clone(),
        connection.peer,
    );
    tokio::spawn(async move {
        match upgraded.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws::config()));
                ws::serve(ws.await, tablets, peer).await;
            }
            Err(error) => tracing::debug!(%peer, %error, "the WebSocket upgrade failed"),
        }
        drop((slot, pass, running));
    });
    let mut reply = Response::new(Full::default());
    *reply.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    set(&mut reply, header::UPGRADE, "websocket");
    set(&mut reply, header::CONNECTION, "Upgrade");
    let accept = derive_accept_key(key.as_bytes());
    if let Ok(value) = HeaderValue::from_str(&accept) {
        reply
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    reply
}

/// The login and the WebSocket act for a tablet: only a page of this stand,
/// which a browser always names in `Origin`, may use them.
pub(crate) fn refuse_foreign(
    request: &Request<Incoming>,
    connection: &Connection,
) -> Option<Reply> {
    let origin = header_text(request, header::ORIGIN);
    if origin.is_some_and(|origin| connection.site.names.origin_allowed(origin)) {
        return None;
    }
    tracing::warn!(
        peer = %connection.peer,
        origin = origin.unwrap_or("(none)"),
        path = request.uri().path(),
        "refused a request from a page of another origin (403)"
    );
    Some(text(StatusCode::FORBIDDEN, "foreign origin"))
}

/// Only from the header: a token in the URL would end up in logs.
pub(crate) fn token(request: &Request<Incoming>) -> Option<&str> {
    header_text(request, header::AUTHORIZATION).and_then(|a| a.strip_prefix("Bearer "))
}

fn session(request: &Request<Incoming>, site: &Site) -> Reply {
    let mut access = site.access.lock().expect("access lock");
    let pin_required = access.pin_required();
    if access.admit(token(request), auth::now_ms()).is_some() {
        json(
            StatusCode::OK,
            serde_json::json!({ "pin_required": pin_required }),
        )
    } else {
        json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "pin_required": true }),
        )
    }
}

/// `POST /api/login` from a page of this stand: the PIN for a token.
async fn login(request: Request<Incoming>, from: IpAddr, site: &Site) -> Reply {
    let limit = site.limits.login_body_bytes;
    let content_type = header_text(&request, header::CONTENT_TYPE).map(str::to_string);
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let answer = auth::answer_login(
        &mut site.access.lock().expect("access lock"),
        from,
        content_type.as_deref(),
        &body,
        std::time::Instant::now(),
        auth::now_ms(),
    );
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut reply = json(status, answer.body);
    if let Some(seconds) = answer.retry_after_s {
        set(&mut reply, header::RETRY_AFTER, &seconds.to_string());
    }
    reply
}

fn static_file(request: &Request<Incoming>, site: &Site) -> Reply {
    asset(request, request.uri().path(), site)
}

/// The built file at `path`, in the encoding the request prefers.
pub(crate) fn asset(request: &Request<Incoming>, path: &str, site: &Site) -> Reply {
    if let Some(asset) = site.assets.get(path) {
        let accepted = header_text(request, header::ACCEPT_ENCODING);
        let (body, encoding) = asset.encoded(Encoding::preferred(accepted));
        let mut reply = Response::new(Full::new(body));
        set(&mut reply, header::CONTENT_TYPE, asset.content_type);
        set(&mut reply, header::CACHE_CONTROL, asset.cache_control);
        set(&mut reply, header::VARY, "Accept-Encoding");
        if let Some(encoding) = encoding {
            set(&mut reply, header::CONTENT_ENCODING, encoding);
        }
        return reply;
    }
    if site.assets.is_empty() && path == "/" {
        let page = format!(
            "<!doctype html><title>Coaster</title><h1>The dashboard is not built</h1><p>Nothing was found in {}. Start Coaster with <code>scripts/run.sh</code>, which builds it, or build it with <code>trunk build --release</code>.</p>",
            site.assets.dir.display()
        );
        let mut reply = text(StatusCode::SERVICE_UNAVAILABLE, page);
        set(&mut reply, header::CONTENT_TYPE, "text/html; charset=utf-8");
        return reply;
    }
    text(StatusCode::NOT_FOUND, "not found")
}

fn ca_certificate(site: &Site) -> Reply {
    match &site.ca_pem {
        Some(pem) => {
            let mut reply = text(StatusCode::OK, pem.clone());
            set(
                &mut reply,
                header::CONTENT_TYPE,
                "application/x-x509-ca-cert",
            );
            set(
                &mut reply,
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"coaster-ca.crt\"",
            );
            reply
        }
        None => text(
            StatusCode::NOT_FOUND,
            "this Coaster uses the venue's own certificate",
        ),
    }
}

fn header_text(request: &Request<Incoming>, name: header::HeaderName) -> Option<&str> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

pub(crate) fn set(reply: &mut Reply, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        reply.headers_mut().insert(name, value);
    }
}

pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    set(
        &mut reply,
        header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    );
    reply
}

pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Reply {
    let mut reply = text(status, value.to_string());
    set(&mut reply, header::CONTENT_TYPE, "application/json");
    set(&mut reply, header::CACHE_CONTROL, "no-store");
    reply
}

fn not_allowed(allow: &str) -> Reply {
    let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    set(&mut reply, header::ALLOW, allow);
    reply
}
