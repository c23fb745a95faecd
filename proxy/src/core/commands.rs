//! A host's command, carried until its outcome is known.
//!
//! A command goes out once. If its exchange gives up unanswered, the device
//! may or may not have acted, so the core reads back what the command would
//! have changed ([`proof`]): done, and the host is told so; not done, and it
//! is sent again as a new exchange ("retrying 2…" on the tablets); neither,
//! and it is never sent again. This repeats while the device answers at all,
//! until the command's deadline; only a device silent to the end makes the
//! verdict `unreachable`.

use std::time::Instant;

use shared::device::{Envelope, SessionState};
use shared::protocol::{CommandResult, Party, ValidCommand, Verdict};
use shared::verdicts::Unanswered;

use super::proof::{self, Before, Proof};
use super::work::{is_read, pages, Work};
use super::{Core, Effect};
use crate::coap::{ExchangeError, ExchangeId, Response};
use crate::device::{interpret, request_for, DeviceError};
use crate::mirror::Source;
use crate::ops::Admission;

#[derive(Clone, Debug)]
pub(super) struct Carried {
    pub command: ValidCommand,
    /// When the host sent it: its place in the queue, however often re-issued.
    pub admitted: Instant,
    /// Times the command has been sent (each a new exchange).
    pub attempts: u32,
    /// The board when the latest attempt went out.
    pub before: Before,
    pub sent_at: Option<Instant>,
    /// What the host is told if the deadline passes now.
    pub known: Unanswered,
    /// CoAP resets answered to it: the first is checked by a read-back.
    pub resets: u32,
}

impl Carried {
    pub fn new(command: ValidCommand, admitted: Instant) -> Self {
        Carried {
            command,
            admitted,
            attempts: 0,
            before: Before::default(),
            sent_at: None,
            known: Unanswered::NotSent,
            resets: 0,
        }
    }
}

impl<T: Clone> Core<T> {
    pub(super) fn admit(&mut self, tablet: T, op: String, command: ValidCommand, now: Instant) {
        // A resent op is answered as the first time, whatever the board shows now.
        let resent = self.ops.knows(&op) || self.recovered.contains_key(&op);
        if let (ValidCommand::CreateSession(create), false) = (&command, resent) {
            if let Some(verdict) = self.number_in_use(create.number) {
                return self.reply(tablet, op, verdict);
            }
        }
        // Pages, other changes and reads are bounded apart: a flood of one
        // kind never turns away another, above all not a page.
        let class = |c: &ValidCommand| (pages(c), is_read(c));
        let waiting = self
            .carried
            .values()
            .filter(|c| class(&c.command) == class(&command))
            .count();
        // Reads are the cheapest to turn away and what a flood is made of.
        let bound = match is_read(&command) {
            true => self.config.max_waiting / 4,
            false => self.config.max_waiting,
        };
        if waiting >= bound && !resent {
            let verdict = Verdict::busy(waiting);
            return self.reply(tablet, op, verdict);
        }
        match self.ops.admit(&op, tablet.clone(), now) {
            Admission::Execute => {
                let mut carried = Carried::new(command, now);
                let work = match self.recover(&op) {
                    Some((before, work)) => {
                        carried.attempts = 1;
                        carried.before = before;
                        carried.sent_at = Some(now);
                        carried.known = Unanswered::Unknown;
                        work
                    }
                    None => Work::Issue { op: op.clone() },
                };
                self.carried.insert(op, carried);
                self.enqueue(work, now);
            }
            Admission::Joined => {}
            Admission::Answered(verdict) => self.reply(tablet, op, verdict),
        }
    }

    fn number_in_use(&self, number: u32) -> Option<Verdict> {
        let creating = |n: u32| {
            self.carried.values().any(
                |c| matches!(&c.command, ValidCommand::CreateSession(create) if create.number == n),
            )
        };
        let state = self.mirror.state();
        let holder = state.party(number);
        if holder.is_none() && !creating(number) {
            return None;
        }
        let free = (shared::limits::PAGER_MIN..=shared::limits::PAGER_MAX)
            .find(|n| state.party(*n).is_none() && !creating(*n));
        let label = holder.and_then(|p| p.session.label.as_deref());
        Some(Verdict::number_in_use(number, label, free))
    }

    /// Queues work for a carried command, ranked by what the command is and
    /// by when the host sent it.
    fn enqueue(&mut self, work: Work, now: Instant) {
        let (Work::Issue { op } | Work::ReadBack { op }) = &work else {
            unreachable!("only a command's own work")
        };
        let carried = self.carried.get(op);
        let since = carried.map_or(now, |c| c.admitted);
        self.queue.push(work, carried.map(|c| &c.command), since);
    }

    /// Sends the command (again): a new exchange, the board noted first.
    pub(super) fn issue(&mut self, op: &str, now: Instant) -> Option<ExchangeId> {
        let state = self.mirror.state();
        let carried = self.carried.get_mut(op)?;
        let number = match &carried.command {
            ValidCommand::CreateSession(c) => Some(c.number),
            ValidCommand::UpdateSession { number, .. } => Some(*number),
            _ => None,
        };
        carried.before = Before {
            party: number.and_then(|n| state.party(n)).cloned(),
            uuids: state
                .parties
                .iter()
                .map(|p| p.session.uuid.clone())
                .collect(),
        };
        carried.attempts += 1;
        carried.sent_at = Some(now);
        carried.known = Unanswered::Unknown;
        let request = request_for(&carried.command);
        // A read may run twice: only changes must be on record before they go out.
        if !is_read(&carried.command) {
            self.journal_changed();
        }
        Some(self.endpoint.submit(request, now))
    }

    pub(super) fn read_back(&mut self, op: &str, now: Instant) -> Option<ExchangeId> {
        let command = &self.carried.get(op)?.command;
        match proof::read_back(command) {
            Some(request) => Some(self.endpoint.submit(request, now)),
            // Only a command recovered after a restart gets here without one.
            None if is_read(command) => {
                self.enqueue(Work::Issue { op: op.into() }, now);
                None
            }
            None => {
                self.resolve(op, Verdict::unprovable(), now);
                None
            }
        }
    }

    /// Whether the command acts on a party the board shows.
    fn on_board(&self, command: &ValidCommand) -> bool {
        let ValidCommand::UpdateSession { number, .. } = command else {
            return false;
        };
        let parties = &self.state().parties;
        parties.iter().any(|p| p.session.number == *number)
    }

    pub(super) fn on_issued(
        &mut self,
        op: String,
        result: Result<Response, ExchangeError>,
        now: Instant,
    ) {
        let Some(carried) = self.carried.get_mut(&op) else {
            return;
        };
        let command = carried.command.clone();
        if matches!(result, Err(ExchangeError::Reset))
            && carried.resets == 0
            && proof::read_back(&command).is_some()
        {
            // A reset says the device refused the request unread, but any
            // host on the LAN can forge one that guesses the message id:
            // read back, as after silence. A second reset is believed.
            carried.resets += 1;
            carried.known = Unanswered::Unknown;
            return self.enqueue(Work::ReadBack { op }, now);
        }
        match result
            .map_err(DeviceError::from)
            .and_then(|r| interpret(&r))
        {
            Ok(envelope) => {
                let result = self.acknowledged(&command, envelope, now);
                self.resolve(&op, Verdict::Acknowledged { result }, now);
            }
            Err(DeviceError::Rejected { code, message }) => {
                if code == "4.04" && self.on_board(&command) {
                    // The board holds a party the device does not: it
                    // restarted, or the party left unseen. Only a snapshot
                    // tells which (a restart's is also how it is noticed).
                    self.resync(now);
                }
                let verdict = Verdict::Rejected {
                    device_code: code,
                    message,
                };
                self.resolve(&op, verdict, now);
            }
            Err(DeviceError::Unreachable(ExchangeError::Timeout { transmissions: 0 })) => {
                // It never left: sending it is still the first attempt.
                carried.attempts -= 1;
                carried.known = match carried.attempts {
                    0 => Unanswered::NotSent,
                    _ => Unanswered::NotDone,
                };
                self.enqueue(Work::Issue { op }, now);
            }
            Err(DeviceError::Unreachable(_)) if is_read(&command) => {
                self.enqueue(Work::Issue { op }, now);
            }
            Err(DeviceError::Unreachable(_)) if proof::read_back(&command).is_some() => {
                self.enqueue(Work::ReadBack { op }, now);
            }
            Err(DeviceError::Unreachable(_)) => self.resolve(&op, Verdict::unprovable(), now),
            Err(error @ (DeviceError::BadResponse(_) | DeviceError::Protocol(_))) => {
                // It may have acted; only a fresh snapshot can tell the board.
                self.resync(now);
                // The verdict says "unusable" itself; the error's own text would say it twice.
                let detail = match error {
                    DeviceError::Protocol(e) => e.to_string(),
                    DeviceError::BadResponse(e) => e.to_string(),
                    other => other.to_string(),
                };
                let verdict = Verdict::bad_response(&detail);
                self.resolve(&op, verdict, now);
            }
        }
    }

    pub(super) fn on_read_back(
        &mut self,
        op: String,
        result: Result<Response, ExchangeError>,
        now: Instant,
    ) {
        let Some(carried) = self.carried.get(&op) else {
            return;
        };
        let envelope = match result
            .map_err(DeviceError::from)
            .and_then(|r| interpret(&r))
        {
            Ok(Some(envelope)) => envelope,
            // Still silent: read back again, until the deadline says otherwise.
            Err(DeviceError::Unreachable(_)) => {
                return self.enqueue(Work::ReadBack { op }, now);
            }
            // Answered, but not with the board: nothing shows what happened.
            Ok(None) | Err(_) => return self.resolve(&op, Verdict::unprovable(), now),
        };
        let elapsed_s = carried
            .sent_at
            .map_or(0, |at| now.saturating_duration_since(at).as_secs() as i64);
        let proof = proof::judge(&carried.command, &carried.before, &envelope, elapsed_s);
        let source = match envelope.sessions {
            Some(_) => Source::Snapshot,
            None => Source::Response { paged: false },
        };
        self.fold(&envelope, source, now);
        match proof {
            Proof::Done(result) => {
                let result = self.current(result);
                self.resolve(&op, Verdict::Acknowledged { result }, now);
            }
            Proof::NotDone => {
                let carried = self.carried.get_mut(&op).expect("checked above");
                carried.known = Unanswered::NotDone;
                let attempt = carried.attempts + 1;
                for to in self.ops.waiters(&op) {
                    let op = op.clone();
                    self.effects.push_back(Effect::Progress { to, op, attempt });
                }
                self.enqueue(Work::Issue { op }, now);
            }
            Proof::Unprovable => self.resolve(&op, Verdict::unprovable(), now),
        }
    }

    /// Records the verdict and answers everyone waiting for it.
    pub(super) fn resolve(&mut self, op: &str, verdict: Verdict, now: Instant) {
        if self.carried.remove(op).is_none() {
            return;
        }
        for to in self.ops.finish(op, verdict.clone(), now) {
            self.reply(to, op.to_string(), verdict.clone());
        }
        // The journal is not written for this: until the next command's
        // record is, a restart finds the op "on its way" and proves it by a
        // read-back, which answers the same. One disk write per command.
    }

    /// Folds a command's answer into the mirror and says what it produced.
    fn acknowledged(
        &mut self,
        command: &ValidCommand,
        envelope: Option<Envelope>,
        now: Instant,
    ) -> CommandResult {
        if let Some(envelope) = &envelope {
            let paged = pages(command) && !matches!(command, ValidCommand::StandalonePage(_));
            self.fold(envelope, Source::Response { paged }, now);
        }
        match command {
            ValidCommand::CreateSession(_) | ValidCommand::UpdateSession { .. } => {
                let session = envelope
                    .as_ref()
                    .and_then(|e| e.sessions.as_ref())
                    .and_then(|s| s.first());
                match session {
                    Some(s) if s.effective_state() == SessionState::Cleared => {
                        CommandResult::Archived { session: s.clone() }
                    }
                    Some(s) => self.current(CommandResult::Party {
                        party: Party {
                            session: s.clone(),
                            page_count: u32::from(s.notified.is_some()),
                        },
                    }),
                    None => CommandResult::Done,
                }
            }
            ValidCommand::GetHistory => CommandResult::History {
                entries: envelope.and_then(|e| e.session_history).unwrap_or_default(),
            },
            ValidCommand::GetStatistics => CommandResult::Statistics {
                statistics: envelope.and_then(|e| e.statistics).unwrap_or_default(),
            },
            ValidCommand::GetSettings | ValidCommand::UpdateSettings(_) => {
                match envelope.and_then(|e| e.settings) {
                    Some(settings) => CommandResult::Settings { settings },
                    None => CommandResult::Done,
                }
            }
            ValidCommand::ClearAllSessions | ValidCommand::ClearStatistics => {
                // The device answers these with no body; read back what changed.
                self.resync(now);
                CommandResult::Done
            }
            ValidCommand::ClearHistory | ValidCommand::StandalonePage(_) => CommandResult::Done,
        }
    }

    /// A party result as the board now shows it (with the board's page count).
    fn current(&self, result: CommandResult) -> CommandResult {
        match result {
            CommandResult::Party { party } => CommandResult::Party {
                party: self
                    .mirror
                    .state()
                    .party(party.session.number)
                    .filter(|p| p.session.uuid == party.session.uuid)
                    .cloned()
                    .unwrap_or(party),
            },
            other => other,
        }
    }
}
