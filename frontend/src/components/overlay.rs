use leptos::prelude::*;

use crate::store::{Link, State};
use crate::timing;

/// Covers everything while the board may be stale, so no tap lands on a row
/// that is about to move.
#[component]
pub fn Overlay(state: State) -> impl IntoView {
    let headline = move || match state.link.get() {
        Link::Connecting => "Reconnecting to Coaster…",
        // The last attempt failed: the tablet is offline or the box is down.
        Link::Down => "Can't reach the stand's server",
        Link::Open => "Loading the board…",
        Link::Live => "Resynchronising with the transmitter…",
    };
    let since = move || match state.last_sync_ms.get() {
        Some(t) => format!(
            "Last in sync {}.",
            timing::ago((state.now_ms.get() - t) / 1000)
        ),
        None => "Not in sync yet.".to_string(),
    };
    view! {
        {move || {
            state
                .blocked()
                .then(|| {
                    view! {
            <div class="overlay" role="alertdialog" aria-modal="true" aria-label="Not connected" data-testid="overlay">
                <div class="overlay-card">
                    <div class="spinner" aria-hidden="true"></div>
                    <h2>{headline}</h2>
                    <p data-testid="since-sync">{since}</p>
                    <p class="muted">"Taps are paused until the board is current again."</p>
                </div>
            </div>
                    }
                })
        }}
    }
}
