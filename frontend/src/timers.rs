//! One clock for every row's timer.
//!
//! Rows used to bind each time-dependent text and class to the device-clock
//! signal: six subscribers a row, 1,800 on a 300-party board. reactive_graph
//! unsubscribes and resubscribes a binding on every run by shifting the
//! signal's subscriber list, so one tick cost time quadratic in the rows
//! (33–45 ms of script). Rows now register one plain callback here and the
//! store's clock calls them all once a second; each callback writes only the
//! nodes whose text changed.

use leptos::prelude::*;
use shared::time::DeviceTime;

/// A row's timer: the device's clock now, and the host's "pager out long" threshold.
type Tick = Box<dyn Fn(DeviceTime, i64)>;

#[derive(Default)]
struct Registry {
    next_id: u32,
    ticks: Vec<(u32, Tick)>,
}

/// Handed out by [`Timers::add`], given back to [`Timers::remove`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId(u32);

#[derive(Clone, Copy)]
pub struct Timers(StoredValue<Registry, LocalStorage>);

impl Timers {
    pub fn new() -> Self {
        Timers(StoredValue::new_local(Registry::default()))
    }

    pub fn add(&self, tick: impl Fn(DeviceTime, i64) + 'static) -> TimerId {
        let mut id = TimerId(0);
        self.0.update_value(|r| {
            r.next_id += 1;
            r.ticks.push((r.next_id, Box::new(tick)));
            id = TimerId(r.next_id);
        });
        id
    }

    /// Quietly does nothing once the timers are gone: the app's owner may
    /// be cleaned up before its rows are.
    pub fn remove(&self, id: TimerId) {
        self.0
            .try_update_value(|r| r.ticks.retain(|(own, _)| *own != id.0));
    }

    pub fn run(&self, now: DeviceTime, out_long_after_s: i64) {
        self.0.with_value(|r| {
            for (_, tick) in &r.ticks {
                tick(now, out_long_after_s);
            }
        });
    }
}

impl Default for Timers {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn every_timer_runs_with_the_clock_until_it_is_removed() {
        let _owner = Owner::new();
        let timers = Timers::new();
        let heard = Rc::new(RefCell::new(Vec::new()));
        let (a, b) = (heard.clone(), heard.clone());
        let first =
            timers.add(move |now, out_long| a.borrow_mut().push(("a", now.seconds(), out_long)));
        timers.add(move |now, _| b.borrow_mut().push(("b", now.seconds(), 0)));
        timers.run(DeviceTime::from_seconds(10), 300);
        timers.remove(first);
        timers.run(DeviceTime::from_seconds(11), 300);
        assert_eq!(
            *heard.borrow(),
            [("a", 10, 300), ("b", 10, 0), ("b", 11, 0)]
        );
    }

    #[test]
    fn removing_after_the_board_is_gone_is_harmless() {
        let owner = Owner::new();
        let timers = owner.with(Timers::new);
        let id = timers.add(|_, _| {});
        owner.cleanup();
        timers.remove(id);
    }
}
