//! The one port tablets talk to, on hyper: a listener task admits each
//! connection against the [`limits`](crate::limits), finishes TLS, and hands
//! it to hyper's HTTP/1.1 server in a task of its own; [`routes`] answers.
//!
//! Why hyper and not axum on top: the stand has six routes and one upgrade,
//! which read plainly as one `match`; axum would add tower, a router and
//! extractors (a fifth more crates) for nothing these routes use, and the
//! limits here act on connections, before any router. hyper itself parses
//! and pipelines requests, keeps connections alive, answers HEAD without a
//! body, refuses oversized heads (431), times out slow heads and shuts down
//! gracefully; `routes` answers 404, 405, 413, 421 and 426.
//!
//! Shutdown, as in mini-redis: the listener stops on the watch channel and
//! drops its socket (the port is free at once); every connection hears the
//! same channel and finishes the request in hand; every tablet task drains
//! its commands (see `ws`). Each holds a clone of one mpsc sender, so the
//! listener knows they are all done when the channel closes — or gives up
//! after [`Limits::drain`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::assets::Assets;
use crate::auth::Access;
use crate::hosts::Names;
use crate::limits::{Gate, Limits, Pass, Refusal};
use crate::routes;
use crate::security::Policy;
use crate::ws::Tablets;

pub struct Site {
    pub assets: Assets,
    pub tablets: Arc<Tablets>,
    pub access: Arc<Mutex<Access>>,
    /// The local CA's certificate, offered at `/ca.crt` when Coaster made it.
    pub ca_pem: Option<String>,
    pub tls: Option<TlsAcceptor>,
    /// The names and addresses requests may use (against DNS rebinding).
    pub names: Names,
    pub policy: Policy,
    pub limits: Limits,
    /// One permit per connected tablet.
    pub tablet_slots: Arc<Semaphore>,
    /// The stand's memory, for the History and Activity views.
    pub store: crate::store::Store,
    /// The TV's read-only links.
    pub lobby: Mutex<crate::lobby::LobbyLinks>,
}

/// What one connection's requests share.
pub struct Connection {
    pub site: Arc<Site>,
    pub peer: SocketAddr,
    /// Its place in the connection count, kept by an upgraded tablet too.
    pub pass: Arc<Pass>,
    pub shutdown: watch::Receiver<bool>,
    /// Dropped when the connection (or its tablet) is done.
    pub running: mpsc::Sender<()>,
}

/// Refusals answered at once; more arrivals than this are simply closed.
const REFUSALS_AT_ONCE: usize = 16;
/// How long a refused client gets to take its answer.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn run(listener: TcpListener, site: Arc<Site>, mut shutdown: watch::Receiver<bool>) {
    let gate = Gate::new(&site.limits);
    let refusing = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let (running, mut all_done) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match gate.admit(peer.ip()) {
                    Ok(pass) => {
                        let connection = Connection {
                            site: site.clone(),
                            peer,
                            pass: Arc::new(pass),
                            shutdown: shutdown.clone(),
                            running: running.clone(),
                        };
                        tokio::spawn(serve(stream, connection));
                    }
                    Err(refusal) => {
                        tracing::warn!(%peer, open = gate.open(), "refused a connection: {}", refusal.message());
                        if let Ok(permit) = refusing.clone().try_acquire_owned() {
                            let tls = site.tls.clone();
                            tokio::spawn(async move {
                                let _ = tokio::time::timeout(REFUSAL_TIMEOUT, refuse(stream, tls, refusal)).await;
                                drop(permit);
                            });
                        }
                    }
                },
                Err(error) => {
                    // Out of file descriptors and the like: back off, don't spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    drop(running);
    let open = gate.open();
    if tokio::time::timeout(site.limits.drain, all_done.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            open,
            "connections still open after {:?}; closing them",
            site.limits.drain
        );
    }
}

/// One connection: TLS if the stand has it, then HTTP until the client
/// leaves, a limit closes it, or the stand shuts down.
async fn serve(stream: TcpStream, connection: Connection) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = connection.site.tls.clone() else {
        return http(stream, connection).await;
    };
    let peer = connection.peer;
    let mut shutdown = connection.shutdown.clone();
    let handshake = tokio::time::timeout(connection.site.limits.handshake, acceptor.accept(stream));
    let handshake = tokio::select! {
        done = handshake => done,
        // Still in the handshake when the stand stops: nothing to finish.
        _ = stopped(&mut shutdown) => return,
    };
    match handshake {
        Ok(Ok(tls)) => http(tls, connection).await,
        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
        Err(_) => tracing::info!(%peer, "closed a connection: TLS handshake too slow"),
    }
}

async fn http<S>(io: S, connection: Connection)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = &connection.site.limits;
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(limits.head_bytes)
        .max_headers(limits.headers)
        .keep_alive(true);
    let peer = connection.peer;
    let mut shutdown = connection.shutdown.clone();
    let connection = Arc::new(connection);
    let service = hyper::service::service_fn(move |request| {
        let connection = connection.clone();
        async move { Ok::<_, std::convert::Infallible>(routes::respond(request, &connection).await) }
    });
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped(&mut shutdown) => {
            // Answer what is in hand, then close; a shutdown that outlasts
            // the drain is cut short with the runtime.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = result {
        if error.is_timeout() {
            tracing::info!(%peer, "closed a connection: no request head within the time allowed");
        } else {
            tracing::debug!(%peer, %error, "connection ended");
        }
    }
}

/// Resolves when the stand stops (true), or when nobody can stop it any
/// more (false: its owner is gone).
pub async fn stopped(signal: &mut watch::Receiver<bool>) -> bool {
    signal.wait_for(|stop| *stop).await.is_ok()
}

/// Tells a refused client why, where there is a way to: plain HTTP at once,
/// TLS after the handshake.
async fn refuse(stream: TcpStream, tls: Option<TlsAcceptor>, refusal: Refusal) {
    let message = refusal.message();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{message}",
        message.len()
    );
    match tls {
        Some(acceptor) => {
            if let Ok(mut tls) = acceptor.accept(stream).await {
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            }
        }
        None => {
            let mut stream = stream;
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    }
}
