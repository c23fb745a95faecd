//! The write side, provided as context: every tap goes through here.

use leptos::prelude::*;
use shared::protocol::Command;

use crate::connection::{now_ms, transmit};
use crate::ops::{OpIds, Target};
use crate::prefs::Prefs;
use crate::store::{Dialog, Store, View};

#[derive(Clone, Copy)]
pub struct Actions {
    store: Store,
    ids: StoredValue<OpIds>,
}

impl Actions {
    pub fn new(store: Store, ids: OpIds) -> Self {
        Actions {
            store,
            ids: StoredValue::new(ids),
        }
    }

    /// Sends a command whose result shows on `target`; ignored while that
    /// target is still waiting, so a double tap never fires twice.
    pub fn send(&self, command: Command, target: Target) {
        let id = self
            .ids
            .try_update_value(|ids| ids.next_id())
            .unwrap_or_default();
        let started = self
            .store
            .ops
            .try_update(|log| log.start(id.clone(), command.clone(), target))
            .unwrap_or(false);
        if started {
            transmit(&id, &command);
        }
    }

    /// A fresh attempt with a new op id: the old id would only replay its verdict.
    pub fn retry(&self, target: Target) {
        let command = self
            .store
            .ops
            .with_untracked(|log| log.shown(target, now_ms()).map(|op| op.command.clone()));
        if let Some(command) = command {
            self.send(command, target);
        }
    }

    pub fn dismiss(&self, target: Target) {
        self.store.ops.update(|log| log.dismiss(target));
    }

    pub fn undo(&self) {
        if let Some(undo) = self.store.undo.get_untracked() {
            self.store.undo.set(None);
            self.send(undo.command, Target::Undo);
        }
    }

    pub fn open(&self, dialog: Dialog) {
        self.store.dialog.set(Some(dialog));
    }

    pub fn close(&self) {
        self.store.dialog.set(None);
    }

    pub fn show(&self, view: View) {
        self.store.view.set(view);
    }

    pub fn set_prefs(&self, prefs: Prefs) {
        self.store.prefs.set(prefs);
        if let Ok(Some(storage)) = window().local_storage() {
            let _ = storage.set_item(PREFS_KEY, &prefs.to_line());
        }
    }
}

pub const PREFS_KEY: &str = "coaster.prefs";

pub fn load_prefs() -> Prefs {
    stored(PREFS_KEY)
        .map(|line| Prefs::from_line(&line))
        .unwrap_or_default()
}

/// A value this tablet keeps in its local storage.
pub fn stored(key: &str) -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(key).ok().flatten())
}

pub fn use_actions() -> Actions {
    // Not `expect_context`: its message formats the type name with `{:?}`,
    // which alone brought string escaping into the wasm (4.5 KB gzip).
    use_context::<Actions>().expect("App provides Actions")
}
