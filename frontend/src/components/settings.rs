use leptos::prelude::*;
use shared::limits::CLEAR_MARK_MAX;
use shared::protocol::Command;
use shared::time::DeviceTime;

use crate::actions::use_actions;
use crate::components::op_status::OpStatus;
use crate::connection::{now_ms, send_text};
use crate::keypad::{goal_picks, problem};
use crate::ops::Target;
use crate::prefs::OUT_LONG_RANGE_S;
use crate::store::State;
use crate::{timing, wire};

const NO_SETTINGS_CHANGE: Command = Command::UpdateSettings {
    system_id: None,
    default_target_goal: None,
    statistics_clear_mark: None,
    datetime: None,
};

#[component]
pub fn Settings(state: State) -> impl IntoView {
    let actions = use_actions();
    // A memo, so that deltas re-render the form only when settings first arrive.
    let loaded = Memo::new(move |_| state.mirror.with(|m| m.settings.is_some()));
    if !loaded.get_untracked() {
        actions.send(Command::GetSettings, Target::Settings);
    }
    let tablet_time = move || {
        DeviceTime::from_seconds(state.now_ms.get().div_euclid(1000) + state.tablet_utc_offset_s)
    };
    let set_clock = move |_| {
        let now = DeviceTime::from_seconds(now_ms().div_euclid(1000) + state.tablet_utc_offset_s);
        let mut command = NO_SETTINGS_CHANGE;
        if let Command::UpdateSettings { datetime, .. } = &mut command {
            *datetime = Some(now.to_string());
        }
        actions.send(command, Target::Settings);
    };
    let out_long_min = move || state.prefs.get().out_long_after_s / 60;
    let set_out_long = move |delta_min: i64| {
        let mut prefs = state.prefs.get_untracked();
        prefs.out_long_after_s = (prefs.out_long_after_s + delta_min * 60)
            .clamp(*OUT_LONG_RANGE_S.start(), *OUT_LONG_RANGE_S.end());
        actions.set_prefs(prefs);
    };
    view! {
        <section class="panel" aria-labelledby="settings-title">
            <h2 id="settings-title">"Transmitter settings"</h2>
            {move || {
                if loaded.get() {
                    view! { <DeviceSettings state=state /> }.into_any()
                } else {
                    view! { <p class="muted">"Loading settings from the transmitter…"</p> }.into_any()
                }
            }}
            <div class="field">
                <span>"Clock"</span>
                <p>
                    "Transmitter "
                    <strong data-testid="device-clock">{move || timing::clock(state.device_now())}</strong>
                    " · this tablet " <strong>{move || timing::clock(tablet_time())}</strong>
                </p>
                <button class="btn btn-large" data-testid="set-clock" on:click=set_clock>
                    "Set transmitter clock to this tablet's time"
                </button>
            </div>
            <OpStatus state=state target=Target::Settings testid="settings-status" />

            <h2>"This tablet"</h2>
            <div class="field">
                <span id="outlong-label">"Highlight “pager out long” after"</span>
                <div class="stepper" role="group" aria-labelledby="outlong-label">
                    <button class="btn btn-step" aria-label="One minute less" on:click=move |_| set_out_long(-1)>
                        "−"
                    </button>
                    <output class="step-value" data-testid="out-long">
                        {move || format!("{} min", out_long_min())}
                    </output>
                    <button class="btn btn-step" aria-label="One minute more" on:click=move |_| set_out_long(1)>
                        "+"
                    </button>
                </div>
            </div>
            <SignedIn />
        </section>
    }
}

/// The transmitter's own settings; mounted once they are known, starting
/// from the device's values and saving only what the host changed.
#[component]
fn DeviceSettings(state: State) -> impl IntoView {
    let actions = use_actions();
    let current = move || state.mirror.with(|m| m.settings.clone());
    let start = current();
    let system_id = RwSignal::new(
        start
            .as_ref()
            .map(|s| s.system_id.to_string())
            .unwrap_or_default(),
    );
    let goal = RwSignal::new(start.as_ref().map_or(300, |s| s.default_target_goal));
    let clear_mark = RwSignal::new(
        start
            .as_ref()
            .map_or(CLEAR_MARK_MAX, |s| s.statistics_clear_mark),
    );
    let change = move || {
        let s = current()?;
        let id = system_id.get().trim().parse::<i64>().unwrap_or(-1);
        let command = Command::UpdateSettings {
            system_id: (id != i64::from(s.system_id)).then_some(id),
            default_target_goal: (goal.get() != s.default_target_goal)
                .then_some(i64::from(goal.get())),
            statistics_clear_mark: (clear_mark.get() != s.statistics_clear_mark)
                .then_some(i64::from(clear_mark.get())),
            datetime: None,
        };
        (command != NO_SETTINGS_CHANGE).then_some(command)
    };
    let trouble = move || change().and_then(|c| problem(&c));
    view! {
        <label class="field">
            <span>"System ID"</span>
            <input
                type="number"
                inputmode="numeric"
                data-testid="system-id"
                prop:value=move || system_id.get()
                on:input=move |ev| system_id.set(event_target_value(&ev))
            />
        </label>
        <div class="field">
            <span id="dgoal-label">"Default goal"</span>
            <div class="chips" role="group" aria-labelledby="dgoal-label">
                {move || {
                    goal_picks(goal.get())
                        .into_iter()
                        .map(|g| {
                            view! {
                                <button
                                    class="chip"
                                    class:on=move || goal.get() == g
                                    aria-pressed=move || (goal.get() == g).to_string()
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
        <div class="field">
            <span id="mark-label">"Statistics reset hour"</span>
            <div class="stepper" role="group" aria-labelledby="mark-label">
                <button
                    class="btn btn-step"
                    aria-label="An hour earlier"
                    disabled=move || clear_mark.get() == 0
                    on:click=move |_| clear_mark.update(|h| *h = h.saturating_sub(1))
                >
                    "−"
                </button>
                <output class="step-value" data-testid="clear-mark">
                    {move || match clear_mark.get() {
                        CLEAR_MARK_MAX => "never".to_string(),
                        h => format!("{h:02}:00"),
                    }}
                </output>
                <button
                    class="btn btn-step"
                    aria-label="An hour later"
                    disabled=move || clear_mark.get() == CLEAR_MARK_MAX
                    on:click=move |_| clear_mark.update(|h| *h = (*h + 1).min(CLEAR_MARK_MAX))
                >
                    "+"
                </button>
            </div>
        </div>
        {move || trouble().map(|p| view! { <p class="bad">{p}</p> })}
        <button
            class="btn btn-primary btn-large"
            data-testid="settings-save"
            disabled=move || change().is_none() || trouble().is_some()
            on:click=move |_| {
                if let Some(c) = change() {
                    actions.send(c, Target::Settings);
                }
            }
        >
            "Save settings"
        </button>
    }
}

/// The tablets holding a sign-in; a lost one can be signed out from any
/// other. index.html draws the stand's answer into the list: plain JS there
/// costs a tenth of what a Leptos list costs the wasm.
#[component]
fn SignedIn() -> impl IntoView {
    send_text(wire::LIST_TABLETS);
    view! {
        <h2>"This tablet"</h2>
        <div class="stand" data-stand="name"></div>
        <h2>"Lobby screen"</h2>
        <div class="stand" data-stand="lobby"></div>
        <h2>"Signed-in tablets"</h2>
        <ul id="tablets" class="tablets" data-testid="tablets"></ul>
    }
}
