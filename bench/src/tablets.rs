//! WebSocket tablets for the bench: each one's reader runs on its own task
//! and forwards every message after the snapshot, stamped on arrival, to one
//! channel, so the measuring loop sees when each tablet got what.

use std::net::SocketAddr;
use std::time::Instant;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

/// (tablet index, when it arrived, the frame).
pub type Arrival = (usize, Instant, Utf8Bytes);

pub struct Tablets {
    addr: SocketAddr,
    sinks: Vec<Sink>,
    arrivals_tx: mpsc::UnboundedSender<Arrival>,
    pub arrivals: mpsc::UnboundedReceiver<Arrival>,
}

impl Tablets {
    pub fn new(addr: SocketAddr) -> Self {
        let (arrivals_tx, arrivals) = mpsc::unbounded_channel();
        Tablets {
            addr,
            sinks: Vec::new(),
            arrivals_tx,
            arrivals,
        }
    }

    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    /// Connects tablets until there are `count`, each past its snapshot.
    pub async fn grow_to(&mut self, count: usize) -> Result<(), String> {
        while self.sinks.len() < count {
            // As a browser does: the page's origin, which the proxy checks.
            let mut request = format!("ws://{}/ws", self.addr)
                .into_client_request()
                .map_err(|e| e.to_string())?;
            let origin = format!("http://{}", self.addr).parse().expect("an origin");
            request.headers_mut().insert("Origin", origin);
            let (ws, _) = tokio_tungstenite::connect_async(request)
                .await
                .map_err(|e| format!("a tablet could not connect: {e}"))?;
            let (sink, mut stream) = ws.split();
            let mut seen_snapshot = false;
            while !seen_snapshot {
                match stream.next().await {
                    Some(Ok(Message::Text(text))) => {
                        seen_snapshot = text.contains(r#""type":"snapshot""#)
                    }
                    Some(Ok(_)) => {}
                    other => return Err(format!("a tablet got {other:?} before its snapshot")),
                }
            }
            let index = self.sinks.len();
            let arrivals = self.arrivals_tx.clone();
            tokio::spawn(async move {
                while let Some(Ok(frame)) = stream.next().await {
                    if let Message::Text(text) = frame {
                        if arrivals.send((index, Instant::now(), text)).is_err() {
                            return;
                        }
                    }
                }
            });
            self.sinks.push(sink);
        }
        Ok(())
    }

    pub async fn send(&mut self, tablet: usize, text: String) -> Result<(), String> {
        self.sinks[tablet]
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| format!("send failed: {e}"))
    }

    /// Waits for the first frame containing `needle`; returns who got it and when.
    pub async fn first_with(&mut self, needle: &str) -> Result<(usize, Instant), String> {
        loop {
            let (tablet, at, text) = self.next().await?;
            if text.contains(needle) {
                return Ok((tablet, at));
            }
        }
    }

    pub async fn next(&mut self) -> Result<Arrival, String> {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.arrivals.recv())
            .await
            .map_err(|_| "no message for 10 s".to_string())?
            .ok_or_else(|| "every tablet disconnected".to_string())
    }

    /// Forgets messages that arrived while nobody was measuring.
    pub fn drain(&mut self) {
        while self.arrivals.try_recv().is_ok() {}
    }

    /// Closes every connection.
    pub async fn close(mut self) {
        for sink in &mut self.sinks {
            let _ = sink.close().await;
        }
    }
}
