//! What the endpoint tells its owner: completed exchanges, notifications,
//! and how it wants an idle link checked.

use crate::coap::exchange::ExchangeId;
use crate::coap::message::Response;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Response {
        id: ExchangeId,
        result: Result<Response, ExchangeError>,
    },
    Notification {
        id: ExchangeId,
        response: Response,
    },
    /// The device will send no more notifications on this observation.
    ObservationEnded {
        id: ExchangeId,
    },
    /// With [`Probe::Caller`]: the link is idle, send a request that proves the device is there.
    ProbeDue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExchangeError {
    /// No answer before the deadline; `transmissions` is 0 when it never left the queue.
    Timeout { transmissions: u32 },
    /// The device rejected the message outright with a CoAP Reset.
    Reset,
    /// The request could not be encoded (too large for one datagram).
    Encode(String),
    /// A Block2 body kept changing while it was being fetched.
    BlockTransfer,
    /// The driver stopped before the exchange finished.
    Closed,
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Timeout { transmissions: 0 } => {
                write!(
                    f,
                    "the request waited its whole deadline in the queue and was never sent"
                )
            }
            ExchangeError::Timeout { transmissions } => write!(
                f,
                "no answer after sending the request {transmissions} time(s)"
            ),
            ExchangeError::Reset => write!(f, "the transmitter reset the request"),
            ExchangeError::Encode(e) => write!(f, "the request cannot be sent: {e}"),
            ExchangeError::BlockTransfer => {
                write!(f, "the answer kept changing while it was read in blocks")
            }
            ExchangeError::Closed => write!(f, "the CoAP client has stopped"),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// How the endpoint checks an idle link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// An empty CON (RFC 7252 §4.3); the device answers RST.
    Ping,
    /// Emit [`Event::ProbeDue`]; the caller sends e.g. an ETag GET /v1/sessions.
    Caller,
}
