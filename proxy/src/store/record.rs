//! What goes into the store: plain facts, no I/O. The writer turns each into
//! rows; the unique keys in [`super::schema`] make a fact recorded twice (a
//! resent op, a history read again after a restart) land once.

use shared::device::Session;

pub enum Record {
    Party(PartyFact),
    Audit(AuditEntry),
    Health(HealthFact),
    /// Answered once everything queued before it is committed (or held).
    Flush(std::sync::mpsc::Sender<()>),
}

/// Something that happened to one party, as the transmitter reported it.
pub struct PartyFact {
    pub session: Session,
    pub event: PartyEvent,
    /// Tells events of one kind apart: the page count for a page seen live
    /// ("1", "2", …), empty for events that happen once.
    pub key: String,
    /// When it happened, proxy clock (Unix ms).
    pub at_ms: i64,
    /// When the party was created, proxy clock: `at_ms` for a create seen
    /// live, else the device's `created` converted with its clock offset.
    pub created_ms: i64,
    /// Learned from the device's history or board after the fact (Coaster
    /// was not running, or the change was made on the device itself).
    pub learned_late: bool,
    /// The tablet's op that caused it, when one did.
    pub op: Option<String>,
    /// For a create seen live: the parties then waiting (not yet paged).
    pub ahead: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartyEvent {
    Created,
    Paged { mode: Option<String> },
    Updated,
    Seated,
    Removed,
}

impl PartyEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            PartyEvent::Created => "created",
            PartyEvent::Paged { .. } => "paged",
            PartyEvent::Updated => "updated",
            PartyEvent::Seated => "seated",
            PartyEvent::Removed => "removed",
        }
    }
}

/// Who sent a command: the tablet's name (set in its Settings), its
/// token's id when the stand has a PIN, and its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub token_id: Option<String>,
    pub name: String,
    pub address: String,
}

/// One command from a tablet and its verdict: a line of the audit trail.
pub struct AuditEntry {
    pub op: String,
    /// When the command arrived, proxy clock (Unix ms).
    pub at_ms: i64,
    pub by: Actor,
    /// The command's wire name (`page_session`, …).
    pub command: String,
    pub pager: Option<u32>,
    pub party_uuid: Option<String>,
    /// The command as JSON, for the record.
    pub detail: String,
    /// `acknowledged`, `rejected`, `invalid` or `unreachable`.
    pub outcome: String,
    pub message: Option<String>,
    pub duration_ms: u32,
    /// Times it was sent to the transmitter (2 or more when carried).
    pub attempts: u32,
}

/// A change in the link to the transmitter, or in recording itself.
pub struct HealthFact {
    pub at_ms: i64,
    /// `reachable`, `unreachable`, `reboot`, `resync`, `recording`, `not_recording`.
    pub kind: String,
    pub detail: Option<String>,
}
