//! The one WebSocket to the proxy: reconnects forever with capped backoff,
//! and at once when the page is shown again after sleeping; replaces the
//! mirror on every snapshot, applies deltas, settles ops by their verdicts,
//! and resends ops still waiting after a reconnect (the proxy answers a
//! resent op id with its first verdict, so nothing runs twice). A connection
//! silent for [`timing::SILENCE_LIMIT_MS`] is given up as half-open.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use leptos::prelude::*;
use leptos::wasm_bindgen::{closure::Closure, JsCast};
use shared::protocol::{ClientMsg, Command, CommandResult, ServerMsg, Verdict};
use web_sys::{Event, MessageEvent, WebSocket};

use crate::ops::{self, Backoff, Status, Target};
use crate::store::{Link, Store, Undo, UNDO_SHOWN_MS};
use crate::{command_json, timing, wire};

/// The socket with the callbacks it calls, which must live exactly as long.
struct Conn {
    socket: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(Event)>,
}

thread_local! {
    /// The current connection; `None` between a close and the next attempt.
    static CONN: RefCell<Option<Conn>> = const { RefCell::new(None) };
    static BACKOFF: RefCell<Backoff> = RefCell::new(Backoff::default());
    /// Tablet ms of the last frame from the proxy, or of opening the socket.
    static LAST_HEARD: Cell<i64> = const { Cell::new(0) };
}

#[leptos::wasm_bindgen::prelude::wasm_bindgen(wasm_bindgen = leptos::wasm_bindgen)]
extern "C" {
    /// index.html's check of the stored token: it shows the PIN screen again
    /// when the proxy no longer accepts it. Absent outside index.html.
    #[wasm_bindgen(catch, js_namespace = window, js_name = coasterCheck)]
    fn coaster_check() -> Result<(), leptos::wasm_bindgen::JsValue>;

    /// index.html's WebSocket to this page's own origin, which sends the
    /// stored token (the PIN screen may have stored a new one) as its first
    /// frame once open.
    #[wasm_bindgen(catch, js_namespace = window, js_name = coasterSocket)]
    fn open_socket() -> Result<WebSocket, leptos::wasm_bindgen::JsValue>;

    /// The socket index.html opened while the wasm loaded, followed by every
    /// frame it heard meanwhile; given once, and only while it is open.
    #[wasm_bindgen(catch, js_namespace = window, js_name = coasterEarly)]
    fn take_early_socket() -> Result<Option<js_sys::Array>, leptos::wasm_bindgen::JsValue>;
}

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Sends now if connected; otherwise the op waits in the log for the next snapshot.
pub fn transmit(op: &str, command: &Command) {
    let msg = ClientMsg {
        op: op.to_string(),
        command: command.clone(),
    };
    send_text(&command_json::encode(&msg));
}

/// Sends one frame if connected; dropped otherwise.
pub fn send_text(text: &str) {
    CONN.with(|conn| {
        if let Some(conn) = conn.borrow().as_ref() {
            if conn.socket.ready_state() == WebSocket::OPEN {
                let _ = conn.socket.send_with_str(text);
            }
        }
    });
}

/// Connects, and reconnects after every close, forever. The browser's own
/// WebSocket callbacks drive it: no futures, which keeps the wasm small.
/// The first time, it takes over the socket index.html opened early and
/// handles what that heard at once, so the board renders with the app.
pub fn connect(store: Store) {
    // A retry still pending after waking connected at once has nothing to do.
    if CONN.with(|conn| conn.borrow().is_some()) {
        return;
    }
    store.link.set(Link::Connecting);
    LAST_HEARD.set(now_ms());
    let early = take_early_socket().ok().flatten();
    let socket = match early.as_ref().map(|e| e.get(0).dyn_into::<WebSocket>()) {
        Some(Ok(socket)) => socket,
        _ => match open_socket() {
            Ok(socket) => socket,
            _ => return retry_later(store),
        },
    };
    let on_message =
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| on_frame(store, event));
    let on_close = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
        // Dropping the callbacks while one of them runs is not allowed; let
        // this one return first.
        let finished = CONN.with(|conn| conn.borrow_mut().take());
        set_timeout(move || drop(finished), Duration::ZERO);
        if store.link.get_untracked() == Link::Connecting {
            // Refused before a word: the proxy may no longer take our token.
            let _ = coaster_check();
        }
        retry_later(store);
    });
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    CONN.with(|conn| {
        *conn.borrow_mut() = Some(Conn {
            socket,
            _on_message: on_message,
            _on_close: on_close,
        })
    });
    for frame in early.iter().flat_map(|e| e.iter().skip(1)) {
        on_frame(store, frame.unchecked_into());
    }
}

fn on_frame(store: Store, event: MessageEvent) {
    LAST_HEARD.set(now_ms());
    if store.link.get_untracked() == Link::Connecting {
        store.link.set(Link::Open);
    }
    let Some(text) = event.data().as_string() else {
        return;
    };
    match wire::decode(&text) {
        Ok(msg) => handle(store, msg),
        Err(_) if wire::for_index_html(&text) => {}
        Err(e) => leptos::logging::warn!("unreadable frame: {e}"),
    }
}

fn retry_later(store: Store) {
    store.link.set(Link::Down);
    let delay = BACKOFF.with(|b| b.borrow_mut().next_delay_ms());
    set_timeout(
        move || connect(store),
        Duration::from_millis(u64::from(delay)),
    );
}

/// Called every second: gives up a connection that has gone silent (the
/// proxy sends a heartbeat every 5 s) and starts a new one. Without this a
/// half-open connection would look open until TCP gave up, minutes later.
pub fn watchdog(store: Store, now: i64) {
    if timing::silent_too_long(LAST_HEARD.get(), now) && abandon() {
        retry_later(store);
    }
}

/// Closes the current connection without hearing from it again; false if
/// there was none.
fn abandon() -> bool {
    let Some(dead) = CONN.with(|conn| conn.borrow_mut().take()) else {
        return false;
    };
    // Its callbacks are dropped here: the socket must not call them again.
    dead.socket.set_onclose(None);
    dead.socket.set_onmessage(None);
    let _ = dead.socket.close();
    true
}

/// A tablet that slept may hold a socket that died meanwhile without a word
/// (an iPad's Wi-Fi sleeps with it), or a retry its frozen timers never ran.
/// When the page is shown again, a fresh connection starts at once: its
/// snapshot is the current board, well within a second, never a stale one.
/// Ops still waiting are resent on it, and the proxy runs none twice.
pub fn resync_when_shown(store: Store) {
    let on_change = Closure::<dyn FnMut()>::new(move || {
        if !document().hidden() {
            abandon();
            BACKOFF.with(|b| b.borrow_mut().reset());
            connect(store);
        }
    });
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", on_change.as_ref().unchecked_ref());
    // Listens for the page's whole life.
    on_change.forget();
}

fn handle(store: Store, msg: ServerMsg) {
    let now = now_ms();
    match msg {
        ServerMsg::Hello { proxy_time_ms, .. } => {
            store.skew_ms.set(timing::proxy_skew_ms(proxy_time_ms, now));
        }
        ServerMsg::Snapshot {
            state,
            proxy_time_ms,
        } => {
            store.skew_ms.set(timing::proxy_skew_ms(proxy_time_ms, now));
            if state.health.synced {
                store.last_sync_ms.set(Some(now));
            }
            store.mirror.set(state);
            store.tick_clock();
            store.link.set(Link::Live);
            BACKOFF.with(|b| b.borrow_mut().reset());
            store.ops.with_untracked(|log| {
                for op in log.pending() {
                    transmit(&op.id, &op.command);
                }
            });
        }
        // Hearing it is all it is for.
        ServerMsg::Heartbeat { .. } => {}
        // Never decoded here: see wire::for_index_html.
        ServerMsg::Tablets { .. } => {}
        ServerMsg::Delta { delta } => {
            let new_offset = delta.health.is_some();
            store.mirror.update(|m| m.apply(&delta));
            if new_offset {
                store.tick_clock();
            }
            if store.mirror.with_untracked(|m| m.health.synced) {
                store.last_sync_ms.set(Some(now));
            }
        }
        ServerMsg::Reply { op, verdict } => {
            let status = ops::status_of(&verdict);
            if let Some(settled) = store
                .ops
                .try_update(|log| log.settle(&op, status, now))
                .flatten()
            {
                if let Verdict::Acknowledged { result } = verdict {
                    acknowledged(store, settled.target, &settled.command, result, now);
                }
            }
        }
        ServerMsg::Progress { op, attempt } => store.ops.update(|log| log.progress(&op, attempt)),
        ServerMsg::Error { op, code, message } => match op {
            Some(op) => {
                store
                    .ops
                    .update(|log| drop(log.settle(&op, Status::Failed(message), now)));
            }
            None => leptos::logging::warn!("proxy error {code}: {message}"),
        },
    }
}

fn acknowledged(store: Store, target: Target, command: &Command, result: CommandResult, now: i64) {
    match result {
        CommandResult::Archived { session } => {
            let verb = match command {
                Command::RemoveSession { .. } => "Removed",
                _ => "Seated",
            };
            let who = session.label.clone().unwrap_or_else(|| "party".into());
            store.undo.set(Some(Undo {
                text: format!("{verb} #{} {who}", session.number),
                command: ops::undo_command(&session),
                until_ms: now + UNDO_SHOWN_MS,
            }));
        }
        CommandResult::History { mut entries } => {
            entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.session.cleared));
            store.history.set(Some(entries));
        }
        CommandResult::Settings { settings } => {
            // What the device just answered; the next snapshot or delta
            // replaces it like any other mirror field.
            store.mirror.update(|m| m.settings = Some(settings));
        }
        CommandResult::Party { .. } | CommandResult::Statistics { .. } | CommandResult::Done => {}
    }
    if target == Target::AddParty {
        store.dialog.set(None);
    }
    if matches!(command, Command::ClearHistory) {
        store.history.set(Some(Vec::new()));
    }
}
