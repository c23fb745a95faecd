//! One task per tablet. It sends the hello and a snapshot, then forwards every
//! mirror change, turns each text frame into a validated command for the
//! coordinator, and sends back the verdicts. Nothing a tablet sends can panic
//! the proxy or reach the device unvalidated, and a tablet that stops reading
//! is dropped after [`WRITE_TIMEOUT`] without delaying anyone else.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use shared::protocol::{ClientMsg, ServerMsg, PROTOCOL_VERSION};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::coordinator::{Job, Replies};
use crate::hub::{encode, now_ms, Hub};

/// A tablet that has not taken a message for this long is gone.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every tablet connection shares.
pub struct Tablets {
    pub hub: Hub,
    pub jobs: mpsc::Sender<Job>,
    pub simulated: bool,
}

pub fn config() -> WebSocketConfig {
    let limit = Some(shared::protocol::MAX_FRAME_BYTES);
    WebSocketConfig::default()
        .max_message_size(limit)
        .max_frame_size(limit)
}

pub async fn serve<S>(ws: WebSocketStream<S>, tablets: Arc<Tablets>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut frames) = ws.split();
    let (snapshot, mut updates) = tablets.hub.subscribe();
    let hello = encode(&ServerMsg::Hello {
        protocol: PROTOCOL_VERSION,
        simulated: tablets.simulated,
        proxy_time_ms: now_ms(),
    });
    let (reply_tx, mut replies): (Replies, _) = mpsc::unbounded_channel();
    let mut outbox = vec![hello, snapshot];
    loop {
        for text in outbox.drain(..) {
            match tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Text(text))).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    tracing::warn!("dropping a tablet that stopped reading");
                    return;
                }
            }
        }
        // Biased, updates first: the coordinator publishes a change before it
        // sends the verdict, so a tablet sees the new row before the ✓.
        tokio::select! {
            biased;
            update = updates.recv() => match update {
                Ok(text) => outbox.push(text),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a slow tablet is resent a snapshot");
                    outbox.push(tablets.hub.snapshot());
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            Some((op, verdict)) = replies.recv() => {
                outbox.push(encode(&ServerMsg::Reply { op, verdict }));
            }
            frame = frames.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some(answer) = take_command(&text, &tablets, &reply_tx).await {
                        outbox.push(answer);
                    }
                }
                Some(Ok(Message::Binary(_))) => outbox.push(encode(&ServerMsg::Error {
                    op: None,
                    code: "binary_not_supported".into(),
                    message: "Send commands as JSON text frames.".into(),
                })),
                Some(Ok(_)) => {} // ping, pong: tungstenite answers pings itself
                Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, .. }))) => {
                    let error = shared::protocol::ProtocolError::FrameTooLarge { bytes: size };
                    let _ = sink.send(Message::Text(encode(&error.to_server_msg()))).await;
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code: CloseCode::Size,
                            reason: "frame too large".into(),
                        })))
                        .await;
                    return;
                }
                None | Some(Err(_)) => return,
            },
        }
    }
}

/// Parses and validates one frame; hands a good command to the coordinator
/// (its verdict comes back on `replies`) and returns what to answer at once.
async fn take_command(text: &str, tablets: &Tablets, replies: &Replies) -> Option<Utf8Bytes> {
    let msg = match ClientMsg::parse(text) {
        Ok(msg) => msg,
        Err(error) => return Some(encode(&error.to_server_msg())),
    };
    let command = match msg.command.validate() {
        Ok(command) => command,
        Err(invalid) => {
            return Some(encode(&ServerMsg::Reply {
                op: msg.op,
                verdict: shared::protocol::Verdict::invalid(&invalid),
            }))
        }
    };
    let job = Job {
        op: msg.op,
        command,
        replies: replies.clone(),
    };
    if tablets.jobs.send(job).await.is_err() {
        return Some(encode(&ServerMsg::Error {
            op: None,
            code: "shutting_down".into(),
            message: "Coaster is shutting down.".into(),
        }));
    }
    None
}
