//! Coaster's proxy: the only thing that talks to the transmitter, and the one
//! source of truth every tablet renders.
//!
//! - [`coap`]: a sans-IO CoAP client endpoint (adaptive retransmission,
//!   NSTART = 1, separate responses, Block2, Observe, liveness), and a
//!   standalone tokio driver for tools and tests that talk CoAP directly.
//! - [`device`]: the T7470's requests and answers: which request each
//!   command is, how an answer reads (envelope or named error), and an async
//!   client over the driver for tools and tests.
//! - [`mirror`]: the proxy's copy of the device state, sans-IO: envelopes in,
//!   deltas for tablets out, and when to resynchronise.
//! - [`core`]: the proxy's rules as one sans-IO state machine: tablets'
//!   commands carried until their outcome is known (exactly once, proven by
//!   read-backs), the Observe registration, resyncs, health. Owns the CoAP
//!   endpoint and the mirror.
//! - [`runner`]: the one tokio task that owns the core and the UDP socket.
//! - [`ops`]: memory of op ids, so a resent command is answered, not repeated.
//! - [`hub`]: how tablets reach the core's task: deltas to all, snapshots on asking.
//! - [`ws`]: one task per tablet: parse, validate, forward, reply.
//! - [`http`]: the listener on hyper: the connection limits, TLS except on
//!   loopback, one task per connection, graceful shutdown.
//! - [`routes`]: what it answers: the built dashboard, the PIN login, the
//!   local CA and the `/ws` upgrade.
//! - [`limits`]: connections per address and overall, tablets, heads and
//!   bodies, timeouts.
//! - [`stand_api`]: `/api/stand/…`, the stand's history, audit trail, CSV
//!   export, analytics and quotes for the app; `/api/lobby/…` for the TV.
//! - [`lobby`]: the lobby screen's read-only links.
//! - [`hosts`]: the stand's own names, against DNS rebinding (Host, Origin).
//! - [`security`]: the Content-Security-Policy and other browser headers.
//! - [`assets`]: the built dashboard in memory, with the build's .br/.gz copies.
//! - [`auth`]: the venue PIN, the wrong-PIN lockouts, who a tablet is.
//! - [`tokens`]: tablets' tokens, hashed, in a private file.
//! - [`tls`]: the venue's certificate or Coaster's own local CA.
//! - [`durable`]: whole-or-nothing writes of private files.
//! - [`store`]: the stand's memory in SQLite: parties' lifecycles, the audit
//!   trail, health changes; the History and Activity views' reads.
//! - [`app`]: wires these together (and the built-in simulator, a default
//!   feature) and shuts them down.

pub mod app;
pub mod assets;
pub mod auth;
pub mod coap;
pub mod core;
pub mod device;
pub mod durable;
pub mod hosts;
pub mod http;
pub mod hub;
pub mod limits;
pub mod lobby;
pub mod mirror;
pub mod ops;
pub mod routes;
pub mod runner;
pub mod security;
pub mod stand_api;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod ws;
