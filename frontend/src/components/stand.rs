//! The stand's own History and Activity views and this tablet's name are
//! drawn by `lazy/stand.js`, a plain module index.html fetches only when one
//! of them opens: the board's first load carries none of it. This component
//! is the place it draws into.

use leptos::html::Div;
use leptos::prelude::*;

#[leptos::wasm_bindgen::prelude::wasm_bindgen(wasm_bindgen = leptos::wasm_bindgen)]
extern "C" {
    /// index.html: imports lazy/stand.js and draws `kind` into the element.
    #[wasm_bindgen(catch, js_namespace = window, js_name = coasterStand)]
    fn draw(kind: &str, into: &web_sys::Element) -> Result<(), leptos::wasm_bindgen::JsValue>;
}

/// `kind`: `history`, `activity` or `name`.
#[component]
pub fn StandView(kind: &'static str) -> impl IntoView {
    let node = NodeRef::<Div>::new();
    Effect::new(move |_| {
        if let Some(element) = node.get() {
            let _ = draw(kind, &element);
        }
    });
    view! { <div class="stand" node_ref=node data-stand=kind></div> }
}
