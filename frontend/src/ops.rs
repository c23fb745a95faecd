//! Commands in flight: op ids, what each tap is waiting for, and how to say
//! what happened. Plain data so the rules are testable off the browser.

use shared::device::Session;
use shared::protocol::{Command, Verdict, OP_ID_MAX_CHARS};

/// Op ids: a random prefix per tablet session plus a counter. The prefix keeps
/// two tablets (or a reloaded one) from colliding in the proxy's op-id memory.
#[derive(Clone, Debug)]
pub struct OpIds {
    prefix: String,
    next: u64,
}

impl OpIds {
    /// `random` in [0, 1), e.g. from `Math.random()`.
    pub fn new(random: f64) -> Self {
        let mut n = (random * 36f64.powi(10)) as u64;
        let mut prefix = String::new();
        for _ in 0..10 {
            prefix.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
            n /= 36;
        }
        OpIds { prefix, next: 1 }
    }

    pub fn next_id(&mut self) -> String {
        let id = format!("{}-{}", self.prefix, self.next);
        self.next = self.next.wrapping_add(1);
        debug_assert!(id.len() <= OP_ID_MAX_CHARS);
        id
    }
}

/// Where the result of a tap is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Row(u32),
    AddParty,
    Standalone,
    Settings,
    History,
    Statistics,
    Undo,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Sending,
    Acknowledged,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub id: String,
    pub command: Command,
    pub target: Target,
    pub status: Status,
    /// Tablet ms when the verdict came, to let a ✓ fade.
    pub settled_ms: Option<i64>,
    /// The proxy's attempt at it (2, 3, … once it is being sent again).
    pub attempt: u32,
}

impl Op {
    /// What the op's target says now.
    pub fn text(&self) -> String {
        let text = status_text(&self.command, &self.status);
        match self.status {
            Status::Sending if self.attempt > 1 => format!("{text} retrying {}…", self.attempt),
            _ => text,
        }
    }
}

/// How long a ✓ stays on a row.
pub const ACK_SHOWN_MS: i64 = 3_000;

/// Every op whose verdict is still wanted, newest last.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpLog {
    ops: Vec<Op>,
}

impl OpLog {
    /// Records a new op unless its target is already waiting: a second tap on a
    /// pending action does nothing. Returns whether the op should be sent.
    pub fn start(&mut self, id: String, command: Command, target: Target) -> bool {
        if self.busy(target) {
            return false;
        }
        // A new attempt replaces what the target showed before.
        self.ops.retain(|op| op.target != target);
        self.ops.push(Op {
            id,
            command,
            target,
            status: Status::Sending,
            settled_ms: None,
            attempt: 1,
        });
        true
    }

    /// Records a verdict; returns the op if it was still waiting (a resent op
    /// may be answered twice, the second answer changes nothing).
    pub fn settle(&mut self, id: &str, status: Status, now_ms: i64) -> Option<Op> {
        let op = self
            .ops
            .iter_mut()
            .find(|op| op.id == id && op.status == Status::Sending)?;
        op.status = status;
        op.settled_ms = Some(now_ms);
        Some(op.clone())
    }

    /// The proxy is sending a pending op again.
    pub fn progress(&mut self, id: &str, attempt: u32) {
        if let Some(op) = self.ops.iter_mut().find(|op| op.id == id) {
            op.attempt = attempt;
        }
    }

    pub fn busy(&self, target: Target) -> bool {
        self.ops
            .iter()
            .any(|op| op.target == target && op.status == Status::Sending)
    }

    /// The target's latest op, faded or not.
    pub fn latest(&self, target: Target) -> Option<&Op> {
        self.ops.iter().rev().find(|op| op.target == target)
    }

    /// What the target should show: its latest op, unless that is a ✓ that has faded.
    pub fn shown(&self, target: Target, now_ms: i64) -> Option<&Op> {
        self.latest(target).filter(|op| !faded(op, now_ms))
    }

    /// Ops to send again, in order, after a reconnect.
    pub fn pending(&self) -> impl Iterator<Item = &Op> {
        self.ops.iter().filter(|op| op.status == Status::Sending)
    }

    pub fn dismiss(&mut self, target: Target) {
        self.ops
            .retain(|op| op.target != target || op.status == Status::Sending);
    }

    /// Forgets faded ✓s so the log stays small over a long night; says
    /// whether any went, so an idle second wakes nobody.
    pub fn prune(&mut self, now_ms: i64) -> bool {
        let before = self.ops.len();
        self.ops.retain(|op| !faded(op, now_ms));
        self.ops.len() != before
    }
}

fn faded(op: &Op, now_ms: i64) -> bool {
    op.status == Status::Acknowledged && op.settled_ms.is_none_or(|t| now_ms - t >= ACK_SHOWN_MS)
}

pub fn status_of(verdict: &Verdict) -> Status {
    match verdict {
        Verdict::Acknowledged { .. } => Status::Acknowledged,
        Verdict::Rejected {
            device_code,
            message,
        } => Status::Failed(format!("Transmitter refused ({device_code}): {message}")),
        Verdict::Invalid { message, .. } => Status::Failed(message.clone()),
        Verdict::Unreachable { message } => Status::Failed(format!(
            "Transmitter did not answer, so it may not have acted: {message}"
        )),
    }
}

/// What a row says while and after a command runs.
pub fn status_text(command: &Command, status: &Status) -> String {
    let (doing, done) = match command {
        Command::CreateSession { .. } => ("Adding", "Added"),
        Command::UpdateSession { .. } => ("Saving", "Saved"),
        Command::PageSession { .. } | Command::StandalonePage { .. } => ("Paging", "Paged"),
        Command::ClearSession { .. } => ("Seating", "Seated"),
        Command::RemoveSession { .. } => ("Removing", "Removed"),
        Command::ClearHistory => ("Clearing history", "History cleared"),
        Command::ClearStatistics => ("Resetting", "Statistics reset"),
        Command::UpdateSettings { .. } => ("Saving", "Saved"),
        _ => ("Loading", "Loaded"),
    };
    match status {
        Status::Sending => format!("{doing}…"),
        Status::Acknowledged => format!("✓ {done}"),
        Status::Failed(reason) => reason.clone(),
    }
}

/// The command that puts a seated or removed party back as it was.
pub fn undo_command(session: &Session) -> Command {
    Command::CreateSession {
        number: i64::from(session.number),
        label: session.label.clone(),
        party_size: session.party_size.map(i64::from),
        goal: Some(i64::from(session.goal_in_seconds)),
    }
}

/// Reconnect delays: doubling from 250 ms, never more than 5 s, forever.
#[derive(Clone, Debug, Default)]
pub struct Backoff {
    failures: u32,
}

pub const BACKOFF_CAP_MS: u32 = 5_000;

impl Backoff {
    pub fn next_delay_ms(&mut self) -> u32 {
        let delay = 250u32.saturating_mul(1 << self.failures.min(10));
        self.failures += 1;
        delay.min(BACKOFF_CAP_MS)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::CommandResult;
    use shared::time::DeviceTime;

    fn page(n: i64) -> Command {
        Command::PageSession {
            number: n,
            page_mode: None,
        }
    }

    #[test]
    fn op_ids_are_unique_short_and_prefixed_per_session() {
        let mut a = OpIds::new(0.123);
        let mut b = OpIds::new(0.987);
        let (a1, a2, b1) = (a.next_id(), a.next_id(), b.next_id());
        assert_ne!(a1, a2);
        assert_ne!(a1, b1);
        assert!(a1.ends_with("-1") && a2.ends_with("-2"));
        assert!(a1.len() <= OP_ID_MAX_CHARS);
        let mut big = OpIds::new(0.999_999_999);
        big.next = u64::MAX;
        assert!(big.next_id().len() <= OP_ID_MAX_CHARS);
    }

    #[test]
    fn a_pending_action_cannot_fire_twice() {
        let mut log = OpLog::default();
        assert!(log.start("a-1".into(), page(3), Target::Row(3)));
        assert!(!log.start("a-2".into(), page(3), Target::Row(3)));
        assert!(log.busy(Target::Row(3)));
        assert!(log.start("a-3".into(), page(4), Target::Row(4)));
        assert_eq!(log.pending().count(), 2);
    }

    #[test]
    fn verdicts_settle_once_and_acks_fade() {
        let mut log = OpLog::default();
        log.start("a-1".into(), page(3), Target::Row(3));
        assert!(log.settle("a-1", Status::Acknowledged, 10_000).is_some());
        // The proxy answers a resent op id again; that changes nothing.
        assert!(log
            .settle("a-1", Status::Failed("x".into()), 10_100)
            .is_none());
        assert!(log.shown(Target::Row(3), 12_000).is_some());
        assert!(log.shown(Target::Row(3), 13_000).is_none());
        assert!(!log.prune(12_999), "a ✓ still showing is kept");
        assert!(log.prune(13_000));
        assert_eq!(log, OpLog::default());
        assert!(!log.prune(14_000), "an empty log has nothing to prune");
    }

    #[test]
    fn failures_stay_until_retried_or_dismissed() {
        let mut log = OpLog::default();
        log.start("a-1".into(), page(3), Target::Row(3));
        log.settle("a-1", Status::Failed("nope".into()), 0);
        assert!(!log.prune(1_000_000));
        assert_eq!(
            log.shown(Target::Row(3), 1_000_000).map(|o| &o.status),
            Some(&Status::Failed("nope".into()))
        );
        assert!(log.start("a-2".into(), page(3), Target::Row(3)));
        assert_eq!(log.pending().count(), 1);
        log.settle("a-2", Status::Failed("again".into()), 1);
        log.dismiss(Target::Row(3));
        assert!(log.shown(Target::Row(3), 2).is_none());
    }

    #[test]
    fn verdicts_read_as_sentences() {
        let ack = Verdict::Acknowledged {
            result: CommandResult::Done,
        };
        assert_eq!(status_of(&ack), Status::Acknowledged);
        assert_eq!(status_text(&page(3), &Status::Sending), "Paging…");
        assert_eq!(status_text(&page(3), &Status::Acknowledged), "✓ Paged");
        let mut log = OpLog::default();
        log.start("a-1".into(), page(3), Target::Row(3));
        log.progress("a-1", 2);
        let op = log.latest(Target::Row(3)).unwrap();
        assert_eq!(op.text(), "Paging… retrying 2…");
        let rejected = Verdict::Rejected {
            device_code: "4.04".into(),
            message: "no active session 3".into(),
        };
        assert_eq!(
            status_of(&rejected),
            Status::Failed("Transmitter refused (4.04): no active session 3".into())
        );
        let in_use = Verdict::Invalid {
            code: "number_in_use".into(),
            message: "Pager 3 is already in use.".into(),
        };
        assert_eq!(
            status_of(&in_use),
            Status::Failed("Pager 3 is already in use.".into())
        );
        let gone = Verdict::Unreachable {
            message: "no answer in 10 s".into(),
        };
        assert!(matches!(status_of(&gone), Status::Failed(m) if m.contains("did not answer")));
    }

    #[test]
    fn undo_recreates_the_party_as_it_was() {
        let t = DeviceTime::parse("2026-11-27T19:00:00").unwrap();
        let s = Session {
            id: 1,
            session_sequence: None,
            uuid: "u".into(),
            number: 9,
            party_size: Some(6),
            goal_in_seconds: 1200,
            created: t,
            started: t,
            notified: Some(t),
            cleared: Some(t),
            label: Some("Ana".into()),
            state: None,
        };
        assert_eq!(
            undo_command(&s),
            Command::CreateSession {
                number: 9,
                label: Some("Ana".into()),
                party_size: Some(6),
                goal: Some(1200)
            }
        );
    }

    #[test]
    fn backoff_doubles_and_caps_at_five_seconds_forever() {
        let mut b = Backoff::default();
        let delays: Vec<u32> = (0..8).map(|_| b.next_delay_ms()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        for _ in 0..100 {
            assert_eq!(b.next_delay_ms(), 5000);
        }
        b.reset();
        assert_eq!(b.next_delay_ms(), 250);
    }
}
