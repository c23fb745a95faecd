//! The types Coaster's parts speak to each other, with no I/O, for native and wasm.
//!
//! - [`device`]: the T7470's JSON — the response envelope and its parts
//!   (sessions, statistics, settings, history, ping) and every request body.
//! - [`time`]: the device's zone-less local timestamps, as comparable seconds.
//! - [`limits`]: every input limit, checked identically by the frontend, the
//!   proxy and the simulator.
//! - [`protocol`]: the WebSocket messages between tablets and the proxy, and
//!   the mirror of device state they carry.
//! - [`verdicts`]: the words of the verdicts the proxy gives when a command
//!   did not simply go through.
//! - [`stand`]: the stand's own history and audit trail, as the app reads them.

pub mod device;
pub mod limits;
pub mod protocol;
pub mod stand;
pub mod time;
pub mod verdicts;
