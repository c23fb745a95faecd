//! How a command whose answer was lost is proven done or not done.
//!
//! When an exchange gives up, the request may or may not have reached the
//! transmitter. Sending it again is only allowed when reading the device back
//! proves the first one did not happen; a command that cannot be proven is
//! never sent again. The read-back goes out next, before any other request
//! (NSTART 1), so nothing but this command can have changed what it reads;
//! and it starts at least one full backoff interval after the last copy of
//! the request was sent (the exchange only gives up at the end of its
//! schedule), so no straggling copy can land after it. docs/protocol.md has
//! the same table for people.
//!
//! | command | read back | done when | not done when |
//! |---|---|---|---|
//! | create | GET /v1/sessions | the pager has a party | it has none |
//! | update | GET /v1/sessions | every field asked for reads as asked | any reads otherwise, or the party is gone (setting a field twice is setting it once) |
//! | page | GET /v1/sessions | the party's `sessionSequence` moved | it did not (the party gone: unprovable) |
//! | clear, remove | GET /v1/sessions | the party left the board | it is still there |
//! | clear all | GET /v1/sessions | none of the parties is left | all of them are |
//! | standalone page | — | cannot be proven: never sent again | |
//! | settings | GET /v1/settings | every field reads as asked (the clock within 2 s) | any reads otherwise |
//! | clear history | GET …/history | the history is empty | it is not |
//! | clear statistics | GET …/statistics | every count is 0 | any is not |
//! | get history, statistics, settings | — | reads change nothing: sent again freely | |

use shared::device::{Action, Envelope, Session, Statistics};
use shared::protocol::{CommandResult, Party, ValidCommand};
use shared::time::DeviceTime;

use crate::coap::Request;

/// What the board showed when the command's request went out.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Before {
    /// The party on the command's pager, if any.
    pub party: Option<Party>,
    /// Every party's uuid (for clear all).
    pub uuids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Proof {
    Done(CommandResult),
    /// Safe to send again.
    NotDone,
    /// Neither: the party it acted on is gone, or the answer did not say.
    Unprovable,
}

/// The request that reads back what `command` would have changed; `None`
/// when nothing on the device records it.
pub fn read_back(command: &ValidCommand) -> Option<Request> {
    match command {
        ValidCommand::CreateSession(_)
        | ValidCommand::UpdateSession { .. }
        | ValidCommand::ClearAllSessions => Some(Request::get("/v1/sessions")),
        ValidCommand::UpdateSettings(_) => Some(Request::get("/v1/settings")),
        ValidCommand::ClearHistory => Some(Request::get("/v1/sessions/history")),
        ValidCommand::ClearStatistics => Some(Request::get("/v1/sessions/statistics")),
        ValidCommand::StandalonePage(_)
        | ValidCommand::GetHistory
        | ValidCommand::GetStatistics
        | ValidCommand::GetSettings => None,
    }
}

/// Judges the read-back `after` of `command`, sent `elapsed_s` seconds ago
/// (for the clock) when the board showed `before`.
pub fn judge(command: &ValidCommand, before: &Before, after: &Envelope, elapsed_s: i64) -> Proof {
    let sessions = after.sessions.as_deref().unwrap_or_default();
    let on = |number: u32| {
        sessions
            .iter()
            .find(|s| s.number == number && s.is_active())
    };
    let party = |session: &Session| Party {
        session: session.clone(),
        page_count: before.party.as_ref().map_or(0, |p| p.page_count),
    };
    match command {
        ValidCommand::CreateSession(create) => match on(create.number) {
            Some(session) => Proof::Done(CommandResult::Party {
                party: party(session),
            }),
            None => Proof::NotDone,
        },
        ValidCommand::UpdateSession { number, body } => {
            let was = before.party.as_ref();
            let now = on(*number).filter(|s| was.is_none_or(|w| s.uuid == w.session.uuid));
            match (body.action, was, now) {
                (Some(Action::Page), Some(was), Some(session)) => {
                    if session.session_sequence != was.session.session_sequence {
                        let mut paged = party(session);
                        paged.page_count += 1;
                        Proof::Done(CommandResult::Party { party: paged })
                    } else {
                        Proof::NotDone
                    }
                }
                // The party is gone (a reboot) or was never seen: a page
                // cannot be proven either way.
                (Some(Action::Page), _, _) => Proof::Unprovable,
                (Some(Action::Clear | Action::Remove), Some(was), None) => {
                    let mut session = was.session.clone();
                    session.state = Some(shared::device::SessionState::Cleared);
                    Proof::Done(CommandResult::Archived { session })
                }
                // Still there, or never seen: clearing again can clear
                // nothing twice (the device says it has no such party).
                (Some(Action::Clear | Action::Remove), _, _) => Proof::NotDone,
                (None, _, Some(session)) => {
                    let as_asked = body.goal.is_none_or(|g| session.goal_in_seconds == g)
                        && body
                            .party_size
                            .is_none_or(|p| session.party_size == Some(p))
                        && body
                            .label
                            .as_deref()
                            .is_none_or(|l| session.label.as_deref().unwrap_or("") == l);
                    if as_asked {
                        Proof::Done(CommandResult::Party {
                            party: party(session),
                        })
                    } else {
                        Proof::NotDone
                    }
                }
                // The party is gone: setting a field twice is setting it
                // once, so sending it again is safe, and the device will say
                // it has no such party.
                (None, _, None) => Proof::NotDone,
            }
        }
        ValidCommand::ClearAllSessions => {
            let left = |uuid: &String| sessions.iter().any(|s| &s.uuid == uuid && s.is_active());
            if !before.uuids.iter().any(left) {
                Proof::Done(CommandResult::Done)
            } else if before.uuids.iter().all(left) {
                Proof::NotDone
            } else {
                Proof::Unprovable
            }
        }
        ValidCommand::UpdateSettings(update) => {
            let Some(settings) = &after.settings else {
                return Proof::Unprovable;
            };
            let clock_set = |asked: DeviceTime| {
                (settings.datetime.seconds() - asked.seconds() - elapsed_s).abs() <= 2
            };
            let as_asked = update.system_id.is_none_or(|v| settings.system_id == v)
                && update
                    .default_target_goal
                    .is_none_or(|v| settings.default_target_goal == v)
                && update
                    .statistics_clear_mark
                    .is_none_or(|v| settings.statistics_clear_mark == v)
                && update.datetime.is_none_or(clock_set);
            if as_asked {
                Proof::Done(CommandResult::Settings {
                    settings: settings.clone(),
                })
            } else {
                Proof::NotDone
            }
        }
        ValidCommand::ClearHistory => match &after.session_history {
            Some(entries) if entries.is_empty() => Proof::Done(CommandResult::Done),
            Some(_) => Proof::NotDone,
            None => Proof::Unprovable,
        },
        ValidCommand::ClearStatistics => match after.statistics {
            Some(s) if s == Statistics::default() => Proof::Done(CommandResult::Done),
            Some(_) => Proof::NotDone,
            None => Proof::Unprovable,
        },
        ValidCommand::StandalonePage(_)
        | ValidCommand::GetHistory
        | ValidCommand::GetStatistics
        | ValidCommand::GetSettings => Proof::Unprovable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::device::{CreateSession, SessionState, UpdateSession};

    fn session(number: u32, uuid: &str, seq: u32) -> Session {
        let t = DeviceTime::parse("2026-12-03T19:00:00").unwrap();
        Session {
            id: number,
            session_sequence: Some(seq),
            uuid: uuid.into(),
            number,
            party_size: Some(2),
            goal_in_seconds: 300,
            created: t,
            started: t,
            notified: None,
            cleared: None,
            label: Some("Ana".into()),
            state: Some(SessionState::Started),
        }
    }

    fn board(sessions: Vec<Session>) -> Envelope {
        Envelope {
            sessions: Some(sessions),
            ..Default::default()
        }
    }

    fn before(s: Session) -> Before {
        Before {
            uuids: vec![s.uuid.clone()],
            party: Some(Party {
                session: s,
                page_count: 0,
            }),
        }
    }

    fn page(number: u32) -> ValidCommand {
        ValidCommand::UpdateSession {
            number,
            body: UpdateSession {
                action: Some(Action::Page),
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_page_is_done_only_if_the_sessions_sequence_moved() {
        let was = before(session(4, "a", 7));
        let same = board(vec![session(4, "a", 7)]);
        assert_eq!(judge(&page(4), &was, &same, 1), Proof::NotDone);
        let moved = board(vec![session(4, "a", 9)]);
        let Proof::Done(CommandResult::Party { party }) = judge(&page(4), &was, &moved, 1) else {
            panic!("a moved sequence is a page");
        };
        assert_eq!(party.page_count, 1);
        // The party was replaced (a reboot and a new guest): nothing proves anything.
        let other = board(vec![session(4, "b", 1)]);
        assert_eq!(judge(&page(4), &was, &other, 1), Proof::Unprovable);
    }

    #[test]
    fn a_create_is_done_when_the_pager_has_a_party() {
        let create = ValidCommand::CreateSession(CreateSession {
            number: 5,
            ..Default::default()
        });
        let nothing = Before::default();
        assert_eq!(judge(&create, &nothing, &board(vec![]), 1), Proof::NotDone);
        assert!(matches!(
            judge(&create, &nothing, &board(vec![session(5, "a", 1)]), 1),
            Proof::Done(CommandResult::Party { .. })
        ));
    }

    #[test]
    fn an_update_is_done_when_every_field_reads_as_asked() {
        let relabel = ValidCommand::UpdateSession {
            number: 4,
            body: UpdateSession {
                label: Some("Bo".into()),
                ..Default::default()
            },
        };
        let was = before(session(4, "a", 7));
        assert_eq!(
            judge(&relabel, &was, &board(vec![session(4, "a", 7)]), 1),
            Proof::NotDone
        );
        let mut done = session(4, "a", 8);
        done.label = Some("Bo".into());
        assert!(matches!(
            judge(&relabel, &was, &board(vec![done]), 1),
            Proof::Done(_)
        ));
    }

    #[test]
    fn a_clear_is_done_when_the_party_left() {
        let clear = ValidCommand::UpdateSession {
            number: 4,
            body: UpdateSession {
                action: Some(Action::Clear),
                ..Default::default()
            },
        };
        let was = before(session(4, "a", 7));
        assert!(matches!(
            judge(&clear, &was, &board(vec![]), 1),
            Proof::Done(CommandResult::Archived { .. })
        ));
        assert_eq!(
            judge(&clear, &was, &board(vec![session(4, "a", 7)]), 1),
            Proof::NotDone
        );
    }

    #[test]
    fn a_standalone_page_is_never_proven_nor_read_back() {
        let page = ValidCommand::StandalonePage(Default::default());
        assert!(read_back(&page).is_none());
        assert_eq!(
            judge(&page, &Before::default(), &board(vec![]), 1),
            Proof::Unprovable
        );
    }

    #[test]
    fn statistics_and_history_resets_are_proven_by_their_counts() {
        let cleared = Envelope {
            statistics: Some(Statistics::default()),
            session_history: Some(vec![]),
            ..Default::default()
        };
        let nothing = Before::default();
        for command in [ValidCommand::ClearStatistics, ValidCommand::ClearHistory] {
            assert!(read_back(&command).is_some());
            assert_eq!(
                judge(&command, &nothing, &cleared, 1),
                Proof::Done(CommandResult::Done)
            );
        }
        let counted = Envelope {
            statistics: Some(Statistics {
                num_sessions: 2,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            judge(&ValidCommand::ClearStatistics, &nothing, &counted, 1),
            Proof::NotDone
        );
    }
}
