//! The sans-IO CoAP server: `on_datagram` and `on_timeout` take bytes and an
//! `Instant` and return the datagrams to send; `next_deadline` says when to
//! call `on_timeout` next. The server wraps this with a socket and a timer.
//!
//! Message handling (RFC 7252): a CON request gets a piggybacked ACK (or, in
//! separate-response mode, an empty ACK and then a CON response); a NON request
//! a NON response. Requests are deduplicated by (Message ID, endpoint). An
//! empty CON (a "CoAP ping"), a CON we cannot decode and a CON with a code we
//! cannot process are answered with RST; anything else we do not understand is
//! ignored. Unknown critical options answer 4.02.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coap_lite::block_handler::BlockValue;
use coap_lite::option_value::OptionValueU32;
use coap_lite::{
    CoapOption, ContentFormat, MessageClass, MessageType, Packet, RequestType, ResponseType,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::device::Envelope;

use crate::blockwise::{self, BlockCache, Representation};
use crate::dedupe::DedupeCache;
use crate::etag::content_tag;
use crate::model::{Device, DeviceState, Method, PageRecord, Request};
use crate::observe::{Observers, PingTask, DEFAULT_PING_INTERVAL};
use crate::retransmit::{Purpose, Retransmitter};

#[derive(Clone, Debug)]
pub struct EndpointConfig {
    pub ping_interval: Duration,
    /// Answer every CON request with an empty ACK and a separate CON response.
    pub separate_responses: bool,
    /// Reboot the device after every N requests (duplicates not counted).
    pub reboot_after: Option<u32>,
    /// Seeds Message IDs, retransmission jitter and session UUIDs.
    pub seed: u64,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            ping_interval: DEFAULT_PING_INTERVAL,
            separate_responses: false,
            reboot_after: None,
            seed: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub bytes: Vec<u8>,
    pub to: SocketAddr,
}

/// Options this server understands; any other critical (odd) option is refused.
const KNOWN_CRITICAL_OPTIONS: [u16; 6] = [3, 7, 11, 15, 17, 23]; // Uri-Host, Uri-Port, Uri-Path, Uri-Query, Accept, Block2
const CONTENT_FORMAT_JSON: ContentFormat = ContentFormat::ApplicationJSON;

pub struct Endpoint {
    device: Device,
    config: EndpointConfig,
    dedupe: DedupeCache,
    blocks: BlockCache,
    observers: Observers,
    retransmitter: Retransmitter,
    next_message_id: u16,
    requests_since_boot: u32,
    pages: Vec<PageRecord>,
}

impl Endpoint {
    pub fn new(device: Device, config: EndpointConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        Endpoint {
            device,
            next_message_id: rng.gen(),
            retransmitter: Retransmitter::new(StdRng::seed_from_u64(rng.gen())),
            observers: Observers::new(config.ping_interval),
            config,
            dedupe: DedupeCache::default(),
            blocks: BlockCache::default(),
            requests_since_boot: 0,
            pages: Vec::new(),
        }
    }

    /// Every page transmitted since start (reboots included), oldest first.
    pub fn pages(&self) -> &[PageRecord] {
        &self.pages
    }

    pub fn device_state(&mut self, now: Instant) -> DeviceState {
        self.device.state(now)
    }

    pub fn observer_count(&self) -> usize {
        self.observers.len()
    }

    pub fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr, now: Instant) -> Vec<Outgoing> {
        let packet = match Packet::from_bytes(bytes) {
            Ok(packet) if packet.header.get_version() == 1 => packet,
            Ok(_) => return Vec::new(), // another CoAP version: silently ignored (§3)
            Err(_) => return reject_undecodable(bytes, from),
        };
        let message_id = packet.header.message_id;
        match (packet.header.get_type(), packet.header.code) {
            (MessageType::Acknowledgement, _) => {
                if let Some(Purpose::Notification { token }) =
                    self.retransmitter.settle(from, message_id)
                {
                    self.observers.acknowledged(from, &token, message_id);
                }
                Vec::new()
            }
            (MessageType::Reset, _) => {
                // RFC 7641 §3.6: a RST to a notification cancels the observation.
                if let Some(Purpose::Notification { token }) =
                    self.retransmitter.settle(from, message_id)
                {
                    self.forget_observer(from, &token);
                }
                Vec::new()
            }
            (
                MessageType::Confirmable | MessageType::NonConfirmable,
                MessageClass::Request(method),
            ) => self.on_request(&packet, method, from, now),
            (MessageType::Confirmable, _) => vec![reset(message_id, from)],
            (MessageType::NonConfirmable, _) => Vec::new(),
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut out: Vec<Outgoing> = self
            .retransmitter
            .due(now)
            .into_iter()
            .map(|(to, bytes)| Outgoing { bytes, to })
            .collect();
        for task in self.observers.ping_tasks(now) {
            match task {
                PingTask::Abandon { addr, message_id } => {
                    self.retransmitter
                        .abandon(|to, id, _| to == addr && id == message_id);
                }
                PingTask::Dropped { addr, token } => {
                    tracing::info!(%addr, "observer dropped after three unacknowledged pings");
                    self.forget_observer(addr, &token);
                }
                PingTask::Ping { addr, token } => {
                    let ping = self.device.ping(now);
                    if let Some(outgoing) = self.notify_one(addr, &token, &ping, now) {
                        let message_id = u16::from_be_bytes([outgoing.bytes[2], outgoing.bytes[3]]);
                        self.observers.ping_sent(addr, &token, message_id);
                        out.push(outgoing);
                    }
                }
            }
        }
        out
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.retransmitter.next_deadline(),
            self.observers.next_ping_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_request(
        &mut self,
        packet: &Packet,
        method: RequestType,
        from: SocketAddr,
        now: Instant,
    ) -> Vec<Outgoing> {
        let message_id = packet.header.message_id;
        if let Some(answer) = self.dedupe.recall(from, message_id, now) {
            tracing::debug!(%from, mid = message_id, "duplicate request answered from cache");
            return vec![Outgoing {
                bytes: answer.to_vec(),
                to: from,
            }];
        }
        let mut notifications = Vec::new();
        let response = self.respond(packet, method, from, now, &mut notifications);
        let (answer, separate) = self.deliver(packet, response, from, now);
        // A duplicate gets the answer to its Message ID again; a separate
        // response is the retransmitter's to repeat, not the cache's.
        self.dedupe.remember(from, message_id, answer.clone(), now);
        let mut out = vec![Outgoing {
            bytes: answer,
            to: from,
        }];
        out.extend(separate.map(|bytes| Outgoing { bytes, to: from }));
        out.extend(notifications);
        self.count_request_and_maybe_reboot();
        out
    }

    fn count_request_and_maybe_reboot(&mut self) {
        let Some(limit) = self.config.reboot_after else {
            return;
        };
        self.requests_since_boot += 1;
        if self.requests_since_boot >= limit {
            tracing::info!(
                after = limit,
                "simulated reboot: sessions, sequence and observers forgotten"
            );
            self.reboot();
        }
    }

    /// A power cycle: sessions, sequence, observers and every exchange
    /// forgotten (the page log, being the radio's, is kept).
    pub fn reboot(&mut self) {
        self.requests_since_boot = 0;
        self.device.reboot();
        self.observers.clear();
        self.retransmitter.clear();
        self.blocks.clear();
        self.dedupe.clear();
    }

    /// The response's code, options and payload (type and Message ID are set by `deliver`).
    fn respond(
        &mut self,
        packet: &Packet,
        method: RequestType,
        from: SocketAddr,
        now: Instant,
        notifications: &mut Vec<Outgoing>,
    ) -> Packet {
        let mut response = Packet::new();
        response.set_token(packet.get_token().to_vec());
        if let Some((number, _)) = packet
            .options()
            .find(|(number, _)| *number % 2 == 1 && !KNOWN_CRITICAL_OPTIONS.contains(number))
        {
            return error_packet(
                response,
                ResponseType::BadOption,
                &format!("Option {number} is not supported."),
            );
        }
        let request = lift_request(packet, method);
        let uri = uri_key(&request);
        let block2 = packet
            .get_first_option_as::<BlockValue>(CoapOption::Block2)
            .and_then(Result::ok);
        let block_num = block2.as_ref().map_or(0, |b| b.num);
        let size = blockwise::block_size(block2.as_ref());

        // A later block comes from the copy cached when block 0 went out.
        if block_num > 0 {
            if let Some(representation) = self.blocks.get(from, &uri, now) {
                let representation = representation.clone();
                return shape_body(response, &representation, block_num, size);
            }
            if request.method != Method::Get {
                return error_packet(
                    response,
                    ResponseType::RequestEntityIncomplete,
                    "That block's representation has expired; start again from block 0.",
                );
            }
        }

        let handled = self.device.handle(&request, now);
        for page in &handled.pages {
            tracing::info!(number = page.number, mode = page.mode.name(), at = %page.at,
                source = ?page.source, message = ?page.message, system_id = page.system_id, "page transmitted");
        }
        self.pages.extend(handled.pages);
        for envelope in &handled.notifications {
            notifications.extend(self.notify_all(envelope, now));
        }

        let reply = handled.reply;
        if request.path == ["v1", "notify"] && !reply.code.is_error() {
            match packet.get_observe_value() {
                Some(Ok(0)) => {
                    let observe = self.observers.register(from, packet.get_token(), now);
                    response.set_observe_value(observe);
                }
                // Observe=1, or a plain GET with the same token, ends the observation;
                // a later-block fetch of the registration snapshot does not (RFC 7959 §2.6).
                Some(Ok(1)) | None if block_num == 0 => {
                    self.observers.deregister(from, packet.get_token());
                }
                _ => {}
            }
        }
        let payload = reply.payload();
        if let Some(etag) = &reply.etag {
            response.add_option(CoapOption::ETag, etag.clone());
        }
        if payload.len() <= size && block_num == 0 {
            response.header.code = MessageClass::Response(reply.code);
            if !payload.is_empty() {
                response.set_content_format(CONTENT_FORMAT_JSON);
                response.payload = payload;
            }
            return response;
        }
        let representation = Representation {
            code: reply.code,
            etag: reply.etag.unwrap_or_else(|| content_tag(&[&payload])),
            payload,
        };
        self.blocks.store(from, &uri, representation.clone(), now);
        response.clear_option(CoapOption::ETag);
        shape_body(response, &representation, block_num, size)
    }

    /// Sets type and Message ID and encodes. Returns the answer to the
    /// request's Message ID and, in separate-response mode, the response.
    fn deliver(
        &mut self,
        request: &Packet,
        mut response: Packet,
        from: SocketAddr,
        now: Instant,
    ) -> (Vec<u8>, Option<Vec<u8>>) {
        match request.header.get_type() {
            MessageType::Confirmable if self.config.separate_responses => {
                let ack = empty(MessageType::Acknowledgement, request.header.message_id);
                let message_id = self.new_message_id();
                response.header.set_type(MessageType::Confirmable);
                response.header.message_id = message_id;
                let bytes = encode(&response);
                self.retransmitter.track(
                    from,
                    message_id,
                    bytes.clone(),
                    Purpose::SeparateResponse,
                    now,
                );
                (encode(&ack), Some(bytes))
            }
            MessageType::Confirmable => {
                response.header.set_type(MessageType::Acknowledgement);
                response.header.message_id = request.header.message_id;
                (encode(&response), None)
            }
            _ => {
                response.header.set_type(MessageType::NonConfirmable);
                response.header.message_id = self.new_message_id();
                (encode(&response), None)
            }
        }
    }

    fn notify_all(&mut self, envelope: &Envelope, now: Instant) -> Vec<Outgoing> {
        let targets: Vec<(SocketAddr, Vec<u8>)> = self
            .observers
            .all_mut()
            .map(|o| (o.addr, o.token.clone()))
            .collect();
        targets
            .into_iter()
            .filter_map(|(addr, token)| self.notify_one(addr, &token, envelope, now))
            .collect()
    }

    /// One Confirmable notification, tracked for retransmission.
    fn notify_one(
        &mut self,
        addr: SocketAddr,
        token: &[u8],
        envelope: &Envelope,
        now: Instant,
    ) -> Option<Outgoing> {
        let observe = self.observers.get_mut(addr, token)?.next_observe();
        let message_id = self.new_message_id();
        let mut packet = Packet::new();
        packet.header.set_type(MessageType::Confirmable);
        packet.header.code = MessageClass::Response(ResponseType::Content);
        packet.header.message_id = message_id;
        packet.set_token(token.to_vec());
        packet.set_observe_value(observe);
        packet.set_content_format(CONTENT_FORMAT_JSON);
        packet.payload = envelope.to_body();
        let bytes = encode(&packet);
        let purpose = Purpose::Notification {
            token: token.to_vec(),
        };
        self.retransmitter
            .track(addr, message_id, bytes.clone(), purpose, now);
        Some(Outgoing { bytes, to: addr })
    }

    fn forget_observer(&mut self, addr: SocketAddr, token: &[u8]) {
        self.observers.deregister(addr, token);
        self.retransmitter.abandon(|to, _, purpose| {
            to == addr
                && *purpose
                    == Purpose::Notification {
                        token: token.to_vec(),
                    }
        });
    }

    fn new_message_id(&mut self) -> u16 {
        self.next_message_id = self.next_message_id.wrapping_add(1);
        self.next_message_id
    }
}

fn lift_request(packet: &Packet, method: RequestType) -> Request {
    let strings = |option| -> Vec<String> {
        packet
            .get_option(option)
            .map(|values| {
                values
                    .iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    Request {
        method: match method {
            RequestType::Get => Method::Get,
            RequestType::Post => Method::Post,
            RequestType::Put => Method::Put,
            RequestType::Delete => Method::Delete,
            _ => Method::Other,
        },
        path: strings(CoapOption::UriPath),
        query: strings(CoapOption::UriQuery),
        body: packet.payload.clone(),
        etags: packet
            .get_option(CoapOption::ETag)
            .map(|values| values.iter().cloned().collect())
            .unwrap_or_default(),
    }
}

/// What identifies "the same resource" for Block2 follow-up requests.
fn uri_key(request: &Request) -> String {
    format!("{}?{}", request.path.join("/"), request.query.join("&"))
}

/// Block `num` of a representation, or 4.02 past its end (RFC 7959 §2.2).
fn shape_body(
    mut response: Packet,
    representation: &Representation,
    num: u16,
    size: usize,
) -> Packet {
    let Some((block, data)) = blockwise::cut(&representation.payload, num, size) else {
        return error_packet(
            response,
            ResponseType::BadOption,
            "That block is past the end of the response.",
        );
    };
    response.header.code = MessageClass::Response(representation.code);
    response.add_option(CoapOption::ETag, representation.etag.clone());
    response.set_content_format(CONTENT_FORMAT_JSON);
    if num == 0 {
        let total = u32::try_from(representation.payload.len()).unwrap_or(u32::MAX);
        response.add_option_as(CoapOption::Size2, OptionValueU32(total));
    }
    response.add_option_as(CoapOption::Block2, block);
    response.payload = data.to_vec();
    response
}

fn error_packet(mut response: Packet, code: ResponseType, message: &str) -> Packet {
    response.header.code = MessageClass::Response(code);
    response.set_content_format(CONTENT_FORMAT_JSON);
    response.payload = serde_json::to_vec(&shared::device::ErrorBody {
        error: message.into(),
    })
    .expect("an error body serializes");
    response
}

fn empty(kind: MessageType, message_id: u16) -> Packet {
    let mut packet = Packet::new();
    packet.header.set_type(kind);
    packet.header.code = MessageClass::Empty;
    packet.header.message_id = message_id;
    packet
}

fn reset(message_id: u16, to: SocketAddr) -> Outgoing {
    Outgoing {
        bytes: encode(&empty(MessageType::Reset, message_id)),
        to,
    }
}

/// RFC 7252 §4.2: a CON that cannot be decoded is rejected with RST; other
/// undecodable messages (and anything shorter than a header) are ignored.
fn reject_undecodable(bytes: &[u8], from: SocketAddr) -> Vec<Outgoing> {
    match bytes {
        [first, _, high, low, ..] if first >> 6 == 1 && (first >> 4) & 0b11 == 0 => {
            vec![reset(u16::from_be_bytes([*high, *low]), from)]
        }
        _ => Vec::new(),
    }
}

fn encode(packet: &Packet) -> Vec<u8> {
    // Payloads are at most one 1024-byte block or one session's JSON, options
    // are ours or a client token of ≤ 8 bytes: encoding cannot fail.
    packet
        .to_bytes_unlimited()
        .expect("the simulator's messages always encode")
}

#[cfg(test)]
mod tests;
