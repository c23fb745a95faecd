//! The WebSocket protocol between a tablet and the proxy: JSON text frames,
//! one message each. Documented for people in `docs/protocol.md`.
//!
//! A tablet sends [`ClientMsg`]s, each a [`Command`] with a client-chosen op id.
//! The proxy answers each with one [`ServerMsg::Reply`] carrying the
//! transmitter's [`Verdict`], and pushes the device's state to every tablet: a
//! [`MirrorState`] snapshot on connect, then a [`MirrorDelta`] per change.
//! Numbers in commands are `i64` so that out-of-range values reach
//! [`Command::validate`] and get a named limit error rather than a parse error.

use serde::{Deserialize, Serialize};

use crate::device::{
    Action, CreateSession, HistoryEntry, PageMode, Session, Settings, SettingsUpdate,
    StandalonePage, Statistics, UpdateSession,
};
use crate::limits::{self, LimitError};
use crate::time::DeviceTime;

pub const PROTOCOL_VERSION: u32 = 1;
/// Frames larger than this are refused and the connection closed.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
pub const OP_ID_MAX_CHARS: usize = 64;
/// The proxy sends a [`ServerMsg::Heartbeat`] after this long with nothing
/// else sent to a tablet.
pub const HEARTBEAT_AFTER_MS: u64 = 5_000;

/// tablet → proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMsg {
    /// Unique per command; resending the same op id after a reconnect returns
    /// the first verdict instead of executing again.
    pub op: String,
    pub command: Command,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Seat a new party on a free pager. Refused if the number is already active.
    CreateSession {
        number: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        party_size: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        goal: Option<i64>,
    },
    /// Change fields of an active party; an empty label clears it.
    UpdateSession {
        number: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        party_size: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        goal: Option<i64>,
    },
    PageSession {
        number: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page_mode: Option<String>,
    },
    /// Seat the party: archived as STOP.
    ClearSession {
        number: i64,
    },
    /// Drop the party: archived as REMOVED.
    RemoveSession {
        number: i64,
    },
    ClearAllSessions,
    GetHistory,
    ClearHistory,
    GetStatistics,
    ClearStatistics,
    StandalonePage {
        number: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page_mode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_id: Option<i64>,
    },
    GetSettings,
    UpdateSettings {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_target_goal: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        statistics_clear_mark: Option<i64>,
        /// Sets the transmitter's clock, `YYYY-MM-DDTHH:MM:SS` local time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        datetime: Option<String>,
    },
}

/// tablet → proxy, about the tablet itself rather than the transmitter: the
/// first frame of every connection is [`TabletMsg::Auth`] (the token never
/// travels in the URL, where logs and `Referer` would keep it), and Settings
/// lists the signed-in tablets and signs one out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TabletMsg {
    /// The token `/api/login` gave this tablet; empty when it has none (a
    /// stand without a PIN lets every tablet in and ignores it). `name` is
    /// what the host called this tablet in its Settings, for the audit trail.
    Auth {
        token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Answered with [`ServerMsg::Tablets`].
    ListTablets,
    /// Signs the tablet with this id out (its token stops working at once);
    /// answered with the new [`ServerMsg::Tablets`].
    SignOut { id: String },
    /// Renames this tablet (Settings' "This tablet's name"); answered with
    /// the new [`ServerMsg::Tablets`].
    SetName { name: String },
}

/// One tablet holding a token, as Settings lists it. Ids are not secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInTablet {
    pub id: String,
    pub name: String,
    /// Unix ms, proxy clock.
    pub created_ms: i64,
    pub last_seen_ms: i64,
    /// The tablet this list was sent to.
    pub this_tablet: bool,
}

/// A command whose every field is within limits: what the proxy sends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidCommand {
    CreateSession(CreateSession),
    UpdateSession { number: u32, body: UpdateSession },
    ClearAllSessions,
    GetHistory,
    ClearHistory,
    GetStatistics,
    ClearStatistics,
    StandalonePage(StandalonePage),
    GetSettings,
    UpdateSettings(SettingsUpdate),
}

/// Why a command was refused before it reached the transmitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvalidCommand {
    Limit(LimitError),
    BadDatetime { value: String },
    NothingToChange,
}

impl InvalidCommand {
    pub fn code(&self) -> &'static str {
        match self {
            InvalidCommand::Limit(e) => e.code(),
            InvalidCommand::BadDatetime { .. } => "bad_datetime",
            InvalidCommand::NothingToChange => "nothing_to_change",
        }
    }
}

impl std::fmt::Display for InvalidCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvalidCommand::Limit(e) => e.fmt(f),
            InvalidCommand::BadDatetime { value } => write!(
                f,
                "\"{value}\" is not a date and time (expected YYYY-MM-DDTHH:MM:SS)."
            ),
            InvalidCommand::NothingToChange => write!(f, "The command changes nothing."),
        }
    }
}

impl From<LimitError> for InvalidCommand {
    fn from(e: LimitError) -> Self {
        InvalidCommand::Limit(e)
    }
}

impl Command {
    /// The snake_case name, as on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Command::CreateSession { .. } => "create_session",
            Command::UpdateSession { .. } => "update_session",
            Command::PageSession { .. } => "page_session",
            Command::ClearSession { .. } => "clear_session",
            Command::RemoveSession { .. } => "remove_session",
            Command::ClearAllSessions => "clear_all_sessions",
            Command::GetHistory => "get_history",
            Command::ClearHistory => "clear_history",
            Command::GetStatistics => "get_statistics",
            Command::ClearStatistics => "clear_statistics",
            Command::StandalonePage { .. } => "standalone_page",
            Command::GetSettings => "get_settings",
            Command::UpdateSettings { .. } => "update_settings",
        }
    }

    /// The pager number the command acts on, if it names one.
    pub fn number(&self) -> Option<i64> {
        match self {
            Command::CreateSession { number, .. }
            | Command::UpdateSession { number, .. }
            | Command::PageSession { number, .. }
            | Command::ClearSession { number }
            | Command::RemoveSession { number }
            | Command::StandalonePage { number, .. } => Some(*number),
            _ => None,
        }
    }

    /// Checks every field against [`crate::limits`]; the first failure wins.
    pub fn validate(&self) -> Result<ValidCommand, InvalidCommand> {
        let act = |number: i64, action: Action, page_mode: Option<PageMode>| {
            Ok(ValidCommand::UpdateSession {
                number: limits::pager_number(number)?,
                body: UpdateSession {
                    action: Some(action),
                    page_mode,
                    ..Default::default()
                },
            })
        };
        match self {
            Command::CreateSession {
                number,
                label,
                party_size,
                goal,
            } => Ok(ValidCommand::CreateSession(CreateSession {
                number: limits::pager_number(*number)?,
                label: label.as_deref().map(limits::label).transpose()?.flatten(),
                party_size: party_size.map(limits::party_size).transpose()?,
                goal: goal.map(limits::goal_seconds).transpose()?,
                action: None,
            })),
            Command::UpdateSession {
                number,
                label,
                party_size,
                goal,
            } => {
                let number = limits::pager_number(*number)?;
                if label.is_none() && party_size.is_none() && goal.is_none() {
                    return Err(InvalidCommand::NothingToChange);
                }
                // An empty label is how the device is told to clear it.
                let label = label
                    .as_deref()
                    .map(|l| limits::label(l).map(Option::unwrap_or_default))
                    .transpose()?;
                Ok(ValidCommand::UpdateSession {
                    number,
                    body: UpdateSession {
                        label,
                        party_size: party_size.map(limits::party_size).transpose()?,
                        goal: goal.map(limits::goal_seconds).transpose()?,
                        ..Default::default()
                    },
                })
            }
            Command::PageSession { number, page_mode } => {
                let mode = page_mode.as_deref().map(limits::page_mode).transpose()?;
                act(*number, Action::Page, Some(mode.unwrap_or_default()))
            }
            Command::ClearSession { number } => act(*number, Action::Clear, None),
            Command::RemoveSession { number } => act(*number, Action::Remove, None),
            Command::ClearAllSessions => Ok(ValidCommand::ClearAllSessions),
            Command::GetHistory => Ok(ValidCommand::GetHistory),
            Command::ClearHistory => Ok(ValidCommand::ClearHistory),
            Command::GetStatistics => Ok(ValidCommand::GetStatistics),
            Command::ClearStatistics => Ok(ValidCommand::ClearStatistics),
            Command::StandalonePage {
                number,
                page_mode,
                message,
                system_id,
            } => Ok(ValidCommand::StandalonePage(StandalonePage {
                number: limits::pager_number(*number)?,
                page_mode: page_mode.as_deref().map(limits::page_mode).transpose()?,
                message: message
                    .as_deref()
                    .map(limits::message)
                    .transpose()?
                    .flatten(),
                system_id: system_id.map(limits::system_id).transpose()?,
            })),
            Command::GetSettings => Ok(ValidCommand::GetSettings),
            Command::UpdateSettings {
                system_id,
                default_target_goal,
                statistics_clear_mark,
                datetime,
            } => {
                let update = SettingsUpdate {
                    datetime: datetime
                        .as_deref()
                        .map(|d| {
                            DeviceTime::parse(d).map_err(|_| InvalidCommand::BadDatetime {
                                value: d.to_string(),
                            })
                        })
                        .transpose()?,
                    system_id: system_id.map(limits::system_id).transpose()?,
                    default_target_goal: default_target_goal
                        .map(limits::goal_seconds)
                        .transpose()?,
                    statistics_clear_mark: statistics_clear_mark
                        .map(limits::clear_mark)
                        .transpose()?,
                };
                if update == SettingsUpdate::default() {
                    return Err(InvalidCommand::NothingToChange);
                }
                Ok(ValidCommand::UpdateSettings(update))
            }
        }
    }
}

/// proxy → tablet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message on every connection.
    Hello {
        protocol: u32,
        /// True when the proxy runs its built-in simulated transmitter.
        simulated: bool,
        /// The proxy's clock (Unix ms) when it sent this, for the tablet's clock offset.
        proxy_time_ms: i64,
    },
    /// The whole mirror: on connect, and whenever deltas would not do.
    Snapshot {
        state: MirrorState,
        proxy_time_ms: i64,
    },
    Delta {
        delta: MirrorDelta,
    },
    /// The verdict on one command, by op id.
    Reply {
        op: String,
        verdict: Verdict,
    },
    /// The command is still being carried: its last attempt went unanswered,
    /// reading the transmitter back showed it was not done, and it is being
    /// sent again (`attempt` 2, 3, …). A `reply` follows.
    Progress {
        op: String,
        attempt: u32,
    },
    /// Sent when nothing else has been sent to the tablet for
    /// [`HEARTBEAT_AFTER_MS`], so a tablet that hears nothing at all for
    /// several times that knows its connection is half-open and reconnects.
    Heartbeat {
        proxy_time_ms: i64,
    },
    /// The tablets holding a token, answering [`TabletMsg::ListTablets`]
    /// and [`TabletMsg::SignOut`]. Without a venue PIN there are none.
    Tablets {
        pin_required: bool,
        tablets: Vec<SignedInTablet>,
    },
    /// A message that could not be taken as a command (bad JSON, unknown
    /// command, …). The connection stays open unless the code says otherwise.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op: Option<String>,
        code: String,
        message: String,
    },
}

/// What the transmitter said about a command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// The transmitter acknowledged and did it.
    Acknowledged { result: CommandResult },
    /// The transmitter answered with an error code (e.g. "4.04") and reason.
    Rejected {
        device_code: String,
        message: String,
    },
    /// Refused by the proxy before it reached the transmitter.
    Invalid { code: String, message: String },
    /// The transmitter did not answer; whether it acted is unknown.
    Unreachable { message: String },
}

impl Verdict {
    pub fn is_acknowledged(&self) -> bool {
        matches!(self, Verdict::Acknowledged { .. })
    }

    pub fn invalid(problem: &InvalidCommand) -> Self {
        Verdict::Invalid {
            code: problem.code().to_string(),
            message: problem.to_string(),
        }
    }
}

/// What an acknowledged command produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandResult {
    /// The party as the device now has it (after create, update, page).
    Party {
        party: Party,
    },
    /// The session as it left the board (after clear or remove).
    Archived {
        session: Session,
    },
    History {
        entries: Vec<HistoryEntry>,
    },
    Statistics {
        statistics: Statistics,
    },
    Settings {
        settings: Settings,
    },
    /// Acknowledged with nothing to show (clear all, clear history, standalone page).
    Done,
}

/// An active session as the board shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub session: Session,
    /// Pages sent to this party that the proxy has seen (the device keeps no count).
    pub page_count: u32,
}

/// The proxy's copy of the transmitter's state, as every tablet renders it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MirrorState {
    /// Active parties, ordered by pager number.
    pub parties: Vec<Party>,
    pub statistics: Statistics,
    pub settings: Option<Settings>,
    pub global_sequence: Option<u32>,
    pub device: DeviceInfo,
    pub health: Health,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Where the proxy sends CoAP, `host:port`.
    pub address: String,
    pub simulated: bool,
    pub device_name: Option<String>,
    pub firmware_version: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The transmitter answered recently; false after ~10 s of silence.
    pub reachable: bool,
    /// The proxy holds a live Observe registration.
    pub observing: bool,
    /// The mirror matches the device (false while resynchronising).
    pub synced: bool,
    /// Unix ms (proxy clock) of the last datagram from the device.
    pub last_contact_ms: Option<i64>,
    pub last_rtt_ms: Option<u32>,
    /// The device's clock minus the proxy's UTC clock, in seconds, so that
    /// `device_now = utc_now + offset` in the device's zone-less local time.
    pub device_clock_offset_s: Option<i64>,
    /// The smoothed round trip (RFC 6298 SRTT), ms; none before the first.
    #[serde(default)]
    pub rtt_ms: Option<u32>,
    /// The timeout the next request starts with before retransmitting, ms.
    #[serde(default)]
    pub rto_ms: Option<u32>,
    /// Of the requests sent in the last minute, the percentage sent again.
    #[serde(default)]
    pub loss_percent: Option<u8>,
    /// Unix ms (proxy clock) of the last notification of a change, and of
    /// the device's last keep-alive ping.
    #[serde(default)]
    pub last_notification_ms: Option<i64>,
    #[serde(default)]
    pub last_ping_ms: Option<i64>,
    /// Since Coaster started: device restarts noticed, and whole-board re-reads.
    #[serde(default)]
    pub reboots: u32,
    #[serde(default)]
    pub resyncs: u32,
    /// How long a command is carried before it is answered `unreachable`
    /// (`--command-deadline`), in seconds, so the host is told the real wait.
    #[serde(default)]
    pub command_deadline_s: Option<u32>,
    /// Why the stand is not recording its history right now (disk full,
    /// database damaged, …); absent while it records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_recording: Option<String>,
}

/// A change to the mirror. Fields left `None`/empty are unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MirrorDelta {
    /// Parties created or changed, replacing any party on the same number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upserted: Vec<Party>,
    /// Parties (by uuid) that left the board, applied before `upserted`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Statistics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_sequence: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

impl MirrorDelta {
    pub fn is_empty(&self) -> bool {
        *self == MirrorDelta::default()
    }
}

impl MirrorState {
    pub fn apply(&mut self, delta: &MirrorDelta) {
        self.parties
            .retain(|p| !delta.removed.contains(&p.session.uuid));
        for party in &delta.upserted {
            match self
                .parties
                .binary_search_by_key(&party.session.number, |p| p.session.number)
            {
                Ok(i) => self.parties[i] = party.clone(),
                Err(i) => self.parties.insert(i, party.clone()),
            }
        }
        if let Some(statistics) = delta.statistics {
            self.statistics = statistics;
        }
        if let Some(settings) = &delta.settings {
            self.settings = Some(settings.clone());
        }
        if delta.global_sequence.is_some() {
            self.global_sequence = delta.global_sequence;
        }
        if let Some(device) = &delta.device {
            self.device = device.clone();
        }
        if let Some(health) = &delta.health {
            self.health = health.clone();
        }
    }

    pub fn party(&self, number: u32) -> Option<&Party> {
        self.parties.iter().find(|p| p.session.number == number)
    }

    /// The lowest pager number with no active party.
    pub fn lowest_free_number(&self) -> Option<u32> {
        (limits::PAGER_MIN..=limits::PAGER_MAX).find(|n| self.party(*n).is_none())
    }
}

impl ClientMsg {
    /// Parses one text frame; the error says what was wrong, for an Error reply.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(ProtocolError::FrameTooLarge { bytes: text.len() });
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ProtocolError::MalformedJson {
                detail: e.to_string(),
            })?;
        let op = match value.get("op") {
            Some(serde_json::Value::String(op))
                if !op.is_empty() && op.chars().count() <= OP_ID_MAX_CHARS =>
            {
                op.clone()
            }
            _ => return Err(ProtocolError::BadOpId),
        };
        let command = value
            .get("command")
            .ok_or(ProtocolError::MissingCommand { op: op.clone() })?;
        if let Some(kind) = command.get("type").and_then(|t| t.as_str()) {
            if !COMMAND_NAMES.contains(&kind) {
                return Err(ProtocolError::UnknownCommand {
                    op,
                    name: kind.to_string(),
                });
            }
        }
        let command = Command::deserialize(command).map_err(|e| ProtocolError::BadFields {
            op: op.clone(),
            detail: e.to_string(),
        })?;
        Ok(ClientMsg { op, command })
    }
}

/// Every `command.type` the proxy takes, as on the wire.
pub const COMMAND_NAMES: &[&str] = &[
    "create_session",
    "update_session",
    "page_session",
    "clear_session",
    "remove_session",
    "clear_all_sessions",
    "get_history",
    "clear_history",
    "get_statistics",
    "clear_statistics",
    "standalone_page",
    "get_settings",
    "update_settings",
];

/// A frame that is not a command the proxy can take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    FrameTooLarge { bytes: usize },
    MalformedJson { detail: String },
    BadOpId,
    MissingCommand { op: String },
    UnknownCommand { op: String, name: String },
    BadFields { op: String, detail: String },
}

impl ProtocolError {
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::FrameTooLarge { .. } => "frame_too_large",
            ProtocolError::MalformedJson { .. } => "malformed_json",
            ProtocolError::BadOpId => "bad_op_id",
            ProtocolError::MissingCommand { .. } => "missing_command",
            ProtocolError::UnknownCommand { .. } => "unknown_command",
            ProtocolError::BadFields { .. } => "bad_fields",
        }
    }

    /// The op id, when the frame got far enough to have one.
    pub fn op(&self) -> Option<&str> {
        match self {
            ProtocolError::MissingCommand { op }
            | ProtocolError::UnknownCommand { op, .. }
            | ProtocolError::BadFields { op, .. } => Some(op),
            _ => None,
        }
    }

    pub fn to_server_msg(&self) -> ServerMsg {
        ServerMsg::Error {
            op: self.op().map(str::to_string),
            code: self.code().to_string(),
            message: self.to_string(),
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::FrameTooLarge { bytes } => write!(
                f,
                "A message of {bytes} bytes is larger than the {MAX_FRAME_BYTES}-byte limit."
            ),
            ProtocolError::MalformedJson { detail } => {
                write!(f, "The message is not valid JSON: {detail}.")
            }
            ProtocolError::BadOpId => write!(
                f,
                "Every message needs an \"op\" id: a non-empty string of at most {OP_ID_MAX_CHARS} characters."
            ),
            ProtocolError::MissingCommand { .. } => {
                write!(f, "The message has no \"command\".")
            }
            ProtocolError::UnknownCommand { name, .. } => {
                write!(f, "\"{name}\" is not a command this proxy knows.")
            }
            ProtocolError::BadFields { detail, .. } => {
                write!(f, "The command's fields are not right: {detail}.")
            }
        }
    }
}
