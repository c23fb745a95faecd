use leptos::prelude::*;
use shared::limits::{PARTY_MAX, PARTY_MIN};
use shared::protocol::Command;

use crate::actions::use_actions;
use crate::components::keypad::{KeypadDisplay, KeypadPad};
use crate::components::op_status::OpStatus;
use crate::keypad::{check_number, goal_picks, problem, Keypad, NumberCheck};
use crate::ops::Target;
use crate::store::State;
use crate::timing;

const DEFAULT_PARTY_SIZE: u32 = 2;

/// Party size − n + and the goal quick picks, shared by Add and Edit.
#[component]
pub fn PartyFields(
    state: State,
    name: RwSignal<String>,
    size: RwSignal<u32>,
    goal: RwSignal<u32>,
) -> impl IntoView {
    let default_goal = move || {
        state
            .mirror
            .with(|m| m.settings.as_ref().map(|s| s.default_target_goal))
            .unwrap_or(300)
    };
    view! {
        <label class="field">
            <span>"Name"</span>
            <input
                type="text"
                autocomplete="off"
                placeholder="Optional"
                data-testid="name-input"
                prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev))
            />
        </label>
        <div class="field">
            <span id="size-label">"Party size"</span>
            <div class="stepper" role="group" aria-labelledby="size-label">
                <button
                    class="btn btn-step"
                    aria-label="One fewer guest"
                    data-testid="size-minus"
                    disabled=move || { size.get() <= PARTY_MIN }
                    on:click=move |_| size.update(|s| *s = (*s - 1).max(PARTY_MIN))
                >
                    "−"
                </button>
                <output class="step-value" data-testid="size-value" aria-live="polite">
                    {move || size.get()}
                </output>
                <button
                    class="btn btn-step"
                    aria-label="One more guest"
                    data-testid="size-plus"
                    disabled=move || { size.get() >= PARTY_MAX }
                    on:click=move |_| size.update(|s| *s = (*s + 1).min(PARTY_MAX))
                >
                    "+"
                </button>
            </div>
        </div>
        <div class="field">
            <span id="goal-label">"Goal"</span>
            <div class="chips" role="group" aria-labelledby="goal-label">
                {move || {
                    goal_picks(default_goal())
                        .into_iter()
                        .map(|g| {
                            view! {
                                <button
                                    class="chip"
                                    class:on=move || goal.get() == g
                                    aria-pressed=move || (goal.get() == g).to_string()
                                    data-testid=format!("goal-{g}")
                                    on:click=move |_| goal.set(g)
                                >
                                    {timing::goal(g)}
                                </button>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </div>
    }
}

#[component]
pub fn AddParty(state: State) -> impl IntoView {
    let actions = use_actions();
    // The last add's ✓ belongs to the last dialog, not this one.
    actions.dismiss(Target::AddParty);
    let free = move || state.mirror.with(|m| m.lowest_free_number());
    let entry = RwSignal::new(Keypad::prefilled(free()));
    let name = RwSignal::new(String::new());
    let size = RwSignal::new(DEFAULT_PARTY_SIZE);
    let default_goal = state
        .mirror
        .with_untracked(|m| m.settings.as_ref().map(|s| s.default_target_goal))
        .unwrap_or(300);
    let goal = RwSignal::new(default_goal);

    // Another tablet may take the suggested number while this one is open.
    Effect::new(move |_| {
        let lowest = free();
        if entry.with_untracked(|k| k.is_prefilled() && k.value() != lowest.map(i64::from)) {
            entry.set(Keypad::prefilled(lowest));
        }
    });

    let check = move || entry.with(|k| state.mirror.with(|m| check_number(k.value(), m)));
    let command = move || Command::CreateSession {
        number: entry.with(Keypad::value).unwrap_or_default(),
        label: Some(name.get()).filter(|n| !n.trim().is_empty()),
        party_size: Some(i64::from(size.get())),
        goal: Some(i64::from(goal.get())),
    };
    let form_problem = move || match check() {
        NumberCheck::Free(_) => problem(&command()),
        _ => None,
    };
    let can_add = move || {
        matches!(check(), NumberCheck::Free(_))
            && form_problem().is_none()
            && !state.ops.with(|log| log.busy(Target::AddParty))
    };
    let add = move |_| {
        if can_add() {
            actions.send(command(), Target::AddParty);
        }
    };

    view! {
        <div class="sheet add-party" role="dialog" aria-modal="true" aria-labelledby="add-title" data-testid="add-dialog">
            <h2 id="add-title">"Add a party"</h2>
            <div class="sheet-body two-col">
                <div class="col">
                    <KeypadDisplay entry=entry label="Pager number" />
                    <div class="number-check" role="status" aria-live="polite" data-testid="number-check">
                        {move || match check() {
                            NumberCheck::Empty => view! { <span>"Type a pager number."</span> }.into_any(),
                            NumberCheck::Free(n) => {
                                let hint = if entry.with(Keypad::is_prefilled) {
                                    format!("Pager {n} is free (lowest free number).")
                                } else {
                                    format!("Pager {n} is free.")
                                };
                                view! { <span class="ok">{hint}</span> }.into_any()
                            }
                            NumberCheck::Invalid(reason) => view! { <span class="bad">{reason}</span> }.into_any(),
                            NumberCheck::InUse { number, holder, free } => {
                                view! {
                                    <span class="bad" data-testid="in-use">
                                        {format!("Pager {number} is already out with {holder}.")}
                                    </span>
                                    {free
                                        .map(|f| {
                                            view! {
                                                <button
                                                    class="btn btn-small"
                                                    data-testid="use-free"
                                                    on:click=move |_| entry.set(Keypad::prefilled(Some(f)))
                                                >
                                                    {format!("Use {f}")}
                                                </button>
                                            }
                                        })}
                                }
                                    .into_any()
                            }
                        }}
                    </div>
                    <KeypadPad entry=entry />
                </div>
                <div class="col">
                    <PartyFields state=state name=name size=size goal=goal />
                    // lazy/stand.js draws the quote here; its "Use" taps the goal pick.
                    <div class="stand" data-stand="quote"></div>
                    {move || form_problem().map(|p| view! { <p class="bad">{p}</p> })}
                </div>
            </div>
            <OpStatus state=state target=Target::AddParty testid="add-status" />
            <div class="sheet-actions">
                <button
                    class="btn btn-large"
                    data-testid="add-cancel"
                    on:click=move |_| {
                        actions.dismiss(Target::AddParty);
                        actions.close();
                    }
                >
                    "Cancel"
                </button>
                <button
                    class="btn btn-primary btn-large"
                    data-testid="add-submit"
                    disabled=move || !can_add()
                    on:click=add
                >
                    {move || match entry.with(Keypad::value) {
                        Some(n) => format!("Add pager {n}"),
                        None => "Add".to_string(),
                    }}
                </button>
            </div>
        </div>
    }
}
