//! Signals mirroring the proxy's snapshot, plus the little the tablet keeps
//! itself (ops in flight, the undo offer, which view and dialog are open).
//! The mirror is only ever replaced by a snapshot or changed by a delta.

use leptos::prelude::*;
use shared::device::HistoryEntry;
use shared::protocol::{Command, MirrorState, Party};
use shared::time::DeviceTime;

use crate::ops::{OpLog, Target};
use crate::prefs::Prefs;
use crate::timers::Timers;
use crate::timing;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Connecting,
    /// Socket open, snapshot not yet received on it.
    Open,
    /// A snapshot arrived on this connection: the board is current.
    Live,
    Down,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Board,
    History,
    Activity,
    Analytics,
    Statistics,
    Page,
    Settings,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Dialog {
    AddParty,
    Edit(Party),
    PageModes(Party),
    Confirm {
        title: String,
        body: String,
        confirm: String,
        command: Command,
        target: Target,
    },
}

/// Seat or Remove was acknowledged: offer to put the party back for a moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Undo {
    pub text: String,
    pub command: Command,
    pub until_ms: i64,
}

pub const UNDO_SHOWN_MS: i64 = 8_000;

#[derive(Clone, Copy)]
pub struct Store {
    pub mirror: RwSignal<MirrorState>,
    pub link: RwSignal<Link>,
    /// Proxy clock minus tablet clock, from the last Hello/Snapshot.
    pub skew_ms: RwSignal<i64>,
    /// The tablet's clock, ticking once a second so timers move together.
    pub now_ms: RwSignal<i64>,
    /// The device's clock in seconds, set by [`Store::tick_clock`].
    pub device_now_s: RwSignal<i64>,
    /// Board rows' timers, run by [`Store::tick_clock`] rather than by
    /// subscribing 300 rows to `device_now_s`.
    pub timers: Timers,
    pub last_sync_ms: RwSignal<Option<i64>>,
    pub ops: RwSignal<OpLog>,
    pub history: RwSignal<Option<Vec<HistoryEntry>>>,
    pub undo: RwSignal<Option<Undo>>,
    pub prefs: RwSignal<Prefs>,
    pub view: RwSignal<View>,
    pub dialog: RwSignal<Option<Dialog>>,
    /// East-positive UTC offset of the tablet's zone, the fallback device zone.
    pub tablet_utc_offset_s: i64,
}

impl Store {
    pub fn new(now_ms: i64, tablet_utc_offset_s: i64, prefs: Prefs) -> Self {
        Store {
            mirror: RwSignal::new(MirrorState::default()),
            link: RwSignal::new(Link::Connecting),
            skew_ms: RwSignal::new(0),
            now_ms: RwSignal::new(now_ms),
            device_now_s: RwSignal::new(
                timing::device_now(now_ms, 0, None, tablet_utc_offset_s).seconds(),
            ),
            timers: Timers::new(),
            last_sync_ms: RwSignal::new(None),
            ops: RwSignal::new(OpLog::default()),
            history: RwSignal::new(None),
            undo: RwSignal::new(None),
            prefs: RwSignal::new(prefs),
            view: RwSignal::new(View::Board),
            dialog: RwSignal::new(None),
            tablet_utc_offset_s,
        }
    }

    /// Recomputes the device clock from the tablet clock, the proxy skew and
    /// the device offset; wakes its readers and runs the rows' timers only
    /// when the second changed. A new "out long" threshold shows at the next
    /// second.
    pub fn tick_clock(&self) {
        let now = timing::device_now(
            self.now_ms.get_untracked(),
            self.skew_ms.get_untracked(),
            self.mirror
                .with_untracked(|m| m.health.device_clock_offset_s),
            self.tablet_utc_offset_s,
        )
        .seconds();
        if self.device_now_s.get_untracked() != now {
            self.device_now_s.set(now);
            let out_long_after_s = self.prefs.with_untracked(|p| p.out_long_after_s);
            self.timers
                .run(DeviceTime::from_seconds(now), out_long_after_s);
        }
    }

    pub fn state(&self) -> State {
        State {
            mirror: self.mirror.read_only(),
            link: self.link.read_only(),
            skew_ms: self.skew_ms.read_only(),
            now_ms: self.now_ms.read_only(),
            device_now_s: self.device_now_s.read_only(),
            timers: self.timers,
            last_sync_ms: self.last_sync_ms.read_only(),
            ops: self.ops.read_only(),
            history: self.history.read_only(),
            undo: self.undo.read_only(),
            prefs: self.prefs.read_only(),
            view: self.view.read_only(),
            dialog: self.dialog.read_only(),
            tablet_utc_offset_s: self.tablet_utc_offset_s,
        }
    }
}

/// The read side, handed to components as a prop.
#[derive(Clone, Copy)]
pub struct State {
    pub mirror: ReadSignal<MirrorState>,
    pub link: ReadSignal<Link>,
    pub skew_ms: ReadSignal<i64>,
    pub now_ms: ReadSignal<i64>,
    pub device_now_s: ReadSignal<i64>,
    /// Where a board row registers its timer.
    pub timers: Timers,
    pub last_sync_ms: ReadSignal<Option<i64>>,
    pub ops: ReadSignal<OpLog>,
    pub history: ReadSignal<Option<Vec<HistoryEntry>>>,
    pub undo: ReadSignal<Option<Undo>>,
    pub prefs: ReadSignal<Prefs>,
    pub view: ReadSignal<View>,
    pub dialog: ReadSignal<Option<Dialog>>,
    pub tablet_utc_offset_s: i64,
}

impl State {
    /// The device's clock now; reactive, changes once a second.
    pub fn device_now(&self) -> DeviceTime {
        DeviceTime::from_seconds(self.device_now_s.get())
    }

    /// The proxy's clock now, for its `*_ms` fields.
    pub fn proxy_now_ms(&self) -> i64 {
        self.now_ms.get() + self.skew_ms.get()
    }

    /// Taps must not land while the board may be stale or moving under the finger.
    pub fn blocked(&self) -> bool {
        self.link.get() != Link::Live || !self.mirror.with(|m| m.health.synced)
    }
}
