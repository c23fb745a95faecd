//! Every input limit, in one place. The frontend checks them for instant
//! feedback, the proxy because it trusts no tablet, the simulator because the
//! device trusts no client. Each failure is a named [`LimitError`] whose
//! `Display` is a sentence a host can read.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::device::PageMode;

pub const PAGER_MIN: u32 = 1;
/// LRS pager addresses are 12 bits; 0 means "all pagers" and is never a session.
pub const PAGER_MAX: u32 = 4095;
pub const LABEL_MAX_CHARS: usize = 32;
pub const PARTY_MIN: u32 = 1;
pub const PARTY_MAX: u32 = 99;
pub const GOAL_MAX_SECONDS: u32 = 86_400;
pub const CLEAR_MARK_MAX: u32 = 24;
/// Coaster's choice: the docs give no limit for alpha-pager text.
pub const MESSAGE_MAX_CHARS: usize = 64;
/// Coaster's choice: the docs give no range; System IDs seen are small.
pub const SYSTEM_ID_MAX: u32 = 65_535;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum LimitError {
    PagerOutOfRange { value: i64 },
    LabelTooLong { chars: usize },
    LabelHasControlCharacter,
    PartySizeOutOfRange { value: i64 },
    GoalOutOfRange { value: i64 },
    ClearMarkOutOfRange { value: i64 },
    SystemIdOutOfRange { value: i64 },
    MessageTooLong { chars: usize },
    MessageHasControlCharacter,
    UnknownPageMode { value: String },
}

impl LimitError {
    /// The stable machine name, e.g. `pager_out_of_range`.
    pub fn code(&self) -> &'static str {
        match self {
            LimitError::PagerOutOfRange { .. } => "pager_out_of_range",
            LimitError::LabelTooLong { .. } => "label_too_long",
            LimitError::LabelHasControlCharacter => "label_has_control_character",
            LimitError::PartySizeOutOfRange { .. } => "party_size_out_of_range",
            LimitError::GoalOutOfRange { .. } => "goal_out_of_range",
            LimitError::ClearMarkOutOfRange { .. } => "clear_mark_out_of_range",
            LimitError::SystemIdOutOfRange { .. } => "system_id_out_of_range",
            LimitError::MessageTooLong { .. } => "message_too_long",
            LimitError::MessageHasControlCharacter => "message_has_control_character",
            LimitError::UnknownPageMode { .. } => "unknown_page_mode",
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::PagerOutOfRange { value } => write!(
                f,
                "Pager {value} does not exist: pager numbers run from {PAGER_MIN} to {PAGER_MAX}."
            ),
            LimitError::LabelTooLong { chars } => write!(
                f,
                "The name is {chars} characters long; at most {LABEL_MAX_CHARS} fit."
            ),
            LimitError::LabelHasControlCharacter => {
                write!(f, "The name may not contain tabs or line breaks.")
            }
            LimitError::PartySizeOutOfRange { value } => write!(
                f,
                "A party of {value} is not possible: party size runs from {PARTY_MIN} to {PARTY_MAX}."
            ),
            LimitError::GoalOutOfRange { value } => write!(
                f,
                "A goal of {value} seconds is not possible: goals run from 0 to {GOAL_MAX_SECONDS} seconds (24 hours)."
            ),
            LimitError::ClearMarkOutOfRange { value } => write!(
                f,
                "Hour {value} is not a statistics clear hour: use 0 to {CLEAR_MARK_MAX}."
            ),
            LimitError::SystemIdOutOfRange { value } => write!(
                f,
                "System ID {value} is not possible: use 0 to {SYSTEM_ID_MAX}."
            ),
            LimitError::MessageTooLong { chars } => write!(
                f,
                "The message is {chars} characters long; at most {MESSAGE_MAX_CHARS} fit."
            ),
            LimitError::MessageHasControlCharacter => {
                write!(f, "The message may not contain tabs or line breaks.")
            }
            LimitError::UnknownPageMode { value } => {
                write!(f, "\"{value}\" is not a page mode this transmitter knows.")
            }
        }
    }
}

impl std::error::Error for LimitError {}

fn in_range(value: i64, min: u32, max: u32) -> Option<u32> {
    u32::try_from(value)
        .ok()
        .filter(|v| (min..=max).contains(v))
}

pub fn pager_number(value: i64) -> Result<u32, LimitError> {
    in_range(value, PAGER_MIN, PAGER_MAX).ok_or(LimitError::PagerOutOfRange { value })
}

pub fn party_size(value: i64) -> Result<u32, LimitError> {
    in_range(value, PARTY_MIN, PARTY_MAX).ok_or(LimitError::PartySizeOutOfRange { value })
}

pub fn goal_seconds(value: i64) -> Result<u32, LimitError> {
    in_range(value, 0, GOAL_MAX_SECONDS).ok_or(LimitError::GoalOutOfRange { value })
}

pub fn clear_mark(value: i64) -> Result<u32, LimitError> {
    in_range(value, 0, CLEAR_MARK_MAX).ok_or(LimitError::ClearMarkOutOfRange { value })
}

pub fn system_id(value: i64) -> Result<u32, LimitError> {
    in_range(value, 0, SYSTEM_ID_MAX).ok_or(LimitError::SystemIdOutOfRange { value })
}

/// A label, trimmed; `None` when it is empty after trimming.
pub fn label(text: &str) -> Result<Option<String>, LimitError> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(LimitError::LabelHasControlCharacter);
    }
    let chars = text.chars().count();
    if chars > LABEL_MAX_CHARS {
        return Err(LimitError::LabelTooLong { chars });
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// An alpha-pager message, trimmed; `None` when empty.
pub fn message(text: &str) -> Result<Option<String>, LimitError> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(LimitError::MessageHasControlCharacter);
    }
    let chars = text.chars().count();
    if chars > MESSAGE_MAX_CHARS {
        return Err(LimitError::MessageTooLong { chars });
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

pub fn page_mode(name: &str) -> Result<PageMode, LimitError> {
    PageMode::from_name(name).ok_or_else(|| LimitError::UnknownPageMode {
        value: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_numbers_are_twelve_bit_without_zero() {
        assert_eq!(pager_number(1), Ok(1));
        assert_eq!(pager_number(4095), Ok(4095));
        for bad in [0, -1, 4096, i64::MAX, i64::MIN] {
            assert_eq!(
                pager_number(bad),
                Err(LimitError::PagerOutOfRange { value: bad })
            );
        }
    }

    #[test]
    fn ranges_hold_at_both_edges() {
        assert_eq!(party_size(1), Ok(1));
        assert_eq!(party_size(99), Ok(99));
        assert!(party_size(0).is_err() && party_size(100).is_err());
        assert_eq!(goal_seconds(0), Ok(0));
        assert_eq!(goal_seconds(86_400), Ok(86_400));
        assert!(goal_seconds(-1).is_err() && goal_seconds(86_401).is_err());
        assert_eq!(clear_mark(0), Ok(0));
        assert_eq!(clear_mark(24), Ok(24));
        assert!(clear_mark(25).is_err() && clear_mark(-1).is_err());
        assert_eq!(system_id(65_535), Ok(65_535));
        assert!(system_id(65_536).is_err());
    }

    #[test]
    fn labels_count_characters_not_bytes() {
        let accented = "é".repeat(32);
        assert_eq!(label(&accented), Ok(Some(accented.clone())));
        assert_eq!(
            label(&"é".repeat(33)),
            Err(LimitError::LabelTooLong { chars: 33 })
        );
        assert_eq!(label("  Sarah  "), Ok(Some("Sarah".into())));
        assert_eq!(label("   "), Ok(None));
        assert_eq!(label("a\tb"), Err(LimitError::LabelHasControlCharacter));
        assert_eq!(label("a\nb"), Err(LimitError::LabelHasControlCharacter));
    }

    #[test]
    fn page_modes_by_exact_name() {
        assert_eq!(page_mode("Flash30Sec"), Ok(PageMode::Flash30Sec));
        assert_eq!(
            page_mode("flash30sec"),
            Err(LimitError::UnknownPageMode {
                value: "flash30sec".into()
            })
        );
    }

    #[test]
    fn errors_have_a_code_and_a_sentence() {
        let e = pager_number(5000).unwrap_err();
        assert_eq!(e.code(), "pager_out_of_range");
        assert_eq!(
            e.to_string(),
            "Pager 5000 does not exist: pager numbers run from 1 to 4095."
        );
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"code":"pager_out_of_range","value":5000}"#);
    }
}
