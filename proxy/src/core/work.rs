//! What waits for the one request the device takes at a time (NSTART 1), and
//! in which order it goes. The core is the only queue: it hands the CoAP
//! endpoint one request at a time, so the order here is the order on the wire.

use std::time::{Duration, Instant};

use shared::device::Action;
use shared::protocol::ValidCommand;

/// One request's worth of device work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// Send a tablet's command (again, after a read-back proved it not done).
    Issue { op: String },
    /// Read back what an unanswered command would have changed.
    ReadBack { op: String },
    /// Register for notifications (GET /v1/notify with Observe).
    Register,
    /// Take the whole board (GET /v1/sessions): the mirror may be wrong.
    Snapshot,
    /// "Anything new?" (ETag GET /v1/sessions) while not observing, or a probe.
    Poll,
    /// Learn the settings (once per registration).
    Settings,
}

/// How long each kind of work lets others go first. A read-back finishes a
/// command already on its way and must follow its exchange directly (see
/// [`super::proof`]), so it always goes next. Otherwise the queue is first
/// come, first served after a handicap: a page is the host's most urgent act
/// and overtakes other changes that came up to 5 s before it, resyncs that
/// came 6 s before it, the proxy's polls 15 s, the host's reads (history,
/// statistics: a flood is made of those) 20 s. A handicap, not a strict
/// order, so a busy door paging non-stop cannot starve a create.
fn handicap(work: &Work, command: Option<&ValidCommand>) -> Duration {
    let secs = match (work, command) {
        (Work::ReadBack { .. }, _) => 0,
        (Work::Issue { .. }, Some(c)) if pages(c) => 0,
        (Work::Issue { .. }, Some(c)) if !is_read(c) => 5,
        (Work::Register | Work::Snapshot, _) => 6,
        (Work::Settings, _) => 10,
        (Work::Poll, _) => 15,
        (Work::Issue { .. }, _) => 20,
    };
    Duration::from_secs(secs)
}

/// Whether a command puts a page on the air.
pub fn pages(command: &ValidCommand) -> bool {
    match command {
        ValidCommand::StandalonePage(_) => true,
        ValidCommand::UpdateSession { body, .. } => body.action == Some(Action::Page),
        _ => false,
    }
}

/// Whether sending the command again cannot change anything a first copy did.
pub fn is_read(command: &ValidCommand) -> bool {
    matches!(
        command,
        ValidCommand::GetHistory | ValidCommand::GetStatistics | ValidCommand::GetSettings
    )
}

#[derive(Debug, Default)]
pub struct Queue {
    /// (read-back last?, arrival + handicap, arrival order, work); small
    /// (bounded by the commands admitted).
    items: Vec<(bool, Instant, u64, Work)>,
    arrivals: u64,
}

impl Queue {
    /// Queues `work` (for `command`, when it is a tablet's) unless the
    /// same work is already waiting.
    pub fn push(&mut self, work: Work, command: Option<&ValidCommand>, now: Instant) {
        if self.contains(&work) {
            return;
        }
        self.arrivals += 1;
        let not_read_back = !matches!(work, Work::ReadBack { .. });
        let due = now + handicap(&work, command);
        self.items.push((not_read_back, due, self.arrivals, work));
    }

    pub fn contains(&self, work: &Work) -> bool {
        self.items.iter().any(|(_, _, _, w)| w == work)
    }

    /// The work whose turn it is; `ready` says whether an item may go now.
    pub fn pop(&mut self, ready: impl Fn(&Work) -> bool) -> Option<Work> {
        let index = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, (_, _, _, w))| ready(w))
            .min_by_key(|(_, (later, due, arrival, _))| (*later, *due, *arrival))
            .map(|(i, _)| i)?;
        Some(self.items.swap_remove(index).3)
    }

    /// Drops every item `gone` says is no longer wanted.
    pub fn remove(&mut self, gone: impl Fn(&Work) -> bool) {
        self.items.retain(|(_, _, _, w)| !gone(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(op: &str) -> Work {
        Work::Issue { op: op.into() }
    }

    fn page() -> ValidCommand {
        ValidCommand::UpdateSession {
            number: 1,
            body: shared::device::UpdateSession {
                action: Some(Action::Page),
                ..Default::default()
            },
        }
    }

    fn relabel() -> ValidCommand {
        ValidCommand::UpdateSession {
            number: 1,
            body: shared::device::UpdateSession {
                label: Some("Bo".into()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn read_backs_then_pages_then_changes_then_resyncs_then_reads() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push(Work::Poll, None, t);
        q.push(issue("history"), Some(&ValidCommand::GetHistory), t);
        q.push(Work::Snapshot, None, t);
        q.push(issue("relabel"), Some(&relabel()), t);
        q.push(issue("page"), Some(&page()), t);
        q.push(
            Work::ReadBack {
                op: "create".into(),
            },
            None,
            t,
        );
        let order: Vec<Work> = std::iter::from_fn(|| q.pop(|_| true)).collect();
        assert_eq!(
            order,
            [
                Work::ReadBack {
                    op: "create".into()
                },
                issue("page"),
                issue("relabel"),
                Work::Snapshot,
                Work::Poll,
                issue("history"),
            ]
        );
    }

    #[test]
    fn same_rank_is_first_come_first_served_and_duplicates_are_merged() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push(issue("a"), Some(&relabel()), t);
        q.push(issue("b"), Some(&relabel()), t);
        q.push(Work::Snapshot, None, t);
        q.push(Work::Snapshot, None, t);
        assert_eq!(q.pop(|_| true), Some(issue("a")));
        assert_eq!(q.pop(|w| *w != issue("b")), Some(Work::Snapshot));
        assert_eq!(q.pop(|w| *w != issue("b")), None);
        assert_eq!(q.pop(|_| true), Some(issue("b")));
    }

    #[test]
    fn a_page_overtakes_only_what_came_less_than_five_seconds_before_it() {
        let t = Instant::now();
        let mut q = Queue::default();
        q.push(issue("old"), Some(&relabel()), t);
        q.push(
            issue("recent"),
            Some(&relabel()),
            t + Duration::from_secs(4),
        );
        q.push(issue("page"), Some(&page()), t + Duration::from_secs(6));
        let order: Vec<Work> = std::iter::from_fn(|| q.pop(|_| true)).collect();
        assert_eq!(order, [issue("old"), issue("page"), issue("recent")]);
    }
}
