//! A stand-in for the LRS T7470 guest-paging transmitter, speaking the device's
//! CoAP API (RFC 7252, Observe RFC 7641, Block2 RFC 7959) on UDP.
//!
//! The layers, innermost first:
//! - [`model`]: the device's semantics with no protocol: sessions, history,
//!   statistics, settings, the global sequence, the page log. Uses
//!   [`requests`] to validate bodies (through `shared::limits`), [`stats`]
//!   for the statistics arithmetic and [`clock`] for device time and the
//!   daily statistics clear.
//! - [`endpoint`]: a sans-IO CoAP server around the model: datagram and
//!   `Instant` in, datagrams out. It owns message deduplication ([`dedupe`]),
//!   Block2 ([`blockwise`]), observers and pings ([`observe`]), the RFC
//!   retransmission of its own Confirmable messages ([`retransmit`]),
//!   separate responses and reboot-after-N. [`etag`] makes entity tags.
//! - [`server`]: a thin tokio UDP driver with seeded loss and delay, and the
//!   [`server::Simulator`] / [`server::SimulatorHandle`] API that tests and the
//!   proxy embed.
//! - `main.rs`: the `t7470-sim` command line.
//!
//! Nothing below `server` touches a socket or a clock, so every time rule is
//! tested by passing later `Instant`s.

pub mod blockwise;
pub mod clock;
pub mod dedupe;
pub mod endpoint;
pub mod etag;
pub mod model;
pub mod observe;
pub mod requests;
pub mod retransmit;
pub mod server;
pub mod stats;
