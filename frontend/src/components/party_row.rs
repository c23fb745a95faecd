use leptos::prelude::*;
use shared::device::PageMode;
use shared::protocol::{Command, Party};

use crate::actions::use_actions;
use crate::components::op_status::OpStatus;
use crate::keypad::describe;
use crate::ops::Target;
use crate::store::{Dialog, State};
use crate::timing::{self, party_timing};

#[component]
pub fn PartyRow(state: State, party: Party) -> impl IntoView {
    let actions = use_actions();
    let number = party.session.number;
    let target = Target::Row(number);
    let session = StoredValue::new(party.session.clone());
    // Bindings re-run every tick, but the DOM is only written where the text
    // or class actually changed; nothing here builds nodes on a tick.
    let timing = move || {
        let out_long_after_s = state.prefs.with(|p| p.out_long_after_s);
        session.with_value(|s| party_timing(s, state.device_now(), out_long_after_s))
    };
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

    let page = move |_| {
        actions.send(
            Command::PageSession {
                number: i64::from(number),
                page_mode: Some(PageMode::default().name().to_string()),
            },
            target,
        )
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
        <article
            class=move || format!("row {}", timing().tier.class())
            class:out-long=move || timing().pager_out_long
            class:paged=paged
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
                <div class="wait-time">{move || timing::duration(timing().wait_s)}</div>
                <div class="wait-note">
                    {move || match timing().over_by_s {
                        Some(over) => format!("+{} over", timing::duration(over)),
                        None if paged => "waited".to_string(),
                        None => "waiting".to_string(),
                    }}
                </div>
            </div>
            <div class="state" data-testid="state">
                {if paged {
                    let times = if page_count > 1 { format!(" ×{page_count}") } else { String::new() };
                    view! {
                        <div class="paged-badge">"Paged" {times}</div>
                        <div class="since">
                            {move || timing::duration(timing().since_page_s.unwrap_or(0))}
                            " ago"
                        </div>
                        <div class="long-badge" hidden=move || !timing().pager_out_long>"Pager out long"</div>
                    }
                        .into_any()
                } else {
                    view! { <div class="waiting-badge">"Waiting"</div> }.into_any()
                }}
            </div>
            <div class="actions">
                <button
                    class="btn btn-primary btn-page"
                    data-testid="page"
                    disabled=busy
                    on:click=page
                >
                    {if paged { "Page again" } else { "Page" }}
                </button>
                <button
                    class="btn btn-icon"
                    aria-label=format!("Other page modes for pager {number}")
                    data-testid="page-modes"
                    disabled=busy
                    on:click=move |_| actions.open(Dialog::PageModes(p_modes.clone()))
                >
                    "⋯"
                </button>
                <button class="btn btn-seat" data-testid="seat" disabled=busy on:click=seat>
                    "Seat"
                </button>
                <button
                    class="btn"
                    data-testid="edit"
                    aria-label=format!("Edit pager {number}")
                    disabled=busy
                    on:click=move |_| actions.open(Dialog::Edit(p_edit.clone()))
                >
                    "Edit"
                </button>
                <button
                    class="btn btn-danger-quiet"
                    data-testid="remove"
                    aria-label=format!("Remove pager {number}")
                    disabled=busy
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
            </div>
            <OpStatus state=state target=target testid="row-status" />
        </article>
    }
}
