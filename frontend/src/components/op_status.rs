use leptos::prelude::*;

use crate::actions::use_actions;
use crate::ops::{Status, Target};
use crate::store::State;

/// What the last tap on `target` is doing: sending, ✓, or the reason it
/// failed with a Retry. Announced to screen readers as it changes.
#[component]
pub fn OpStatus(state: State, target: Target, #[prop(into)] testid: String) -> impl IntoView {
    let actions = use_actions();
    // Not `shown` at the tablet's clock: that would wake every row's status
    // every second. The clock's prune takes a faded ✓ out of the log instead.
    let shown = move || {
        state
            .ops
            .with(|log| log.latest(target).map(|op| (op.text(), op.status.clone())))
    };
    view! {
        <div class="op-status" role="status" aria-live="polite" data-testid=testid>
            {move || {
                shown()
                    .map(|(text, status)| {
                        let failed = matches!(status, Status::Failed(_));
                        view! {
                            <span
                                class="op-text"
                                class:op-sending=status == Status::Sending
                                class:op-ok=status == Status::Acknowledged
                                class:op-failed=failed
                            >
                                {text}
                            </span>
                            {failed
                                .then(|| {
                                    view! {
                                        <button
                                            class="btn btn-small"
                                            data-testid="retry"
                                            on:click=move |_| actions.retry(target)
                                        >
                                            "Retry"
                                        </button>
                                        <button
                                            class="btn btn-small btn-quiet"
                                            aria-label="Dismiss"
                                            on:click=move |_| actions.dismiss(target)
                                        >
                                            "✕"
                                        </button>
                                    }
                                })}
                        }
                    })
            }}
        </div>
    }
}
