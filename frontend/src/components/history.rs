use leptos::prelude::*;
use shared::device::ClearType;
use shared::protocol::Command;

use crate::actions::use_actions;
use crate::components::op_status::OpStatus;
use crate::ops::Target;
use crate::store::{Dialog, State};
use crate::timing;

/// The stand's own history (every party Coaster saw, kept for years) by
/// default; the transmitter's short history of its own one tap away.
#[component]
pub fn History(state: State) -> impl IntoView {
    let device = RwSignal::new(false);
    let part = move |on_device: bool, text: &'static str, testid: &'static str| {
        view! {
            <button class="tab" class:on=move || device.get() == on_device data-testid=testid on:click=move |_| device.set(on_device)>
                {text}
            </button>
        }
    };
    view! {
        <nav class="tabs subtabs" aria-label="Whose history">
            {part(false, "This stand", "history-stand")}
            {part(true, "Transmitter", "history-device")}
        </nav>
        {move || match device.get() {
            true => view! { <DeviceHistory state=state /> }.into_any(),
            false => view! { <Stand kind="history" title="History" /> }.into_any(),
        }}
    }
}

/// One of the stand's own views, with its heading. Its `data-stand` part is
/// drawn by lazy/stand.js, which index.html fetches when such a part first
/// appears: the board's first load carries none of it.
#[component]
pub fn Stand(kind: &'static str, title: &'static str) -> impl IntoView {
    view! {
        <section class="panel">
            <div class="panel-head">
                <h2>{title}</h2>
            </div>
            <div class="stand" data-stand=kind></div>
        </section>
    }
}

#[component]
fn DeviceHistory(state: State) -> impl IntoView {
    let actions = use_actions();
    // The device keeps history; fetch it whenever the view opens.
    actions.send(Command::GetHistory, Target::History);
    let rows = move || {
        state
            .history
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|entry| {
                let s = entry.session;
                let left = match entry.clear_type {
                    ClearType::Stop => "Seated",
                    ClearType::Removed => "Removed",
                };
                let waited = s
                    .cleared
                    .map(|c| timing::duration(c.seconds_since(s.started)))
                    .unwrap_or_default();
                let to_page = s
                    .time_to_page()
                    .map(timing::duration)
                    .unwrap_or_else(|| "not paged".into());
                let at = s.cleared.map(timing::clock).unwrap_or_default();
                view! {
                    <tr>
                        <td class="num-cell">{s.number}</td>
                        <td>{s.label.unwrap_or_default()}</td>
                        <td>{s.party_size.map_or_else(|| "—".to_string(), |n| n.to_string())}</td>
                        <td>{left}</td>
                        <td>{waited}</td>
                        <td>{to_page}</td>
                        <td>{at}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <section class="panel" aria-labelledby="history-title">
            <div class="panel-head">
                <h2 id="history-title">"The transmitter's history"</h2>
                <button class="btn" data-testid="history-refresh" on:click=move |_| actions.send(Command::GetHistory, Target::History)>
                    "Refresh"
                </button>
                <button
                    class="btn btn-danger-quiet"
                    data-testid="history-clear"
                    on:click=move |_| {
                        actions
                            .open(Dialog::Confirm {
                                title: "Clear history?".into(),
                                body: "Every seated and removed party is deleted from the transmitter's history. Statistics stay.".into(),
                                confirm: "Clear history".into(),
                                command: Command::ClearHistory,
                                target: Target::History,
                            })
                    }
                >
                    "Clear history"
                </button>
            </div>
            <OpStatus state=state target=Target::History testid="history-status" />
            <table class="table" data-testid="history-table">
                <thead>
                    <tr>
                        <th>"Pager"</th>
                        <th>"Name"</th>
                        <th>"Size"</th>
                        <th>"Left"</th>
                        <th>"Wait"</th>
                        <th>"To page"</th>
                        <th>"At"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {move || {
                state
                    .history
                    .with(|h| h.as_ref().is_some_and(Vec::is_empty))
                    .then(|| view! { <p class="empty">"No history yet."</p> })
            }}
        </section>
    }
}
