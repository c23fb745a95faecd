//! The T7470's JSON, with the exact wire names.
//!
//! Parsing is tolerant in the ways `device-contract.md` lists under "Tolerate":
//! envelope metadata may be missing, history entries may lack `partySize`,
//! `state` and `sessionSequence`, `uuid` may be a string or a number, and
//! unknown fields and `responseTypes` are ignored. Serializing is strict:
//! request bodies are single-line JSON with absent fields left out, because the
//! device's parser rejects tabs and line breaks.

use serde::{Deserialize, Deserializer, Serialize};

use crate::time::DeviceTime;

/// Every response with a body: metadata plus one part per name in `response_types`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    #[serde(default)]
    pub response_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_session_sequence: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DeviceTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Vec<Session>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Statistics>,
    #[serde(
        rename = "session_history",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub session_history: Option<Vec<HistoryEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<Ping>,
}

/// A response body the device sent that is not the JSON we expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadDeviceJson(pub String);

impl std::fmt::Display for BadDeviceJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the transmitter sent JSON Coaster cannot read: {}",
            self.0
        )
    }
}

impl std::error::Error for BadDeviceJson {}

impl Envelope {
    pub fn parse(body: &[u8]) -> Result<Self, BadDeviceJson> {
        // serde would also take a JSON array as a struct; the device only sends objects.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(BadDeviceJson("the body is not a JSON object".into()));
        }
        serde_json::from_slice(body).map_err(|e| BadDeviceJson(e.to_string()))
    }

    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope always serializes")
    }

    pub fn has(&self, response_type: &str) -> bool {
        self.response_types.iter().any(|t| t == response_type)
    }

    pub fn is_ping(&self) -> bool {
        self.has(response_type::PING)
    }
}

/// The names that may appear in `responseTypes`.
pub mod response_type {
    pub const SESSIONS: &str = "sessions";
    pub const STATISTICS: &str = "statistics";
    pub const SESSION_HISTORY: &str = "session_history";
    pub const SETTINGS: &str = "settings";
    pub const PING: &str = "ping";
}

/// The part a ping carries. The docs show nothing inside it; anything there is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {}

/// One guest session (a party holding a pager), active or archived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: u32,
    /// The global sequence at this session's last change; 65535 may mean "unknown".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_sequence: Option<u32>,
    #[serde(deserialize_with = "string_or_number")]
    pub uuid: String,
    pub number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_size: Option<u32>,
    pub goal_in_seconds: u32,
    pub created: DeviceTime,
    pub started: DeviceTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<DeviceTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared: Option<DeviceTime>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
}

impl Session {
    /// The state as sent, or as implied by the timestamps when the device left it out.
    pub fn effective_state(&self) -> SessionState {
        match (self.state, self.cleared, self.notified) {
            (Some(state), _, _) => state,
            (None, Some(_), _) => SessionState::Cleared,
            (None, None, Some(_)) => SessionState::Paged,
            (None, None, None) => SessionState::Started,
        }
    }

    pub fn is_active(&self) -> bool {
        self.effective_state() != SessionState::Cleared
    }

    /// Seconds from start to first page, if paged.
    pub fn time_to_page(&self) -> Option<i64> {
        self.notified.map(|n| n.seconds_since(self.started))
    }
}

/// An archived session and how it left the active list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub session: Session,
    #[serde(rename = "clearType")]
    pub clear_type: ClearType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Started,
    Paged,
    Cleared,
}

/// How a session was archived: cleared (seated) or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ClearType {
    Stop,
    Removed,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Statistics {
    pub guests_served: u32,
    pub percent_late: u32,
    pub percent_on_time: u32,
    pub average_time_served: u32,
    pub num_sessions: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub datetime: DeviceTime,
    #[serde(default)]
    pub system_id: u32,
    #[serde(default = "default_target_goal")]
    pub default_target_goal: u32,
    #[serde(default = "default_clear_mark")]
    pub statistics_clear_mark: u32,
}

fn default_target_goal() -> u32 {
    300
}

fn default_clear_mark() -> u32 {
    24
}

/// What a session request may ask the device to do besides changing fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Page,
    Clear,
    Remove,
}

macro_rules! page_modes {
    ($($mode:ident => $human:literal, $staff:literal, $confirmed:literal;)*) => {
        /// How a pager behaves when paged. Only `Flash30Sec` and `Vibe1` are
        /// confirmed by the public docs; the rest are offered as "advanced".
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum PageMode { $($mode),* }

        impl PageMode {
            pub const ALL: &'static [PageMode] = &[$(PageMode::$mode),*];

            /// The exact wire string.
            pub fn name(self) -> &'static str {
                match self { $(PageMode::$mode => stringify!($mode)),* }
            }

            /// What the pager does, for people.
            pub fn description(self) -> &'static str {
                match self { $(PageMode::$mode => $human),* }
            }

            /// Staff pager (vibrating) rather than guest coaster mode.
            pub fn is_staff(self) -> bool {
                match self { $(PageMode::$mode => $staff),* }
            }

            /// Named in LRS's public CoAP docs, not inferred.
            pub fn is_documented(self) -> bool {
                match self { $(PageMode::$mode => $confirmed),* }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|m| m.name() == name)
            }
        }
    };
}

page_modes! {
    Flash1Sec => "Flash 1 second", false, false;
    Flash30Sec => "Flash 30 seconds", false, true;
    Flash5Min => "Flash 5 minutes", false, false;
    FlashBeep5x5 => "Flash and beep 5×5", false, false;
    Beep3Times => "Beep 3 times", false, false;
    Beep5Min => "Beep 5 minutes", false, false;
    Glow5Min => "Glow 5 minutes", false, false;
    Glow15Times => "Glow 15 times", false, false;
    Vibe1 => "Vibrate once", true, true;
    Vibe2 => "Vibrate twice", true, false;
    Vibe3 => "Vibrate three times", true, false;
    VibeBeep1 => "Vibrate and beep once", true, false;
    VibeBeep2 => "Vibrate and beep twice", true, false;
    VibeBeep3 => "Vibrate and beep three times", true, false;
}

impl Default for PageMode {
    /// The guest-coaster default the docs name for sessions.
    fn default() -> Self {
        PageMode::Flash30Sec
    }
}

/// Serializes a request body as the device wants it: compact, one line.
pub trait RequestBody: Serialize {
    fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("request bodies always serialize")
    }
}

/// POST /v1/sessions: create, or update the active session with this number.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSession {
    pub number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

impl RequestBody for CreateSession {}

/// PUT /v1/sessions?number=N: change fields and/or act on the session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<u32>,
    /// An empty label clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_mode: Option<PageMode>,
}

impl RequestBody for UpdateSession {}

/// POST /v1/page: page a pager with no session bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandalonePage {
    pub number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_mode: Option<PageMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<u32>,
}

impl RequestBody for StandalonePage {}

/// POST /v1/settings: any subset of the settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime: Option<DeviceTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_target_goal: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics_clear_mark: Option<u32>,
}

impl RequestBody for SettingsUpdate {}

/// The body of every error response: `{"error": "<reason>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

impl RequestBody for ErrorBody {}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::Text(text) => text,
        Either::Number(number) => number.to_string(),
    })
}
