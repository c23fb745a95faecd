use leptos::prelude::*;

use crate::actions::use_actions;
use crate::prefs::Theme;
use crate::store::{Link, State, View};
use crate::timing;

/// Transmitter status, today's numbers, the device clock and the views.
#[component]
pub fn Header(state: State) -> impl IntoView {
    let actions = use_actions();
    let status = move || {
        // A stale mirror says nothing about the transmitter now.
        if state.link.get() != Link::Live {
            return ("No connection", "st-bad");
        }
        state.mirror.with(|m| {
            if !m.health.reachable {
                ("Unreachable", "st-bad")
            } else if m.device.simulated {
                ("Simulated", "st-sim")
            } else {
                ("Live", "st-ok")
            }
        })
    };
    let detail = move || {
        state.mirror.with(|m| {
            let firmware = m
                .device
                .firmware_version
                .as_deref()
                .map(|f| format!("fw {f}"))
                .unwrap_or_default();
            let contact = m
                .health
                .last_contact_ms
                .map(|t| format!("contact {}", timing::ago((state.proxy_now_ms() - t) / 1000)))
                .unwrap_or_else(|| "no contact yet".into());
            format!("{firmware} · {contact}")
        })
    };
    // The panel behind the health line: what the link to the transmitter is
    // doing. One text, a line per figure: cheaper in the wasm than a view each.
    let health = move || {
        let ago = |t: Option<i64>| {
            t.map_or("never".into(), |t| {
                timing::ago((state.proxy_now_ms() - t) / 1000)
            })
        };
        let ms = |v: Option<u32>| v.map_or("—".into(), |v| format!("{v} ms"));
        state.mirror.with(|m| {
            let h = &m.health;
            format!(
                "Reachable: {}\nChanges: {}\nLast change: {}\nLast ping: {}\nRound trip: {}\nRetry after: {}\nResent, last minute: {}\nRestarts / resyncs: {} / {}",
                if h.reachable { "yes" } else { "no" },
                if h.observing { "pushed" } else { "polled" },
                ago(h.last_notification_ms),
                ago(h.last_ping_ms),
                ms(h.rtt_ms),
                ms(h.rto_ms),
                h.loss_percent.map_or("—".into(), |p| format!("{p} %")),
                h.reboots,
                h.resyncs
            )
        })
    };
    let summary = move || {
        state.mirror.with(|m| {
            let s = &m.statistics;
            format!(
                "{} waiting · {} served · {}% on time · avg {}",
                m.parties
                    .iter()
                    .filter(|p| p.session.notified.is_none())
                    .count(),
                s.guests_served,
                s.percent_on_time,
                timing::duration(i64::from(s.average_time_served))
            )
        })
    };
    let tab = move |view: View, text: &'static str, testid: &'static str| {
        view! {
            <button
                class="tab"
                class:on=move || state.view.get() == view
                aria-current=move || (state.view.get() == view).then_some("page")
                data-testid=testid
                on:click=move |_| actions.show(view)
            >
                {text}
            </button>
        }
    };
    let theme = move || state.prefs.get().theme;
    view! {
        <header class="header">
            <div class="status-line">
                <span class=move || format!("device-status {}", status().1) data-testid="device-status">
                    {move || status().0}
                </span>
                <details class="detail health-panel" data-testid="device-detail">
                    <summary>{detail}</summary>
                    <p data-testid="health-panel">{health}</p>
                </details>
                <span class="summary" data-testid="summary">{summary}</span>
                // The board works without the store; the host still has to know.
                {move || {
                    state
                        .mirror
                        .with(|m| m.health.not_recording.clone())
                        .map(|why| view! { <span class="not-recording" role="status" data-testid="not-recording">"Not recording: " {why}</span> })
                }}
                <span class="clock" aria-label="Transmitter clock" data-testid="clock">
                    {move || timing::clock(state.device_now())}
                </span>
                <button
                    class="btn btn-icon"
                    aria-label=move || format!("Theme: {} (auto follows the system). Tap to change.", theme().name())
                    data-testid="theme"
                    on:click=move |_| {
                        let mut prefs = state.prefs.get_untracked();
                        prefs.theme = prefs.theme.next();
                        actions.set_prefs(prefs);
                    }
                >
                    {move || match theme() {
                        Theme::Auto => "◐",
                        Theme::Dark => "☾",
                        Theme::Light => "☀",
                    }}
                </button>
            </div>
            <nav class="tabs" aria-label="Views">
                {tab(View::Board, "Board", "tab-board")}
                {tab(View::History, "History", "tab-history")}
                {tab(View::Activity, "Activity", "tab-activity")}
                {tab(View::Analytics, "Analytics", "tab-analytics")}
                {tab(View::Statistics, "Statistics", "tab-statistics")}
                {tab(View::Page, "Page a pager", "tab-page")}
                {tab(View::Settings, "Settings", "tab-settings")}
            </nav>
        </header>
    }
}
