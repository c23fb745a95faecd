//! The one task that owns the [`Core`] (and with it the CoAP endpoint and
//! the mirror) and the UDP socket to the device. It only moves things: tablet
//! commands and datagrams in, the core's effects out — datagrams to the
//! device, verdicts to one tablet, deltas to all, the op journal to disk —
//! and sleeps until the core's next deadline.
//!
//! Time is read from `tokio::time::Instant`, so the whole stack runs under
//! `tokio::time::pause()` in tests.

use std::io;
use std::path::PathBuf;

use shared::protocol::{MirrorState, ServerMsg, ValidCommand};
use tokio::net::UdpSocket;

pub use crate::coap::driver::device_socket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep_until, Instant};

use crate::core::{Core, Effect, Input};
use crate::hub::{encode, now_ms, Hub, Updates};

/// Where one tablet's verdicts and progress go.
pub type Replies = mpsc::UnboundedSender<ServerMsg>;

/// A validated command from a tablet.
pub struct Job {
    pub op: String,
    pub command: ValidCommand,
    pub replies: Replies,
}

/// What tablets' connections ask of the task besides commands.
pub enum Ask {
    /// A snapshot and the updates that follow it, taken together.
    Subscribe(oneshot::Sender<(tokio_tungstenite::tungstenite::Utf8Bytes, Updates)>),
    /// A fresh snapshot, for a tablet that fell behind.
    Snapshot(oneshot::Sender<tokio_tungstenite::tungstenite::Utf8Bytes>),
    /// The board itself (tests and tools).
    State(oneshot::Sender<MirrorState>),
}

/// Larger than any CoAP datagram the device sends (1024-byte blocks plus headers).
const RECV_BUFFER: usize = 2048;

pub struct Runner {
    pub socket: UdpSocket,
    pub core: Core<Replies>,
    pub jobs: mpsc::Receiver<Job>,
    pub asks: mpsc::Receiver<Ask>,
    pub hub: Hub,
    /// Where the op journal is kept; `None` keeps it in memory only.
    pub journal: Option<PathBuf>,
}

impl Runner {
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut buf = vec![0; RECV_BUFFER];
        loop {
            self.apply_effects().await;
            let wake = self.core.poll_timeout(now()).map(Instant::from_std);
            let timer = async {
                match wake {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let input = tokio::select! {
                _ = shutdown.changed() => break,
                job = self.jobs.recv() => match job {
                    Some(Job { op, command, replies }) => Input::Command { tablet: replies, op, command },
                    None => break,
                },
                Some(ask) = self.asks.recv() => {
                    self.answer(ask);
                    continue;
                }
                received = self.socket.recv(&mut buf) => match received {
                    Ok(n) => Input::Datagram(buf[..n].to_vec()),
                    // E.g. an ICMP error for an earlier datagram: the core's timers cover it.
                    Err(e) => {
                        tracing::debug!(%e, "UDP receive failed");
                        continue;
                    }
                },
                () = timer => Input::Timeout,
            };
            self.core.handle(input, now());
        }
    }

    fn answer(&mut self, ask: Ask) {
        // A connection that stopped waiting needs no answer.
        let _ = match ask {
            Ask::Subscribe(reply) => reply
                .send((self.snapshot(), self.hub.updates()))
                .map_err(drop),
            Ask::Snapshot(reply) => reply.send(self.snapshot()).map_err(drop),
            Ask::State(reply) => reply.send(self.core.state().clone()).map_err(drop),
        };
    }

    fn snapshot(&self) -> tokio_tungstenite::tungstenite::Utf8Bytes {
        encode(&ServerMsg::Snapshot {
            state: self.core.state().clone(),
            proxy_time_ms: now_ms(),
        })
    }

    async fn apply_effects(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            match effect {
                Effect::Transmit(datagram) => {
                    if let Err(e) = self.socket.send(&datagram).await {
                        // Lost like any datagram; retransmission and liveness deal with it.
                        tracing::debug!(%e, "UDP send failed");
                    }
                }
                // A tablet that went away needs no answer.
                Effect::Reply { to, op, verdict } => {
                    let _ = to.send(ServerMsg::Reply { op, verdict });
                }
                Effect::Progress { to, op, attempt } => {
                    let _ = to.send(ServerMsg::Progress { op, attempt });
                }
                Effect::Delta(delta) => self.hub.publish(delta),
                Effect::Journal(bytes) => {
                    if let Some(path) = &self.journal {
                        if let Err(error) = write_atomically(path, &bytes) {
                            tracing::error!(%error, path = %path.display(), "cannot keep the op journal");
                        }
                    }
                }
            }
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and
/// renames it over `path`: a reader sees the old record or the new, never half.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    std::fs::rename(&tmp, path)
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}
