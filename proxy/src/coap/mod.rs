//! The proxy's CoAP client (RFC 7252, with Observe RFC 7641 and Block2 RFC 7959).
//!
//! The protocol is sans-IO so every timing rule is testable with made-up
//! instants: [`Endpoint`] takes datagrams and `Instant`s and hands back
//! datagrams, [`Event`]s and its next deadline. [`driver`] is the thin tokio
//! task that owns the UDP socket and feeds it.
//!
//! - [`message`]: requests and responses, and their CoAP encoding (via coap-lite)
//! - [`retransmit`]: the Confirmable retransmission schedule
//! - [`rtt`]: the round-trip estimate the first timeout is learnt from
//! - [`block`]: Block2 option values and body reassembly
//! - [`observe`]: notification freshness
//! - [`dedupe`]: message ids already answered
//! - [`liveness`]: reachability, last contact, round-trip time, probing
//! - [`exchange`]: one queued request's state
//! - [`endpoint`]: the state machine tying them together
//! - [`driver`]: the socket, the timer and the handle callers use

pub mod block;
pub mod config;
pub mod dedupe;
pub mod driver;
pub mod endpoint;
#[cfg(test)]
mod endpoint_tests;
pub mod exchange;
pub mod liveness;
pub mod message;
pub mod observe;
pub mod retransmit;
pub mod rtt;

pub use config::Config;
pub use driver::{Driver, Handle, Observation};
pub use endpoint::{Endpoint, Event, ExchangeError, Probe};
pub use exchange::ExchangeId;
pub use liveness::LinkHealth;
pub use message::{Code, Method, Request, Response};
pub use rtt::RttEstimate;
