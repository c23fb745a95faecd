//! The op ids that must survive a restart. A tablet resends its unanswered
//! commands with the same op ids when it reconnects, also to a proxy that
//! restarted meanwhile: a finished one must be answered with its verdict,
//! and one that was on its way must be proven done or not done by a
//! read-back before it may be sent again. The core hands the shell this
//! small record ([`super::Effect::Journal`]) before each request it sends;
//! the shell writes it atomically (a temporary file renamed over the old).

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use shared::protocol::Verdict;

use super::proof::Before;
use super::work::Work;
use super::{Core, Effect};

/// Finished ops kept: a reconnect resends only what was pending a moment
/// ago, and the record is rewritten with every command, so it stays small.
pub const KEEP_FINISHED: usize = 200;

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// Commands sent and not yet answered: the board when they went out.
    pub started: Vec<(String, Before)>,
    /// The latest verdicts, oldest first.
    pub finished: Vec<(String, Verdict)>,
}

impl<T: Clone> Core<T> {
    /// Marks the record as changed; it is handed out once the current input
    /// is handled, before any datagram it produced.
    pub(super) fn journal_changed(&mut self) {
        self.journal_dirty = true;
    }

    pub(super) fn flush_journal(&mut self) {
        if !std::mem::take(&mut self.journal_dirty) {
            return;
        }
        let sent = self
            .carried
            .iter()
            .filter(|(_, c)| c.attempts > 0)
            .map(|(op, c)| (op.clone(), c.before.clone()));
        let recovered = self.recovered.iter().map(|(op, b)| (op.clone(), b.clone()));
        let journal = Journal {
            started: sent.chain(recovered).collect(),
            finished: self
                .ops
                .latest(KEEP_FINISHED)
                .map(|(op, verdict)| (op.to_string(), verdict.clone()))
                .collect(),
        };
        let bytes = serde_json::to_vec(&journal).expect("a journal serializes");
        self.effects.push_back(Effect::Journal(bytes));
    }

    /// Takes over what the last run left: its verdicts are answered again,
    /// its commands in flight are read back when their tablets resend them.
    pub(super) fn restore(&mut self, bytes: &[u8], now: Instant) {
        let journal: Journal = match serde_json::from_slice(bytes) {
            Ok(journal) => journal,
            Err(error) => {
                tracing::warn!(%error, "the op journal is unreadable; starting without it");
                return;
            }
        };
        for (op, verdict) in journal.finished {
            self.ops.restore(&op, verdict, now);
        }
        self.recovered = journal.started.into_iter().collect::<HashMap<_, _>>();
        if !self.recovered.is_empty() {
            self.lingering_until = Some(now + super::LINGER);
        }
    }

    /// A resent op that was on its way when the last run stopped: prove it
    /// first. Returns the work to queue for it.
    pub(super) fn recover(&mut self, op: &str) -> Option<(Before, Work)> {
        let before = self.recovered.remove(op)?;
        self.journal_changed();
        Some((before, Work::ReadBack { op: op.to_string() }))
    }
}
