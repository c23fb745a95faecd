//! A small retransmitting CoAP client for the integration tests: CON
//! requests, the SAME bytes (Message ID and token) resent on a short timeout
//! until answered, as RFC 7252 allows within EXCHANGE_LIFETIME. Loopback
//! answers in well under a millisecond, so a 25 ms timeout stands in for 2 s.

use std::net::SocketAddr;
use std::time::Duration;

use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType};
use tokio::net::UdpSocket;
use tokio::time::{timeout, Instant};

pub const RESEND_AFTER: Duration = Duration::from_millis(25);
/// Far more than any loss pattern here needs; a test that hits it has failed.
const GIVE_UP_AFTER: Duration = Duration::from_secs(20);

pub struct RetryingClient {
    socket: UdpSocket,
    server: SocketAddr,
    next_message_id: u16,
    next_token: u32,
    /// How many times a request had to be sent again.
    pub retransmissions: u64,
}

pub fn request_packet(
    message_id: u16,
    token: &[u8],
    method: RequestType,
    uri: &str,
    body: &str,
) -> Packet {
    let mut packet = Packet::new();
    packet.header.set_type(MessageType::Confirmable);
    packet.header.code = MessageClass::Request(method);
    packet.header.message_id = message_id;
    packet.set_token(token.to_vec());
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        packet.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
    }
    for item in query.split('&').filter(|s| !s.is_empty()) {
        packet.add_option(CoapOption::UriQuery, item.as_bytes().to_vec());
    }
    packet.payload = body.as_bytes().to_vec();
    packet
}

impl RetryingClient {
    pub async fn new(server: SocketAddr) -> Self {
        RetryingClient {
            socket: UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind a client socket"),
            server,
            next_message_id: 0x4000,
            next_token: 1,
            retransmissions: 0,
        }
    }

    /// One confirmable request, retransmitted until its response arrives.
    pub async fn request(&mut self, method: RequestType, uri: &str, body: &str) -> Packet {
        self.next_message_id = self.next_message_id.wrapping_add(1);
        self.next_token += 1;
        let token = self.next_token.to_be_bytes().to_vec();
        let packet = request_packet(self.next_message_id, &token, method, uri, body);
        self.exchange(&packet.to_bytes().unwrap(), self.next_message_id, &token)
            .await
    }

    /// Sends `bytes` (a CON request) until the response for `message_id` /
    /// `token` arrives, piggybacked or separate.
    pub async fn exchange(&mut self, bytes: &[u8], message_id: u16, token: &[u8]) -> Packet {
        let started = Instant::now();
        let mut acknowledged = false; // an empty ACK came: stop resending, wait
        self.send(bytes).await;
        let mut resend_at = Instant::now() + RESEND_AFTER;
        loop {
            assert!(
                started.elapsed() < GIVE_UP_AFTER,
                "no answer to MID {message_id} within {GIVE_UP_AFTER:?}"
            );
            let wait = if acknowledged {
                GIVE_UP_AFTER
            } else {
                resend_at.saturating_duration_since(Instant::now())
            };
            let Ok(packet) = timeout(wait, self.receive()).await else {
                self.retransmissions += 1;
                self.send(bytes).await;
                resend_at = Instant::now() + RESEND_AFTER;
                continue;
            };
            let kind = packet.header.get_type();
            if kind == MessageType::Confirmable {
                // A separate response or a notification: always acknowledge.
                let mut ack = Packet::new();
                ack.header.set_type(MessageType::Acknowledgement);
                ack.header.code = MessageClass::Empty;
                ack.header.message_id = packet.header.message_id;
                self.send(&ack.to_bytes().unwrap()).await;
            }
            match (kind, packet.header.code) {
                (MessageType::Acknowledgement, MessageClass::Empty)
                    if packet.header.message_id == message_id =>
                {
                    acknowledged = true;
                }
                (MessageType::Acknowledgement, MessageClass::Response(_))
                    if packet.header.message_id == message_id =>
                {
                    return packet;
                }
                (
                    MessageType::Confirmable | MessageType::NonConfirmable,
                    MessageClass::Response(_),
                ) if packet.get_token() == token => {
                    return packet;
                }
                _ => {} // a late answer to an earlier exchange
            }
        }
    }

    pub async fn send(&self, bytes: &[u8]) {
        self.socket
            .send_to(bytes, self.server)
            .await
            .expect("send to the simulator");
    }

    pub async fn receive(&self) -> Packet {
        let mut buf = vec![0u8; 2048];
        loop {
            let (len, _) = self.socket.recv_from(&mut buf).await.expect("receive");
            if let Ok(packet) = Packet::from_bytes(&buf[..len]) {
                return packet;
            }
        }
    }
}
