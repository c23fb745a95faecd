use std::time::Duration;

use leptos::prelude::*;
use shared::protocol::Party;

use crate::actions::use_actions;
use crate::components::party_row::PartyRow;
use crate::keypad::{search_matches, size_matches};
use crate::store::{Dialog, State};

#[derive(Clone, Copy, PartialEq, Eq)]
enum SortBy {
    Wait,
    Number,
}

const SIZE_CHIPS: [u32; 4] = [2, 4, 6, 8];

/// More rows than a portrait tablet shows: the first render builds these, the
/// rest come after the first paint (a row costs ~2 ms to build on a slow
/// tablet, so a busy night's reload shows its top at once).
const FIRST_ROWS: usize = 16;

/// A key that changes whenever anything the row shows (besides time) changes,
/// so `For` rebuilds exactly the rows that changed.
fn row_key(p: &Party) -> String {
    let s = &p.session;
    format!(
        "{}|{}|{}|{}|{}|{}",
        s.uuid,
        s.notified.map(|t| t.seconds()).unwrap_or_default(),
        p.page_count,
        s.label.as_deref().unwrap_or_default(),
        s.party_size.unwrap_or_default(),
        s.goal_in_seconds,
    )
}

#[component]
pub fn Board(state: State) -> impl IntoView {
    let actions = use_actions();
    let sort = RwSignal::new(SortBy::Wait);
    let chip = RwSignal::new(None::<u32>);
    let query = RwSignal::new(String::new());

    // The health deltas every 3 s change the mirror but not its parties: the
    // list (300 rows to key and diff) wakes only when the parties change.
    let parties = Memo::new(move |_| state.mirror.with(|m| m.parties.clone()));
    let limit = RwSignal::new(FIRST_ROWS);
    // A frame, then a task: the rest renders once the first rows are painted.
    request_animation_frame(move || set_timeout(move || limit.set(usize::MAX), Duration::ZERO));
    // The size chip and the search box, shared by the list and its count.
    let passes = move |p: &Party| {
        chip.get()
            .is_none_or(|c| size_matches(c, p.session.party_size))
            && query.with(|q| search_matches(q, p))
    };
    let visible = move || {
        let mut parties: Vec<Party> =
            parties.with(|all| all.iter().filter(|p| passes(p)).cloned().collect());
        let by_wait = sort.get() == SortBy::Wait;
        parties.sort_unstable_by_key(|p| {
            let started = if by_wait {
                p.session.started.seconds()
            } else {
                0
            };
            (started, p.session.number)
        });
        parties.truncate(limit.get());
        parties
    };
    let total = move || parties.with(Vec::len);
    let shown = move || parties.with(|all| all.iter().filter(|p| passes(p)).count());

    let sort_button = move |by: SortBy, text: &'static str, testid: &'static str| {
        view! {
            <button
                class="seg"
                class:on=move || sort.get() == by
                aria-pressed=move || (sort.get() == by).to_string()
                data-testid=testid
                on:click=move |_| sort.set(by)
            >
                {text}
            </button>
        }
    };

    view! {
        <section class="board" aria-label="Waiting parties">
            <div class="toolbar">
                <button
                    class="btn btn-primary btn-add"
                    data-testid="add-party"
                    on:click=move |_| actions.open(Dialog::AddParty)
                >
                    "+ Add party"
                </button>
                <input
                    class="search"
                    type="search"
                    placeholder="Search name or number"
                    aria-label="Search by name or number"
                    data-testid="search"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
                <div class="segmented" role="group" aria-label="Sort">
                    {sort_button(SortBy::Wait, "Longest wait", "sort-wait")}
                    {sort_button(SortBy::Number, "Number", "sort-number")}
                </div>
                <div class="chips" role="group" aria-label="Filter by party size">
                    {SIZE_CHIPS
                        .map(|size| {
                            view! {
                                <button
                                    class="chip"
                                    class:on=move || chip.get() == Some(size)
                                    aria-pressed=move || (chip.get() == Some(size)).to_string()
                                    aria-label=format!("Parties of about {size}")
                                    data-testid=format!("chip-{size}")
                                    on:click=move |_| {
                                        chip.update(|c| *c = if *c == Some(size) { None } else { Some(size) })
                                    }
                                >
                                    {format!("{size}±1")}
                                </button>
                            }
                        })}
                </div>
            </div>
            <div class="rows" data-testid="rows">
                <For each=visible key=row_key children=move |party| view! { <PartyRow state=state party=party /> } />
            </div>
            {move || {
                let text = if total() == 0 {
                    "No parties waiting. Tap “+ Add party” to hand out a pager."
                } else if shown() == 0 {
                    "No party matches the search or size filter."
                } else {
                    return None;
                };
                Some(view! { <p class="empty" data-testid="empty">{text}</p> })
            }}
        </section>
    }
}
