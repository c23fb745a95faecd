//! What a caller asks for and gets back, and how both map to CoAP messages.
//!
//! coap-lite does the byte layout; this module only decides which options a
//! request carries and which parts of a response the rest of the proxy needs.

use coap_lite::{CoapOption, ContentFormat, MessageClass, MessageType, Packet, RequestType};

use super::block::Block;

/// A request as the caller describes it; message id and token are the endpoint's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// One Uri-Path option per segment, e.g. `["v1", "sessions"]`.
    pub path: Vec<String>,
    /// One Uri-Query option per item, e.g. `["number=11"]`.
    pub query: Vec<String>,
    /// A JSON body (Content-Format 50); the T7470 only takes JSON.
    pub json: Option<Vec<u8>>,
    /// For a conditional GET: the device answers 2.03 with no body when it still matches.
    pub etag: Option<Vec<u8>>,
    /// Overrides the configured exchange deadline, for a quick check that
    /// must not keep a host waiting as long as a command may.
    pub deadline: Option<std::time::Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Request {
    /// `path` is written like a URI path, `/v1/sessions/history`.
    pub fn new(method: Method, path: &str) -> Self {
        Request {
            method,
            path: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            query: Vec::new(),
            json: None,
            etag: None,
            deadline: None,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new(Method::Get, path)
    }

    pub fn with_query(mut self, item: impl Into<String>) -> Self {
        self.query.push(item.into());
        self
    }

    pub fn with_json(mut self, body: Vec<u8>) -> Self {
        self.json = Some(body);
        self
    }

    pub fn with_etag(mut self, etag: Vec<u8>) -> Self {
        self.etag = Some(etag);
        self
    }

    pub fn with_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// A response code as sent, kept raw so codes coap-lite has no name for survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code(pub u8);

impl Code {
    pub const CREATED: Code = Code(0x41);
    pub const DELETED: Code = Code(0x42);
    pub const VALID: Code = Code(0x43);
    pub const CHANGED: Code = Code(0x44);
    pub const CONTENT: Code = Code(0x45);
    pub const BAD_REQUEST: Code = Code(0x80);
    pub const NOT_FOUND: Code = Code(0x84);

    pub fn class(self) -> u8 {
        self.0 >> 5
    }

    pub fn is_success(self) -> bool {
        self.class() == 2
    }

    fn is_response(self) -> bool {
        (2..=5).contains(&self.class())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.class(), self.0 & 0x1f)
    }
}

/// A complete response: for a Block2 transfer, `payload` is the reassembled whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub code: Code,
    pub payload: Vec<u8>,
    pub etag: Option<Vec<u8>>,
    /// The Observe sequence number, on a registration's answer and on notifications.
    pub observe: Option<u32>,
}

/// How the endpoint encodes one transmission of a request.
pub struct Outgoing<'a> {
    pub request: &'a Request,
    pub message_id: u16,
    pub token: &'a [u8],
    /// Observe=0 on a registration; absent on Block2 follow-ups (RFC 7959 §2.4).
    pub observe: bool,
    pub block2: Option<Block>,
}

pub fn encode_request(out: &Outgoing<'_>) -> Result<Vec<u8>, String> {
    let r = out.request;
    let mut p = Packet::new();
    p.header.set_type(MessageType::Confirmable);
    p.header.code = MessageClass::Request(match r.method {
        Method::Get => RequestType::Get,
        Method::Post => RequestType::Post,
        Method::Put => RequestType::Put,
        Method::Delete => RequestType::Delete,
    });
    p.header.message_id = out.message_id;
    p.set_token(out.token.to_vec());
    if let Some(etag) = &r.etag {
        p.add_option(CoapOption::ETag, etag.clone());
    }
    if out.observe {
        p.set_observe_value(0);
    }
    for segment in &r.path {
        p.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
    }
    if let Some(body) = &r.json {
        p.set_content_format(ContentFormat::ApplicationJSON);
        p.payload = body.clone();
    }
    for item in &r.query {
        p.add_option(CoapOption::UriQuery, item.as_bytes().to_vec());
    }
    if let Some(block) = out.block2 {
        p.add_option(CoapOption::Block2, block.encode());
    }
    p.to_bytes().map_err(|e| e.to_string())
}

/// An empty message (code 0.00): an ACK or RST answering `message_id`, or a CON ping.
pub fn empty(kind: MessageType, message_id: u16) -> Vec<u8> {
    let t = match kind {
        MessageType::Confirmable => 0,
        MessageType::NonConfirmable => 1,
        MessageType::Acknowledgement => 2,
        MessageType::Reset => 3,
    };
    let id = message_id.to_be_bytes();
    vec![0x40 | (t << 4), 0, id[0], id[1]]
}

/// The parts of an incoming datagram the endpoint acts on.
#[derive(Debug)]
pub struct Incoming {
    pub kind: MessageType,
    pub message_id: u16,
    pub token: Vec<u8>,
    pub body: Body,
}

#[derive(Debug)]
pub enum Body {
    Empty,
    /// A request sent to us; a client has nothing to serve.
    Request,
    Response {
        code: Code,
        payload: Vec<u8>,
        etag: Option<Vec<u8>>,
        observe: Option<u32>,
        block2: Option<Block>,
    },
}

/// `None` for anything that is not a well-formed CoAP version 1 message.
pub fn decode(bytes: &[u8]) -> Option<Incoming> {
    let p = Packet::from_bytes(bytes).ok()?;
    if p.header.get_version() != 1 {
        return None;
    }
    let code = Code(u8::from(p.header.code));
    let token = p.get_token().to_vec();
    let body = match code.0 {
        0 => Body::Empty,
        1..=31 => Body::Request,
        _ if code.is_response() => Body::Response {
            code,
            etag: p.get_first_option(CoapOption::ETag).cloned(),
            // A malformed Observe or Block2 value makes the whole message unusable.
            observe: match p.get_first_option(CoapOption::Observe) {
                None => None,
                Some(v) => Some(uint(v)?),
            },
            block2: match p.get_first_option(CoapOption::Block2) {
                None => None,
                Some(v) => Some(Block::decode(v)?),
            },
            payload: p.payload,
        },
        _ => return None,
    };
    Some(Incoming {
        kind: p.header.get_type(),
        message_id: p.header.message_id,
        token,
        body,
    })
}

/// A CoAP uint option value of at most 3 bytes (Observe, Block2).
pub(super) fn uint(bytes: &[u8]) -> Option<u32> {
    (bytes.len() <= 3).then(|| bytes.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(request: &Request, observe: bool, block2: Option<Block>) -> Vec<u8> {
        encode_request(&Outgoing {
            request,
            message_id: 0x1234,
            token: &[0xA1, 0xB2, 0xC3, 0xD4],
            observe,
            block2,
        })
        .unwrap()
    }

    #[test]
    fn golden_get_one_session() {
        let bytes = encode(
            &Request::get("/v1/sessions").with_query("number=11"),
            false,
            None,
        );
        let mut want = vec![0x44, 0x01, 0x12, 0x34, 0xA1, 0xB2, 0xC3, 0xD4];
        want.extend([0xB2, b'v', b'1']); // Uri-Path (11), length 2
        want.push(0x08); // Uri-Path again (delta 0), length 8
        want.extend(b"sessions");
        want.push(0x49); // Uri-Query (15 = 11 + 4), length 9
        want.extend(b"number=11");
        assert_eq!(bytes, want);
    }

    #[test]
    fn golden_put_with_json_body() {
        let request = Request::new(Method::Put, "/v1/sessions")
            .with_query("number=7")
            .with_json(br#"{"action":"page"}"#.to_vec());
        let bytes = encode(&request, false, None);
        let mut want = vec![0x44, 0x03, 0x12, 0x34, 0xA1, 0xB2, 0xC3, 0xD4];
        want.extend([0xB2, b'v', b'1', 0x08]);
        want.extend(b"sessions");
        want.extend([0x11, 50]); // Content-Format (12), length 1, value 50
        want.push(0x38); // Uri-Query (15 = 12 + 3), length 8
        want.extend(b"number=7");
        want.push(0xFF);
        want.extend(br#"{"action":"page"}"#);
        assert_eq!(bytes, want);
    }

    #[test]
    fn golden_observe_registration_and_block_follow_up() {
        let request = Request::get("/v1/notify").with_query("action=get_sessions");
        let bytes = encode(&request, true, None);
        // Observe (6) with value 0 is encoded as a zero-length option.
        assert_eq!(&bytes[8..9], &[0x60]);
        let bytes = encode(
            &Request::get("/v1/sessions"),
            false,
            Some(Block::new(2, false, 6)),
        );
        // Block2 (23 = 15 + 8 from Uri-Path 11 + 12): num 2, szx 6 → 0x26.
        assert_eq!(&bytes[bytes.len() - 2..], &[0xC1, 0x26]);
    }

    #[test]
    fn decodes_a_piggybacked_response() {
        let mut p = Packet::new();
        p.header.set_type(MessageType::Acknowledgement);
        p.header.code = MessageClass::Response(coap_lite::ResponseType::Content);
        p.header.message_id = 7;
        p.set_token(vec![1, 2, 3, 4]);
        p.add_option(CoapOption::ETag, vec![9]);
        p.payload = b"{}".to_vec();
        let m = decode(&p.to_bytes().unwrap()).unwrap();
        assert_eq!(m.message_id, 7);
        assert_eq!(m.token, vec![1, 2, 3, 4]);
        match m.body {
            Body::Response {
                code,
                payload,
                etag,
                ..
            } => {
                assert_eq!(
                    (code.to_string(), payload, etag),
                    ("2.05".into(), b"{}".to_vec(), Some(vec![9]))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_messages_and_codes() {
        assert_eq!(empty(MessageType::Reset, 0xBEEF), vec![0x70, 0, 0xBE, 0xEF]);
        assert_eq!(empty(MessageType::Confirmable, 1), vec![0x40, 0, 0, 1]);
        assert_eq!(Code::NOT_FOUND.to_string(), "4.04");
        assert!(Code::VALID.is_success() && !Code::BAD_REQUEST.is_success());
    }
}
