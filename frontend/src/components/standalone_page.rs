use leptos::prelude::*;
use shared::device::PageMode;
use shared::protocol::Command;

use crate::actions::use_actions;
use crate::components::keypad::{KeypadDisplay, KeypadPad};
use crate::components::op_status::OpStatus;
use crate::keypad::{problem, Keypad};
use crate::ops::Target;
use crate::store::State;

/// Page any pager, party or not: a guest coaster, or a staff pager.
#[component]
pub fn StandalonePage(state: State) -> impl IntoView {
    let actions = use_actions();
    let entry = RwSignal::new(Keypad::default());
    let mode = RwSignal::new(PageMode::default());
    let message = RwSignal::new(String::new());
    let command = move || {
        entry
            .with(Keypad::value)
            .map(|number| Command::StandalonePage {
                number,
                page_mode: Some(mode.get().name().to_string()),
                message: Some(message.get()).filter(|m| !m.trim().is_empty()),
                system_id: None,
            })
    };
    let trouble = move || command().and_then(|c| problem(&c));
    let mode_chip = move |m: PageMode| {
        view! {
            <button
                class="chip"
                class:on=move || mode.get() == m
                aria-pressed=move || (mode.get() == m).to_string()
                data-testid=format!("sa-mode-{}", m.name())
                on:click=move |_| mode.set(m)
            >
                {m.description()}
            </button>
        }
    };
    let modes = move |staff: bool| {
        PageMode::ALL
            .iter()
            .copied()
            .filter(|m| m.is_staff() == staff)
            .map(mode_chip)
            .collect_view()
    };
    view! {
        <section class="panel" aria-labelledby="sa-title">
            <h2 id="sa-title">"Page a pager"</h2>
            <div class="two-col">
                <div class="col">
                    <KeypadDisplay entry=entry label="Pager to page" />
                    <KeypadPad entry=entry />
                </div>
                <div class="col">
                    <div class="field">
                        <span>"Guest pager"</span>
                        <div class="chips">{modes(false)}</div>
                    </div>
                    <div class="field">
                        <span>"Staff pager"</span>
                        <div class="chips">{modes(true)}</div>
                    </div>
                    <label class="field">
                        <span>"Message (alpha pagers)"</span>
                        <input
                            type="text"
                            placeholder="Optional"
                            data-testid="sa-message"
                            prop:value=move || message.get()
                            on:input=move |ev| message.set(event_target_value(&ev))
                        />
                    </label>
                    {move || trouble().map(|p| view! { <p class="bad">{p}</p> })}
                    <button
                        class="btn btn-primary btn-large"
                        data-testid="sa-send"
                        disabled=move || command().is_none() || trouble().is_some()
                        on:click=move |_| {
                            if let Some(c) = command() {
                                actions.send(c, Target::Standalone);
                            }
                        }
                    >
                        {move || match entry.with(Keypad::value) {
                            Some(n) => format!("Page {n}"),
                            None => "Page".to_string(),
                        }}
                    </button>
                    <OpStatus state=state target=Target::Standalone testid="sa-status" />
                </div>
            </div>
        </section>
    }
}
