use leptos::prelude::*;
use shared::protocol::Command;

use crate::actions::use_actions;
use crate::components::op_status::OpStatus;
use crate::ops::Target;
use crate::store::{Dialog, State};
use crate::timing;

#[component]
pub fn Statistics(state: State) -> impl IntoView {
    let actions = use_actions();
    let stat = move |label: &'static str,
                     testid: &'static str,
                     value: fn(&shared::device::Statistics) -> String| {
        view! {
            <div class="stat">
                <div class="stat-value" data-testid=testid>{move || state.mirror.with(|m| value(&m.statistics))}</div>
                <div class="stat-label">{label}</div>
            </div>
        }
    };
    view! {
        <section class="panel" aria-labelledby="stats-title">
            <div class="panel-head">
                <h2 id="stats-title">"Statistics"</h2>
                <button
                    class="btn btn-danger-quiet"
                    data-testid="stats-reset"
                    on:click=move |_| {
                        actions
                            .open(Dialog::Confirm {
                                title: "Reset statistics?".into(),
                                body: "Served, on-time and late counts and the average start again from zero.".into(),
                                confirm: "Reset".into(),
                                command: Command::ClearStatistics,
                                target: Target::Statistics,
                            })
                    }
                >
                    "Reset statistics"
                </button>
            </div>
            <OpStatus state=state target=Target::Statistics testid="stats-status" />
            <div class="stats">
                {stat("guests served", "stat-served", |s| s.guests_served.to_string())}
                {stat("on time", "stat-on-time", |s| format!("{}%", s.percent_on_time))}
                {stat("late", "stat-late", |s| format!("{}%", s.percent_late))}
                {stat("average time to page", "stat-average", |s| timing::duration(i64::from(s.average_time_served)))}
                {stat("parties since reset", "stat-sessions", |s| s.num_sessions.to_string())}
            </div>
            <div class="stand" data-stand="night"></div>
        </section>
    }
}
