//! When a carried command is given up, and what the host is told then: the
//! deadline counts the device's silence, not the time since the tap, so a
//! lossy link that still answers keeps a command carried; a device that
//! answers everything but the command still answers the host in the end.

use std::time::Instant;

use shared::protocol::Verdict;
use shared::verdicts::Unanswered;

use super::commands::Carried;
use super::work::Work;
use super::{Core, CARRY_LIMIT};

impl<T: Clone> Core<T> {
    /// When a carried command is given up: once the device has been silent
    /// for the whole deadline, counted from when the host sent it or from the
    /// last datagram the device sent, whichever is later — a lossy link that
    /// still answers keeps it carried — and at the latest [`CARRY_LIMIT`]
    /// deadlines after it was sent, so a device that answers everything but
    /// this never keeps the host waiting for ever.
    pub(super) fn due(&self, carried: &Carried) -> Instant {
        let deadline = self.config.command_deadline;
        let heard = self
            .endpoint
            .last_contact()
            .map_or(carried.admitted, |at| at.max(carried.admitted));
        (heard + deadline).min(carried.admitted + deadline * CARRY_LIMIT)
    }

    /// Answers every command that is due, without sending it (again): the
    /// host has waited as long as Coaster promised.
    pub(super) fn expire(&mut self, now: Instant) {
        let late: Vec<String> = self
            .carried
            .iter()
            .filter(|(_, c)| self.due(c) <= now)
            .map(|(op, _)| op.clone())
            .collect();
        let deadline = self.config.command_deadline;
        let silent = self
            .endpoint
            .last_contact()
            .is_none_or(|at| now >= at + deadline);
        for op in late {
            let mine = |w: &Work| matches!(w, Work::Issue { op: o } | Work::ReadBack { op: o } if *o == op);
            if let Some((id, work)) = self.in_flight.take_if(|(_, w)| mine(w)) {
                self.endpoint.cancel(id, now);
                if matches!(work, Work::Issue { .. }) {
                    if let Some(c) = self.carried.get_mut(&op) {
                        c.known = Unanswered::Unknown;
                    }
                }
            }
            self.queue.remove(mine);
            let carried = &self.carried[&op];
            let waited_s = now.saturating_duration_since(carried.admitted).as_secs();
            let verdict = match (carried.known, silent) {
                (known, true) => Verdict::unreachable(known, deadline.as_secs()),
                // Never sent although the device answered all along: it
                // queued behind others.
                (Unanswered::NotSent, false) => Verdict::crowded(waited_s),
                (known, false) => Verdict::unconfirmed(known, waited_s),
            };
            self.resolve(&op, verdict, now);
        }
    }
}
