#![cfg(target_arch = "wasm32")]
//! Components mounted in headless Chromium, fed a mirror directly (no proxy).

use frontend::actions::Actions;
use frontend::components::board::Board;
use frontend::components::keypad::{KeypadDisplay, KeypadPad};
use frontend::keypad::Keypad;
use frontend::ops::OpIds;
use frontend::prefs::Prefs;
use frontend::store::Store;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use shared::device::Session;
use shared::protocol::{MirrorState, Party};
use shared::time::DeviceTime;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn query(selector: &str) -> web_sys::HtmlElement {
    document()
        .query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("{selector} is not on the page"))
        .unchecked_into()
}

fn party(number: u32, label: &str, started: &str) -> Party {
    let t = DeviceTime::parse(started).unwrap();
    Party {
        session: Session {
            id: number,
            session_sequence: Some(number),
            uuid: format!("u{number}"),
            number,
            party_size: Some(4),
            goal_in_seconds: 600,
            created: t,
            started: t,
            notified: None,
            cleared: None,
            label: Some(label.into()),
            state: None,
        },
        page_count: 0,
    }
}

#[wasm_bindgen_test]
async fn keypad_replaces_the_suggestion_and_shows_typed_digits() {
    let entry = RwSignal::new(Keypad::prefilled(Some(3)));
    leptos::mount::mount_to_body(move || {
        view! {
            <div id="keypad-test">
                <KeypadDisplay entry=entry label="Pager number" />
                <KeypadPad entry=entry />
            </div>
        }
    });
    let display = query("#keypad-test [data-testid=number-display]");
    assert_eq!(display.text_content().unwrap(), "3");
    query("#keypad-test [data-testid=key-4]").click();
    query("#keypad-test [data-testid=key-2]").click();
    // Render effects run on the next tick of the executor.
    leptos::task::tick().await;
    assert_eq!(display.text_content().unwrap(), "42");
    query("#keypad-test [data-testid=key-back]").click();
    leptos::task::tick().await;
    assert_eq!(display.text_content().unwrap(), "4");
}

#[wasm_bindgen_test]
fn board_renders_rows_from_the_mirror_and_over_goal_in_red() {
    // The device clock: 19:20 device time, 20 minutes after the first party started.
    let now_ms = DeviceTime::parse("2026-11-27T19:20:00").unwrap().seconds() * 1000;
    let store = Store::new(now_ms, 0, Prefs::default());
    store.mirror.set(MirrorState {
        parties: vec![
            party(7, "Sarah", "2026-11-27T19:00:00"),
            party(12, "Omar", "2026-11-27T19:18:00"),
        ],
        ..Default::default()
    });
    leptos::mount::mount_to_body(move || {
        provide_context(Actions::new(store, OpIds::new(0.5)));
        view! { <div id="board-test"><Board state=store.state() /></div> }
    });
    let sarah = query("#board-test [data-testid=row-7]");
    assert!(sarah.text_content().unwrap().contains("Sarah"));
    assert!(
        sarah.class_name().contains("tier-over"),
        "{}",
        sarah.class_name()
    );
    assert!(sarah.text_content().unwrap().contains("+10:00 over"));
    let omar = query("#board-test [data-testid=row-12]");
    assert!(omar.class_name().contains("tier-within"));
    assert!(omar.text_content().unwrap().contains("2:00"));
    // Longest wait first.
    let rows = document()
        .query_selector_all("#board-test [data-number]")
        .unwrap();
    let first: web_sys::Element = rows.get(0).unwrap().unchecked_into();
    assert_eq!(first.get_attribute("data-number").as_deref(), Some("7"));
}
