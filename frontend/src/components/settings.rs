use leptos::prelude::*;
use shared::limits::CLEAR_MARK_MAX;
use shared::protocol::Command;
use shared::time::DeviceTime;

use crate::actions::use_actions;
use crate::components::op_status::OpStatus;
use crate::connection::now_ms;
use crate::keypad::{goal_picks, problem};
use crate::ops::Target;
use crate::prefs::{Theme, OUT_LONG_RANGE_S};
use crate::store::State;
use crate::timing;

#[component]
pub fn Settings(state: State) -> impl IntoView {
    let actions = use_actions();
    let loaded = move || state.mirror.with(|m| m.settings.clone());
    if loaded().is_none() {
        actions.send(Command::GetSettings, Target::Settings);
    }
    let system_id = RwSignal::new(String::new());
    let goal = RwSignal::new(0u32);
    let clear_mark = RwSignal::new(0u32);
    // Fill the form from the device once its settings are known.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        match loaded() {
            Some(s) => {
                system_id.set(s.system_id.to_string());
                goal.set(s.default_target_goal);
                clear_mark.set(s.statistics_clear_mark);
                true
            }
            None => false,
        }
    });
    let change = move || {
        let s = loaded()?;
        let id = system_id.get().trim().parse::<i64>().unwrap_or(-1);
        let command = Command::UpdateSettings {
            system_id: (id != i64::from(s.system_id)).then_some(id),
            default_target_goal: (goal.get() != s.default_target_goal)
                .then_some(i64::from(goal.get())),
            statistics_clear_mark: (clear_mark.get() != s.statistics_clear_mark)
                .then_some(i64::from(clear_mark.get())),
            datetime: None,
        };
        (command
            != Command::UpdateSettings {
                system_id: None,
                default_target_goal: None,
                statistics_clear_mark: None,
                datetime: None,
            })
        .then_some(command)
    };
    let trouble = move || change().and_then(|c| problem(&c));
    let tablet_time = move || {
        DeviceTime::from_seconds(state.now_ms.get().div_euclid(1000) + state.tablet_utc_offset_s)
    };
    let set_clock = move |_| {
        let now = DeviceTime::from_seconds(now_ms().div_euclid(1000) + state.tablet_utc_offset_s);
        actions.send(
            Command::UpdateSettings {
                system_id: None,
                default_target_goal: None,
                statistics_clear_mark: None,
                datetime: Some(now.to_string()),
            },
            Target::Settings,
        );
    };
    let out_long_min = move || state.prefs.get().out_long_after_s / 60;
    let set_out_long = move |delta_min: i64| {
        let mut prefs = state.prefs.get_untracked();
        let s = (prefs.out_long_after_s + delta_min * 60)
            .clamp(*OUT_LONG_RANGE_S.start(), *OUT_LONG_RANGE_S.end());
        prefs.out_long_after_s = s;
        actions.set_prefs(prefs);
    };
    let theme_chip = move |t: Theme, text: &'static str| {
        view! {
            <button
                class="chip"
                class:on=move || state.prefs.get().theme == t
                aria-pressed=move || (state.prefs.get().theme == t).to_string()
                data-testid=format!("theme-{}", t.name())
                on:click=move |_| {
                    let mut prefs = state.prefs.get_untracked();
                    prefs.theme = t;
                    actions.set_prefs(prefs);
                }
            >
                {text}
            </button>
        }
    };

    view! {
        <section class="panel" aria-labelledby="settings-title">
            <h2 id="settings-title">"Transmitter settings"</h2>
            <Show when=move || loaded().is_some() fallback=|| view! { <p class="muted">"Loading settings from the transmitter…"</p> }>
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
                <label class="field">
                    <span>"Statistics reset hour"</span>
                    <select
                        data-testid="clear-mark"
                        on:change=move |ev| clear_mark.set(event_target_value(&ev).parse().unwrap_or(0))
                    >
                        {(0..=CLEAR_MARK_MAX)
                            .map(|h| {
                                let text = if h == CLEAR_MARK_MAX { "never (24)".to_string() } else { format!("{h:02}:00") };
                                view! {
                                    <option value=h.to_string() selected=move || clear_mark.get() == h>
                                        {text}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
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
            </Show>
            <div class="field">
                <span>"Clock"</span>
                <p>
                    "Transmitter " <strong data-testid="device-clock">{move || timing::clock(state.device_now())}</strong>
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
                    <output class="step-value" data-testid="out-long">{move || format!("{} min", out_long_min())}</output>
                    <button class="btn btn-step" aria-label="One minute more" on:click=move |_| set_out_long(1)>
                        "+"
                    </button>
                </div>
            </div>
            <div class="field">
                <span>"Theme"</span>
                <div class="chips">
                    {theme_chip(Theme::Auto, "Follow system")}
                    {theme_chip(Theme::Dark, "Dark")}
                    {theme_chip(Theme::Light, "Light")}
                </div>
            </div>
        </section>
    }
}
