//! One task per tablet. It sends the hello and a snapshot, then forwards every
//! mirror change, turns each text frame into a validated command for the
//! core, and sends back the verdicts. Nothing a tablet sends can panic
//! the proxy or reach the device unvalidated, a tablet that floods is answered
//! `rate_limited` beyond [`RATE_LIMIT`], and a tablet that stops reading is
//! dropped after [`WRITE_TIMEOUT`] without delaying anyone else. A tablet that
//! has been sent nothing for [`HEARTBEAT_AFTER`] is sent a heartbeat, so its
//! silence timer tells a quiet board from a half-open connection. When the
//! stand shuts down, a tablet is told so: commands it already sent get their
//! verdicts (for up to [`DRAIN`]), new ones are answered `shutting_down`.
//!
//! Before any of that the tablet must say who it is: the first frame is
//! [`TabletMsg::Auth`] with its token (a stand without a PIN skips the wait).
//! A tablet that has not done so within [`AUTH_TIMEOUT`] is closed, and one
//! signed out from Settings is closed at once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use shared::protocol::{ClientMsg, ServerMsg, TabletMsg, HEARTBEAT_AFTER_MS, PROTOCOL_VERSION};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::auth::{Access, Admission};
use crate::hub::{encode, now_ms, Hub};
use crate::runner::{Job, Replies};
use crate::store::Actor;

/// A tablet must send its token within this long of connecting.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(5);

/// A tablet that has not taken a message for this long is gone.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a tablet may go without any message before it is sent a heartbeat.
pub const HEARTBEAT_AFTER: Duration = Duration::from_millis(HEARTBEAT_AFTER_MS);

/// Frames one tablet may send: far above a host tapping (a few a second, a
/// reconnect resending a dozen pending ops at once), far below a runaway loop
/// or a hostile client, which would otherwise queue work for the one device
/// link every tablet shares.
pub const RATE_LIMIT: RateLimit = RateLimit {
    per_second: 20.0,
    burst: 40.0,
};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained frames per second.
    pub per_second: f64,
    /// Frames a tablet may send at once after being quiet.
    pub burst: f64,
}

/// A token bucket: starts full, refills at `per_second` up to `burst`, and
/// every data frame takes one token.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    pub fn full(limit: RateLimit, now: Instant) -> Self {
        TokenBucket {
            limit,
            tokens: limit.burst,
            refilled_at: now,
        }
    }

    /// Takes a token if there is one; false means the frame is over the limit.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * self.limit.per_second).min(self.limit.burst);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How long a stopping stand waits for the verdicts of a tablet's commands.
pub const DRAIN: Duration = Duration::from_secs(4);

impl TokenBucket {
    /// Whether a frame now would find the bucket full (nothing to remember).
    fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.tokens + elapsed.as_secs_f64() * self.limit.per_second >= self.limit.burst
    }
}

/// Who a connection's frames count against: the tablet's token (by its id),
/// so fifty connections from one tablet share one budget; without a PIN (no
/// token), its address. On loopback every tablet shares one address (a
/// developer's browser tabs, the tests, the benchmark), so there each
/// connection counts alone.
pub fn identity(token_id: Option<&str>, peer: SocketAddr) -> String {
    match token_id {
        Some(id) => format!("token {id}"),
        None if peer.ip().is_loopback() => format!("connection {peer}"),
        None => format!("address {}", peer.ip()),
    }
}

/// One [`TokenBucket`] per [`identity`], shared by its connections.
#[derive(Debug, Default)]
pub struct RateLimits {
    buckets: std::sync::Mutex<std::collections::HashMap<String, TokenBucket>>,
}

/// Identities remembered before full buckets (idle ones) are forgotten.
const IDENTITIES: usize = 1024;

impl RateLimits {
    /// Takes a token from `who`'s bucket; false means the frame is over the limit.
    pub fn take(&self, who: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().expect("rate limits");
        if buckets.len() >= IDENTITIES {
            buckets.retain(|_, bucket| !bucket.is_full(now));
        }
        buckets
            .entry(who.to_string())
            .or_insert_with(|| TokenBucket::full(RATE_LIMIT, now))
            .take(now)
    }
}

/// What every tablet connection shares.
pub struct Tablets {
    pub hub: Hub,
    pub jobs: mpsc::Sender<Job>,
    pub simulated: bool,
    /// Becomes true when the stand shuts down.
    pub stopping: watch::Receiver<bool>,
    /// The venue PIN and tablets' tokens, shared with the login page.
    pub access: Arc<Mutex<Access>>,
    /// Frames allowed per tablet, shared by its connections.
    pub limits: RateLimits,
}

/// Tablets send short commands: tungstenite's default 128 KiB read buffer,
/// zero-filled on the first read, made each idle connection cost 128 KiB of
/// resident memory. Larger frames (up to the limit) still grow it as needed.
const READ_BUFFER_BYTES: usize = 4 * 1024;

pub fn config() -> WebSocketConfig {
    let limit = Some(shared::protocol::MAX_FRAME_BYTES);
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(limit)
        .max_frame_size(limit)
}

/// Serves one tablet connected from `peer`: first its sign-in, then its
/// board and commands; its frames count against its [`identity`].
pub async fn serve<S>(ws: WebSocketStream<S>, tablets: Arc<Tablets>, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut frames) = ws.split();
    let mut signed_out = tablets.access.lock().expect("access lock").signed_out();
    let Some((tablet, named)) = authenticate(&mut frames, &tablets.access).await else {
        return close(&mut sink, CloseCode::Policy, "sign in with the venue PIN").await;
    };
    let identity = identity(tablet.token_id(), peer);
    let mut actor = Actor {
        token_id: tablet.token_id().map(str::to_string),
        name: tablets
            .access
            .lock()
            .expect("access lock")
            .tablet_name(&tablet)
            .unwrap_or_else(|| format!("Tablet at {}", peer.ip())),
        address: peer.ip().to_string(),
    };
    rename(&mut actor, named.as_deref());
    let Some((snapshot, mut updates)) = tablets.hub.subscribe().await else {
        return; // shutting down
    };
    let hello = encode(&ServerMsg::Hello {
        protocol: PROTOCOL_VERSION,
        simulated: tablets.simulated,
        proxy_time_ms: now_ms(),
    });
    let (reply_tx, mut replies): (Replies, _) = mpsc::unbounded_channel();
    let mut outbox = vec![Message::Text(hello), Message::Text(snapshot)];
    let mut last_sent = Instant::now();
    let mut stopping = tablets.stopping.clone();
    // Commands sent on whose verdict the tablet waits; when to stop waiting.
    let mut in_flight: Vec<String> = Vec::new();
    let mut drained_by: Option<Instant> = None;
    loop {
        if let Some(deadline) = drained_by {
            if in_flight.is_empty() || Instant::now() >= deadline {
                outbox.extend(in_flight.drain(..).map(|op| shutting_down(Some(op))));
                outbox.push(Message::Close(Some(CloseFrame {
                    code: CloseCode::Away,
                    reason: "Coaster is shutting down".into(),
                })));
            }
        }
        if !outbox.is_empty() {
            last_sent = Instant::now();
        }
        for message in outbox.drain(..) {
            let closing = message.is_close();
            match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
                Ok(Ok(())) if closing => return,
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    tracing::warn!("dropping a tablet that stopped reading");
                    return;
                }
            }
        }
        // Biased, updates first: the core publishes a change before it
        // sends the verdict, so a tablet sees the new row before the ✓.
        tokio::select! {
            biased;
            update = updates.recv() => match update {
                Ok(text) => outbox.push(Message::Text(text)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a slow tablet is resent a snapshot");
                    match tablets.hub.snapshot().await {
                        Some(snapshot) => outbox.push(Message::Text(snapshot)),
                        None => return,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            Some(msg) = replies.recv() => {
                if let ServerMsg::Reply { op, .. } = &msg {
                    in_flight.retain(|o| o != op);
                }
                outbox.push(Message::Text(encode(&msg)));
            }
            true = crate::http::stopped(&mut stopping), if drained_by.is_none() => {
                drained_by = Some(Instant::now() + DRAIN);
            }
            _ = tokio::time::sleep_until(drained_by.unwrap_or_else(Instant::now)), if drained_by.is_some() => {}
            frame = frames.next() => match frame {
                Some(Ok(data @ (Message::Text(_) | Message::Binary(_))))
                    if !tablets.limits.take(&identity, Instant::now()) =>
                {
                    outbox.push(Message::Text(rate_limited(&data)));
                }
                Some(Ok(text @ Message::Text(_))) if drained_by.is_some() => {
                    outbox.push(shutting_down(op_of(&text)));
                }
                Some(Ok(Message::Text(text))) => {
                    if let Ok(msg) = serde_json::from_str::<TabletMsg>(&text) {
                        // Without a PIN the first frame is not waited for: its name comes here.
                        if let TabletMsg::Auth { name, .. } = &msg {
                            rename(&mut actor, name.as_deref());
                        }
                        if let TabletMsg::SetName { name } = &msg {
                            rename(&mut actor, Some(name));
                        }
                        let answer = tablets.access.lock().expect("access lock").answer(msg, &tablet);
                        outbox.extend(answer.map(|answer| Message::Text(encode(&answer))));
                    } else {
                        match take_command(&text, &tablets, &reply_tx, &actor).await {
                            Ok(op) => in_flight.push(op),
                            Err(answer) => outbox.push(Message::Text(answer)),
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => outbox.push(Message::Text(encode(&ServerMsg::Error {
                    op: None,
                    code: "binary_not_supported".into(),
                    message: "Send commands as JSON text frames.".into(),
                }))),
                Some(Ok(_)) => {} // ping, pong: tungstenite answers pings itself
                Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, .. }))) => {
                    let error = shared::protocol::ProtocolError::FrameTooLarge { bytes: size };
                    let _ = sink.send(Message::Text(encode(&error.to_server_msg()))).await;
                    return close(&mut sink, CloseCode::Size, "frame too large").await;
                }
                None | Some(Err(_)) => return,
            },
            Ok(()) = signed_out.changed(), if tablet != Admission::Open => {
                if !tablets.access.lock().expect("access lock").holds(&tablet) {
                    return close(&mut sink, CloseCode::Policy, "signed out").await;
                }
            }
            _ = tokio::time::sleep_until(last_sent + HEARTBEAT_AFTER) => {
                outbox.push(Message::Text(encode(&ServerMsg::Heartbeat { proxy_time_ms: now_ms() })));
            }
        }
    }
}

async fn close<K>(sink: &mut K, code: CloseCode, reason: &'static str)
where
    K: futures_util::Sink<Message> + Unpin,
{
    let reason = reason.into();
    let _ = sink
        .send(Message::Close(Some(CloseFrame { code, reason })))
        .await;
}

/// Waits for the tablet's token in its first frame; `None` = refused. The
/// admission's token id is what per-tablet limits can key on.
async fn authenticate<F>(
    frames: &mut F,
    access: &Mutex<Access>,
) -> Option<(Admission, Option<String>)>
where
    F: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    if !access.lock().expect("access lock").pin_required() {
        return Some((Admission::Open, None));
    }
    let first = tokio::time::timeout(AUTH_TIMEOUT, frames.next()).await;
    let (token, name) = match first {
        Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str(&text) {
            Ok(TabletMsg::Auth { token, name }) => (token, name),
            _ => return None,
        },
        _ => return None,
    };
    let admitted = access
        .lock()
        .expect("access lock")
        .admit(Some(&token), crate::auth::now_ms());
    if admitted.is_none() {
        tracing::info!("refused a WebSocket without a signed-in token");
    }
    admitted.map(|admission| (admission, name))
}

/// The tablet's own name for itself, when it gives a usable one.
fn rename(actor: &mut Actor, name: Option<&str>) {
    let name = name.map(crate::tokens::tablet_name).unwrap_or_default();
    if !name.is_empty() {
        actor.name = name;
    }
}

/// The answer to a frame over the limit; it is not executed. The op id, when
/// the frame has one, lets the tablet mark that command failed.
fn rate_limited(frame: &Message) -> Utf8Bytes {
    encode(&ServerMsg::Error {
        op: op_of(frame),
        code: "rate_limited".into(),
        message: format!(
            "Too many messages: at most {} a second (bursts of {}). This one was not run; send it again.",
            RATE_LIMIT.per_second, RATE_LIMIT.burst
        ),
    })
}

/// The op id of a text frame that has one.
fn op_of(frame: &Message) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct OpOnly {
        op: String,
    }
    match frame {
        Message::Text(text) => serde_json::from_str::<OpOnly>(text).ok().map(|o| o.op),
        _ => None,
    }
}

/// The answer to a command the stopping stand will not run, or whose
/// verdict it could not wait for.
fn shutting_down(op: Option<String>) -> Message {
    Message::Text(encode(&ServerMsg::Error {
        op,
        code: "shutting_down".into(),
        message: "Coaster is shutting down; the board shows what was done once it is back.".into(),
    }))
}

/// Parses and validates one frame and hands a good command to the core:
/// its op id, whose verdict comes back on `replies`; or what to answer at
/// once.
async fn take_command(
    text: &str,
    tablets: &Tablets,
    replies: &Replies,
    by: &Actor,
) -> Result<String, Utf8Bytes> {
    let msg = match ClientMsg::parse(text) {
        Ok(msg) => msg,
        Err(error) => return Err(encode(&error.to_server_msg())),
    };
    let command = match msg.command.validate() {
        Ok(command) => command,
        Err(invalid) => {
            return Err(encode(&ServerMsg::Reply {
                op: msg.op,
                verdict: shared::protocol::Verdict::invalid(&invalid),
            }))
        }
    };
    let job = Job {
        op: msg.op.clone(),
        name: msg.command.name(),
        detail: serde_json::to_string(&msg.command).unwrap_or_default(),
        command,
        replies: replies.clone(),
        by: by.clone(),
    };
    if tablets.jobs.send(job).await.is_err() {
        return Err(shutting_down(None).into_text().expect("a text frame"));
    }
    Ok(msg.op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::{MirrorDelta, MirrorState};
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// A tablet on an in-memory pipe to `serve`, and the hub that feeds it.
    async fn tablet() -> (WebSocketStream<tokio::io::DuplexStream>, Hub) {
        tablet_of(Access::new(None, crate::tokens::TokenStore::in_memory(90))).await
    }

    async fn tablet_of(access: Access) -> (WebSocketStream<tokio::io::DuplexStream>, Hub) {
        let (proxy_end, tablet_end) = tokio::io::duplex(64 * 1024);
        let (hub, mut asks) = Hub::new();
        // The core's task answers subscriptions; here, with an empty board.
        let answering = hub.clone();
        tokio::spawn(async move {
            while let Some(ask) = asks.recv().await {
                if let crate::runner::Ask::Subscribe(reply) = ask {
                    let snapshot = encode(&ServerMsg::Snapshot {
                        state: MirrorState::default(),
                        proxy_time_ms: 0,
                    });
                    let _ = reply.send((snapshot, answering.updates()));
                }
            }
        });
        let tablets = Arc::new(Tablets {
            hub: hub.clone(),
            jobs: mpsc::channel(1).0,
            simulated: true,
            stopping: watch::channel(false).1,
            access: Arc::new(Mutex::new(access)),
            limits: RateLimits::default(),
        });
        let server = WebSocketStream::from_raw_socket(proxy_end, Role::Server, None).await;
        tokio::spawn(serve(
            server,
            tablets,
            SocketAddr::from(([127, 0, 0, 1], 40000)),
        ));
        let client = WebSocketStream::from_raw_socket(tablet_end, Role::Client, None).await;
        (client, hub)
    }

    async fn next_type(ws: &mut WebSocketStream<tokio::io::DuplexStream>) -> String {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("the connection ended");
        };
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["type"].as_str().unwrap().to_string()
    }

    // The paused clock jumps straight to the next timer, so the elapsed
    // times below are the proxy's own schedule, exactly.
    #[tokio::test(start_paused = true)]
    async fn a_quiet_tablet_hears_a_heartbeat_five_seconds_after_the_last_message() {
        let (mut ws, hub) = tablet().await;
        assert_eq!(next_type(&mut ws).await, "hello");
        assert_eq!(next_type(&mut ws).await, "snapshot");
        let t0 = Instant::now();
        assert_eq!(next_type(&mut ws).await, "heartbeat");
        assert_eq!(t0.elapsed(), HEARTBEAT_AFTER);
        assert_eq!(next_type(&mut ws).await, "heartbeat");
        assert_eq!(t0.elapsed(), 2 * HEARTBEAT_AFTER);

        // Anything else sent restarts the wait: a delta 3 s in puts the next
        // heartbeat 5 s after the delta, not 5 s after the last heartbeat.
        tokio::time::sleep(Duration::from_secs(3)).await;
        hub.publish(MirrorDelta {
            global_sequence: Some(7),
            ..Default::default()
        });
        let t1 = Instant::now();
        assert_eq!(next_type(&mut ws).await, "delta");
        assert_eq!(next_type(&mut ws).await, "heartbeat");
        assert_eq!(t1.elapsed(), HEARTBEAT_AFTER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_tablet_that_does_not_sign_in_is_closed_after_five_seconds() {
        let pin = Some("482915".to_string());
        let (mut ws, _hub) =
            tablet_of(Access::new(pin, crate::tokens::TokenStore::in_memory(90))).await;
        let t0 = Instant::now();
        let Some(Ok(Message::Close(Some(frame)))) = ws.next().await else {
            panic!("the board was served before the tablet signed in");
        };
        assert_eq!(frame.code, CloseCode::Policy);
        assert_eq!(t0.elapsed(), AUTH_TIMEOUT);
    }

    const LIMIT: RateLimit = RateLimit {
        per_second: 20.0,
        burst: 40.0,
    };

    #[test]
    fn a_full_bucket_takes_a_burst_then_refuses() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(LIMIT, t0);
        assert!((0..40).all(|_| bucket.take(t0)));
        assert!(!bucket.take(t0));
        assert!(!bucket.take(t0 + Duration::from_millis(49)));
    }

    #[test]
    fn connections_of_one_identity_share_one_budget() {
        let t0 = Instant::now();
        let limits = RateLimits::default();
        let peer = |port| std::net::SocketAddr::from(([10, 0, 0, 7], port));
        // Two connections from one address without a PIN: one budget.
        let (a, b) = (identity(None, peer(1)), identity(None, peer(2)));
        assert_eq!(a, b);
        assert_eq!((0..100).filter(|_| limits.take(&a, t0)).count(), 40);
        assert!(!limits.take(&b, t0));
        // A token is its own identity, whatever the address.
        assert!(limits.take(&identity(Some("tok"), peer(3)), t0));
        // On loopback, each connection counts alone.
        let local = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
        let other = std::net::SocketAddr::from(([127, 0, 0, 1], 10));
        assert_ne!(identity(None, local), identity(None, other));
    }

    #[test]
    fn tokens_come_back_at_the_sustained_rate_up_to_the_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(LIMIT, t0);
        while bucket.take(t0) {}
        // One token every 50 ms.
        let t1 = t0 + Duration::from_millis(50);
        assert!(bucket.take(t1));
        assert!(!bucket.take(t1));
        // A second at 20/s: 20 frames, not more.
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!((0..100).filter(|_| bucket.take(t2)).count(), 20);
        // A long silence refills only up to the burst.
        let t3 = t2 + Duration::from_secs(3600);
        assert_eq!((0..100).filter(|_| bucket.take(t3)).count(), 40);
    }
}
