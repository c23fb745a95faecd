//! The pager-number keypad and the add/edit forms' checks, as plain data.

use shared::limits::{self, PAGER_MAX};
use shared::protocol::{Command, MirrorState, Party};

/// Digits typed on the keypad. A pre-filled number is replaced by the first
/// digit typed, like a calculator, so the host never has to clear it first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keypad {
    digits: String,
    prefilled: bool,
}

/// Enough digits for the highest pager number and no more.
const MAX_DIGITS: usize = PAGER_MAX.ilog10() as usize + 1;

impl Keypad {
    pub fn prefilled(number: Option<u32>) -> Self {
        Keypad {
            digits: number.map(|n| n.to_string()).unwrap_or_default(),
            prefilled: number.is_some(),
        }
    }

    pub fn press(&mut self, digit: u8) {
        debug_assert!(digit <= 9);
        if self.prefilled {
            self.digits.clear();
            self.prefilled = false;
        }
        if self.digits.len() >= MAX_DIGITS || (digit == 0 && self.digits.is_empty()) {
            return;
        }
        self.digits.push(char::from(b'0' + digit));
    }

    pub fn backspace(&mut self) {
        self.prefilled = false;
        self.digits.pop();
    }

    pub fn clear(&mut self) {
        *self = Keypad::default();
    }

    pub fn text(&self) -> &str {
        &self.digits
    }

    pub fn is_prefilled(&self) -> bool {
        self.prefilled
    }

    pub fn value(&self) -> Option<i64> {
        self.digits.parse().ok()
    }
}

/// What the number on the keypad means right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberCheck {
    Empty,
    /// Not a pager number; the sentence says why.
    Invalid(String),
    /// Another party holds this pager; `free` is the number to offer instead.
    InUse {
        number: u32,
        holder: String,
        free: Option<u32>,
    },
    Free(u32),
}

pub fn check_number(value: Option<i64>, state: &MirrorState) -> NumberCheck {
    let Some(value) = value else {
        return NumberCheck::Empty;
    };
    match limits::pager_number(value) {
        Err(e) => NumberCheck::Invalid(e.to_string()),
        Ok(number) => match state.party(number) {
            Some(party) => NumberCheck::InUse {
                number,
                holder: describe(party),
                free: state.lowest_free_number(),
            },
            None => NumberCheck::Free(number),
        },
    }
}

/// "Sarah, party of 4" — how the host recognises a party.
pub fn describe(party: &Party) -> String {
    let name = party.session.label.as_deref().unwrap_or("A party");
    match party.session.party_size {
        Some(size) => format!("{name}, party of {size}"),
        None => name.to_string(),
    }
}

/// The first thing wrong with a command, as the sentence the shared limits give.
pub fn problem(command: &Command) -> Option<String> {
    command.validate().err().map(|e| e.to_string())
}

/// The update that turns `party` into the edited values: only changed fields,
/// `None` when nothing changed.
pub fn edit_command(party: &Party, name: &str, size: u32, goal_s: u32) -> Option<Command> {
    let s = &party.session;
    let name = name.trim();
    let label = (name != s.label.as_deref().unwrap_or("")).then(|| name.to_string());
    let party_size = (Some(size) != s.party_size).then_some(i64::from(size));
    let goal = (goal_s != s.goal_in_seconds).then_some(i64::from(goal_s));
    (label.is_some() || party_size.is_some() || goal.is_some()).then_some(Command::UpdateSession {
        number: i64::from(s.number),
        label,
        party_size,
        goal,
    })
}

/// Goal quick picks in seconds, with the device default always among them.
pub fn goal_picks(default_goal_s: u32) -> Vec<u32> {
    // Every five minutes to half an hour, then as hosts quote long waits:
    // a quote from the stand's history (rounded to five minutes) is one tap.
    let mut picks = vec![300, 600, 900, 1200, 1500, 1800, 2400, 2700, 3600];
    if !picks.contains(&default_goal_s) {
        picks.push(default_goal_s);
        picks.sort_unstable();
    }
    picks
}

/// Party size chips on the board match sizes within one of the chip.
pub fn size_matches(chip: u32, size: Option<u32>) -> bool {
    size.is_some_and(|s| s.abs_diff(chip) <= 1)
}

/// Board search: a number matches by its digits' prefix, a name anywhere in
/// it, ignoring ASCII case (full Unicode case tables cost the wasm budget).
pub fn search_matches(query: &str, party: &Party) -> bool {
    let q = query.trim().to_ascii_lowercase();
    q.is_empty()
        || party.session.number.to_string().starts_with(&q)
        || party
            .session
            .label
            .as_deref()
            .is_some_and(|l| l.to_ascii_lowercase().contains(&q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::device::Session;
    use shared::time::DeviceTime;

    fn party(number: u32, label: Option<&str>, size: Option<u32>) -> Party {
        let t = DeviceTime::parse("2026-11-27T19:00:00").unwrap();
        Party {
            session: Session {
                id: number,
                session_sequence: None,
                uuid: format!("u{number}"),
                number,
                party_size: size,
                goal_in_seconds: 900,
                created: t,
                started: t,
                notified: None,
                cleared: None,
                label: label.map(String::from),
                state: None,
            },
            page_count: 0,
        }
    }

    fn state(numbers: &[u32]) -> MirrorState {
        MirrorState {
            parties: numbers
                .iter()
                .map(|n| party(*n, Some("Sarah"), Some(4)))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn first_digit_replaces_the_prefilled_number() {
        let mut k = Keypad::prefilled(Some(3));
        assert!(k.is_prefilled());
        k.press(1);
        k.press(2);
        assert_eq!((k.text(), k.value()), ("12", Some(12)));
        assert!(!k.is_prefilled());
    }

    #[test]
    fn backspace_edits_the_prefilled_number_instead_of_replacing_it() {
        let mut k = Keypad::prefilled(Some(12));
        k.backspace();
        k.press(5);
        assert_eq!(k.value(), Some(15));
    }

    #[test]
    fn keypad_ignores_leading_zero_and_stops_at_four_digits() {
        let mut k = Keypad::default();
        k.press(0);
        assert_eq!(k.value(), None);
        for d in [4, 0, 9, 6, 1] {
            k.press(d);
        }
        assert_eq!(k.text(), "4096");
        k.clear();
        assert_eq!(k, Keypad::default());
    }

    #[test]
    fn number_checks_name_the_holder_and_offer_the_free_number() {
        let s = state(&[1, 2, 4]);
        assert_eq!(check_number(None, &s), NumberCheck::Empty);
        assert_eq!(check_number(Some(3), &s), NumberCheck::Free(3));
        assert_eq!(
            check_number(Some(2), &s),
            NumberCheck::InUse {
                number: 2,
                holder: "Sarah, party of 4".into(),
                free: Some(3)
            }
        );
        assert_eq!(
            check_number(Some(4096), &s),
            NumberCheck::Invalid(
                "Pager 4096 does not exist: pager numbers run from 1 to 4095.".into()
            )
        );
    }

    #[test]
    fn validation_messages_come_from_the_shared_limits() {
        let long = Command::CreateSession {
            number: 5,
            label: Some("x".repeat(40)),
            party_size: Some(2),
            goal: None,
        };
        assert_eq!(
            problem(&long).as_deref(),
            Some("The name is 40 characters long; at most 32 fit.")
        );
        let fine = Command::CreateSession {
            number: 5,
            label: None,
            party_size: Some(2),
            goal: Some(600),
        };
        assert_eq!(problem(&fine), None);
    }

    #[test]
    fn edits_send_only_what_changed() {
        let p = party(7, Some("Sarah"), Some(4));
        assert_eq!(edit_command(&p, " Sarah ", 4, 900), None);
        assert_eq!(
            edit_command(&p, "Sarah", 5, 900),
            Some(Command::UpdateSession {
                number: 7,
                label: None,
                party_size: Some(5),
                goal: None
            })
        );
        assert_eq!(
            edit_command(&p, "", 4, 1200),
            Some(Command::UpdateSession {
                number: 7,
                label: Some(String::new()),
                party_size: None,
                goal: Some(1200)
            })
        );
    }

    #[test]
    fn goal_picks_include_the_device_default() {
        assert_eq!(
            goal_picks(300),
            vec![300, 600, 900, 1200, 1500, 1800, 2400, 2700, 3600]
        );
        assert_eq!(
            goal_picks(420),
            vec![300, 420, 600, 900, 1200, 1500, 1800, 2400, 2700, 3600]
        );
    }

    #[test]
    fn size_chips_match_within_one_and_search_matches_name_or_number() {
        assert!(size_matches(4, Some(3)) && size_matches(4, Some(5)));
        assert!(!size_matches(4, Some(6)) && !size_matches(4, None));
        let p = party(12, Some("Sarah Jones"), Some(2));
        assert!(search_matches("", &p));
        assert!(search_matches("1", &p) && search_matches("12", &p));
        assert!(!search_matches("2", &p));
        assert!(search_matches("jON", &p));
        assert!(!search_matches("bob", &p));
    }
}
