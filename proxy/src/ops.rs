//! Memory of recent op ids. A tablet that loses its connection resends its
//! pending commands with the same op ids; a page must not go out twice, so a
//! resent op is answered with the first verdict (or joins the one in flight)
//! instead of executing again.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use shared::protocol::Verdict;

/// How long a finished op is remembered: longer than any reconnect takes.
pub const REMEMBER_FOR: Duration = Duration::from_secs(15 * 60);
/// At most this many finished ops are remembered; the oldest go first.
pub const REMEMBER_AT_MOST: usize = 10_000;

pub enum Admission {
    /// First time this op is seen: run it.
    Execute,
    /// The same op is running; the waiter will get its verdict too.
    Joined,
    /// Already finished: here is what the transmitter said.
    Answered(Verdict),
}

enum Entry<W> {
    Running(Vec<W>),
    Finished(Verdict),
}

pub struct OpLog<W> {
    entries: HashMap<String, Entry<W>>,
    finished: VecDeque<(Instant, String)>,
}

impl<W> Default for OpLog<W> {
    fn default() -> Self {
        OpLog {
            entries: HashMap::new(),
            finished: VecDeque::new(),
        }
    }
}

impl<W> OpLog<W> {
    pub fn admit(&mut self, op: &str, waiter: W, now: Instant) -> Admission {
        self.forget_old(now);
        match self.entries.get_mut(op) {
            None => {
                self.entries
                    .insert(op.to_string(), Entry::Running(vec![waiter]));
                Admission::Execute
            }
            Some(Entry::Running(waiters)) => {
                waiters.push(waiter);
                Admission::Joined
            }
            Some(Entry::Finished(verdict)) => Admission::Answered(verdict.clone()),
        }
    }

    /// Records the verdict and hands back everyone waiting for it.
    pub fn finish(&mut self, op: &str, verdict: Verdict, now: Instant) -> Vec<W> {
        let waiters = match self
            .entries
            .insert(op.to_string(), Entry::Finished(verdict))
        {
            Some(Entry::Running(waiters)) => waiters,
            _ => Vec::new(),
        };
        self.finished.push_back((now, op.to_string()));
        self.forget_old(now);
        waiters
    }

    /// Remembers a verdict given before a restart.
    pub fn restore(&mut self, op: &str, verdict: Verdict, now: Instant) {
        if !self.entries.contains_key(op) {
            self.entries
                .insert(op.to_string(), Entry::Finished(verdict));
            self.finished.push_back((now, op.to_string()));
        }
    }

    /// Whether the op is running or finished.
    pub fn knows(&self, op: &str) -> bool {
        self.entries.contains_key(op)
    }

    /// Who waits for a running op.
    pub fn waiters(&self, op: &str) -> Vec<W>
    where
        W: Clone,
    {
        match self.entries.get(op) {
            Some(Entry::Running(waiters)) => waiters.clone(),
            _ => Vec::new(),
        }
    }

    /// The latest `at_most` finished ops and their verdicts, oldest first.
    pub fn latest(&self, at_most: usize) -> impl Iterator<Item = (&str, &Verdict)> {
        let skip = self.finished.len().saturating_sub(at_most);
        self.finished
            .iter()
            .skip(skip)
            .filter_map(|(_, op)| match self.entries.get(op) {
                Some(Entry::Finished(verdict)) => Some((op.as_str(), verdict)),
                _ => None,
            })
    }

    /// How many ops are remembered, running or finished.
    pub fn remembered(&self) -> usize {
        self.entries.len()
    }

    fn forget_old(&mut self, now: Instant) {
        while let Some((at, op)) = self.finished.front() {
            let expired = now.saturating_duration_since(*at) > REMEMBER_FOR;
            if !expired && self.finished.len() <= REMEMBER_AT_MOST {
                break;
            }
            self.entries.remove(op);
            self.finished.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::CommandResult;

    fn ack() -> Verdict {
        Verdict::Acknowledged {
            result: CommandResult::Done,
        }
    }

    #[test]
    fn a_resent_op_joins_the_running_one_then_gets_its_verdict() {
        let now = Instant::now();
        let mut log = OpLog::default();
        assert!(matches!(log.admit("a", 1, now), Admission::Execute));
        assert!(matches!(log.admit("a", 2, now), Admission::Joined));
        assert_eq!(log.finish("a", ack(), now), [1, 2]);
        assert!(matches!(log.admit("a", 3, now), Admission::Answered(v) if v == ack()));
    }

    #[test]
    fn finished_ops_are_forgotten_after_a_while() {
        let start = Instant::now();
        let mut log = OpLog::default();
        log.admit("a", (), start);
        log.finish("a", ack(), start);
        let later = start + REMEMBER_FOR + Duration::from_secs(1);
        assert!(matches!(log.admit("a", (), later), Admission::Execute));
    }

    #[test]
    fn memory_is_bounded_oldest_first() {
        let now = Instant::now();
        let mut log = OpLog::default();
        for i in 0..REMEMBER_AT_MOST + 5 {
            let op = i.to_string();
            log.admit(&op, (), now);
            log.finish(&op, ack(), now);
        }
        assert_eq!(log.remembered(), REMEMBER_AT_MOST);
        assert!(matches!(log.admit("0", (), now), Admission::Execute));
        assert!(matches!(
            log.admit(&(REMEMBER_AT_MOST + 4).to_string(), (), now),
            Admission::Answered(_)
        ));
    }
}
