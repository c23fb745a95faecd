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

/// The transmitter is not answering, but the board is the last it showed:
/// it stays readable (dimmed), and only the taps that would reach the
/// transmitter are held back.
pub fn unreachable(state: State) -> bool {
    state.link.get() == Link::Live && !state.mirror.with(|m| m.health.reachable)
}

#[component]
pub fn Unreachable(state: State) -> impl IntoView {
    let text = move || {
        let since = state
            .mirror
            .with(|m| m.health.last_contact_ms)
            .map(|contact| {
                let minutes = (contact / 1000 + state.tablet_utc_offset_s).div_euclid(60);
                format!(
                    " since {:02}:{:02}",
                    minutes.div_euclid(60) % 24,
                    minutes % 60
                )
            })
            .unwrap_or_default();
        // The wait is the proxy's `--command-deadline`, not a number of ours.
        let wait = state
            .mirror
            .with(|m| m.health.command_deadline_s)
            .map(|s| format!(" — commands will wait up to {s} s"))
            .unwrap_or_default();
        format!("Transmitter unreachable{since}{wait}")
    };
    view! {
        <div class="unreachable" role="status" data-testid="unreachable" hidden=move || !unreachable(state)>
            {text}
        </div>
    }
}
