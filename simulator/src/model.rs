//! The T7470's semantics with no protocol or I/O: a [`Request`] and the
//! current `Instant` go in, a [`Handled`] (reply, notifications to push, pages
//! transmitted) comes out. Every rule of `device-contract.md` lives here.
//!
//! Decisions where the contract is silent:
//! - Every accepted session request is one change: one `globalSessionSequence`
//!   step and one notification, even when it also carries an `action` (a POST
//!   that creates and pages at once) or changes nothing.
//! - Statistics resets (DELETE or the daily clear mark) neither move the
//!   sequence nor notify; they do change the GET /v1/sessions ETag.
//! - Setting the clock re-plans the daily clear from the new time; jumping the
//!   clock past the mark does not clear.
//! - History entries look like the docs' example: no `partySize`, `state` or
//!   `sessionSequence`; oldest first.
//! - A reboot keeps the settings and the clock, and forgets sessions, history,
//!   statistics and the sequence (ids start again at 1).

use std::collections::BTreeMap;
use std::time::Instant;

use coap_lite::ResponseType;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::device::{
    response_type, Action, ClearType, CreateSession, Envelope, ErrorBody, HistoryEntry, PageMode,
    Ping, Session, SessionState, Settings, Statistics, UpdateSession,
};
use shared::time::DeviceTime;

use crate::clock::{next_statistics_clear, DeviceClock};
use crate::etag::content_tag;
use crate::requests::{self, BadRequest};
use crate::stats::Tally;

pub const DEVICE_NAME: &str = "T7470";
/// The firmware every doc example shows.
pub const FIRMWARE_VERSION: &str = "8.4.100.43";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
    /// FETCH, PATCH, …: valid CoAP, never allowed here (4.05 on a known path).
    Other,
}

/// A request as the device sees it, already lifted out of CoAP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub path: Vec<String>,
    pub query: Vec<String>,
    pub body: Vec<u8>,
    /// ETags the client already holds (conditional GET).
    pub etags: Vec<Vec<u8>>,
}

impl Request {
    pub fn new(method: Method, path: &str) -> Self {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Request {
            method,
            path: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            query: query
                .split('&')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            body: Vec::new(),
            etags: Vec::new(),
        }
    }

    pub fn with_body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    pub fn with_etag(mut self, etag: Vec<u8>) -> Self {
        self.etags.push(etag);
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Empty,
    Envelope(Envelope),
    Error(ErrorBody),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub code: ResponseType,
    pub body: Body,
    pub etag: Option<Vec<u8>>,
}

impl Reply {
    fn new(code: ResponseType, body: Body) -> Self {
        Reply {
            code,
            body,
            etag: None,
        }
    }

    pub fn payload(&self) -> Vec<u8> {
        match &self.body {
            Body::Empty => Vec::new(),
            Body::Envelope(envelope) => envelope.to_body(),
            Body::Error(error) => serde_json::to_vec(error).expect("an error body serializes"),
        }
    }

    /// The envelope, for tests and callers that know the reply has one.
    pub fn envelope(&self) -> Option<&Envelope> {
        match &self.body {
            Body::Envelope(envelope) => Some(envelope),
            _ => None,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match &self.body {
            Body::Error(error) => Some(&error.error),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSource {
    Session { id: u32 },
    Standalone,
}

/// One page the transmitter put on the air.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRecord {
    pub number: u32,
    pub mode: PageMode,
    pub at: DeviceTime,
    pub source: PageSource,
    pub message: Option<String>,
    pub system_id: u32,
}

/// What one request did.
#[derive(Clone, Debug, PartialEq)]
pub struct Handled {
    pub reply: Reply,
    /// Bodies to push to every observer of /v1/notify, in order.
    pub notifications: Vec<Envelope>,
    pub pages: Vec<PageRecord>,
}

/// Everything a test may want to assert on.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceState {
    pub active: Vec<Session>,
    pub history: Vec<HistoryEntry>,
    pub statistics: Statistics,
    pub settings: Settings,
    pub global_sequence: u32,
}

#[derive(Clone, Debug)]
struct DeviceSettings {
    system_id: u32,
    default_target_goal: u32,
    statistics_clear_mark: u32,
}

impl Default for DeviceSettings {
    /// The values in the docs' settings example.
    fn default() -> Self {
        DeviceSettings {
            system_id: 0,
            default_target_goal: 300,
            statistics_clear_mark: 24,
        }
    }
}

#[derive(Clone, Debug)]
struct ActiveSession {
    session: Session,
    /// Statistics count this page only; re-pages move `notified` but not this.
    first_page: Option<DeviceTime>,
}

struct Failure {
    code: ResponseType,
    message: String,
}

impl Failure {
    fn not_found(message: impl Into<String>) -> Self {
        Failure {
            code: ResponseType::NotFound,
            message: message.into(),
        }
    }
}

impl From<BadRequest> for Failure {
    fn from(bad: BadRequest) -> Self {
        Failure {
            code: ResponseType::BadRequest,
            message: bad.0,
        }
    }
}

/// What a handler accumulates besides its reply.
#[derive(Default)]
struct Effects {
    notifications: Vec<Envelope>,
    pages: Vec<PageRecord>,
}

pub struct Device {
    clock: DeviceClock,
    settings: DeviceSettings,
    /// Keyed by id, so iteration is creation order.
    active: BTreeMap<u32, ActiveSession>,
    history: Vec<HistoryEntry>,
    sequence: u32,
    next_id: u32,
    tally: Tally,
    next_statistics_clear: DeviceTime,
    uuid_source: StdRng,
}

impl Device {
    /// A device whose clock reads `clock_reading` at `now`.
    pub fn new(clock_reading: DeviceTime, now: Instant, seed: u64) -> Self {
        let settings = DeviceSettings::default();
        Device {
            next_statistics_clear: next_statistics_clear(
                clock_reading,
                settings.statistics_clear_mark,
            ),
            clock: DeviceClock::new(clock_reading, now),
            settings,
            active: BTreeMap::new(),
            history: Vec::new(),
            sequence: 0,
            next_id: 1,
            tally: Tally::default(),
            uuid_source: StdRng::seed_from_u64(seed),
        }
    }

    /// Power cycle: see the module docs for what survives.
    pub fn reboot(&mut self) {
        self.active.clear();
        self.history.clear();
        self.sequence = 0;
        self.next_id = 1;
        self.tally = Tally::default();
    }

    pub fn handle(&mut self, request: &Request, now: Instant) -> Handled {
        let time = self.catch_up(now);
        let mut effects = Effects::default();
        let reply = self
            .route(request, time, now, &mut effects)
            .unwrap_or_else(|failure| {
                Reply::new(
                    failure.code,
                    Body::Error(ErrorBody {
                        error: failure.message,
                    }),
                )
            });
        Handled {
            reply,
            notifications: effects.notifications,
            pages: effects.pages,
        }
    }

    /// The body of a keep-alive ping to observers.
    pub fn ping(&mut self, now: Instant) -> Envelope {
        let time = self.catch_up(now);
        let mut envelope = self.envelope(time, &[response_type::PING]);
        envelope.ping = Some(Ping {});
        envelope
    }

    pub fn state(&mut self, now: Instant) -> DeviceState {
        let time = self.catch_up(now);
        DeviceState {
            active: self.active_sessions(),
            history: self.history.clone(),
            statistics: self.tally.statistics(),
            settings: self.settings_at(time),
            global_sequence: self.sequence,
        }
    }

    /// Applies the daily statistics clear if the clock passed the mark; the
    /// clear is lazy because statistics are only ever seen through requests.
    fn catch_up(&mut self, now: Instant) -> DeviceTime {
        let time = self.clock.now(now);
        if time >= self.next_statistics_clear {
            self.tally = Tally::default();
            self.next_statistics_clear =
                next_statistics_clear(time, self.settings.statistics_clear_mark);
        }
        time
    }

    fn route(
        &mut self,
        request: &Request,
        time: DeviceTime,
        now: Instant,
        effects: &mut Effects,
    ) -> Result<Reply, Failure> {
        use Method::*;
        let path: Vec<&str> = request.path.iter().map(String::as_str).collect();
        let method = request.method;
        let allowed: &[Method] = match path.as_slice() {
            ["v1", "sessions"] => &[Get, Post, Put, Delete],
            ["v1", "sessions", "history"] | ["v1", "sessions", "statistics"] => &[Get, Delete],
            ["v1", "page"] => &[Post],
            ["v1", "settings"] => &[Get, Post],
            ["v1", "notify"] => &[Get],
            _ => {
                return Err(Failure::not_found(format!(
                    "There is no resource /{}.",
                    request.path.join("/")
                )))
            }
        };
        if !allowed.contains(&method) {
            return Err(Failure {
                code: ResponseType::MethodNotAllowed,
                message: format!("/{} does not allow this method.", request.path.join("/")),
            });
        }
        let body = &request.body;
        match (path.as_slice(), method) {
            (["v1", "sessions"], Get) => match requests::pager_query(&request.query)? {
                Some(number) => self.get_one(number, time),
                None => Ok(self.get_all(time, &request.etags)),
            },
            (["v1", "sessions"], Post) => {
                self.create(requests::create_session(body)?, time, effects)
            }
            (["v1", "sessions"], Put) => {
                let number = requests::pager_query(&request.query)?.ok_or_else(|| {
                    BadRequest("PUT /v1/sessions needs the query number=<pager>.".into())
                })?;
                let update = requests::update_session(body)?;
                let id = self.active_id(number)?;
                Ok(self.update(id, &update, time, effects))
            }
            (["v1", "sessions"], Delete) => match requests::pager_query(&request.query)? {
                Some(number) => {
                    let id = self.active_id(number)?;
                    self.commit(id, Some(Action::Remove), PageMode::default(), time, effects);
                    Ok(Reply::new(ResponseType::Deleted, Body::Empty))
                }
                None => {
                    let ids: Vec<u32> = self.active.keys().copied().collect();
                    for id in ids {
                        self.commit(id, Some(Action::Clear), PageMode::default(), time, effects);
                    }
                    Ok(Reply::new(ResponseType::Deleted, Body::Empty))
                }
            },
            (["v1", "sessions", "history"], Get) => {
                let mut envelope = self.envelope(time, &[response_type::SESSION_HISTORY]);
                envelope.session_history = Some(self.history.clone());
                Ok(Reply::new(ResponseType::Content, Body::Envelope(envelope)))
            }
            (["v1", "sessions", "history"], Delete) => {
                self.history.clear();
                Ok(Reply::new(ResponseType::Deleted, Body::Empty))
            }
            (["v1", "sessions", "statistics"], Get) => {
                let envelope = self.envelope(time, &[response_type::STATISTICS]);
                Ok(Reply::new(ResponseType::Content, Body::Envelope(envelope)))
            }
            (["v1", "sessions", "statistics"], Delete) => {
                self.tally = Tally::default();
                Ok(Reply::new(ResponseType::Deleted, Body::Empty))
            }
            (["v1", "page"], Post) => {
                let page = requests::standalone_page(body)?;
                effects.pages.push(PageRecord {
                    number: page.number,
                    mode: page.page_mode.unwrap_or_default(),
                    at: time,
                    source: PageSource::Standalone,
                    message: page.message,
                    system_id: page.system_id.unwrap_or(self.settings.system_id),
                });
                Ok(Reply::new(
                    ResponseType::Changed,
                    Body::Envelope(self.envelope(time, &[])),
                ))
            }
            (["v1", "settings"], Get) => {
                let envelope = self.envelope(time, &[response_type::SETTINGS]);
                Ok(Reply::new(ResponseType::Content, Body::Envelope(envelope)))
            }
            (["v1", "settings"], Post) => {
                let update = requests::settings_update(body)?;
                Ok(self.change_settings(update, time, now, effects))
            }
            (["v1", "notify"], Get) => self.notify_snapshot(&request.query, time),
            _ => unreachable!("every allowed method of every known path is routed above"),
        }
    }

    fn get_all(&self, time: DeviceTime, client_etags: &[Vec<u8>]) -> Reply {
        let envelope = self.envelope(time, &[response_type::SESSIONS, response_type::STATISTICS]);
        // The tag covers the data, not the envelope's ticking timestamp.
        let sessions = serde_json::to_vec(&envelope.sessions).expect("sessions serialize");
        let statistics = serde_json::to_vec(&envelope.statistics).expect("statistics serialize");
        let etag = content_tag(&[&sessions, &statistics]);
        let mut reply = if client_etags.contains(&etag) {
            Reply::new(ResponseType::Valid, Body::Empty)
        } else {
            Reply::new(ResponseType::Content, Body::Envelope(envelope))
        };
        reply.etag = Some(etag);
        reply
    }

    fn get_one(&self, number: u32, time: DeviceTime) -> Result<Reply, Failure> {
        let id = self.active_id(number)?;
        let mut envelope = self.envelope(time, &[response_type::SESSIONS]);
        envelope.sessions = Some(vec![self.active[&id].session.clone()]);
        Ok(Reply::new(ResponseType::Content, Body::Envelope(envelope)))
    }

    fn notify_snapshot(&self, query: &[String], time: DeviceTime) -> Result<Reply, Failure> {
        let types: &[&str] = match query.iter().find_map(|q| q.strip_prefix("action=")) {
            None => &[],
            Some("get_sessions") => &[response_type::SESSIONS, response_type::STATISTICS],
            Some(other) => {
                return Err(BadRequest(format!(
                    "\"{other}\" is not a notify action: use get_sessions."
                ))
                .into())
            }
        };
        Ok(Reply::new(
            ResponseType::Content,
            Body::Envelope(self.envelope(time, types)),
        ))
    }

    fn active_id(&self, number: u32) -> Result<u32, Failure> {
        self.active
            .iter()
            .find(|(_, active)| active.session.number == number)
            .map(|(id, _)| *id)
            .ok_or_else(|| Failure::not_found(format!("No active session uses pager {number}.")))
    }

    fn create(
        &mut self,
        create: CreateSession,
        time: DeviceTime,
        effects: &mut Effects,
    ) -> Result<Reply, Failure> {
        // "Creates/Updates": an active number is updated in place.
        if let Ok(id) = self.active_id(create.number) {
            let update = UpdateSession {
                goal: create.goal,
                label: create.label,
                party_size: create.party_size,
                action: create.action,
                page_mode: None,
            };
            return Ok(self.update(id, &update, time, effects));
        }
        let id = self.next_id;
        self.next_id += 1;
        let session = Session {
            id,
            session_sequence: None,
            uuid: self.new_uuid(),
            number: create.number,
            party_size: Some(create.party_size.unwrap_or(1)),
            goal_in_seconds: create.goal.unwrap_or(self.settings.default_target_goal),
            created: time,
            started: time,
            notified: None,
            cleared: None,
            label: create.label,
            state: Some(SessionState::Started),
        };
        self.active.insert(
            id,
            ActiveSession {
                session,
                first_page: None,
            },
        );
        self.tally.record_created();
        let session = self.commit(id, create.action, PageMode::default(), time, effects);
        Ok(self.session_reply(ResponseType::Created, session, time))
    }

    fn update(
        &mut self,
        id: u32,
        update: &UpdateSession,
        time: DeviceTime,
        effects: &mut Effects,
    ) -> Reply {
        let session = &mut self.active.get_mut(&id).expect("id is active").session;
        if let Some(goal) = update.goal {
            session.goal_in_seconds = goal;
        }
        if let Some(label) = &update.label {
            session.label = (!label.is_empty()).then(|| label.clone());
        }
        if let Some(party_size) = update.party_size {
            session.party_size = Some(party_size);
        }
        let mode = update.page_mode.unwrap_or_default();
        let session = self.commit(id, update.action, mode, time, effects);
        self.session_reply(ResponseType::Changed, session, time)
    }

    /// One session change: a sequence step, the action, and a notification.
    /// Returns the session as it now is (state `cleared` if it was archived).
    fn commit(
        &mut self,
        id: u32,
        action: Option<Action>,
        mode: PageMode,
        time: DeviceTime,
        effects: &mut Effects,
    ) -> Session {
        self.sequence += 1;
        let system_id = self.settings.system_id;
        let active = self.active.get_mut(&id).expect("id is active");
        active.session.session_sequence = Some(self.sequence);
        let session = match action {
            None => active.session.clone(),
            Some(Action::Page) => {
                active.session.notified = Some(time);
                active.session.state = Some(SessionState::Paged);
                if active.first_page.is_none() {
                    active.first_page = Some(time);
                    let waited = time.seconds_since(active.session.started);
                    self.tally
                        .record_first_page(waited, active.session.goal_in_seconds);
                }
                effects.pages.push(PageRecord {
                    number: active.session.number,
                    mode,
                    at: time,
                    source: PageSource::Session { id },
                    message: None,
                    system_id,
                });
                active.session.clone()
            }
            Some(Action::Clear) => self.archive(id, ClearType::Stop, time),
            Some(Action::Remove) => self.archive(id, ClearType::Removed, time),
        };
        let mut notification =
            self.envelope(time, &[response_type::SESSIONS, response_type::STATISTICS]);
        notification.sessions = Some(vec![session.clone()]);
        effects.notifications.push(notification);
        session
    }

    fn archive(&mut self, id: u32, clear_type: ClearType, time: DeviceTime) -> Session {
        let mut session = self.active.remove(&id).expect("id is active").session;
        session.cleared = Some(time);
        session.state = Some(SessionState::Cleared);
        self.history.push(HistoryEntry {
            session: Session {
                session_sequence: None,
                party_size: None,
                state: None,
                ..session.clone()
            },
            clear_type,
        });
        session
    }

    fn change_settings(
        &mut self,
        update: shared::device::SettingsUpdate,
        mut time: DeviceTime,
        now: Instant,
        effects: &mut Effects,
    ) -> Reply {
        if let Some(datetime) = update.datetime {
            self.clock.set(datetime, now);
            time = datetime;
        }
        if let Some(system_id) = update.system_id {
            self.settings.system_id = system_id;
        }
        if let Some(goal) = update.default_target_goal {
            self.settings.default_target_goal = goal;
        }
        if let Some(mark) = update.statistics_clear_mark {
            self.settings.statistics_clear_mark = mark;
        }
        self.next_statistics_clear =
            next_statistics_clear(time, self.settings.statistics_clear_mark);
        let envelope = self.envelope(time, &[response_type::SETTINGS]);
        effects.notifications.push(envelope.clone());
        Reply::new(ResponseType::Changed, Body::Envelope(envelope))
    }

    fn session_reply(&self, code: ResponseType, session: Session, time: DeviceTime) -> Reply {
        let mut envelope =
            self.envelope(time, &[response_type::SESSIONS, response_type::STATISTICS]);
        envelope.sessions = Some(vec![session]);
        Reply::new(code, Body::Envelope(envelope))
    }

    fn active_sessions(&self) -> Vec<Session> {
        self.active
            .values()
            .map(|active| active.session.clone())
            .collect()
    }

    fn settings_at(&self, time: DeviceTime) -> Settings {
        Settings {
            datetime: time,
            system_id: self.settings.system_id,
            default_target_goal: self.settings.default_target_goal,
            statistics_clear_mark: self.settings.statistics_clear_mark,
        }
    }

    /// The common envelope with the named parts filled from current state.
    fn envelope(&self, time: DeviceTime, types: &[&str]) -> Envelope {
        let has = |name: &str| types.contains(&name);
        Envelope {
            response_types: types.iter().map(|t| t.to_string()).collect(),
            global_session_sequence: Some(self.sequence),
            timestamp: Some(time),
            device_name: Some(DEVICE_NAME.into()),
            firmware_version: Some(FIRMWARE_VERSION.into()),
            sessions: has(response_type::SESSIONS).then(|| self.active_sessions()),
            statistics: has(response_type::STATISTICS).then(|| self.tally.statistics()),
            session_history: None,
            settings: has(response_type::SETTINGS).then(|| self.settings_at(time)),
            ping: None,
        }
    }

    /// A random (version 4) UUID, from the seeded generator so runs repeat.
    fn new_uuid(&mut self) -> String {
        let mut bytes: [u8; 16] = self.uuid_source.gen();
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

#[cfg(test)]
mod tests;
