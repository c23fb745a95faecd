//! P1's floor: a WebSocket round trip on loopback to a server that only
//! echoes, measured beside the proxied and direct paths. The proxied path
//! pays this before the proxy does any work of its own.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Echo {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Echo {
    pub async fn start() -> Result<Echo, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("echo server: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(frame)) = socket.next().await {
                if frame.is_text() && socket.send(frame).await.is_err() {
                    return;
                }
            }
        });
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
            .await
            .map_err(|e| format!("echo client: {e}"))?;
        Ok(Echo { socket })
    }

    /// Sends `text` and waits for it to come back.
    pub async fn round_trip(&mut self, text: &str) -> Result<Duration, String> {
        let start = Instant::now();
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| format!("echo send: {e}"))?;
        match self.socket.next().await {
            Some(Ok(Message::Text(_))) => Ok(start.elapsed()),
            other => Err(format!("echo answered {other:?}")),
        }
    }
}
