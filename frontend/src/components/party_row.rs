use std::cell::{OnceCell, RefCell};

use leptos::html::Div;
use leptos::prelude::*;
use shared::device::PageMode;
use shared::protocol::{Command, Party};
use shared::time::DeviceTime;

use crate::actions::use_actions;
use crate::components::op_status::OpStatus;
use crate::keypad::describe;
use crate::ops::Target;
use crate::store::{Dialog, State};
use crate::timing::{self, party_timing, RowWrites};

/// A re-page this soon after the last page asks first.
const REPAGE_ASK_S: i64 = 5;

#[component]
pub fn PartyRow(state: State, party: Party) -> impl IntoView {
    let actions = use_actions();
    let number = party.session.number;
    let target = Target::Row(number);
    let busy = move || state.ops.with(|log| log.busy(target));
    let paged = party.session.notified.is_some();
    let name = party.session.label.clone().unwrap_or_else(|| "—".into());
    let size = party
        .session
        .party_size
        .map(|s| format!("{s} ppl"))
        .unwrap_or_default();
    let goal = timing::goal(party.session.goal_in_seconds);
    let page_count = party.page_count;
    let who = describe(&party);

    // The timer: rendered once from the clock as it is now, then rewritten
    // by the clock's tick, node by node, only where the text changed.
    let session = party.session.clone();
    let timing_at = move |now, out_long_after_s| party_timing(&session, now, out_long_after_s);
    let first = timing_at(
        DeviceTime::from_seconds(state.device_now_s.get_untracked()),
        state.prefs.with_untracked(|p| p.out_long_after_s),
    );
    let (row_el, wait_el, note_el, since_el, long_el) = (
        NodeRef::<Div>::new(),
        NodeRef::<Div>::new(),
        NodeRef::<Div>::new(),
        NodeRef::<Div>::new(),
        NodeRef::<Div>::new(),
    );
    let shown = RefCell::new(first.clone());
    // Looked up once (reading a NodeRef costs more than the write): the
    // row's nodes are built in the same call that registers the timer, so
    // they exist before its first tick. Texts are rewritten in their own
    // text node, cheaper for the page than replacing an element's content.
    let nodes = OnceCell::new();
    let timer = state.timers.add(move |now, out_long_after_s| {
        let next = timing_at(now, out_long_after_s);
        let writes = RowWrites::between(&shown.borrow(), &next);
        let (row, texts, long) = nodes.get_or_init(|| {
            let text = |el: NodeRef<Div>| el.get_untracked().and_then(|el| el.first_child());
            (
                row_el.get_untracked(),
                [text(wait_el), text(note_el), text(since_el)],
                long_el.get_untracked(),
            )
        });
        if let (Some(class), Some(row)) = (writes.class, row) {
            row.set_class_name(&class);
        }
        for (text, node) in [writes.wait, writes.note, writes.since]
            .into_iter()
            .zip(texts)
        {
            if let (Some(text), Some(node)) = (text, node) {
                node.set_node_value(Some(&text));
            }
        }
        if let (Some(out_long), Some(el)) = (writes.pager_out_long, long) {
            el.set_hidden(!out_long);
        }
        shown.replace(next);
    });
    on_cleanup(move || state.timers.remove(timer));

    let notified = party.session.notified;
    let page = move |_| {
        let command = Command::PageSession {
            number: i64::from(number),
            page_mode: Some(PageMode::default().name().to_string()),
        };
        // A second tap right after a page is a double tap more often than a
        // decision: ask. A deliberate re-page later stays one tap.
        let ago = notified.map(|t| state.device_now_s.get_untracked() - t.seconds());
        match ago {
            Some(ago) if ago < REPAGE_ASK_S => actions.open(Dialog::Confirm {
                title: format!("Page pager {number} again?"),
                body: format!("It was paged {} s ago.", ago.max(0)),
                confirm: "Page again".into(),
                command,
                target,
            }),
            _ => actions.send(command, target),
        }
    };
    let seat = move |_| {
        actions.send(
            Command::ClearSession {
                number: i64::from(number),
            },
            target,
        )
    };
    let (p_modes, p_edit, p_remove) = (party.clone(), party.clone(), party);
    let remove_who = who.clone();

    view! {
        // A div with the article role: every timer node is then the same
        // element type, one NodeRef monomorph instead of two (0.8 KB of wasm).
        <div
            role="article"
            node_ref=row_el
            class=first.row_class()
            data-testid=format!("row-{number}")
            data-number=number
            aria-label=format!("Pager {number}: {who}")
        >
            <div class="num" aria-hidden="true">{number}</div>
            <div class="who">
                <div class="name" data-testid="name">{name}</div>
                <div class="meta">
                    <span class="size" data-testid="size">{size}</span>
                    <span class="goal">"goal " {goal}</span>
                </div>
            </div>
            <div class="wait" data-testid="wait">
                <div class="wait-time" node_ref=wait_el>{first.wait()}</div>
                <div class="wait-note" node_ref=note_el>{first.note()}</div>
            </div>
            <div class="state" data-testid="state">
                {if paged {
                    let times = if page_count > 1 { format!(" ×{page_count}") } else { String::new() };
                    view! {
                        <div class="paged-badge">"Paged" {times}</div>
                        <div class="since" node_ref=since_el>{first.since()}</div>
                        <div class="long-badge" node_ref=long_el hidden=!first.pager_out_long>
                            "Pager out long"
                        </div>
                    }
                        .into_any()
                } else {
                    view! { <div class="waiting-badge">"Waiting"</div> }.into_any()
                }}
            </div>
            // One binding disables all five buttons while the row's command is out.
            <fieldset class="actions" disabled=busy>
                <button
                    class="btn btn-primary btn-page"
                    data-testid="page"
                    on:click=page
                >
                    {if paged { "Page again" } else { "Page" }}
                </button>
                <button
                    class="btn btn-icon"
                    aria-label=format!("Other page modes for pager {number}")
                    data-testid="page-modes"
                    on:click=move |_| actions.open(Dialog::PageModes(p_modes.clone()))
                >
                    "⋯"
                </button>
                <button class="btn btn-seat" data-testid="seat" on:click=seat>
                    "Seat"
                </button>
                <button
                    class="btn"
                    data-testid="edit"
                    aria-label=format!("Edit pager {number}")
                    on:click=move |_| actions.open(Dialog::Edit(p_edit.clone()))
                >
                    "Edit"
                </button>
                <button
                    class="btn btn-danger-quiet"
                    data-testid="remove"
                    aria-label=format!("Remove pager {number}")
                    on:click=move |_| {
                        actions
                            .open(Dialog::Confirm {
                                title: format!("Remove pager {number}?"),
                                body: format!(
                                    "{remove_who} leaves the board without being seated. You can undo for a few seconds.",
                                ),
                                confirm: "Remove".into(),
                                command: Command::RemoveSession {
                                    number: i64::from(p_remove.session.number),
                                },
                                target,
                            })
                    }
                >
                    "Remove"
                </button>
            </fieldset>
            <OpStatus state=state target=target testid="row-status" />
        </div>
    }
}
