//! Coaster's host-stand dashboard: renders the proxy's mirror of the T7470 and
//! sends commands over one WebSocket. It never owns state.
//!
//! Pure rules (party timing, keypad, op bookkeeping, preferences) live in plain
//! modules that test on the host; the browser parts are `store`,
//! `connection`, `actions` and `components`. `timers` lets each board row
//! update its own texts when the device's clock moves, rather than 300 rows
//! subscribing to one signal. `index.html` opens every WebSocket (the token
//! goes in its first frame), the first while the wasm compiles; `connection`
//! takes it over. index.html also draws Settings' list of signed-in tablets.
//! `wire` reads the proxy's frames and `command_json` writes the tablet's, by
//! hand for the size budget.

pub mod actions;
pub mod app;
pub mod command_json;
pub mod components;
pub mod connection;
pub mod keypad;
pub mod ops;
pub mod prefs;
pub mod store;
pub mod timers;
pub mod timing;
pub mod wire;

pub use app::App;

/// Talc instead of Rust's default dlmalloc: as general (freed memory is
/// reused, so a tablet open all night does not grow) and 0.6 KB gzip
/// smaller, for the 150 KiB first-load budget.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
