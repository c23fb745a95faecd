use std::time::Duration;

use leptos::prelude::*;

use crate::actions::{load_prefs, Actions};
use crate::components::{
    board::Board,
    dialogs::Dialogs,
    header::Header,
    history::{History, Stand},
    overlay::{unreachable, Overlay, Unreachable},
    settings::Settings,
    standalone_page::StandalonePage,
    statistics::Statistics,
    undo::UndoBar,
};
use crate::connection::{self, now_ms};
use crate::ops::OpIds;
use crate::store::{Link, Store, View};

#[component]
pub fn App() -> impl IntoView {
    let tablet_utc_offset_s = -(js_sys::Date::new_0().get_timezone_offset() as i64) * 60;
    let store = Store::new(now_ms(), tablet_utc_offset_s, load_prefs());
    let actions = Actions::new(store, OpIds::new(js_sys::Math::random()));
    provide_context(actions);
    let state = store.state();

    set_interval(
        move || {
            let now = now_ms();
            store.now_ms.set(now);
            store.tick_clock();
            if store.link.get_untracked() == Link::Live
                && store.mirror.with_untracked(|m| m.health.synced)
            {
                store.last_sync_ms.set(Some(now));
            }
            store.ops.maybe_update(|log| log.prune(now));
            connection::watchdog(store, now);
        },
        Duration::from_secs(1),
    );

    Effect::new(move |_| {
        let theme = state.prefs.get().theme.name();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme);
        }
    });

    connection::connect(store);
    connection::resync_when_shown(store);

    view! {
        <div class="app">
            <Header state=state />
            <Unreachable state=state />
            <main class="main" class:dimmed=move || unreachable(state)>
                {move || match state.view.get() {
                    View::Board => view! { <Board state=state /> }.into_any(),
                    View::History => view! { <History state=state /> }.into_any(),
                    View::Activity => view! { <Stand kind="activity" title="Activity" /> }.into_any(),
                    View::Analytics => view! { <Stand kind="analytics" title="Analytics" /> }.into_any(),
                    View::Statistics => view! { <Statistics state=state /> }.into_any(),
                    View::Page => view! { <StandalonePage state=state /> }.into_any(),
                    View::Settings => view! { <Settings state=state /> }.into_any(),
                }}
            </main>
            <UndoBar state=state />
            <Dialogs state=state />
            <Overlay state=state />
        </div>
    }
}
