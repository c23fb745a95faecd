//! Keeping the mirror equal to the device: the Observe registration (an
//! explicit state, re-registered in one place), polling when the device will
//! not be observed, waiting out gaps in its sequence, and noticing reboots.

use std::time::{Duration, Instant};

use shared::device::Envelope;

use super::work::Work;
use super::Core;
use crate::coap::{Code, ExchangeError, ExchangeId, Probe, Request, Response};
use crate::device::interpret;
use crate::mirror::Source;

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

/// Where the proxy stands with the device's notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// None held: polling, and asking again at `retry_at`.
    Unregistered { retry_at: Instant },
    /// A registration is queued or on the wire.
    Registering,
    /// Notifications flow on `id`; `heard` is the last one (or ping).
    Live { id: ExchangeId, heard: Instant },
}

#[derive(Debug)]
pub(super) struct Sync {
    pub registration: Registration,
    /// A whole board has been read since start: commands may go out.
    pub loaded: bool,
    /// The board may not match the device until a snapshot lands.
    pub resyncing: bool,
    pub settings_known: bool,
    pub etag: Option<Vec<u8>>,
    pub last_poll: Instant,
    /// When sequence numbers first went missing, while any still are.
    pub gap_since: Option<Instant>,
}

impl Sync {
    pub fn new(now: Instant) -> Self {
        Sync {
            registration: Registration::Registering,
            loaded: false,
            resyncing: true,
            settings_known: false,
            etag: None,
            last_poll: now,
            gap_since: None,
        }
    }
}

pub(super) fn registration() -> Request {
    Request::get("/v1/notify").with_query("action=get_sessions")
}

/// GET /v1/sessions, conditional when `etag` is the copy held.
pub(super) fn snapshot(etag: Option<Vec<u8>>) -> Request {
    let mut request = Request::get("/v1/sessions");
    request.etag = etag;
    request
}

impl<T: Clone> Core<T> {
    /// Drops the registration held (if any) and asks for a fresh one, whose
    /// answer is the whole board. The one place this is done.
    pub(super) fn reregister(&mut self, now: Instant) {
        if let Registration::Live { id, .. } = self.sync.registration {
            self.endpoint.cancel(id, now);
        }
        if !self.registering() {
            self.tally.resyncs += u32::from(self.sync.loaded);
            self.queue.push(Work::Register, None, now);
        }
        self.sync.registration = Registration::Registering;
        self.sync.resyncing = true;
    }

    fn registering(&self) -> bool {
        self.queue.contains(&Work::Register) || matches!(self.in_flight, Some((_, Work::Register)))
    }

    /// The mirror may be wrong: take a whole snapshot.
    pub(super) fn resync(&mut self, now: Instant) {
        if !self.registering() {
            self.tally.resyncs += 1;
            self.sync.resyncing = true;
            self.queue.push(Work::Snapshot, None, now);
        }
    }

    pub(super) fn on_registered(
        &mut self,
        id: ExchangeId,
        result: Result<Response, ExchangeError>,
        now: Instant,
    ) {
        let retry_at = now + OBSERVE_RETRY;
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(%error, "no Observe registration; polling instead");
                self.sync.registration = Registration::Unregistered { retry_at };
                return;
            }
        };
        let observed = response.observe.is_some();
        match interpret(&response) {
            Ok(Some(envelope)) => {
                self.sync.registration = match observed {
                    true => Registration::Live { id, heard: now },
                    false => Registration::Unregistered { retry_at },
                };
                self.loaded(&envelope, now);
            }
            _ => self.sync.registration = Registration::Unregistered { retry_at },
        }
    }

    /// A whole board arrived: it is the truth.
    fn loaded(&mut self, envelope: &Envelope, now: Instant) {
        self.sync.loaded = true;
        self.sync.resyncing = false;
        self.sync.gap_since = None;
        self.fold(envelope, Source::Snapshot, now);
        if !self.sync.settings_known {
            self.queue.push(Work::Settings, None, now);
        }
    }

    pub(super) fn on_snapshot(&mut self, result: Result<Response, ExchangeError>, now: Instant) {
        match result {
            Ok(response) if response.code == Code::VALID => self.sync.resyncing = false,
            Ok(response) => match interpret(&response) {
                Ok(Some(envelope)) => {
                    self.sync.etag = response.etag;
                    self.loaded(&envelope, now);
                }
                _ => tracing::debug!("an unreadable snapshot"),
            },
            Err(error) => tracing::debug!(%error, "snapshot failed"),
        }
    }

    pub(super) fn on_settings(&mut self, result: Result<Response, ExchangeError>, now: Instant) {
        if let Ok(Ok(Some(envelope))) = result.map(|r| interpret(&r)) {
            self.sync.settings_known = true;
            self.fold(&envelope, Source::Response { paged: false }, now);
        }
    }

    pub(super) fn on_notification(&mut self, id: ExchangeId, response: Response, now: Instant) {
        let Registration::Live { id: live, heard } = &mut self.sync.registration else {
            return;
        };
        if *live != id {
            return;
        }
        *heard = now;
        match interpret(&response) {
            Ok(Some(envelope)) => {
                if envelope.is_ping() {
                    self.tally.last_ping = Some(now);
                } else {
                    self.tally.last_notification = Some(now);
                }
                self.fold(&envelope, Source::Notification, now);
            }
            _ => {
                tracing::warn!("unreadable notification; resynchronising");
                self.resync(now);
            }
        }
    }

    pub(super) fn on_observation_ended(&mut self, id: ExchangeId, now: Instant) {
        if matches!(self.sync.registration, Registration::Live { id: live, .. } if live == id) {
            tracing::info!("the Observe registration ended; registering again");
            self.reregister(now);
        }
    }

    /// When the next registration, poll or gap rule falls due.
    pub(super) fn sync_due(&self) -> Option<Instant> {
        if !self.reachable {
            return None;
        }
        let registration = match self.sync.registration {
            Registration::Live { heard, .. } => Some(heard + OBSERVE_SILENCE),
            Registration::Unregistered { retry_at } => {
                Some(retry_at.min(self.sync.last_poll + POLL_EVERY))
            }
            Registration::Registering => None,
        };
        let gap = self.sync.gap_since.map(|since| since + GAP_GRACE);
        registration.into_iter().chain(gap).min()
    }

    pub(super) fn sync_tick(&mut self, now: Instant) {
        if !self.reachable {
            return;
        }
        match (self.mirror.has_gap(), self.sync.gap_since) {
            (false, _) => self.sync.gap_since = None,
            (true, Some(since)) if now >= since + GAP_GRACE => {
                tracing::info!("notifications still missing; resynchronising");
                self.sync.gap_since = None;
                self.resync(now);
            }
            (true, _) => {}
        }
        match self.sync.registration {
            Registration::Live { heard, .. } if now >= heard + OBSERVE_SILENCE => {
                tracing::warn!(
                    "no notification or ping for {OBSERVE_SILENCE:?}; registering again"
                );
                self.reregister(now);
            }
            Registration::Unregistered { retry_at } if now >= retry_at => self.reregister(now),
            Registration::Unregistered { .. } if now >= self.sync.last_poll + POLL_EVERY => {
                self.sync.last_poll = now;
                self.queue.push(Work::Poll, None, now);
            }
            _ => {}
        }
    }

    /// Follows the link's reachability: probes by pinging while it is silent
    /// (a ping holds up no request), by the caller's ETag GET while it answers
    /// (as cheap, and it also reveals a missed change); back from silence,
    /// whatever happened meanwhile, a fresh registration.
    pub(super) fn watch_link(&mut self, now: Instant) {
        let reachable = self.endpoint.health(now).reachable;
        if reachable == self.reachable {
            return;
        }
        self.reachable = reachable;
        self.endpoint.set_probe(match reachable {
            true => Probe::Caller,
            false => Probe::Ping,
        });
        if reachable {
            self.reregister(now);
        } else {
            self.tally.went_silent = Some(now);
        }
    }
}
