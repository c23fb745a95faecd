//! The one task that owns the mirror. Tablets' commands, the device's
//! notifications, link health and the proxy's own resyncs all meet here, so
//! every change to the mirror happens in one place and in order.
//!
//! Device work runs on a separate worker task that executes one item at a
//! time from a single FIFO queue — tablet commands and resyncs alike — so the
//! coordinator never waits on the radio and the device sees NSTART = 1.

use std::collections::HashSet;
use std::time::Duration;

use shared::device::{Action, Envelope, Session, SessionState};
use shared::protocol::{CommandResult, DeviceInfo, Health, Party, ValidCommand, Verdict};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::coap::{self, ExchangeError, LinkHealth, Probe};
use crate::device::{Device, DeviceError, Notifications, Sessions};
use crate::hub::{now_ms, Hub};
use crate::mirror::{Mirror, Resync, Source};
use crate::ops::{Admission, OpLog};

/// Where a tablet's verdicts go: (op id, verdict).
pub type Replies = mpsc::UnboundedSender<(String, Verdict)>;

/// A validated command from a tablet.
pub struct Job {
    pub op: String,
    pub command: ValidCommand,
    pub replies: Replies,
}

/// The device sends a ping every 30 s; two missed plus a margin means the
/// observation is gone (e.g. the device rebooted and forgot us).
pub const OBSERVE_SILENCE: Duration = Duration::from_secs(65);
/// How often to ask "anything new?" with an ETag GET when Observe is unavailable.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long skipped notifications may take to arrive (the device retransmits
/// a lost one after 2–3 s) before a snapshot is taken instead.
pub const GAP_GRACE: Duration = Duration::from_secs(4);
/// How long to wait before asking again for an Observe registration that failed.
pub const OBSERVE_RETRY: Duration = Duration::from_secs(30);

enum Work {
    Command {
        op: String,
        command: ValidCommand,
        /// The party as the board showed it when the command was taken, to
        /// tell from a read-back whether an unanswered command was done.
        before: Option<Party>,
    },
    Observe,
    Snapshot,
    Poll {
        etag: Option<Vec<u8>>,
    },
    Settings,
}

enum Done {
    Command {
        op: String,
        command: ValidCommand,
        before: Option<Party>,
        result: Result<Option<Envelope>, DeviceError>,
        /// After an unanswered session command: all sessions, read back.
        readback: Option<Box<Envelope>>,
    },
    Observe(Result<Notifications, DeviceError>),
    Snapshot(Result<Sessions, DeviceError>),
    Settings(Result<Envelope, DeviceError>),
}

pub async fn run(
    device: Device,
    coap: coap::Handle,
    device_info: DeviceInfo,
    hub: Hub,
    mut jobs: mpsc::Receiver<Job>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (work_tx, work_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut link = coap.health();
    let worker = tokio::spawn(work(device, link.clone(), work_rx, done_tx));
    let mut c = Coordinator {
        mirror: Mirror::new(device_info),
        hub,
        ops: OpLog::default(),
        pending_creates: HashSet::new(),
        work: work_tx,
        observing: false,
        observe_queued: false,
        snapshot_queued: false,
        resyncing: true,
        settings_known: false,
        etag: None,
        last_push: Instant::now(),
        last_poll: Instant::now(),
        gap_since: None,
        last_observe_attempt: None,
        notifications: None,
        reachable: false,
        coap: coap.clone(),
    };
    c.enqueue_observe();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            Some(job) = jobs.recv() => c.admit(job),
            Some(done) = done_rx.recv() => c.finish(done),
            note = next_notification(&mut c.notifications) => match note {
                Some(Ok(envelope)) => c.on_notification(envelope),
                Some(Err(error)) => {
                    tracing::warn!(%error, "unreadable notification; resynchronising");
                    c.enqueue_snapshot();
                }
                None => c.lost_observation(),
            },
            Ok(()) = link.changed() => {}
            () = coap.probe_due() => c.enqueue_poll(),
            _ = tick.tick() => c.on_tick(),
            _ = shutdown.changed() => break,
        }
        let link_now = *link.borrow_and_update();
        c.update_health(link_now);
    }
    worker.abort();
}

async fn next_notification(
    notifications: &mut Option<Notifications>,
) -> Option<Result<Envelope, DeviceError>> {
    match notifications {
        Some(observation) => observation.next().await,
        None => std::future::pending().await,
    }
}

/// Executes device work strictly one item at a time, in arrival order.
async fn work(
    device: Device,
    link: watch::Receiver<LinkHealth>,
    mut queue: mpsc::UnboundedReceiver<Work>,
    done: mpsc::UnboundedSender<Done>,
) {
    while let Some(item) = queue.recv().await {
        // Known silent: every item fails now rather than after a full deadline,
        // so nothing queues behind a dead link. Liveness pings find it again.
        let silent = !link.borrow().reachable;
        let not_sent = || DeviceError::Unreachable(ExchangeError::Timeout { transmissions: 0 });
        let finished = match item {
            Work::Command {
                op,
                command,
                before,
            } => {
                let result = if silent {
                    Err(not_sent())
                } else {
                    device.execute(&command).await
                };
                let readback = match (&result, &command) {
                    (
                        Err(error),
                        ValidCommand::CreateSession(_) | ValidCommand::UpdateSession { .. },
                    ) if outcome_unknown(error) => read_back(&device, &link).await,
                    _ => None,
                };
                Done::Command {
                    op,
                    command,
                    before,
                    result,
                    readback,
                }
            }
            Work::Observe if silent => Done::Observe(Err(not_sent())),
            Work::Observe => Done::Observe(device.observe_notify().await),
            Work::Snapshot | Work::Poll { .. } if silent => Done::Snapshot(Err(not_sent())),
            Work::Snapshot => Done::Snapshot(device.get_sessions(None).await),
            Work::Poll { etag } => Done::Snapshot(device.get_sessions(etag).await),
            Work::Settings if silent => Done::Settings(Err(not_sent())),
            Work::Settings => Done::Settings(device.get_settings().await),
        };
        if done.send(finished).is_err() {
            return;
        }
    }
}

/// The request went out but no answer came: the device may have acted.
fn outcome_unknown(error: &DeviceError) -> bool {
    matches!(
        error,
        DeviceError::Unreachable(ExchangeError::Timeout { transmissions }) if *transmissions > 0
    )
}

/// How long the proxy keeps trying to read the sessions back after a command
/// went unanswered: the host's verdict waits for it, so it is bounded, but a
/// read-back is what tells a host whether a page really went out.
pub const READ_BACK_WINDOW: Duration = Duration::from_secs(6);

/// One read-back request's deadline: two transmissions at the RFC timing.
const READ_BACK_TRY: Duration = Duration::from_secs(3);

/// Reads all sessions back, trying again while the device stays silent, until
/// one answer arrives or the window closes, and only while it counts as reachable.
async fn read_back(device: &Device, link: &watch::Receiver<LinkHealth>) -> Option<Box<Envelope>> {
    let until = Instant::now() + READ_BACK_WINDOW;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || !link.borrow().reachable {
            return None;
        }
        match device.get_sessions_within(left.min(READ_BACK_TRY)).await {
            Ok(Sessions::Changed { envelope, .. }) => return Some(envelope),
            Err(DeviceError::Unreachable(_)) => continue,
            // An answer that is no list will not become one by asking again.
            Ok(Sessions::Unchanged) | Err(_) => return None,
        }
    }
}

/// Whether `after` shows a page since `before`: `notified` moved, or — for a
/// second page within the same second — the session changed while paged.
fn was_paged(before: &Session, after: &Session) -> bool {
    after.notified.is_some()
        && (after.notified != before.notified
            || (after.session_sequence != before.session_sequence
                && after.session_sequence.is_some()))
}

/// What to tell the host when the transmitter did not answer; `done` is what a
/// read-back showed, when there was one.
fn unreachable_verdict(error: &ExchangeError, done: Option<bool>) -> Verdict {
    let message = match (error, done) {
        (ExchangeError::Timeout { transmissions: 0 }, _) => {
            "The transmitter is not answering, so this was not sent. Check that it is powered on and on the network, then try again.".to_string()
        }
        (_, Some(false)) => {
            "The transmitter did not answer; reading it back shows this was not done. Try again.".to_string()
        }
        (error, _) => format!(
            "The transmitter did not answer ({error}); whether it acted is unknown until it answers again, when the board will show it."
        ),
    };
    Verdict::Unreachable { message }
}

struct Coordinator {
    mirror: Mirror,
    hub: Hub,
    ops: OpLog<Replies>,
    /// Numbers with a create in flight: a second create must not become an update.
    pending_creates: HashSet<u32>,
    work: mpsc::UnboundedSender<Work>,
    observing: bool,
    observe_queued: bool,
    snapshot_queued: bool,
    /// The board may not match the device until a snapshot or registration
    /// lands; tablets block taps meanwhile. Routine polls do not set it.
    resyncing: bool,
    settings_known: bool,
    etag: Option<Vec<u8>>,
    last_push: Instant,
    last_poll: Instant,
    /// When sequence numbers first went missing, while any still are.
    gap_since: Option<Instant>,
    last_observe_attempt: Option<Instant>,
    notifications: Option<Notifications>,
    reachable: bool,
    coap: coap::Handle,
}

impl Coordinator {
    fn admit(&mut self, job: Job) {
        if let ValidCommand::CreateSession(create) = &job.command {
            if let Some(verdict) = self.number_in_use(create.number) {
                let _ = job.replies.send((job.op, verdict));
                return;
            }
        }
        match self
            .ops
            .admit(&job.op, job.replies.clone(), std::time::Instant::now())
        {
            Admission::Execute => {
                if let ValidCommand::CreateSession(create) = &job.command {
                    self.pending_creates.insert(create.number);
                }
                let before = match &job.command {
                    ValidCommand::UpdateSession { number, .. } => {
                        self.mirror.state().party(*number).cloned()
                    }
                    _ => None,
                };
                let _ = self.work.send(Work::Command {
                    op: job.op,
                    command: job.command,
                    before,
                });
            }
            Admission::Joined => {}
            Admission::Answered(verdict) => {
                let _ = job.replies.send((job.op, verdict));
            }
        }
    }

    fn number_in_use(&self, number: u32) -> Option<Verdict> {
        let holder = self.mirror.state().party(number);
        if holder.is_none() && !self.pending_creates.contains(&number) {
            return None;
        }
        let who = holder
            .and_then(|p| p.session.label.as_deref())
            .map(|label| format!(" ({label})"))
            .unwrap_or_default();
        let free = self.lowest_free_number();
        let suggestion = free
            .map(|n| format!(" Pager {n} is free."))
            .unwrap_or_else(|| " Every pager is in use.".into());
        Some(Verdict::Invalid {
            code: "number_in_use".into(),
            message: format!("Pager {number} is already with a party{who}.{suggestion}"),
        })
    }

    fn lowest_free_number(&self) -> Option<u32> {
        let state = self.mirror.state();
        (shared::limits::PAGER_MIN..=shared::limits::PAGER_MAX)
            .find(|n| state.party(*n).is_none() && !self.pending_creates.contains(n))
    }

    fn finish(&mut self, done: Done) {
        match done {
            Done::Command {
                op,
                command,
                before,
                result,
                readback,
            } => {
                if let ValidCommand::CreateSession(create) = &command {
                    self.pending_creates.remove(&create.number);
                }
                let verdict = match (result, readback) {
                    (Err(error), Some(sessions)) => {
                        self.fold(&sessions, Source::Snapshot);
                        self.reconcile(&command, before, &error)
                    }
                    (result, _) => self.verdict(&command, result),
                };
                for replies in self
                    .ops
                    .finish(&op, verdict.clone(), std::time::Instant::now())
                {
                    let _ = replies.send((op.clone(), verdict.clone()));
                }
            }
            Done::Observe(result) => {
                self.observe_queued = false;
                match result {
                    Ok(notifications) => {
                        self.observing = true;
                        self.resyncing = false;
                        self.last_push = Instant::now();
                        // The registration's snapshot is the whole truth; even if its
                        // sequence went back (a reboot), registering again is what
                        // that would ask for, and it has just been done.
                        let applied = self.mirror.apply(
                            &notifications.first,
                            Source::Snapshot,
                            now_ms() / 1000,
                        );
                        self.hub.publish(applied.delta);
                        self.notifications = Some(notifications);
                        if !self.settings_known {
                            let _ = self.work.send(Work::Settings);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "no Observe registration; polling instead");
                        self.observing = false;
                    }
                }
            }
            Done::Snapshot(result) => {
                self.snapshot_queued = false;
                match result {
                    Ok(Sessions::Changed { envelope, etag }) => {
                        self.etag = etag;
                        self.resyncing = false;
                        self.fold(&envelope, Source::Snapshot);
                    }
                    Ok(Sessions::Unchanged) => self.resyncing = false,
                    Err(error) => tracing::debug!(%error, "snapshot failed"),
                }
            }
            Done::Settings(result) => match result {
                Ok(envelope) => {
                    self.settings_known = true;
                    self.fold(&envelope, Source::Response { paged: false });
                }
                Err(error) => tracing::debug!(%error, "settings read failed"),
            },
        }
    }

    fn verdict(
        &mut self,
        command: &ValidCommand,
        result: Result<Option<Envelope>, DeviceError>,
    ) -> Verdict {
        let envelope = match result {
            Ok(envelope) => envelope,
            Err(DeviceError::Rejected { code, message }) => {
                return Verdict::Rejected {
                    device_code: code,
                    message,
                }
            }
            Err(error @ (DeviceError::BadResponse(_) | DeviceError::Protocol(_))) => {
                // It may have acted; only a fresh snapshot can tell the board.
                self.enqueue_snapshot();
                return Verdict::Rejected {
                    device_code: "bad_response".into(),
                    message: error.to_string(),
                };
            }
            Err(DeviceError::Unreachable(error)) => return unreachable_verdict(&error, None),
        };
        if let Some(envelope) = &envelope {
            let paged = matches!(
                command,
                ValidCommand::UpdateSession { body, .. } if body.action == Some(Action::Page)
            );
            self.fold(envelope, Source::Response { paged });
        }
        let result = match command {
            ValidCommand::CreateSession(_) | ValidCommand::UpdateSession { .. } => {
                match envelope
                    .as_ref()
                    .and_then(|e| e.sessions.as_ref())
                    .and_then(|s| s.first())
                {
                    Some(session) if session.effective_state() == SessionState::Cleared => {
                        CommandResult::Archived {
                            session: session.clone(),
                        }
                    }
                    Some(session) => CommandResult::Party {
                        party: self
                            .mirror
                            .state()
                            .party(session.number)
                            .filter(|p| p.session.uuid == session.uuid)
                            .cloned()
                            .unwrap_or_else(|| Party {
                                session: session.clone(),
                                page_count: u32::from(session.notified.is_some()),
                            }),
                    },
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
                self.enqueue_snapshot();
                CommandResult::Done
            }
            ValidCommand::ClearHistory | ValidCommand::StandalonePage(_) => CommandResult::Done,
        };
        Verdict::Acknowledged { result }
    }

    /// Decides from the read-back whether an unanswered session command was done.
    fn reconcile(
        &self,
        command: &ValidCommand,
        before: Option<Party>,
        error: &DeviceError,
    ) -> Verdict {
        let DeviceError::Unreachable(exchange) = error else {
            unreachable!("only unanswered commands are read back")
        };
        let state = self.mirror.state();
        let done = match command {
            ValidCommand::CreateSession(create) => {
                state
                    .party(create.number)
                    .map(|party| CommandResult::Party {
                        party: party.clone(),
                    })
            }
            ValidCommand::UpdateSession { number, body } => {
                let before = before.as_ref();
                let after = state
                    .party(*number)
                    .filter(|a| before.is_some_and(|b| b.session.uuid == a.session.uuid));
                match (body.action, before, after) {
                    (Some(Action::Page), Some(b), Some(a)) if was_paged(&b.session, &a.session) => {
                        Some(CommandResult::Party { party: a.clone() })
                    }
                    (Some(Action::Clear | Action::Remove), Some(b), None) => {
                        let mut session = b.session.clone();
                        session.state = Some(SessionState::Cleared);
                        Some(CommandResult::Archived { session })
                    }
                    (None, _, Some(a))
                        if body.goal.is_none_or(|g| a.session.goal_in_seconds == g)
                            && body
                                .party_size
                                .is_none_or(|p| a.session.party_size == Some(p))
                            && body
                                .label
                                .as_deref()
                                .is_none_or(|l| a.session.label.as_deref().unwrap_or("") == l) =>
                    {
                        Some(CommandResult::Party { party: a.clone() })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        match done {
            Some(result) => Verdict::Acknowledged { result },
            None => unreachable_verdict(exchange, Some(false)),
        }
    }

    fn on_notification(&mut self, envelope: Envelope) {
        self.last_push = Instant::now();
        self.fold(&envelope, Source::Notification);
    }

    fn lost_observation(&mut self) {
        tracing::info!("the Observe registration ended; registering again");
        self.resyncing = true;
        self.notifications = None;
        self.observing = false;
        self.enqueue_observe();
    }

    fn fold(&mut self, envelope: &Envelope, source: Source) {
        let applied = self.mirror.apply(envelope, source, now_ms() / 1000);
        self.hub.publish(applied.delta);
        match applied.resync {
            Some(Resync::Backwards { last, got }) if source == Source::Snapshot => {
                // The device restarted and forgot its observers: register again.
                tracing::warn!(last, got, "the transmitter restarted; registering again");
                self.resyncing = true;
                self.observing = false;
                self.notifications = None;
                self.enqueue_observe();
            }
            Some(Resync::Backwards { last, got }) => {
                tracing::info!(last, got, "an old answer; checking with a snapshot");
                self.resyncing = true;
                self.enqueue_snapshot();
            }
            Some(Resync::Gap { expected, got }) => {
                tracing::debug!(expected, got, "notifications skipped; waiting for them");
                self.gap_since.get_or_insert_with(Instant::now);
            }
            None => {}
        }
    }

    fn on_tick(&mut self) {
        if !self.reachable {
            return;
        }
        let now = Instant::now();
        match (self.mirror.has_gap(), self.gap_since) {
            (false, _) => self.gap_since = None,
            (true, Some(since)) if now.duration_since(since) > GAP_GRACE => {
                tracing::info!("notifications still missing; resynchronising");
                self.resyncing = true;
                self.gap_since = None;
                self.enqueue_snapshot();
            }
            (true, _) => {}
        }
        if self.observing && now.duration_since(self.last_push) > OBSERVE_SILENCE {
            tracing::warn!("no notification or ping for {OBSERVE_SILENCE:?}; registering again");
            self.resyncing = true;
            self.observing = false;
            self.notifications = None;
            self.enqueue_observe();
        }
        if !self.observing && !self.observe_queued {
            let retry_due = self
                .last_observe_attempt
                .is_none_or(|at| now.duration_since(at) > OBSERVE_RETRY);
            if retry_due {
                self.enqueue_observe();
            } else if now.duration_since(self.last_poll) >= POLL_EVERY {
                self.enqueue_poll();
            }
        }
    }

    /// "Anything new?" as an ETag GET: 2.03 when the board is current.
    fn enqueue_poll(&mut self) {
        if !self.snapshot_queued && !self.observe_queued {
            self.snapshot_queued = true;
            self.last_poll = Instant::now();
            let _ = self.work.send(Work::Poll {
                etag: self.etag.clone(),
            });
        }
    }

    fn enqueue_observe(&mut self) {
        if !self.observe_queued {
            self.observe_queued = true;
            self.last_observe_attempt = Some(Instant::now());
            let _ = self.work.send(Work::Observe);
        }
    }

    fn enqueue_snapshot(&mut self) {
        if !self.snapshot_queued && !self.observe_queued {
            self.snapshot_queued = true;
            let _ = self.work.send(Work::Snapshot);
        }
    }

    fn update_health(&mut self, link: LinkHealth) {
        let was_reachable = self.reachable;
        self.reachable = link.reachable;
        if link.reachable != was_reachable {
            // While the device answers, an idle link is probed with an ETag GET:
            // it costs what a CoAP ping costs and also reveals a reboot or a
            // missed notification. While it is silent, pings: they do not hold
            // the queue, so commands fail at once instead of waiting behind a probe.
            self.coap.set_probe(if link.reachable {
                Probe::Caller
            } else {
                Probe::Ping
            });
        }
        if link.reachable && !was_reachable && !self.observe_queued {
            // Back from silence: whatever happened meanwhile, start from a fresh registration.
            self.resyncing = true;
            self.observing = false;
            self.notifications = None;
            self.enqueue_observe();
        }
        let old = &self.mirror.state().health;
        let health = Health {
            reachable: link.reachable,
            observing: self.observing,
            synced: link.reachable && !self.resyncing,
            last_contact_ms: link.last_contact.map(unix_ms_at),
            last_rtt_ms: link
                .last_rtt
                .map(|rtt| rtt.as_millis().min(u32::MAX as u128) as u32),
            device_clock_offset_s: old.device_clock_offset_s,
        };
        let delta = self.mirror.set_health(health);
        self.hub.publish(delta);
    }
}

/// The Unix time of an instant, to the whole second so that health changes at
/// most once a second however busy the link is.
fn unix_ms_at(instant: std::time::Instant) -> i64 {
    let ago = Instant::now().into_std().saturating_duration_since(instant);
    let ms = now_ms() - ago.as_millis() as i64;
    ms - ms.rem_euclid(1000)
}
