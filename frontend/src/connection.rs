//! The one WebSocket to the proxy: reconnects forever with capped backoff,
//! replaces the mirror on every snapshot, applies deltas, settles ops by their
//! verdicts, and resends ops still waiting after a reconnect (the proxy answers
//! a resent op id with its first verdict, so nothing runs twice).

use std::cell::RefCell;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::protocol::{ClientMsg, Command, CommandResult, ServerMsg, Verdict};

use crate::ops::{self, Backoff, Status, Target};
use crate::store::{Link, Store, Undo, UNDO_SHOWN_MS};
use crate::timing;

thread_local! {
    /// The live connection's outgoing queue; `None` while disconnected.
    static OUTBOX: RefCell<Option<mpsc::UnboundedSender<String>>> = const { RefCell::new(None) };
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
    OUTBOX.with(|outbox| {
        if let Some(tx) = outbox.borrow().as_ref() {
            let _ = tx.unbounded_send(text);
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

async fn sleep(ms: u32) {
    let (tx, rx) = oneshot::channel();
    set_timeout(
        move || {
            let _ = tx.send(());
        },
        Duration::from_millis(u64::from(ms)),
    );
    let _ = rx.await;
}

pub fn connect(store: Store) {
    let url = page_ws_url();
    spawn_local(async move {
        let mut backoff = Backoff::default();
        loop {
            store.link.set(Link::Connecting);
            if let Ok(socket) = WebSocket::open(&url) {
                let (mut write, mut read) = socket.split();
                let (tx, mut rx) = mpsc::unbounded::<String>();
                OUTBOX.with(|outbox| *outbox.borrow_mut() = Some(tx));
                // Ends when OUTBOX drops the sender or the socket fails.
                spawn_local(async move {
                    while let Some(text) = rx.next().await {
                        if write.send(Message::Text(text)).await.is_err() {
                            break;
                        }
                    }
                });
                while let Some(Ok(frame)) = read.next().await {
                    if store.link.get_untracked() == Link::Connecting {
                        store.link.set(Link::Open);
                    }
                    if let Message::Text(text) = frame {
                        match serde_json::from_str::<ServerMsg>(&text) {
                            Ok(msg) => handle(store, msg, &mut backoff),
                            Err(e) => leptos::logging::warn!("unreadable frame: {e}"),
                        }
                    }
                }
                OUTBOX.with(|outbox| *outbox.borrow_mut() = None);
            }
            store.link.set(Link::Down);
            sleep(backoff.next_delay_ms()).await;
        }
    });
}

fn handle(store: Store, msg: ServerMsg, backoff: &mut Backoff) {
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
            backoff.reset();
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
            entries.sort_by(|a, b| b.session.cleared.cmp(&a.session.cleared));
            store.history.set(Some(entries));
        }
        CommandResult::Settings { settings } => {
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
