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

use shared::protocol::{CommandResult, MirrorState, ServerMsg, ValidCommand, Verdict};
use tokio::net::UdpSocket;

pub use crate::coap::driver::device_socket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep_until, Instant};

use crate::core::{Core, Effect, Input};
use crate::hub::{encode, now_ms, Hub, Updates};
use crate::store::recorder::Recorder;
use crate::store::{Actor, Store};

/// Where one tablet's verdicts and progress go.
pub type Replies = mpsc::UnboundedSender<ServerMsg>;

/// A validated command from a tablet.
pub struct Job {
    pub op: String,
    /// Its wire name (`page_session`, …) and the command as sent, for the audit trail.
    pub name: &'static str,
    pub detail: String,
    pub command: ValidCommand,
    pub replies: Replies,
    pub by: Actor,
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
    /// The stand's memory, and what to record in it.
    pub store: Store,
    pub recorder: Recorder,
}

impl Runner {
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut buf = vec![0; RECV_BUFFER];
        // The device's history, asked for by the runner itself to catch up.
        let (catch_up, mut caught_up) = mpsc::unbounded_channel();
        let mut recording = self.store.status();
        self.core
            .set_not_recording(recording.borrow_and_update().clone(), now());
        loop {
            if self.apply_effects().await {
                let op = format!("catch-up-{:016x}", rand::random::<u64>());
                let command = ValidCommand::GetHistory;
                self.core.handle(
                    Input::Command {
                        tablet: catch_up.clone(),
                        op,
                        command,
                    },
                    now(),
                );
                continue;
            }
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
                    Some(Job { op, name, detail, command, replies, by }) => {
                        self.recorder.on_command(&op, name, detail, &command, by, now_ms());
                        Input::Command { tablet: replies, op, command }
                    }
                    None => break,
                },
                Some(msg) = caught_up.recv() => {
                    if let ServerMsg::Reply { verdict: Verdict::Acknowledged { result: CommandResult::History { entries } }, .. } = msg {
                        for record in self.recorder.on_history(&entries, self.core.state(), now_ms()) {
                            self.store.record(record);
                        }
                    }
                    continue;
                }
                Ok(()) = recording.changed() => {
                    let status = recording.borrow_and_update().clone();
                    self.core.set_not_recording(status, now());
                    continue;
                }
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

    /// Carries out the core's effects and records what they mean; true when
    /// the board was (re)read and the device's history should be read too.
    async fn apply_effects(&mut self) -> bool {
        let mut catch_up = false;
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
                    for record in self.recorder.on_verdict(&op, &verdict, now_ms()) {
                        self.store.record(record);
                    }
                    let _ = to.send(ServerMsg::Reply { op, verdict });
                }
                Effect::Progress { to, op, attempt } => {
                    self.recorder.on_progress(&op, attempt);
                    let _ = to.send(ServerMsg::Progress { op, attempt });
                }
                Effect::Delta(delta) => {
                    for record in self.recorder.on_delta(&delta, now_ms()) {
                        self.store.record(record);
                    }
                    catch_up |= self.recorder.take_history_due();
                    self.hub.publish(delta)
                }
                Effect::Journal(bytes) => {
                    if let Some(path) = &self.journal {
                        if let Err(error) = write_atomically(path, &bytes) {
                            tracing::error!(%error, path = %path.display(), "cannot keep the op journal");
                        }
                    }
                }
            }
        }
        catch_up
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
