#![cfg(target_arch = "wasm32")]
//! Components mounted in headless Chromium, fed a mirror directly (no proxy).

use frontend::actions::Actions;
use frontend::components::board::Board;
use frontend::components::keypad::{KeypadDisplay, KeypadPad};
use frontend::keypad::Keypad;
use frontend::ops::{OpIds, Target};
use frontend::prefs::Prefs;
use frontend::store::Store;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use shared::device::Session;
use shared::protocol::{Command, MirrorState, Party};
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

/// A device time as the tablet clock's milliseconds.
fn device_ms(text: &str) -> i64 {
    DeviceTime::parse(text).unwrap().seconds() * 1000
}

/// Mounts a board in `<div id={container}>` holding `parties`, with the
/// device's clock at `now`.
fn mount_board(container: &'static str, now: &str, parties: Vec<Party>) -> Store {
    let store = Store::new(device_ms(now), 0, Prefs::default());
    store.mirror.set(MirrorState {
        parties,
        ..Default::default()
    });
    leptos::mount::mount_to_body(move || {
        provide_context(Actions::new(store, OpIds::new(0.5)));
        view! { <div id=container><Board state=store.state() /></div> }
    });
    store
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
    mount_board(
        "board-test",
        "2026-11-27T19:20:00",
        vec![
            party(7, "Sarah", "2026-11-27T19:00:00"),
            party(12, "Omar", "2026-11-27T19:18:00"),
        ],
    );
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

#[wasm_bindgen_test]
async fn the_device_clock_moves_every_row_timer_and_its_colour() {
    let mut paged = party(4, "Lena", "2026-11-27T19:00:00");
    paged.session.notified = Some(DeviceTime::parse("2026-11-27T19:01:00").unwrap());
    paged.page_count = 1;
    let store = mount_board(
        "clock-test",
        "2026-11-27T19:02:00",
        vec![party(3, "Ari", "2026-11-27T19:00:00"), paged],
    );
    let ari = query("#clock-test [data-testid=row-3]");
    let lena = query("#clock-test [data-testid=row-4]");
    let text = |row: &web_sys::HtmlElement, part: &str| {
        row.query_selector(part)
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap()
    };
    assert_eq!(text(&ari, ".wait-time"), "2:00");
    assert_eq!(text(&lena, ".since"), "1:00 ago");

    for (clock, wait, tier, note) in [
        ("2026-11-27T19:08:30", "8:30", "tier-nearing", "waiting"),
        ("2026-11-27T19:10:05", "10:05", "tier-over", "+0:05 over"),
    ] {
        store.now_ms.set(device_ms(clock));
        store.tick_clock();
        leptos::task::tick().await;
        assert_eq!(text(&ari, ".wait-time"), wait);
        assert_eq!(text(&ari, ".wait-note"), note);
        assert_eq!(ari.class_name(), format!("row {tier}"));
    }
    // Paged at 19:01: the wait stays frozen, the time since the page runs on
    // and past the 5-minute threshold the row says the pager is out long.
    assert_eq!(text(&lena, ".wait-time"), "1:00");
    assert_eq!(text(&lena, ".since"), "9:05 ago");
    assert_eq!(lena.class_name(), "row tier-within paged out-long");
    let badge = lena.query_selector(".long-badge").unwrap().unwrap();
    assert!(!badge.has_attribute("hidden"));
}

#[wasm_bindgen_test]
async fn a_row_sending_a_command_disables_all_its_buttons_and_no_other_row() {
    let store = mount_board(
        "busy-test",
        "2026-11-27T19:05:00",
        vec![
            party(5, "Noor", "2026-11-27T19:00:00"),
            party(6, "Ivo", "2026-11-27T19:01:00"),
        ],
    );
    let disabled = |selector: &str| {
        let buttons = document().query_selector_all(selector).unwrap();
        (0..buttons.length())
            .map(|i| {
                let button: web_sys::Element = buttons.get(i).unwrap().unchecked_into();
                button.matches(":disabled").unwrap()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        disabled("#busy-test [data-testid=row-5] button"),
        [false; 5]
    );
    store.ops.update(|log| {
        log.start(
            "t-1".into(),
            Command::ClearSession { number: 5 },
            Target::Row(5),
        );
    });
    leptos::task::tick().await;
    assert_eq!(disabled("#busy-test [data-testid=row-5] button"), [true; 5]);
    assert_eq!(
        disabled("#busy-test [data-testid=row-6] button"),
        [false; 5]
    );
}

/// Resolves after the next frame has been painted.
async fn after_paint() {
    let painted = js_sys::Promise::new(&mut |resolve, _| {
        let later = leptos::wasm_bindgen::closure::Closure::once_into_js(move || {
            window()
                .set_timeout_with_callback_and_timeout_and_arguments_0(resolve.unchecked_ref(), 10)
                .unwrap();
        });
        window()
            .request_animation_frame(later.unchecked_ref())
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(painted).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_long_board_shows_its_first_rows_at_once_and_the_rest_after_the_first_paint() {
    mount_board(
        "long-test",
        "2026-11-27T20:00:00",
        (1..=40)
            .map(|n| party(n, "Guest", &format!("2026-11-27T19:{:02}:00", n)))
            .collect(),
    );
    let rows = || {
        document()
            .query_selector_all("#long-test [data-number]")
            .unwrap()
            .length()
    };
    assert_eq!(rows(), 16);
    // The longest waits come first.
    assert_eq!(
        query("#long-test [data-number]")
            .get_attribute("data-number")
            .as_deref(),
        Some("1")
    );
    after_paint().await;
    assert_eq!(rows(), 40);
}
