use leptos::prelude::*;

use crate::keypad::Keypad;

/// A large numeric pad editing `entry`; the display is the entry itself.
#[component]
pub fn KeypadPad(entry: RwSignal<Keypad>) -> impl IntoView {
    let digit = move |d: u8| {
        view! {
            <button
                class="key"
                data-testid=format!("key-{d}")
                on:click=move |_| entry.update(|k| k.press(d))
            >
                {d.to_string()}
            </button>
        }
    };
    view! {
        <div class="keypad" role="group" aria-label="Pager number keypad">
            {[1, 2, 3, 4, 5, 6, 7, 8, 9].map(digit)}
            <button
                class="key key-fn"
                aria-label="Clear number"
                data-testid="key-clear"
                on:click=move |_| entry.update(Keypad::clear)
            >
                "C"
            </button>
            {digit(0)}
            <button
                class="key key-fn"
                aria-label="Delete last digit"
                data-testid="key-back"
                on:click=move |_| entry.update(Keypad::backspace)
            >
                "⌫"
            </button>
        </div>
    }
}

/// The number as typed, dimmed while it is only the suggestion.
#[component]
pub fn KeypadDisplay(entry: RwSignal<Keypad>, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <output
            class="keypad-display"
            class:prefilled=move || entry.with(Keypad::is_prefilled)
            aria-label=label
            data-testid="number-display"
        >
            {move || entry.with(|k| if k.text().is_empty() { "–".to_string() } else { k.text().to_string() })}
        </output>
    }
}
