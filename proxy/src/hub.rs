//! Fan-out to tablets. The mirror itself lives in the core's task; the hub is
//! how tablets' connections reach it: a broadcast channel of
//! already-serialized changes (a change is serialized once however many
//! tablets listen, and a tablet that falls behind is sent a fresh snapshot
//! instead of holding the others back), and a way to ask the task for a
//! snapshot taken together with the subscription.

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use shared::protocol::{MirrorDelta, MirrorState, ServerMsg};

use crate::runner::Ask;

/// Messages a tablet may fall behind by before it is resent a snapshot.
const BACKLOG: usize = 1024;

pub type Updates = broadcast::Receiver<Utf8Bytes>;

#[derive(Clone)]
pub struct Hub {
    updates: broadcast::Sender<Utf8Bytes>,
    asks: mpsc::Sender<Ask>,
}

pub fn encode(msg: &ServerMsg) -> Utf8Bytes {
    serde_json::to_string(msg)
        .expect("server messages always serialize")
        .into()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Hub {
    /// The hub, and where the core's task takes tablets' asks from.
    pub fn new() -> (Self, mpsc::Receiver<Ask>) {
        let (asks, asked) = mpsc::channel(BACKLOG);
        let hub = Hub {
            updates: broadcast::channel(BACKLOG).0,
            asks,
        };
        (hub, asked)
    }

    /// Sends a change to every tablet (the core's task only).
    pub fn publish(&self, delta: MirrorDelta) {
        // No receivers is fine: no tablet is connected.
        let _ = self.updates.send(encode(&ServerMsg::Delta { delta }));
    }

    /// A receiver of every change from now on (the core's task only).
    pub fn updates(&self) -> Updates {
        self.updates.subscribe()
    }

    /// A snapshot message and the updates that follow it, taken together so
    /// no change falls between the two; `None` once the proxy is stopping.
    pub async fn subscribe(&self) -> Option<(Utf8Bytes, Updates)> {
        self.ask(Ask::Subscribe).await
    }

    /// A fresh snapshot, for a tablet that fell behind.
    pub async fn snapshot(&self) -> Option<Utf8Bytes> {
        self.ask(Ask::Snapshot).await
    }

    /// The board as the core holds it.
    pub async fn state(&self) -> Option<MirrorState> {
        self.ask(Ask::State).await
    }

    pub fn tablets(&self) -> usize {
        self.updates.receiver_count()
    }

    async fn ask<R>(&self, ask: impl FnOnce(oneshot::Sender<R>) -> Ask) -> Option<R> {
        let (reply, answer) = oneshot::channel();
        self.asks.send(ask(reply)).await.ok()?;
        answer.await.ok()
    }
}
