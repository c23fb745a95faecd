use leptos::prelude::*;

use crate::actions::use_actions;
use crate::components::op_status::OpStatus;
use crate::ops::Target;
use crate::store::State;

/// After Seat or Remove: a few seconds to put the party back as it was.
#[component]
pub fn UndoBar(state: State) -> impl IntoView {
    let actions = use_actions();
    let offer = move || state.undo.get().filter(|u| u.until_ms > state.now_ms.get());
    view! {
        <div class="toast-area">
            {move || {
                offer()
                    .map(|u| {
                        view! {
                            <div class="toast" data-testid="undo-toast">
                                <span>{u.text}</span>
                                <button class="btn btn-primary" data-testid="undo" on:click=move |_| actions.undo()>
                                    "Undo"
                                </button>
                            </div>
                        }
                    })
            }}
            <OpStatus state=state target=Target::Undo testid="undo-status" />
        </div>
    }
}
