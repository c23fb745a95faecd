//! Fan-out to tablets. The hub keeps a copy of the mirror for snapshots and a
//! broadcast channel of already-serialized messages: a change is serialized
//! once however many tablets listen, and a tablet that falls behind is sent a
//! fresh snapshot instead of holding the others back.

use std::sync::{Arc, Mutex};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use shared::protocol::{MirrorDelta, MirrorState, ServerMsg};
use tokio::sync::broadcast;

/// Messages a tablet may fall behind by before it is resent a snapshot.
const BACKLOG: usize = 1024;

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Mutex<Shared>>,
}

struct Shared {
    state: MirrorState,
    updates: broadcast::Sender<Utf8Bytes>,
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
    pub fn new(state: MirrorState) -> Self {
        Hub {
            inner: Arc::new(Mutex::new(Shared {
                state,
                updates: broadcast::channel(BACKLOG).0,
            })),
        }
    }

    /// Applies a delta to the hub's copy and sends it to every tablet.
    pub fn publish(&self, delta: MirrorDelta) {
        if delta.is_empty() {
            return;
        }
        let mut shared = self.inner.lock().expect("hub lock");
        shared.state.apply(&delta);
        // No receivers is fine: no tablet is connected.
        let _ = shared.updates.send(encode(&ServerMsg::Delta { delta }));
    }

    /// A snapshot message and the updates that follow it, taken atomically so
    /// no change falls between the two.
    pub fn subscribe(&self) -> (Utf8Bytes, broadcast::Receiver<Utf8Bytes>) {
        let shared = self.inner.lock().expect("hub lock");
        (snapshot_of(&shared.state), shared.updates.subscribe())
    }

    /// A fresh snapshot, for a tablet that fell behind.
    pub fn snapshot(&self) -> Utf8Bytes {
        snapshot_of(&self.inner.lock().expect("hub lock").state)
    }

    pub fn state(&self) -> MirrorState {
        self.inner.lock().expect("hub lock").state.clone()
    }

    pub fn tablets(&self) -> usize {
        self.inner
            .lock()
            .expect("hub lock")
            .updates
            .receiver_count()
    }
}

fn snapshot_of(state: &MirrorState) -> Utf8Bytes {
    encode(&ServerMsg::Snapshot {
        state: state.clone(),
        proxy_time_ms: now_ms(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::device::Statistics;

    #[tokio::test]
    async fn subscribers_get_the_snapshot_then_every_delta_once() {
        let hub = Hub::new(MirrorState::default());
        let (snapshot, mut updates) = hub.subscribe();
        assert!(snapshot.contains(r#""type":"snapshot""#));
        hub.publish(MirrorDelta::default());
        hub.publish(MirrorDelta {
            statistics: Some(Statistics {
                num_sessions: 3,
                ..Default::default()
            }),
            ..Default::default()
        });
        let msg: ServerMsg = serde_json::from_str(&updates.recv().await.unwrap()).unwrap();
        let ServerMsg::Delta { delta } = msg else {
            panic!("expected a delta, got {msg:?}");
        };
        assert_eq!(delta.statistics.unwrap().num_sessions, 3);
        assert!(updates.try_recv().is_err(), "the empty delta was sent");
        assert_eq!(hub.state().statistics.num_sessions, 3);
    }
}
