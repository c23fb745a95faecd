//! The one WebSocket to the proxy: reconnects forever with capped backoff,
//! replaces the mirror on every snapshot, applies deltas, settles ops by their
//! verdicts, and resends ops still waiting after a reconnect (the proxy answers
//! a resent op id with its first verdict, so nothing runs twice).

use std::cell::RefCell;
use std::time::Duration;

use leptos::prelude::*;
use leptos::wasm_bindgen::{closure::Closure, JsCast};
use shared::protocol::{ClientMsg, Command, CommandResult, ServerMsg, Verdict};
use web_sys::{Event, MessageEvent, WebSocket};

use crate::ops::{self, Backoff, Status, Target};
use crate::store::{Link, Store, Undo, UNDO_SHOWN_MS};
use crate::{timing, wire};

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
    let Ok(text) = serde_json::to_string(&msg) else {
        return;
    };
    CONN.with(|conn| {
        if let Some(conn) = conn.borrow().as_ref() {
            if conn.socket.ready_state() == WebSocket::OPEN {
                let _ = conn.socket.send_with_str(&text);
            }
        }
    });
}

fn page_ws_url() -> String {
    let location = window().location();
    ops::ws_url(
        &location.protocol().unwrap_or_default(),
        &location.host().unwrap_or_default(),
        &location.search().unwrap_or_default(),
    )
}

/// Connects, and reconnects after every close, forever. The browser's own
/// WebSocket callbacks drive it: no futures, which keeps the wasm small.
pub fn connect(store: Store) {
    open(store, page_ws_url());
}

fn open(store: Store, url: String) {
    store.link.set(Link::Connecting);
    let Ok(socket) = WebSocket::new(&url) else {
        retry_later(store, url);
        return;
    };
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if store.link.get_untracked() == Link::Connecting {
            store.link.set(Link::Open);
        }
        if let Some(text) = event.data().as_string() {
            match wire::decode(&text) {
                Ok(msg) => handle(store, msg),
                Err(e) => leptos::logging::warn!("unreadable frame: {e}"),
            }
        }
    });
    let retry_url = url.clone();
    let on_close = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
        // Dropping the callbacks while one of them runs is not allowed; let
        // this one return first.
        let finished = CONN.with(|conn| conn.borrow_mut().take());
        set_timeout(move || drop(finished), Duration::ZERO);
        retry_later(store, retry_url.clone());
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
}

fn retry_later(store: Store, url: String) {
    store.link.set(Link::Down);
    let delay = BACKOFF.with(|b| b.borrow_mut().next_delay_ms());
    set_timeout(
        move || open(store, url),
        Duration::from_millis(u64::from(delay)),
    );
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
            store.link.set(Link::Live);
            BACKOFF.with(|b| b.borrow_mut().reset());
            store.ops.with_untracked(|log| {
                for op in log.pending() {
                    transmit(&op.id, &op.command);
                }
            });
        }
        ServerMsg::Delta { delta } => {
            store.mirror.update(|m| m.apply(&delta));
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
