//! A minimal direct CoAP client: the baseline P1 compares the proxy against,
//! and how P2/P5 change the device behind the proxy's back. One request at a
//! time, Confirmable, piggybacked answers (the simulator's default).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use coap_lite::{CoapOption, ContentFormat, MessageClass, MessageType, Packet, RequestType};
use tokio::net::UdpSocket;

pub struct CoapClient {
    socket: UdpSocket,
    next_mid: u16,
    buf: Vec<u8>,
}

/// A response code as "2.05" and the payload.
pub type Answer = (String, Vec<u8>);

impl CoapClient {
    pub async fn connect(device: SocketAddr) -> io::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        socket.connect(device).await?;
        Ok(CoapClient {
            socket,
            next_mid: 1,
            buf: vec![0; 4096],
        })
    }

    /// `path` may carry one `?query`.
    pub async fn request(
        &mut self,
        method: RequestType,
        path: &str,
        body: Option<&[u8]>,
    ) -> io::Result<Answer> {
        let mid = self.next_mid;
        self.next_mid = self.next_mid.wrapping_add(1);
        let mut packet = Packet::new();
        packet.header.set_type(MessageType::Confirmable);
        packet.header.code = MessageClass::Request(method);
        packet.header.message_id = mid;
        packet.set_token(mid.to_be_bytes().to_vec());
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            packet.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
        }
        if !query.is_empty() {
            packet.add_option(CoapOption::UriQuery, query.as_bytes().to_vec());
        }
        if let Some(body) = body {
            packet.set_content_format(ContentFormat::ApplicationJSON);
            packet.payload = body.to_vec();
        }
        let bytes = packet
            .to_bytes()
            .map_err(|e| io::Error::other(e.to_string()))?;
        // Loopback does not lose datagrams, but a stuck bench helps no one.
        for _ in 0..4 {
            self.socket.send(&bytes).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while let Ok(received) =
                tokio::time::timeout_at(deadline, self.socket.recv(&mut self.buf)).await
            {
                let n = received?;
                let Ok(answer) = Packet::from_bytes(&self.buf[..n]) else {
                    continue;
                };
                if answer.header.get_type() == MessageType::Acknowledgement
                    && answer.header.message_id == mid
                {
                    return Ok((answer.header.get_code(), answer.payload));
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer to {path}"),
        ))
    }
}
